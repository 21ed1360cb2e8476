import { describe, expect, it } from 'vitest';
import { FIXTURES, fixtureBytes } from '../../../../test/fixtures/postgres-logs/fixtures.js';
import { feed, randomSizes } from '../../../../test/helpers/chunked-feed.js';
import { CsvlogParser, parseCsvRecord } from './csvlog.js';
import { parseLogTime } from './timestamp.js';

const parse = (bytes: Buffer, sizes?: number[], maxRecordBytes?: number) =>
  feed(new CsvlogParser({ maxRecordBytes }), bytes, sizes);

describe('CsvlogParser', () => {
  it.each(FIXTURES)('parses every entry of %s.csv', (name) => {
    const entries = parse(fixtureBytes(name, 'csvlog'));
    // The same server wrote the jsonlog file at the same time: one line per entry.
    const expected = fixtureBytes(name, 'jsonlog').toString('utf8').trimEnd().split('\n').length;
    expect(entries).toHaveLength(expected);
    for (const entry of entries) {
      expect(entry.malformed).toBe(false);
      expect(entry.truncated).toBe(false);
      expect(parseLogTime(entry.logTime)).toBeDefined();
      expect(entry.severity).toMatch(/^(LOG|ERROR|FATAL|WARNING)$/);
      expect(entry.pid).toBeGreaterThan(0);
      expect(entry.sessionId).toMatch(/^[0-9a-f]+\.[0-9a-f]+$/);
    }
  });

  it.each(FIXTURES)('gives the same entries for 1-byte, 7-byte and random chunks of %s.csv', (name) => {
    const bytes = fixtureBytes(name, 'csvlog');
    const whole = parse(bytes);
    expect(parse(bytes, [1])).toEqual(whole);
    expect(parse(bytes, [7])).toEqual(whole);
    expect(parse(bytes, randomSizes(11))).toEqual(whole);
  });

  it('keeps a multi-line statement with a newline inside a string literal whole', () => {
    const entries = parse(fixtureBytes('main-utc', 'csvlog'));
    const insert = entries.find(
      (e) => e.message.startsWith('duration: ') && e.message.includes('statement: INSERT'),
    );
    expect(insert?.message).toMatch(
      /^duration: \d+\.\d+ ms {2}statement: INSERT INTO customers \(id, email, note\)\nVALUES \(1, 'alice@example.com', 'first line\nsecond line — Zoë 日本'\)$/,
    );
  });

  it('keeps a JSON auto_explain plan whole', () => {
    const entries = parse(fixtureBytes('main-utc', 'csvlog'), [7]);
    const plans = entries.filter((e) => e.message.includes('  plan:\n'));
    expect(plans.length).toBeGreaterThan(3);
    for (const plan of plans) {
      const json = JSON.parse(plan.message.slice(plan.message.indexOf('\n') + 1)) as Record<string, unknown>;
      expect(Object.keys(json)).toEqual(['Query Text', 'Plan']);
    }
  });

  it('reads the error fields, the user, the database and the query id', () => {
    const entries = parse(fixtureBytes('main-utc', 'csvlog'));
    const missing = entries.find((e) => e.sqlstate === '42P01');
    expect(missing).toMatchObject({
      severity: 'ERROR',
      message: 'relation "missing_table" does not exist',
      user: 'app',
      database: 'shop',
      application: 'fixture-app',
      query: 'SELECT * FROM missing_table',
      queryPos: '15',
      remoteHost: '127.0.0.1',
      backendType: 'client backend',
    });
    expect(missing?.remotePort).toMatch(/^\d+$/);
    const duplicate = entries.find((e) => e.sqlstate === '23505');
    expect(duplicate?.detail).toBe('Key (id)=(1) already exists.');
    expect(entries.find((e) => e.sqlstate === '42703')?.hint).toBe(
      'Perhaps you meant to reference the column "customers.email".',
    );
    // A 64-bit query id keeps every digit.
    expect(entries.some((e) => /^-?\d{16,19}$/.test(e.queryId))).toBe(true);
  });

  it('cuts an oversize record, flags it and parses the next one', () => {
    const line = (message: string) =>
      `2026-11-23 19:08:41.123 UTC,"app","shop",42,"127.0.0.1:5000",6b04909e.3746,1,"SELECT",2026-11-23 19:08:40 UTC,3/1,0,LOG,00000,"${message}",,,,,,,,,"psql","client backend",,0\n`;
    const huge = `duration: 1.000 ms  statement: SELECT '${'x"",\n'.repeat(5000)}'`;
    const bytes = Buffer.from(line(huge) + line('next'));
    const entries = parse(bytes, [1000], 2048);
    expect(entries).toHaveLength(2);
    expect(entries[0]?.truncated).toBe(true);
    expect(entries[0]?.message.startsWith('duration: 1.000 ms  statement: SELECT \'x",\n')).toBe(true);
    expect(Buffer.byteLength(entries[0]?.message ?? '')).toBeLessThan(2048);
    expect(entries[1]).toMatchObject({ message: 'next', truncated: false, malformed: false, pid: 42 });
  });

  it('flags a record that is not csvlog', () => {
    const [entry] = parse(Buffer.from('not,a,log\n'));
    expect(entry).toMatchObject({ malformed: true, message: 'not,a,log' });
  });

  it('reports the bytes of an unfinished record as pending', () => {
    const parser = new CsvlogParser();
    const bytes = fixtureBytes('startup-utc', 'csvlog');
    const returned = parser.push(bytes.subarray(0, 500));
    // The first records of this file have no newline inside quotes.
    const lastEnd = bytes.subarray(0, 500).lastIndexOf('\n') + 1;
    expect(returned).toHaveLength(bytes.subarray(0, lastEnd).toString().split('\n').length - 1);
    expect(parser.pendingBytes).toBe(500 - lastEnd);
  });
});

describe('parseCsvRecord', () => {
  it('reads quoted fields with doubled quotes, commas and newlines', () => {
    expect(parseCsvRecord('a,"b ""q"", c\nd",,e')).toEqual(['a', 'b "q", c\nd', '', 'e']);
  });

  it('runs an unterminated quoted field to the end', () => {
    expect(parseCsvRecord('a,"cut')).toEqual(['a', 'cut']);
  });
});
