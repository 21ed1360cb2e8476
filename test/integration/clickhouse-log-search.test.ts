import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLogQuery } from '../../src/query/log-language/parser.js';
import { compileLogQuery } from '../../src/store/clickhouse/log-search-sql.js';
import { rawSql } from '../../src/store/clickhouse/sql.js';
import type { ClickhouseStore } from '../../src/store/clickhouse/telemetry-store.js';
import type { LogExpr, LogQuery } from '../../src/store/log-query.js';
import { orgId, type LogRow, type OrgId } from '../../src/store/rows.js';
import type { LogSearch, StoredLog } from '../../src/store/store.js';
import { LOG_SEARCH_CASES, LOG_SEARCH_ROWS, LOG_SEARCH_TRACE } from '../fixtures/log-search-cases.js';
import { ORG_A, ORG_B, T0, logRow } from '../fixtures/rows.js';
import { CLICKHOUSE_INSTALL_HINT, clickhouseAvailable } from '../harness/clickhouse.js';
import { startClickhouseStores, type ClickhouseStores } from '../helpers/clickhouse-stores.js';
import { requireService } from '../harness/service-missing.js';

/*
 * The log search language on ClickHouse: the same rows and table of queries as
 * test/integration/log-search.test.ts (DuckDB), from test/fixtures/log-search-cases.ts.
 */

const available = requireService('ClickHouse', clickhouseAvailable(), CLICKHOUSE_INSTALL_HINT);

const MINUTE = 60_000_000_000n;
const HOUR = 60n * MINUTE;
const TRACE = LOG_SEARCH_TRACE;

/** Windows of time that keep each test's rows apart. */
const OPERATORS = T0;
const PAGES = T0 + 2n * HOUR;
const COUNTS = T0 + 4n * HOUR;
const BIG = T0 + 6n * HOUR;
const HOSTILE_WINDOW = T0 + 8n * HOUR;

/** Strings that need care in a literal, a LIKE pattern or a regex, plus text that looks like SQL. */
const HOSTILE = [
  "'; DROP TABLE logs; --",
  "\\'; DROP TABLE logs; --",
  "x' OR 1=1 OR 'a'='a",
  'back\\slash \\x41 \\n \\\\ \\',
  Array.from({ length: 32 }, (_, code) => String.fromCharCode(code)).join('') + '\u007f',
  'zażółć gęślą jaźń — 日本語 — 🚀',
  '{"json":"with \\"quotes\\" and \\\\ backslashes"}',
  "') FORMAT TabSeparated\nSELECT 1",
  '%_*?.+()[]{}^$|',
];

describe.skipIf(!available)('log search language on ClickHouse', () => {
  let clickhouse: ClickhouseStores;
  let store: ClickhouseStore;

  beforeAll(async () => {
    clickhouse = await startClickhouseStores();
    ({ store } = await clickhouse.openStore());
    await store.writeLogs(LOG_SEARCH_ROWS);
  }, 60_000);

  afterAll(async () => {
    await clickhouse?.stop();
  });

  function query(q: string, overrides: Partial<LogQuery> = {}): LogQuery {
    const parsed = parseLogQuery(q);
    return {
      fromNs: OPERATORS - HOUR,
      toNs: OPERATORS + HOUR,
      filter: parsed.filter,
      aggregate:
        parsed.aggregate === null ? null : { by: parsed.aggregate.by.map((b) => b.field), stepNs: null },
      limit: 100,
      after: null,
      timeoutMs: 10_000,
      ...overrides,
    };
  }

  async function ids(q: string, org: OrgId = ORG_A, overrides: Partial<LogQuery> = {}): Promise<string[]> {
    return idsOf(query(q, overrides), org);
  }

  async function idsOf(q: LogQuery, org: OrgId = ORG_A): Promise<string[]> {
    const result = await store.queryLogs(org, q);
    if (result.kind !== 'logs') throw new Error('expected rows');
    return result.logs.map((l) => l.id);
  }

  it.each(LOG_SEARCH_CASES)('%s matches %j', async (q, expected) => {
    expect(await ids(q)).toEqual(expected);
  });

  it('returns every column of a stored log as DuckDB does', async () => {
    const result = await store.queryLogs(ORG_A, query('span_id:b7ad6b7169203331'));
    const l3: Partial<LogRow> = { ...LOG_SEARCH_ROWS.find((r) => r.id === 'l3') };
    delete l3.orgId;
    expect(result).toEqual({ kind: 'logs', logs: [l3], more: false });
  });

  it('reads attribute keys with quotes through the JSON-escaped key', async () => {
    const filter: LogExpr = {
      kind: 'match',
      field: { kind: 'attribute', source: 'attributes', key: 'we"ird' },
      value: { kind: 'exact', text: 'yes' },
    };
    expect(await idsOf({ ...query(''), filter })).toEqual(['l3']);
  });

  it("never returns or counts another org's rows", async () => {
    expect(
      await ids('order OR payment OR Connection OR duration_ms>0 OR resource.k8s.pod.name:pay-7'),
    ).toEqual(['l4', 'l3', 'l2', 'l1']);
    expect(await ids('', orgId('org_nobody'))).toEqual([]);
    expect((await ids('', ORG_B)).every((id) => id.startsWith('b-'))).toBe(true);
    const counts = await store.queryLogs(ORG_A, query('| count by service'));
    expect(counts).toEqual({
      kind: 'counts',
      truncated: false,
      buckets: [
        { ts: null, group: ['checkout'], count: 2 },
        { ts: null, group: ['payments'], count: 2 },
        { ts: null, group: ['search'], count: 1 },
      ],
    });
  });

  it('pages newest first through rows with equal times, stable under inserts between pages', async () => {
    await store.writeLogs(
      Array.from({ length: 25 }, (_, i) =>
        logRow({ id: `p${String(i).padStart(2, '0')}`, ts: PAGES, body: 'page me' }),
      ),
    );
    await store.writeLogs([logRow({ id: 'p-old', ts: PAGES - 1n, body: 'page me' })]);
    const range = { fromNs: PAGES - HOUR, toNs: PAGES + HOUR, limit: 10 };
    const seen: StoredLog[] = [];
    let after: LogQuery['after'] = null;
    let pages = 0;
    for (;;) {
      const result = await store.queryLogs(ORG_A, query('"page me"', { ...range, after }));
      if (result.kind !== 'logs') throw new Error('expected rows');
      seen.push(...result.logs);
      pages++;
      if (pages === 1) {
        // Arriving while the user pages: newer and same-time rows sort before the cursor.
        await store.writeLogs([
          logRow({ id: 'p99', ts: PAGES, body: 'page me' }),
          logRow({ id: 'new', ts: PAGES + 1n, body: 'page me' }),
        ]);
      }
      const last = result.logs[result.logs.length - 1];
      if (!result.more || last === undefined) break;
      after = { ts: last.ts, id: last.id };
    }
    expect(pages).toBe(3);
    const expected = [
      ...Array.from({ length: 25 }, (_, i) => `p${String(24 - i).padStart(2, '0')}`),
      'p-old',
    ];
    expect(seen.map((l) => l.id)).toEqual(expected);
  });

  it('says there is no next page when the rows end exactly at the limit', async () => {
    const result = await store.queryLogs(ORG_A, query('', { limit: 5 }));
    expect(result.kind === 'logs' && result.more).toBe(false);
    const fewer = await store.queryLogs(ORG_A, query('', { limit: 4 }));
    expect(fewer.kind === 'logs' && fewer.more).toBe(true);
  });

  it('counts by level over time buckets and by attributes', async () => {
    await store.writeLogs([
      logRow({ id: 'c1', ts: COUNTS + 1n, severity: 'ERROR', attributes: '{"http.route":"/a"}' }),
      logRow({ id: 'c2', ts: COUNTS + 2n, severity: 'ERROR', attributes: '{"http.route":"/a"}' }),
      logRow({ id: 'c3', ts: COUNTS + 3n, severity: 'INFO', attributes: '{"http.route":"/b"}' }),
      logRow({ id: 'c4', ts: COUNTS + MINUTE + 5n, severity: 'INFO', attributes: '{}' }),
    ]);
    const window = { fromNs: COUNTS, toNs: COUNTS + HOUR };
    const parsed = parseLogQuery('| count by level over 1m');
    const byLevel = await store.queryLogs(ORG_A, {
      ...query(''),
      ...window,
      aggregate: { by: parsed.aggregate?.by.map((b) => b.field) ?? [], stepNs: MINUTE },
    });
    const base = (COUNTS / MINUTE) * MINUTE;
    expect(byLevel).toEqual({
      kind: 'counts',
      truncated: false,
      buckets: [
        { ts: base, group: ['ERROR'], count: 2 },
        { ts: base, group: ['INFO'], count: 1 },
        { ts: base + MINUTE, group: ['INFO'], count: 1 },
      ],
    });
    const byRoute = await store.queryLogs(ORG_A, { ...query('| count by http.route'), ...window });
    expect(byRoute.kind === 'counts' && byRoute.buckets).toEqual([
      { ts: null, group: ['/a'], count: 2 },
      { ts: null, group: ['/b'], count: 1 },
      { ts: null, group: [null], count: 1 },
    ]);
    const total = await store.queryLogs(ORG_A, { ...query('severity>=error | count'), ...window });
    expect(total.kind === 'counts' && total.buckets).toEqual([{ ts: null, group: [], count: 2 }]);
    const none = await store.queryLogs(ORG_A, { ...query('nothing-matches | count'), ...window });
    expect(none.kind === 'counts' && none.buckets).toEqual([{ ts: null, group: [], count: 0 }]);
    const truncated = await store.queryLogs(ORG_A, {
      ...query('| count by http.route'),
      ...window,
      limit: 2,
    });
    expect(truncated.kind === 'counts' && truncated.truncated).toBe(true);
  });

  it('sees a record stored twice once (FINAL), before any merge', async () => {
    const at = T0 + 10n * HOUR;
    await store.writeLogs([logRow({ id: 'dup', ts: at, body: 'stored twice', attributes: '{"k":"v"}' })]);
    // Behind the writer's back: a second copy of the row in its own part, merges stopped.
    await clickhouse.ch.query('SYSTEM STOP MERGES logs');
    await clickhouse.ch.query(`INSERT INTO logs SELECT * FROM logs WHERE id = 'dup'`);
    expect(await clickhouse.ch.query(`SELECT count() FROM logs WHERE id = 'dup'`)).toBe('2\n');
    const window = { fromNs: at - HOUR, toNs: at + HOUR };
    expect(await ids('twice', ORG_A, window)).toEqual(['dup']);
    const counts = await store.queryLogs(ORG_A, { ...query('| count by k'), ...window });
    expect(counts.kind === 'counts' && counts.buckets).toEqual([{ ts: null, group: ['v'], count: 1 }]);
    await clickhouse.ch.query('SYSTEM START MERGES logs');
  });

  it('treats hostile strings in every input as values, never as SQL or patterns', async () => {
    const rows = HOSTILE.map((text, i) =>
      logRow({
        id: `h${i}`,
        ts: HOSTILE_WINDOW + BigInt(i),
        service: text,
        host: text,
        body: `before ${text} after`,
        traceId: text,
        attributes: JSON.stringify({ [text]: text, plain: text }),
      }),
    );
    await store.writeLogs(rows);
    const window = { fromNs: HOSTILE_WINDOW - HOUR, toNs: HOSTILE_WINDOW + HOUR };
    const run = (filter: LogExpr, overrides: Partial<LogQuery> = {}) =>
      idsOf({ ...query(''), ...window, filter, ...overrides });
    for (const [i, text] of HOSTILE.entries()) {
      const id = `h${i}`;
      const exact = { kind: 'exact', text } as const;
      const pattern = { kind: 'pattern', parts: [{ literal: text }, { wildcard: '*' }] } as const;
      const contains = HOSTILE.flatMap((other, j) => (other.includes(text) ? [`h${j}`] : [])).reverse();
      expect(await run({ kind: 'match', field: { kind: 'body' }, value: exact }), text).toEqual(contains);
      expect(await run({ kind: 'match', field: { kind: 'body' }, value: pattern }), text).toEqual(contains);
      for (const column of ['service', 'host', 'trace_id'] as const) {
        const field = { kind: 'column', column } as const;
        expect(await run({ kind: 'match', field, value: exact }), `${column} ${text}`).toEqual([id]);
        expect(
          await run({ kind: 'match', field, value: { kind: 'pattern', parts: [{ literal: text }] } }),
          `${column} pattern ${text}`,
        ).toEqual([id]);
      }
      for (const key of [text, 'plain']) {
        const field = { kind: 'attribute', source: 'attributes', key } as const;
        expect(await run({ kind: 'match', field, value: exact }), `attribute ${key}`).toEqual([id]);
        expect(await run({ kind: 'compare', field, op: '>', value: 0 }), `compare ${key}`).toEqual([]);
      }
      // The cursor's id is a value too.
      expect(
        await run(
          { kind: 'match', field: { kind: 'body' }, value: exact },
          { after: { ts: HOSTILE_WINDOW + 100n, id: text } },
        ),
      ).toEqual(contains);
      const counted = await store.queryLogs(ORG_A, {
        ...query(''),
        ...window,
        filter: { kind: 'match', field: { kind: 'column', column: 'service' }, value: exact },
        aggregate: { by: [{ kind: 'attribute', source: 'attributes', key: text }], stepNs: null },
      });
      expect(counted.kind === 'counts' && counted.buckets).toEqual([{ ts: null, group: [text], count: 1 }]);
      const found = await store.searchLogs(ORG_A, {
        ...window,
        text: [text],
        services: [text],
        severities: ['INFO'],
        hosts: [text],
        traceIds: [text],
        limit: 10,
      });
      expect(found.map((l) => l.id)).toEqual([id]);
    }
    expect((await store.countRecords(ORG_A)).logs).toBeGreaterThan(30);
  });

  it('searchLogs: case-insensitive body terms (all of them), column filters, newest first, limit', async () => {
    const window = { fromNs: OPERATORS - HOUR, toNs: OPERATORS + HOUR };
    const none: Omit<LogSearch, 'fromNs' | 'toNs'> = {
      text: [],
      services: [],
      severities: [],
      hosts: [],
      traceIds: [],
      limit: 100,
    };
    const search = async (s: Partial<typeof none>, org: OrgId = ORG_A) =>
      (await store.searchLogs(org, { ...window, ...none, ...s })).map((l) => l.id);
    expect(await search({})).toEqual(['l5', 'l4', 'l3', 'l2', 'l1']);
    expect(await search({ text: ['CONNECTION', 'peer'] })).toEqual(['l3']);
    expect(await search({ text: ['connection', 'nope'] })).toEqual([]);
    expect(await search({ text: ['100%'] })).toEqual(['l2']);
    expect(await search({ text: ['user.42'] })).toEqual([]);
    expect(await search({ services: ['payments', 'search'] })).toEqual(['l5', 'l4', 'l3']);
    expect(await search({ severities: ['WARN', 'ERROR'] })).toEqual(['l3', 'l2']);
    expect(await search({ hosts: ['web-2'] })).toEqual(['l2']);
    expect(await search({ traceIds: [TRACE] })).toEqual(['l3']);
    expect(await search({ limit: 2 })).toEqual(['l5', 'l4']);
    expect(await search({}, orgId('org_nobody'))).toEqual([]);
  });

  it('compiles every value into a literal: the statement text never holds a raw input', () => {
    const statement = compileLogQuery(ORG_A, {
      ...query(`service:"x' OR 1=1 --" OR "a'b" OR a*'*b`),
      after: { ts: 1n, id: "'); DROP TABLE logs; --" },
    });
    expect(statement.text).not.toContain("x' OR");
    expect(statement.text).toContain("'x\\' OR 1=1 --'");
    expect(statement.text).toContain("'\\'); DROP TABLE logs; --'");
    expect(rawSql('x').text).toBe('x');
  });

  it('stops a query that runs past its time limit, naming the limit, and keeps serving', async () => {
    await clickhouse.ch.query(
      `INSERT INTO logs (id, ts, observed_ts, org_id, service, host, entity_id, severity, severity_number,
         severity_text, body, trace_id, span_id, event_name, scope_name, attributes, resource)
       SELECT concat('big-', toString(number)), ${BIG} + number, ${BIG} + number, 'org_big', 'svc', 'h', '', 'INFO', 9,
         'INFO', concat('row number ', toString(number), ' of a large table'), '', '', '', '',
         concat('{"n":', toString(number), '}'), '{}'
       FROM system.numbers LIMIT 1000000`,
    );
    const heavy = {
      ...query('"no such text" OR *a*b*c*d*e*f*g* OR n>99999999 | count by n'),
      fromNs: BIG,
      toNs: BIG + HOUR,
      aggregate: { by: [{ kind: 'attribute', source: 'attributes', key: 'n' } as const], stepNs: null },
      timeoutMs: 1,
    };
    await expect(store.queryLogs(orgId('org_big'), heavy)).rejects.toMatchObject({
      code: 'SL_ERR_QUERY_TIMEOUT',
      message: expect.stringMatching(/^the query ran longer than 0.001 s and was stopped/) as unknown,
    });
    // The server stops the query too (KILL QUERY by its id), not only the client.
    for (let i = 0; ; i++) {
      const running = await clickhouse.ch.query(
        `SELECT count() FROM system.processes WHERE query_id LIKE 'sightline-%' AND query NOT LIKE '%system.processes%'`,
      );
      if (running === '0\n') break;
      if (i > 100) throw new Error(`the timed-out query still runs: ${running}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (let i = 0; i < 6; i++) expect(await ids('order')).toEqual(['l1']);
  });
});
