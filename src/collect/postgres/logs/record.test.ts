import { beforeAll, describe, expect, it } from 'vitest';
import { serverLogRecord } from '../../../bus/raw-records.js';
import {
  CUSTOM_PREFIX,
  FIXTURES,
  fixtureBytes,
  type Fixture,
} from '../../../../test/fixtures/postgres-logs/fixtures.js';
import { feed } from '../../../../test/helpers/chunked-feed.js';
import { loadSqlParser } from '../../../sql/postgres-shape.js';
import { createLogParser, type LogFormat, type ServerLogFields } from './index.js';
import { emptyEntry } from './log-parser.js';
import { toServerLogFields } from './record.js';

const FORMATS: LogFormat[] = ['csvlog', 'jsonlog', 'stderr'];

function records(name: Fixture, format: LogFormat, keepLiterals = false): ServerLogFields[] {
  const entries = feed(createLogParser(format, { linePrefix: CUSTOM_PREFIX }), fixtureBytes(name, format));
  return entries.map((entry) => toServerLogFields(entry, { keepLiterals }));
}

/** Values the fixture workload put in literals, bind parameters and plans. */
const SECRETS = [
  'alice@example.com',
  'bob@example.com',
  'carol@',
  'dave@',
  'eve@',
  'apppw',
  'first line',
  'Zoë',
];

beforeAll(async () => {
  await loadSqlParser();
});

describe('toServerLogFields', () => {
  it.each(FIXTURES.flatMap((name) => FORMATS.map((format) => [name, format] as const)))(
    'makes a valid raw-logs record of every entry of %s (%s), with no literal left',
    (name, format) => {
      const all = records(name, format);
      for (const fields of all) {
        const result = serverLogRecord.safeParse({ ...fields, entityId: 'pg:test', host: 'db1' });
        expect(result.error).toBeUndefined();
        expect(fields.attributes.time_missing).toBeUndefined();
        expect(fields.attributes.tz_unknown).toBeUndefined();
      }
      const text = JSON.stringify(all);
      for (const secret of SECRETS) expect(text).not.toContain(secret);
    },
  );

  it('keeps the literals when asked', () => {
    const text = JSON.stringify(records('main-utc', 'csvlog', true));
    expect(text).toContain('alice@example.com');
    expect(text).toContain('first line\\nsecond line — Zoë 日本');
  });

  it.each(FIXTURES)('gives the same records from the csvlog and jsonlog files of %s', (name) => {
    const key = (r: ServerLogFields) =>
      JSON.stringify([
        r.ts,
        r.pid,
        r.attributes.session_line,
        r.message,
        r.category,
        r.durationMs,
        r.fingerprint,
        r.statement,
        r.sample,
        r.sqlstate,
      ]);
    expect(records(name, 'jsonlog').map(key).sort()).toEqual(records(name, 'csvlog').map(key).sort());
  });

  // (debian-prefix.log ends in pgBadger's form, whose %t has no milliseconds.)
  it.each(['startup-utc', 'main-utc', 'custom-prefix-0545'] as const)(
    'reads the same times, statements and plans from the stderr file of %s',
    (name) => {
      const key = (r: ServerLogFields) =>
        JSON.stringify([
          r.ts,
          r.pid,
          r.level,
          r.message,
          r.category,
          r.durationMs,
          r.fingerprint,
          r.statement,
          r.sample,
        ]);
      expect(records(name, 'stderr').map(key).sort()).toEqual(records(name, 'csvlog').map(key).sort());
    },
  );

  it('turns a statement duration into duration, shape and redacted message', () => {
    const all = records('main-utc', 'csvlog');
    const bob = all.find(
      (r) =>
        r.category === 'statement_duration' && r.statement.startsWith('SELECT id FROM customers WHERE email'),
    );
    expect(bob).toMatchObject({
      level: 'LOG',
      user: 'app',
      database: 'shop',
      application: 'fixture-app',
      sqlstate: '00000',
      statement: 'SELECT id FROM customers WHERE email = $1',
      fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/) as unknown,
      message: expect.stringMatching(
        /^duration: \d+\.\d{3} ms {2}statement: SELECT id FROM customers WHERE email = \$1$/,
      ) as unknown,
      sample: null,
    });
    expect(bob?.durationMs).toBeGreaterThan(0);
    const insert = all.find(
      (r) => r.category === 'statement_duration' && r.statement.startsWith('INSERT INTO customers (id'),
    );
    expect(insert?.statement).toBe('INSERT INTO customers (id, email, note)\nVALUES ($1, $2, $3)');
    const execute = all.find((r) => r.attributes.statement_phase === 'execute');
    expect(execute?.attributes).toMatchObject({
      prepared_statement: '<unnamed>',
      detail: 'parameters: $1 = ?',
    });
  });

  it('gives statements that differ only in literals one fingerprint', () => {
    const all = records('main-utc', 'csvlog', true);
    const byEmail = all.filter(
      (r) => r.category === 'plan' && /^SELECT id(, note)? FROM customers WHERE email/.test(r.statement),
    );
    const alice = all.find((r) => r.category === 'error' && r.sqlstate === '42703');
    expect(alice?.statement).toBe("SELECT id FROM customers WHERE emial = 'eve@example.com'");
    const bob = byEmail.find((r) => r.statement.includes("'bob@example.com'"));
    expect(bob).toBeDefined();
    const shaped = records('main-utc', 'csvlog').find(
      (r) => r.statement === 'SELECT id FROM customers WHERE email = $1',
    );
    expect(shaped?.fingerprint).toBe(bob?.fingerprint);
  });

  it('makes a sample of a JSON auto_explain plan, redacted', () => {
    const plan = records('main-utc', 'stderr').find(
      (r) => r.category === 'plan' && r.statement === 'SELECT id FROM customers WHERE email = $1',
    );
    expect(plan).toMatchObject({
      message: expect.stringMatching(/^duration: \d+\.\d{3} ms {2}plan:$/) as unknown,
    });
    expect(plan?.sample).toMatchObject({
      fingerprint: plan?.fingerprint,
      query: 'SELECT id FROM customers WHERE email = $1',
      durationMs: plan?.durationMs,
    });
    const body = JSON.parse(plan?.sample?.plan ?? '') as {
      'Query Text': string;
      Plan: Record<string, unknown>;
    };
    expect(body['Query Text']).toBe('SELECT id FROM customers WHERE email = $1');
    expect(body.Plan).toMatchObject({ 'Node Type': 'Index Scan', 'Index Cond': '(email = ?::text)' });
    expect(plan?.attributes.plan_format).toBe('json');
  });

  it('makes a sample of a text auto_explain plan as {"text"}', () => {
    const plan = records('pgbadger-prefix-text-plans', 'stderr').find(
      (r) => r.category === 'plan' && r.statement.startsWith('SELECT c.id'),
    );
    expect(plan?.statement).toBe(
      'SELECT c.id,\n       c.email\n  FROM customers c\n WHERE c.note LIKE $1 AND c.id < $2',
    );
    const body = JSON.parse(plan?.sample?.plan ?? '') as { text: string };
    expect(body.text).toContain('Filter: ((note ~~ ?::text) AND (id < ?))');
    expect(body.text).toMatch(/Seq Scan on customers c {2}\(cost=0\.00\.\.1\.75 rows=8 width=22\)/);
  });

  it('reads errors, checkpoints, autovacuum and connections', () => {
    const all = records('main-utc', 'csvlog');
    expect(all.find((r) => r.sqlstate === '42P01')).toMatchObject({
      level: 'ERROR',
      category: 'error',
      statement: 'SELECT * FROM missing_table',
      attributes: { query_pos: '15' },
    });
    expect(all.find((r) => r.sqlstate === '23505')?.attributes.detail).toBe('Key (id)=(?) already exists.');
    expect(all.find((r) => r.sqlstate === '28P01')).toMatchObject({ level: 'FATAL', category: 'error' });
    const checkpoint = all.find((r) => r.category === 'checkpoint' && r.attributes.event === 'complete');
    expect(checkpoint?.durationMs).toBe(Number(checkpoint?.attributes.total_s) * 1000);
    expect(all.find((r) => r.attributes.table === 'shop.public.customers')).toMatchObject({
      category: 'autovacuum',
      attributes: { operation: 'analyze', buffer_hits: expect.any(Number) as unknown },
    });
    expect(all.filter((r) => r.category === 'connection').length).toBeGreaterThan(10);
  });

  it('reads numeric zones exactly', () => {
    const csv = records('custom-prefix-0545', 'csvlog').find((r) => r.sqlstate === '23505');
    const stderr = records('custom-prefix-0545', 'stderr').find((r) => r.sqlstate === '23505');
    // Logged as 2026-11-24 00:59:46.882 +0545.
    expect(csv?.ts).toBe(String(BigInt(Date.parse('2026-11-23T19:14:46.882Z')) * 1_000_000n));
    expect(stderr?.ts).toBe(csv?.ts);
  });

  it('flags an unknown zone and a missing time instead of guessing silently', () => {
    const entry = {
      ...emptyEntry('stderr'),
      logTime: '2026-11-23 19:08:41.123 XYZT',
      severity: 'LOG',
      message: 'x',
    };
    expect(toServerLogFields(entry).attributes.tz_unknown).toBe(true);
    const untimed = toServerLogFields({ ...entry, logTime: '', malformed: true }, { now: () => 42n });
    expect(untimed).toMatchObject({ ts: '42', attributes: { time_missing: true, malformed: true } });
  });
});
