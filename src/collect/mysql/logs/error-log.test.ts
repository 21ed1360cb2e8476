import { describe, expect, it } from 'vitest';
import { serverLogRecord } from '../../../bus/raw-records.js';
import { mysqlShape } from '../../../sql/mysql-shape.js';
import {
  ErrorLogParser,
  errorLogFields,
  parseErrorLogHead,
  type ErrorLogEntry,
  type MysqlLogFields,
} from './error-log.js';
import {
  ERROR_LOGS,
  fixtureBytes,
  fixtureText,
  type Fixture,
} from '../../../../test/fixtures/mysql-logs/fixtures.js';
import { feed, randomSizes } from '../../../../test/helpers/chunked-feed.js';

const parse = (name: Fixture, sizes?: number[]) => feed(new ErrorLogParser(), fixtureBytes(name), sizes);
const records = (name: Fixture, options: Parameters<typeof errorLogFields>[1] = {}) =>
  parse(name).map((e) => errorLogFields(e, { utcOffsetMinutes: 0, ...options }));
const iso = (fields: MysqlLogFields) => new Date(Number(BigInt(fields.ts) / 1_000_000n)).toISOString();

describe('parseErrorLogHead', () => {
  it.each<[string, string, Partial<ErrorLogEntry> | undefined]>([
    [
      'MariaDB 10.x',
      '2026-11-27 14:09:53 0 [Note] InnoDB: Compressed tables use zlib 1.2.13',
      {
        time: '2026-11-27 14:09:53',
        threadId: 0,
        level: 'Note',
        message: 'InnoDB: Compressed tables use zlib 1.2.13',
      },
    ],
    [
      'MariaDB, a session thread',
      "2026-11-27 14:10:01 6 [Warning] Access denied for user 'root'@'127.0.0.1' (using password: YES)",
      {
        threadId: 6,
        level: 'Warning',
        message: "Access denied for user 'root'@'127.0.0.1' (using password: YES)",
      },
    ],
    [
      'MySQL 8 with code and subsystem',
      '2026-11-27T14:08:31.034890Z 0 [System] [MY-010931] [Server] /usr/sbin/mysqld: ready for connections.',
      {
        time: '2026-11-27T14:08:31.034890Z',
        threadId: 0,
        level: 'System',
        errorCode: 'MY-010931',
        subsystem: 'Server',
        message: '/usr/sbin/mysqld: ready for connections.',
      },
    ],
    [
      'MySQL 8, log_timestamps=SYSTEM',
      '2026-11-27T15:08:31.123456+01:00 12 [ERROR] [MY-010584] [Repl] Replica SQL: x',
      { time: '2026-11-27T15:08:31.123456+01:00', threadId: 12, level: 'ERROR', subsystem: 'Repl' },
    ],
    [
      'MySQL 5.7',
      '2026-11-27T14:08:31.123456Z 0 [Note] mysqld: ready for connections.',
      { level: 'Note', errorCode: '', subsystem: '', message: 'mysqld: ready for connections.' },
    ],
    [
      'MySQL 5.5 / MariaDB 10.0, space-padded hour',
      '261127  9:08:31 [ERROR] mysqld got signal 11 ;',
      { time: '261127  9:08:31', threadId: null, level: 'ERROR', message: 'mysqld got signal 11 ;' },
    ],
    [
      'mysqld_safe',
      '261127 14:08:31 mysqld_safe Starting mariadbd daemon with databases from /var/lib/mysql',
      {
        level: 'Note',
        program: 'mysqld_safe',
        message: 'Starting mariadbd daemon with databases from /var/lib/mysql',
      },
    ],
    [
      'an InnoDB assertion: hexadecimal thread, no level',
      '2026-11-27 14:08:31 0x7f3c8c0ff700  InnoDB: Assertion failure in file btr0cur.cc line 336',
      {
        threadId: 0x7f3c8c0ff700,
        level: '',
        message: 'InnoDB: Assertion failure in file btr0cur.cc line 336',
      },
    ],
    [
      'a continuation line',
      "Version: '10.11.19-MariaDB-0+deb12u1-log'  socket: '/tmp/s.sock'  port: 33999",
      undefined,
    ],
    ['a stack frame', '/usr/sbin/mariadbd(my_print_stacktrace+0x2e)[0x55c1b4b5a0ce]', undefined],
  ])('%s', (_name, line, expected) => {
    const head = parseErrorLogHead(line);
    if (expected === undefined) expect(head).toBeUndefined();
    else expect(head).toMatchObject(expected);
  });
});

describe('ErrorLogParser', () => {
  it.each(ERROR_LOGS)('makes one entry per line with a time in %s', (name) => {
    const lines = fixtureText(name).split('\n');
    const heads = lines.filter((line) => parseErrorLogHead(line) !== undefined);
    const entries = parse(name);
    expect(entries).toHaveLength(heads.length);
    expect(entries.map((e) => e.message.split('\n')[0])).toEqual(
      heads.map((h) => parseErrorLogHead(h)?.message),
    );
    for (const entry of entries) expect(entry.malformed).toBe(false);
  });

  it.each(ERROR_LOGS)('gives the same entries for 1-byte, 7-byte and random chunks of %s', (name) => {
    const whole = parse(name);
    expect(parse(name, [1])).toEqual(whole);
    expect(parse(name, [7])).toEqual(whole);
    expect(parse(name, randomSizes(11, 500, 512))).toEqual(whole);
  });

  it('keeps the Version line with its ready-for-connections entry', () => {
    const ready = parse('mariadb-10.11-error').filter((e) => e.message.includes('ready for connections'));
    expect(ready).toHaveLength(2);
    expect(ready[0]?.message).toMatch(
      /^\/usr\/sbin\/mariadbd: ready for connections\.\nVersion: '10\.11\.19-MariaDB-0\+deb12u1-log' {2}socket: '.*' {2}port: 33999 {2}Debian 12$/,
    );
  });

  it('holds the last entry until the next begins or the input ends', () => {
    const parser = new ErrorLogParser();
    expect(
      parser.push(Buffer.from('2026-11-27 14:09:53 0 [Note] /usr/sbin/mariadbd: ready for connections.\n')),
    ).toEqual([]);
    expect(
      parser.push(Buffer.from("Version: '10.11.19'\n2026-11-27 14:09:54 0 [Note] next\n")),
    ).toMatchObject([{ message: "/usr/sbin/mariadbd: ready for connections.\nVersion: '10.11.19'" }]);
    expect(parser.flush()).toMatchObject([{ message: 'next' }]);
    expect(parser.flush()).toEqual([]);
  });

  it('keeps text from before the first entry, flagged malformed', () => {
    const entries = feed(
      new ErrorLogParser(),
      Buffer.from('tail of a cut line\n2026-11-27 14:09:54 0 [Note] x\n'),
    );
    expect(entries).toMatchObject([
      { message: 'tail of a cut line', malformed: true, level: '' },
      { message: 'x', malformed: false },
    ]);
  });

  it('cuts an entry longer than maxEntryBytes and flags it', () => {
    const long = `2026-11-27 14:09:54 0 [ERROR] crash\n${'frame\n'.repeat(100)}2026-11-27 14:09:55 0 [Note] after\n`;
    const entries = feed(new ErrorLogParser({ maxEntryBytes: 64 }), Buffer.from(long), [5]);
    expect(entries).toHaveLength(2);
    expect(entries[0]?.truncated).toBe(true);
    expect(Buffer.byteLength(entries[0]?.message ?? '')).toBeLessThanOrEqual(64);
    expect(entries[1]).toMatchObject({ message: 'after', truncated: false });
  });
});

describe('errorLogFields', () => {
  it.each(ERROR_LOGS)('makes valid raw-logs records of %s', (name) => {
    for (const fields of records(name)) {
      expect(() => serverLogRecord.parse({ ...fields, entityId: 'mysql:test', host: 'db' })).not.toThrow();
      expect(fields.attributes.time_missing).toBeUndefined();
    }
  });

  it('reads a failed login: level Warning, the user, the client host, category connection', () => {
    const denied = records('mariadb-10.11-error').filter((r) => r.message.startsWith('Access denied'));
    expect(denied.map((r) => [r.level, r.user, r.attributes.client_host, r.category, r.pid])).toEqual([
      ['Warning', 'root', '127.0.0.1', 'connection', 6],
      ['Warning', 'nobody', '127.0.0.1', 'connection', 7],
      ['Warning', 'nobody', '127.0.0.1', 'connection', 9],
    ]);
    expect(denied[0]?.attributes).toMatchObject({ event: 'access_denied', using_password: true });
    const mysql8 = records('mysql-8.0-error').find((r) => r.message.startsWith('Access denied'));
    expect(mysql8).toMatchObject({
      level: 'Note',
      user: 'app',
      category: 'connection',
      attributes: { client_host: '172.17.0.1', 'mysql.error_code': 'MY-010926', 'mysql.subsystem': 'Server' },
    });
  });

  it('reads an aborted connection: database, user and host', () => {
    const aborted = records('mariadb-10.11-error').find((r) => r.message.startsWith('Aborted connection'));
    expect(aborted).toMatchObject({
      level: 'Warning',
      database: 'app',
      user: 'root',
      category: 'connection',
      pid: 15,
      attributes: {
        event: 'aborted_connection',
        client_host: '127.0.0.1',
        reason: 'Got an error reading communication packets',
      },
    });
    const unconnected = records('mysql-5.7-error').find((r) => r.message.startsWith('Aborted connection'));
    expect(unconnected).toMatchObject({
      database: '',
      user: 'app',
      attributes: { client_host: 'localhost' },
    });
  });

  it.each<[Fixture, string, string]>([
    ['mariadb-10.11-error', 'Starting MariaDB 10.11.19', 'startup'],
    ['mariadb-10.11-error', '/usr/sbin/mariadbd: ready for connections.', 'startup'],
    ['mariadb-10.11-error', "Server socket created on IP: '127.0.0.1'", 'startup'],
    ['mariadb-10.11-error', 'InnoDB: Compressed tables use zlib', 'innodb'],
    [
      'mariadb-10.11-error',
      '/usr/sbin/mariadbd (initiated by: root[root] @  [127.0.0.1]): Normal shutdown',
      'shutdown',
    ],
    ['mariadb-10.11-error', 'InnoDB: Starting shutdown...', 'shutdown'],
    ['mariadb-10.11-error', 'Shutdown completed; log sequence number', 'shutdown'],
    ['mariadb-10.11-error', '/usr/sbin/mariadbd: Shutdown complete', 'shutdown'],
    ['mariadb-10.11-error', 'Could not read packet: fd: 44', 'connection'],
    ['mariadb-10.11-error', "Plugin 'FEEDBACK' is disabled.", 'other'],
    ['mariadb-10.11-error-start-failed', 'InnoDB: Unable to lock ./ibdata1 error: 11', 'error'],
    ['mariadb-10.11-error-start-failed', 'Aborting', 'error'],
    ['mariadb-10.11-replica-error', 'Slave I/O thread: connected to master', 'replication'],
    ['mariadb-10.11-replica-error', 'Slave SQL thread exiting', 'replication'],
    [
      'mariadb-10.11-replica-error',
      "Slave: Duplicate entry '?' for key 'PRIMARY' Error_code: 1062",
      'replication',
    ],
    ['mariadb-10.11-replica-error', 'Slave SQL: Error ', 'error'],
    ['mysql-8.0-error', '/usr/sbin/mysqld (mysqld 8.0.40) starting as process 1', 'startup'],
    ['mysql-8.0-error', 'InnoDB initialization has started.', 'startup'],
    ['mysql-8.0-error', 'CA certificate ca.pem is self signed.', 'other'],
    ['mysql-8.0-error', "Replica SQL for channel '': ... The replica coordinator", 'replication'],
    ['mysql-8.0-error', 'Received SHUTDOWN from user root.', 'shutdown'],
    ['mysql-8.0-error', '/usr/sbin/mysqld: Shutdown complete (mysqld 8.0.40)', 'shutdown'],
  ])('%s: “%s” is %s', (name, start, category) => {
    const record = records(name).find((r) => r.message.startsWith(start));
    expect(record?.category).toBe(category);
  });

  it('reads local times with the given offset, and exact times as they are', () => {
    const mariadb = parse('mariadb-10.11-error')[0] as ErrorLogEntry;
    expect(iso(errorLogFields(mariadb, { utcOffsetMinutes: 0 }))).toBe('2026-11-27T14:09:53.000Z');
    expect(iso(errorLogFields(mariadb, { utcOffsetMinutes: 60 }))).toBe('2026-11-27T13:09:53.000Z');
    expect(iso(errorLogFields(mariadb, { utcOffsetMinutes: -345 }))).toBe('2026-11-27T19:54:53.000Z');
    const mysql = parse('mysql-8.0-error')[1] as ErrorLogEntry;
    expect(errorLogFields(mysql, { utcOffsetMinutes: 600 }).ts).toBe('1795788510514120000');
  });

  it('takes the replica’s failed statement apart and removes its values', () => {
    for (const name of ['mariadb-10.11-replica-error', 'mysql-8.0-error'] as const) {
      const all = records(name);
      const json = JSON.stringify(all);
      for (const literal of ['heidi@example.com', 'frank@example.com', "'7'", "'8'", "'10'"]) {
        expect(json).not.toContain(literal);
      }
      const failed = all.find((r) => r.statement !== '');
      const raw =
        name === 'mysql-8.0-error'
          ? "INSERT INTO customers (id, email) VALUES (7, 'frank@example.com')"
          : "INSERT INTO shop.customers (id, email)\nVALUES (8, 'heidi@example.com')";
      expect(failed).toMatchObject({
        level: 'ERROR',
        category: 'error',
        statement: mysqlShape(raw).query,
        fingerprint: mysqlShape(raw).fingerprint,
        attributes: { 'mysql.sql_error_code': name === 'mysql-8.0-error' ? 'MY-001062' : '1062' },
      });
      expect(failed?.message).toContain(`Duplicate entry '?' for key`);
      expect(failed?.message).toContain(`Query: '${mysqlShape(raw).query}', `);
    }
    const mysql = records('mysql-8.0-error').find((r) => r.message.includes('Query:'));
    expect(mysql?.database).toBe('shop');
  });

  it('keeps the values with keepLiterals', () => {
    const failed = records('mariadb-10.11-replica-error', { keepLiterals: true }).find(
      (r) => r.statement !== '',
    );
    expect(failed?.statement).toBe("INSERT INTO shop.customers (id, email)\nVALUES (8, 'heidi@example.com')");
    expect(failed?.message).toContain("Duplicate entry '8' for key");
    expect(failed?.fingerprint).toBe(mysqlShape(failed?.statement ?? '').fingerprint);
  });

  it('spells the table’s Error level ERROR, as the file does, and marks a missing time', () => {
    const fields = errorLogFields(
      {
        time: 'garbage',
        threadId: 3,
        level: 'Error',
        errorCode: 'MY-000001',
        subsystem: 'Server',
        message: 'x',
        program: '',
        truncated: false,
        malformed: false,
      },
      { now: () => 42n, logFormat: 'error_log_table' },
    );
    expect(fields).toMatchObject({
      level: 'ERROR',
      ts: '42',
      pid: 3,
      attributes: { time_missing: true, log_format: 'error_log_table' },
    });
  });
});
