import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema, type PostgresTargetConfig } from '../../config/schema.js';
import { thrown } from '../../../test/helpers/thrown.js';
import { databaseEntityId, resolveTarget, targetsOf } from './target.js';

function target(fields: Record<string, unknown>): PostgresTargetConfig {
  const config = configSchema.parse({ collect: { postgres: { targets: [fields] } } });
  const first = config.collect.postgres.targets[0];
  if (first === undefined) throw new Error('no target parsed');
  return first;
}

describe('resolveTarget', () => {
  it('takes host, port, database, user and password from a URL and names the entity after host-port', () => {
    const resolved = resolveTarget(target({ url: 'postgresql://mon:p%40ss@db1.internal:6432/orders' }));
    expect(resolved).toMatchObject({
      name: 'db1.internal-6432',
      entityId: 'pg:db1.internal-6432',
      address: 'db1.internal:6432',
      database: 'orders',
      user: 'mon',
    });
    expect(resolved.connection).toMatchObject({ host: 'db1.internal', port: 6432, password: 'p@ss' });
  });

  it('makes every session read-only with statement and lock timeouts and names it sightline', () => {
    const resolved = resolveTarget(target({ host: 'db', statementTimeoutMs: 2500, lockTimeoutMs: 300 }));
    expect(resolved.connection.application_name).toBe('sightline');
    expect(resolved.connection.options).toContain('-c default_transaction_read_only=on');
    expect(resolved.connection.options).toContain('-c statement_timeout=2500');
    expect(resolved.connection.options).toContain('-c lock_timeout=300');
  });

  it('reads the password from an environment variable or a file, which win over the URL', () => {
    expect(
      resolveTarget(target({ url: 'postgresql://u:url@h/d', passwordEnv: 'PGPW' }), { PGPW: 'from-env' })
        .connection.password,
    ).toBe('from-env');
    const file = join(mkdtempSync(join(tmpdir(), 'sightline-target-')), 'pw');
    writeFileSync(file, 'from-file\n');
    expect(resolveTarget(target({ host: 'h', passwordFile: file })).connection.password).toBe('from-file');
  });

  it('says which variable or file is missing', () => {
    expect(
      thrown(() => resolveTarget(target({ host: 'h', name: 'main', passwordEnv: 'NOPE' }), {})).message,
    ).toContain('PostgreSQL target main: the environment variable NOPE (passwordEnv) is not set');
    expect(
      thrown(() => resolveTarget(target({ host: 'h', passwordFile: '/nonexistent/pw' }))).message,
    ).toContain('cannot read passwordFile /nonexistent/pw: ENOENT');
  });

  it('asks for TLS when the URL says sslmode=require, and verifies the certificate for verify-full', () => {
    expect(resolveTarget(target({ url: 'postgresql://h/d?sslmode=require' })).connection.ssl).toEqual({
      rejectUnauthorized: false,
    });
    expect(resolveTarget(target({ url: 'postgresql://h/d?sslmode=verify-full' })).connection.ssl).toEqual({
      rejectUnauthorized: true,
    });
    expect(resolveTarget(target({ url: 'postgresql://h/d' })).connection.ssl).toBeUndefined();
  });

  it('rejects a target with neither url nor host, and two passwords', () => {
    expect(() => target({ name: 'x' })).toThrow(/needs a url or a host/);
    expect(() => target({ host: 'h', password: 'a', passwordEnv: 'B' })).toThrow(/at most one of password/);
  });
});

describe('targetsOf', () => {
  it('adds the quick-path URLs after the configured targets', () => {
    const targets = targetsOf({
      targets: [target({ host: 'a', name: 'first' })],
      urls: ['postgresql://b:5433/x'],
    });
    expect(targets.map((t) => t.name)).toEqual(['first', 'b-5433']);
  });

  it('tells two unnamed targets on one server apart by their database', () => {
    const targets = targetsOf({ targets: [], urls: ['postgresql://b/x', 'postgresql://b/y'] });
    expect(targets.map((t) => t.entityId)).toEqual(['pg:b-5432-x', 'pg:b-5432-y']);
  });

  it('refuses two targets given one name, and says where names are set', () => {
    const named = [target({ host: 'a', name: 'main' }), target({ host: 'b', name: 'main' })];
    expect(thrown(() => targetsOf({ targets: named, urls: [] })).message).toContain(
      'two PostgreSQL targets are named main: give each a distinct name (collect.postgres.targets[].name',
    );
  });
});

describe('databaseEntityId', () => {
  it('keeps database names with any characters apart and URL-safe', () => {
    expect(databaseEntityId('pg:main', 'my db/1')).toBe('pg:main:my%20db%2F1');
  });
});
