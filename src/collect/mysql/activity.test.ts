import { describe, expect, it } from 'vitest';
import { lockWaitsSql, stateOf, waitTypeOf } from './activity.js';

describe('stateOf', () => {
  it.each([
    ['Sleep', '', false, 'idle'],
    ['Sleep', '', true, 'idle in transaction'],
    ['Query', 'SELECT 1', false, 'active'],
    ['Execute', '', true, 'active'],
    ['Binlog Dump', '', false, 'binlog dump'],
    ['Connect', '', false, 'connect'],
  ])('%s (info %j, in transaction %s) is %s', (command, info, inTransaction, state) => {
    expect(stateOf(command, info, inTransaction)).toBe(state);
  });
});

describe('lockWaitsSql', () => {
  it('reads performance_schema.data_lock_waits on MySQL 8 and INNODB_LOCK_WAITS elsewhere', () => {
    expect(lockWaitsSql({ flavor: 'mysql', versionNumber: 80040 })).toContain(
      'performance_schema.data_lock_waits',
    );
    expect(lockWaitsSql({ flavor: 'mysql', versionNumber: 50744 })).toContain('INNODB_LOCK_WAITS');
    expect(lockWaitsSql({ flavor: 'mariadb', versionNumber: 101119 })).toContain('INNODB_LOCK_WAITS');
  });
});

describe('waitTypeOf', () => {
  it.each([
    ['updating', true, 'Lock'],
    ['Waiting for table metadata lock', false, 'Lock'],
    ['User sleep', false, 'Timeout'],
    ['Sending data', false, ''],
    ['', false, ''],
  ])('%j (blocked %s) is %j', (state, blocked, type) => {
    expect(waitTypeOf(state, blocked)).toBe(type);
  });
});
