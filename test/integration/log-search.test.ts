import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import type { LogExpr, LogQuery } from '../../src/store/log-query.js';
import { parseLogQuery } from '../../src/query/log-language/parser.js';
import { DuckDBDatabase } from '../../src/store/duckdb/database.js';
import { DuckDBStore } from '../../src/store/duckdb/telemetry-store.js';
import { orgId, type OrgId } from '../../src/store/rows.js';
import type { StoredLog } from '../../src/store/store.js';
import { LOG_SEARCH_CASES, LOG_SEARCH_ROWS } from '../fixtures/log-search-cases.js';
import { ORG_A, ORG_B, T0, logRow } from '../fixtures/rows.js';

const MINUTE = 60_000_000_000n;
const HOUR = 60n * MINUTE;

/** Windows of time that keep each test's rows apart. */
const OPERATORS = T0;
const PAGES = T0 + 2n * HOUR;
const COUNTS = T0 + 4n * HOUR;
const BIG = T0 + 6n * HOUR;

describe('log search language on DuckDB', () => {
  let dir: string;
  let database: DuckDBDatabase;
  let store: DuckDBStore;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sightline-log-search-'));
    database = await DuckDBDatabase.open(
      { path: join(dir, 'test.duckdb'), memoryLimit: '512MB', checkpointThreshold: '16MB' },
      silentLogger(),
    );
    await database.migrate();
    store = new DuckDBStore(database);
    await store.start();
    await store.writeLogs(LOG_SEARCH_ROWS);
  });

  afterAll(async () => {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
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
    const result = await store.queryLogs(org, query(q, overrides));
    if (result.kind !== 'logs') throw new Error('expected rows');
    return result.logs.map((l) => l.id);
  }

  it.each(LOG_SEARCH_CASES)('%s matches %j', async (q, expected) => {
    expect(await ids(q)).toEqual(expected);
  });

  it('reads attribute keys with quotes through an escaped JSON path', async () => {
    const filter: LogExpr = {
      kind: 'match',
      field: { kind: 'attribute', source: 'attributes', key: 'we"ird' },
      value: { kind: 'exact', text: 'yes' },
    };
    const result = await store.queryLogs(ORG_A, { ...query(''), filter });
    expect(result.kind === 'logs' && result.logs.map((l) => l.id)).toEqual(['l3']);
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
    const truncated = await store.queryLogs(ORG_A, {
      ...query('| count by http.route'),
      ...window,
      limit: 2,
    });
    expect(truncated.kind === 'counts' && truncated.truncated).toBe(true);
  });

  it('stops a query that runs past its time limit, naming the limit, and keeps serving', async () => {
    await database.withConnection((connection) =>
      connection.run(
        `INSERT INTO logs (id, ts, observed_ts, org_id, service, host, entity_id, severity, severity_number,
           severity_text, body, trace_id, span_id, event_name, scope_name, attributes, resource)
         SELECT 'big-' || i, ${BIG} + i, ${BIG} + i, 'org_big', 'svc', 'h', '', 'INFO', 9, 'INFO',
           'row number ' || i || ' of a large table', '', '', '', '', '{"n":' || i || '}', '{}'
         FROM range(1000000) t(i)`,
      ),
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
    // The interrupted connection goes back to the pool and answers the next query.
    for (let i = 0; i < 6; i++) expect(await ids('order')).toEqual(['l1']);
  });
});
