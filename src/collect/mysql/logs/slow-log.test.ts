import { describe, expect, it } from 'vitest';
import { serverLogRecord } from '../../../bus/raw-records.js';
import { mysqlShape } from '../../../sql/mysql-shape.js';
import {
  SLOW_LOGS,
  fixtureBytes,
  fixtureText,
  type Fixture,
} from '../../../../test/fixtures/mysql-logs/fixtures.js';
import { feed, randomSizes } from '../../../../test/helpers/chunked-feed.js';
import { SlowLogParser, slowLogFields, type SlowLogEntry } from './slow-log.js';

const parse = (name: Fixture, sizes?: number[]) => feed(new SlowLogParser(), fixtureBytes(name), sizes);
const parseText = (text: string) => feed(new SlowLogParser(), Buffer.from(text));
const records = (name: Fixture, keepLiterals = false) =>
  parse(name).map((e) => slowLogFields(e, { keepLiterals, utcOffsetMinutes: 0 }));

/** Values the fixtures' statements carry: none may leave the collector without keepLiterals. */
const LITERALS = [
  'alice@example.com',
  'bob@example.org',
  'carol@example.net',
  'dave@example.com',
  'erin@example.org',
  'grace@example.com',
  '@example.com',
  '1234.56',
  '98765.43',
  '17.25',
  '10.5',
  'Zoë',
  '日本',
  'first line',
  'line one',
  'touched ',
  '0x4A6F686E',
  "X'ff'",
  "b'101'",
  '1.5e3',
  '%vip%',
  'touched%',
  "'x'",
];

describe('SlowLogParser', () => {
  it.each(SLOW_LOGS)('makes one entry per statement in %s, skipping the server headers', (name) => {
    const entries = parse(name);
    const userHostLines = fixtureText(name)
      .split('\n')
      .filter((line) => /^# User@Host: \S+\[/.test(line));
    expect(entries).toHaveLength(userHostLines.length);
    for (const entry of entries) {
      expect(entry.malformed).toBe(false);
      expect(entry.statement).not.toMatch(/started with:|^Tcp port:|Id\s+Command\s+Argument/m);
      expect(entry.statement === '').toBe(entry.adminCommand !== '');
      expect(entry.fields.Query_time).toMatch(/^\d+\.\d{6}$/);
    }
  });

  it.each(SLOW_LOGS)('gives the same entries for 1-byte, 7-byte and random chunks of %s', (name) => {
    const whole = parse(name);
    expect(parse(name, [1])).toEqual(whole);
    expect(parse(name, [7])).toEqual(whole);
    expect(parse(name, randomSizes(5, 500, 512))).toEqual(whole);
  });

  it('reads a MariaDB entry: user, host, thread, schema, timestamp, fields, statement', () => {
    const entries = parse('mariadb-10.11-slow');
    expect(entries[2]).toEqual<SlowLogEntry>({
      time: '261127 14:10:01',
      timestamp: 1795788601,
      user: 'root',
      privUser: 'root',
      clientHost: '',
      clientIp: '127.0.0.1',
      threadId: 4,
      schema: 'app',
      fields: {
        Thread_id: '4',
        Schema: 'app',
        QC_hit: 'No',
        Query_time: '0.017436',
        Lock_time: '0.000070',
        Rows_sent: '0',
        Rows_examined: '0',
        Rows_affected: '0',
        Bytes_sent: '11',
      },
      statement:
        'CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(200), note TEXT, balance DECIMAL(10,2))',
      adminCommand: '',
      truncated: false,
      malformed: false,
    });
    // Schema is empty for a session without one, whatever `use` came before.
    expect(entries[0]).toMatchObject({ schema: '', statement: 'CREATE DATABASE app' });
  });

  it('keeps a multi-line statement whole, a line that looks like a header and a `;` at a line end included', () => {
    const insert = parse('mariadb-10.11-slow').find((e) => e.statement.includes('dave@example.com'));
    expect(insert?.statement).toBe(
      "INSERT INTO customers VALUES (3, 'dave@example.com', 'first line;\n# User@Host: not a header\nsecond line — Zoë 日本', 1234.56), (4, 'erin@example.org', NULL, -98765.43)",
    );
    const mysql = parse('mysql-8.0-slow').find((e) => e.statement.startsWith('INSERT'));
    expect(mysql?.statement).toBe(
      "INSERT INTO customers (email, note) VALUES ('grace@example.com', 'line one\n# not a header\nline two')",
    );
    expect(mysql?.timestamp).toBe(1795788513);
  });

  it('reads log_slow_verbosity fields and leaves the explain rows out', () => {
    const verbose = parse('mariadb-10.11-slow').find((e) => e.statement.includes('JOIN customers d'));
    expect(verbose?.fields).toMatchObject({ Full_scan: 'Yes', Filesort: 'Yes', Merge_passes: '0' });
    expect(Object.keys(verbose?.fields ?? {})).not.toContain('explain');
    expect(verbose?.statement.startsWith('SELECT c.email')).toBe(true);
  });

  it('reads a MySQL 8 entry: Id, exact time, log_slow_extra fields, the schema of an earlier `use`', () => {
    const entries = parse('mysql-8.0-slow');
    expect(entries[0]).toMatchObject({
      time: '2026-11-27T14:08:31.123456Z',
      threadId: 8,
      clientHost: 'localhost',
    });
    expect(entries[1]).toMatchObject({
      time: '2026-11-27T14:08:32.500000Z',
      threadId: 12,
      user: 'app',
      clientHost: '',
      clientIp: '172.17.0.1',
      schema: 'shop',
      fields: { Rows_examined: '100000', Bytes_received: '95', Start: '2026-11-27T14:08:31.250000Z' },
    });
    expect(entries[3]).toMatchObject({ adminCommand: 'Quit', statement: '' });
  });

  it.each<[string, string, Partial<SlowLogEntry>]>([
    [
      'MariaDB carries # Time over to the entries after it',
      '# Time: 261127 14:08:31\n# User@Host: a[a] @ h [1.2.3.4]\n# Query_time: 1.000000\nSELECT 1;\n# User@Host: b[b] @ h [1.2.3.4]\n# Query_time: 2.000000\nSELECT 2;\n',
      { time: '261127 14:08:31', user: 'b', statement: 'SELECT 2' },
    ],
    [
      'SET with insert ids before the timestamp',
      '# User@Host: a[a] @ h []\nSET last_insert_id=5,insert_id=6,timestamp=1795788511;\nINSERT INTO t VALUES (NULL);\n',
      { timestamp: 1795788511, statement: 'INSERT INTO t VALUES (NULL)' },
    ],
    [
      'a backquoted use',
      '# User@Host: a[a] @ h []\nuse `my``db`;\nSELECT 1;\n',
      { schema: 'my`db', statement: 'SELECT 1' },
    ],
    [
      'the account differs from the user name (anonymous account)',
      '# User@Host: [bob] @ localhost []\nSELECT 1;\n',
      { privUser: '', user: 'bob', clientHost: 'localhost' },
    ],
    [
      'a statement without a trailing newline',
      '# User@Host: a[a] @ h []\nSELECT 1;',
      { statement: 'SELECT 1' },
    ],
  ])('%s', (_name, text, expected) => {
    expect(parseText(text).at(-1)).toMatchObject(expected);
  });

  it('holds the last entry until the next begins or the input ends', () => {
    const parser = new SlowLogParser();
    expect(parser.push(Buffer.from('# User@Host: a[a] @ h []\n# Query_time: 1.0\nSELECT 1;\n'))).toEqual([]);
    expect(parser.push(Buffer.from('# User@Host: b[b] @ h []\n'))).toMatchObject([{ user: 'a' }]);
    expect(parser.flush()).toMatchObject([{ user: 'b', statement: '' }]);
    expect(parser.flush()).toEqual([]);
  });

  it('keeps text from before the first header, flagged malformed', () => {
    expect(parseText("'tail of a statement');\n# User@Host: a[a] @ h []\nSELECT 1;\n")).toMatchObject([
      { malformed: true, statement: "'tail of a statement')" },
      { malformed: false, statement: 'SELECT 1' },
    ]);
  });

  it('cuts a statement longer than maxEntryBytes and flags it', () => {
    const text = `# User@Host: a[a] @ h []\nSELECT\n${'1,\n'.repeat(100)}2;\n# User@Host: b[b] @ h []\nSELECT 3;\n`;
    const entries = feed(new SlowLogParser({ maxEntryBytes: 64 }), Buffer.from(text), [3]);
    expect(entries).toHaveLength(2);
    expect(entries[0]?.truncated).toBe(true);
    expect(Buffer.byteLength(entries[0]?.statement ?? '')).toBeLessThanOrEqual(64);
    expect(entries[1]).toMatchObject({ user: 'b', statement: 'SELECT 3', truncated: false });
  });
});

describe('slowLogFields', () => {
  it.each(SLOW_LOGS)('makes valid raw-logs records of %s, with no literal in them', (name) => {
    const all = records(name);
    for (const fields of all) {
      expect(() => serverLogRecord.parse({ ...fields, entityId: 'mysql:test', host: 'db' })).not.toThrow();
      expect(fields.category).toBe('statement_duration');
      expect(fields.durationMs).toBeGreaterThanOrEqual(0);
      expect(fields.attributes.time_missing).toBeUndefined();
    }
    const json = JSON.stringify(all);
    for (const literal of LITERALS) expect(json).not.toContain(literal);
  });

  it('gives the statement the shape and fingerprint of mysqlShape, as the digests have', () => {
    const entries = parse('mariadb-10.11-slow');
    for (const entry of entries) {
      const fields = slowLogFields(entry);
      expect(fields.statement).toBe(mysqlShape(entry.statement).query);
      expect(fields.fingerprint).toBe(mysqlShape(entry.statement).fingerprint);
      expect(fields.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    }
    // The same statement with other values has the same fingerprint.
    const inserts = entries.filter((e) => e.statement.startsWith('INSERT INTO customers VALUES'));
    expect(new Set(inserts.map((e) => e.statement)).size).toBeGreaterThan(1);
    expect(new Set(inserts.map((e) => slowLogFields(e).fingerprint)).size).toBe(1);
  });

  it('reads a MariaDB entry into the record', () => {
    const create = records('mariadb-10.11-slow')[2];
    expect(create).toMatchObject({
      ts: '1795788601017436000',
      level: 'Note',
      category: 'statement_duration',
      durationMs: 17.436,
      database: 'app',
      user: 'root',
      pid: 4,
      attributes: {
        lock_time_ms: 0.07,
        rows_sent: 0,
        rows_examined: 0,
        rows_affected: 0,
        bytes_sent: 11,
        qc_hit: false,
        client_host: '127.0.0.1',
        log_format: 'slow_log',
      },
    });
    expect(create?.message).toBe(`duration: 17.436 ms  statement: ${create?.statement ?? ''}`);
    const slow = records('mariadb-10.11-slow').find((r) => (r.durationMs ?? 0) > 5000);
    expect(slow).toMatchObject({ durationMs: 5000.263, ts: '1795788704000263000', pid: 15 });
  });

  it('reads a MySQL 8 entry into the record: the exact # Time, Id, host name', () => {
    const [select, update, insert, quit] = records('mysql-8.0-slow');
    expect(select).toMatchObject({
      ts: '1795788511123456000',
      durationMs: 0.123,
      database: 'shop',
      user: 'root',
      pid: 8,
      statement: mysqlShape("SELECT id, email FROM customers WHERE email = 'alice@example.com'").query,
      attributes: { lock_time_ms: 0.045, rows_sent: 1, rows_examined: 1, client_host: 'localhost' },
    });
    expect(update).toMatchObject({
      ts: '1795788512500000000',
      durationMs: 1250,
      attributes: { rows_examined: 100000, read_rnd_next: 100001, client_host: '172.17.0.1' },
    });
    expect(Object.keys(update?.attributes ?? {})).not.toContain('start');
    expect(insert?.statement).toBe(mysqlShape('INSERT INTO customers (email, note) VALUES (?, ?)').query);
    expect(quit).toMatchObject({
      statement: '',
      fingerprint: '',
      message: 'duration: 0.02 ms  administrator command: Quit',
      attributes: { admin_command: 'Quit' },
    });
  });

  it('keeps the statement as logged with keepLiterals', () => {
    const kept = records('mariadb-10.11-slow', true).find((r) => r.statement.includes('dave@example.com'));
    expect(kept?.statement).toContain("'first line;\n# User@Host: not a header\nsecond line — Zoë 日本'");
    expect(kept?.fingerprint).toBe(mysqlShape(kept?.statement ?? '').fingerprint);
  });

  it('gives a client_ip beside the host name when both were logged', () => {
    const [entry] = parseText('# User@Host: a[a] @ web1 [10.0.0.5]\n# Query_time: 0.5\nSELECT 1;\n');
    expect(slowLogFields(entry as SlowLogEntry).attributes).toMatchObject({
      client_host: 'web1',
      client_ip: '10.0.0.5',
    });
  });

  it('falls back to the local # Time, then to now, when the entry has no SET timestamp', () => {
    const [local] = parseText('# Time: 261127 14:08:31\n# User@Host: a[a] @ h []\nSELECT 1;\n');
    expect(slowLogFields(local as SlowLogEntry, { utcOffsetMinutes: 60 }).ts).toBe('1795784911000000000');
    const [none] = parseText('# User@Host: a[a] @ h []\nSELECT 1;\n');
    expect(slowLogFields(none as SlowLogEntry, { now: () => 7n })).toMatchObject({
      ts: '7',
      durationMs: null,
      attributes: { time_missing: true },
    });
  });
});
