import { describe, expect, it } from 'vitest';
import { CUSTOM_PREFIX, FIXTURES, fixtureBytes } from '../../../../test/fixtures/postgres-logs/fixtures.js';
import { feed, randomSizes } from '../../../../test/helpers/chunked-feed.js';
import { CsvlogParser } from './csvlog.js';
import type { ParsedLogEntry } from './log-parser.js';
import { StderrParser } from './stderr.js';
import { parseLogTime } from './timestamp.js';

const parse = (
  bytes: Buffer,
  sizes?: number[],
  options: { maxRecordBytes?: number; linePrefix?: string } = {},
) => feed(new StderrParser({ linePrefix: CUSTOM_PREFIX, ...options }), bytes, sizes);

/** What every stderr prefix form keeps of an entry, as one comparable string. */
const essence = (e: ParsedLogEntry) =>
  JSON.stringify([e.pid, e.severity, e.message, e.detail, e.hint, e.context, e.query, e.queryPos]);

describe('StderrParser', () => {
  it.each(FIXTURES)('parses every entry of %s.log like its csvlog twin', (name) => {
    const entries = parse(fixtureBytes(name, 'stderr'));
    const csv = feed(new CsvlogParser(), fixtureBytes(name, 'csvlog'));
    expect(entries.map(essence).sort()).toEqual(csv.map(essence).sort());
    for (const entry of entries) {
      expect(entry.malformed).toBe(false);
      expect(parseLogTime(entry.logTime)?.tzUnknown).toBe(false);
    }
  });

  it.each(FIXTURES)('gives the same entries for 1-byte, 7-byte and random chunks of %s.log', (name) => {
    const bytes = fixtureBytes(name, 'stderr');
    const whole = parse(bytes);
    expect(parse(bytes, [1])).toEqual(whole);
    expect(parse(bytes, [7])).toEqual(whole);
    expect(parse(bytes, randomSizes(3))).toEqual(whole);
  });

  it('reads the default prefix and takes user, database and application from the session', () => {
    const entries = parse(fixtureBytes('main-utc', 'stderr'), undefined, {});
    const error = entries.find((e) => e.message === 'relation "missing_table" does not exist');
    expect(error).toMatchObject({
      logTime: expect.stringMatching(/^2026-11-23 19:14:\d\d\.\d{3} UTC$/) as unknown,
      severity: 'ERROR',
      user: 'app',
      database: 'shop',
      application: 'fixture-app',
      query: 'SELECT * FROM missing_table',
      queryPos: '15',
    });
    const insert = entries.find((e) => e.message.includes('statement: INSERT INTO customers (id'));
    expect(insert?.message).toContain(
      "VALUES (1, 'alice@example.com', 'first line\nsecond line — Zoë 日本')",
    );
  });

  it("reads Debian's prefix, %q included", () => {
    const entries = parse(fixtureBytes('debian-prefix', 'stderr'), undefined, {});
    const context = entries.find((e) => e.context !== '');
    expect(context).toMatchObject({
      user: 'app',
      database: 'shop',
      message: 'division by zero',
      context: 'SQL statement "SELECT 1/0"\nPL/pgSQL function inline_code_block line 1 at PERFORM',
      query: 'DO $$BEGIN PERFORM 1/0; END$$',
    });
    const checkpoint = entries.find((e) => e.message.startsWith('checkpoint starting'));
    expect(checkpoint).toMatchObject({ user: '', database: '', severity: 'LOG' });
    const plan = entries.find((e) => e.message.includes('"Query Text": "UPDATE customers'));
    const body = JSON.parse(plan?.message.slice(plan.message.indexOf('\n') + 1) ?? '') as Record<
      string,
      unknown
    >;
    expect(body['Query Text']).toBe("UPDATE customers SET note = 'multi\nline' WHERE id = 2");
  });

  it("reads pgBadger's prefix with a numeric zone, and a configured prefix after a reload", () => {
    const entries = parse(fixtureBytes('pgbadger-prefix-text-plans', 'stderr'));
    const error = entries.find((e) => e.severity === 'ERROR');
    expect(error).toMatchObject({
      logTime: expect.stringMatching(/^2026-11-23 20:14:\d\d \+01$/) as unknown,
      user: 'app',
      database: 'shop',
      application: 'pgbadger app',
      remoteHost: '127.0.0.1',
      sessionLineNum: expect.any(Number) as unknown,
      message: 'invalid input syntax for type integer: "x"',
      query: "SELECT 'x'::int",
    });
    const reloaded = entries.filter((e) => e.sessionId !== '');
    expect(reloaded.length).toBeGreaterThan(0);
    // The first line in the new form still has the old zone; the zone change follows it.
    expect(reloaded.map((e) => e.logTime.slice(24))).toEqual(['+01', ...Array<string>(8).fill('+0545')]);
  });

  it('reads a configured prefix: session id, line, transaction ids, sqlstate, host and port', () => {
    const entries = parse(fixtureBytes('custom-prefix-0545', 'stderr'));
    const duplicate = entries.find((e) => e.severity === 'ERROR');
    expect(duplicate).toMatchObject({
      sqlstate: '23505',
      sessionId: expect.stringMatching(/^[0-9a-f]+\.[0-9a-f]+$/) as unknown,
      transactionId: expect.stringMatching(/^[1-9]\d*$/) as unknown,
      virtualTransactionId: expect.stringMatching(/^\d+\/\d+$/) as unknown,
      application: 'custom',
      remoteHost: '127.0.0.1',
      remotePort: expect.stringMatching(/^\d+$/) as unknown,
      detail: 'Key (id)=(300) already exists.',
    });
  });

  it('without the configured prefix, lines in an unknown form come out flagged, not lost', () => {
    const entries = parse(fixtureBytes('custom-prefix-0545', 'stderr'), undefined, { linePrefix: undefined });
    expect(entries.every((e) => e.malformed)).toBe(true);
    expect(entries.length).toBeGreaterThan(13);
  });

  it('attaches DETAIL to the entry of the same pid only', () => {
    const text = [
      '2026-11-23 19:14:38.479 UTC [1] LOG:  one',
      '2026-11-23 19:14:38.479 UTC [2] ERROR:  two',
      '2026-11-23 19:14:38.479 UTC [2] DETAIL:  detail of two',
      '\tsecond line',
      '2026-11-23 19:14:38.479 UTC [1] DETAIL:  stray',
      '',
    ].join('\n');
    const entries = parse(Buffer.from(text));
    expect(entries.map((e) => [e.pid, e.severity, e.message, e.detail])).toEqual([
      [1, 'LOG', 'one', ''],
      [2, 'ERROR', 'two', 'detail of two\nsecond line'],
      [1, 'DETAIL', 'stray', ''],
    ]);
  });

  it('holds the last entry until the next one starts, and counts its bytes as pending', () => {
    const parser = new StderrParser();
    const first = '2026-11-23 19:14:38.479 UTC [1] LOG:  duration: 1.000 ms  plan:\n\t{\n\t}\n';
    expect(parser.push(Buffer.from(first))).toEqual([]);
    expect(parser.pendingBytes).toBe(Buffer.byteLength(first));
    const [entry] = parser.push(Buffer.from('2026-11-23 19:14:38.480 UTC [1] LOG:  next\n'));
    expect(entry?.message).toBe('duration: 1.000 ms  plan:\n{\n}');
    expect(parser.flush().map((e) => e.message)).toEqual(['next']);
  });

  it('bounds an entry of many short lines (a huge plan) and keeps parsing after it', () => {
    const lines = ['2026-11-23 19:14:38.479 UTC [1] LOG:  duration: 1.000 ms  plan:'];
    for (let i = 0; i < 20_000; i++) lines.push(`\t  "Node Type": "Seq Scan ${i}",`);
    lines.push('2026-11-23 19:14:38.480 UTC [1] LOG:  after', '');
    const entries = parse(Buffer.from(lines.join('\n')), [4096], { maxRecordBytes: 8192 });
    expect(entries).toHaveLength(2);
    expect(entries[0]?.truncated).toBe(true);
    expect(Buffer.byteLength(entries[0]?.message ?? '')).toBeLessThanOrEqual(8192);
    expect(entries[1]).toMatchObject({ message: 'after', truncated: false });
  });
});
