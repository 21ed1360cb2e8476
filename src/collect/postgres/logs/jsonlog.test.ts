import { describe, expect, it } from 'vitest';
import { FIXTURES, fixtureBytes } from '../../../../test/fixtures/postgres-logs/fixtures.js';
import { feed, randomSizes } from '../../../../test/helpers/chunked-feed.js';
import { CsvlogParser } from './csvlog.js';
import { JsonlogParser, parseJsonlogLine } from './jsonlog.js';
import type { ParsedLogEntry } from './log-parser.js';
import { parseLogTime } from './timestamp.js';

const parse = (bytes: Buffer, sizes?: number[], maxRecordBytes?: number) =>
  feed(new JsonlogParser({ maxRecordBytes }), bytes, sizes);

/** The fields both csvlog and jsonlog carry, written the same way. */
function common(entry: ParsedLogEntry) {
  return {
    logTime: entry.logTime,
    user: entry.user,
    database: entry.database,
    pid: entry.pid,
    remoteHost: entry.remoteHost,
    sessionId: entry.sessionId,
    sessionLineNum: entry.sessionLineNum,
    severity: entry.severity,
    sqlstate: entry.sqlstate,
    message: entry.message,
    detail: entry.detail,
    hint: entry.hint,
    context: entry.context,
    query: entry.query,
    application: entry.application,
    backendType: entry.backendType,
  };
}

function sorted(entries: ParsedLogEntry[]): ParsedLogEntry[] {
  const key = (e: ParsedLogEntry) => `${e.sessionId}:${String(e.sessionLineNum).padStart(9, '0')}`;
  return [...entries].sort((a, b) => key(a).localeCompare(key(b)));
}

describe('JsonlogParser', () => {
  it.each(FIXTURES)('parses every entry of %s.jsonl as its csvlog twin does', (name) => {
    const entries = parse(fixtureBytes(name, 'jsonlog'));
    const csv = feed(new CsvlogParser(), fixtureBytes(name, 'csvlog'));
    // The logger may write the two files in a slightly different order: compare by session line.
    expect(sorted(entries).map(common)).toEqual(sorted(csv).map(common));
    for (const entry of entries) {
      expect(entry.malformed).toBe(false);
      expect(parseLogTime(entry.logTime)).toBeDefined();
    }
    // jsonlog leaves out a zero query id that csvlog writes; a computed one must agree digit for digit.
    expect(sorted(entries).map((e) => e.queryId || '0')).toEqual(sorted(csv).map((e) => e.queryId || '0'));
  });

  it.each(FIXTURES)('gives the same entries for 1-byte, 7-byte and random chunks of %s.jsonl', (name) => {
    const bytes = fixtureBytes(name, 'jsonlog');
    const whole = parse(bytes);
    expect(parse(bytes, [1])).toEqual(whole);
    expect(parse(bytes, [7])).toEqual(whole);
    expect(parse(bytes, randomSizes(7))).toEqual(whole);
  });

  it('keeps a JSON auto_explain plan and a multi-line statement whole', () => {
    const entries = parse(fixtureBytes('main-utc', 'jsonlog'), [7]);
    const plan = entries.find((e) => e.message.includes('  plan:\n') && e.message.includes('first line'));
    const body = JSON.parse(plan?.message.slice(plan.message.indexOf('\n') + 1) ?? '') as Record<
      string,
      unknown
    >;
    expect(body['Query Text']).toBe(
      "INSERT INTO customers (id, email, note)\nVALUES (1, 'alice@example.com', 'first line\nsecond line — Zoë 日本')",
    );
  });

  it('keeps all 19 digits of a query id', () => {
    const entry = parseJsonlogLine(
      '{"timestamp":"2026-11-23 19:08:41.123 UTC","pid":7,"error_severity":"LOG","message":"m","query_id":-8238068649756735503}',
    );
    expect(entry.queryId).toBe('-8238068649756735503');
  });

  it('keeps the fields before the cut of an oversize line and flags it', () => {
    const message = 'duration: 2.000 ms  statement: SELECT ' + "'x\\n\\\"'".repeat(4000);
    const line = (text: string) =>
      JSON.stringify({
        timestamp: '2026-11-23 19:08:41.123 UTC',
        user: 'app',
        dbname: 'shop',
        pid: 9,
        error_severity: 'LOG',
        message: text,
      }) + '\n';
    const entries = parse(Buffer.from(line(message) + line('next')), [333], 1000);
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({
      user: 'app',
      database: 'shop',
      pid: 9,
      severity: 'LOG',
      truncated: true,
    });
    expect(entries[0]?.message.startsWith(`duration: 2.000 ms  statement: SELECT 'x\\n\\"'`)).toBe(true);
    expect(Buffer.byteLength(entries[0]?.message ?? '')).toBeLessThan(1000);
    expect(entries[1]).toMatchObject({ message: 'next', truncated: false, malformed: false });
  });

  it('flags a line that is not a jsonlog object', () => {
    expect(parse(Buffer.from('[1,2]\nnot json\n')).map((e) => e.malformed)).toEqual([true, true]);
  });
});
