import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { DuckDBDatabase } from '../../src/store/duckdb/database.js';
import { HOUR_NS, MINUTE_NS, RollupJob, floorTo } from '../../src/store/rollup-job.js';
import { DuckDBRollupSteps } from '../../src/store/duckdb/rollups.js';
import { DuckDBStore } from '../../src/store/duckdb/telemetry-store.js';
import type { SpanRow } from '../../src/store/rows.js';
import type { TraceSearch } from '../../src/store/store.js';
import { ORG_A, ORG_B, T0, spanRow } from '../fixtures/rows.js';

const MS = 1_000_000n;
const H0 = floorTo(T0, HOUR_NS);
const RANGE = { fromNs: H0, toNs: H0 + HOUR_NS };

let dir: string;
let database: DuckDBDatabase;
let store: DuckDBStore;

/** A trace of a server root and a client child, `ms` long, starting `at` after H0. */
function traceOf(id: string, at: bigint, ms: bigint, overrides: Partial<SpanRow> = {}): SpanRow[] {
  const traceId = id.padStart(32, '0');
  const start = H0 + at;
  return [
    spanRow({
      id: `${id}-root`,
      traceId,
      spanId: `${id}-root`.padStart(16, '0'),
      startTs: start,
      endTs: start + ms * MS,
      durationNs: ms * MS,
      ...overrides,
    }),
    spanRow({
      id: `${id}-db`,
      traceId,
      spanId: `${id}-db`.padStart(16, '0'),
      parentSpanId: `${id}-root`.padStart(16, '0'),
      service: 'postgres',
      name: 'SELECT orders',
      kind: 'client',
      startTs: start + MS,
      endTs: start + 2n * MS,
      durationNs: MS,
      attributes: '{"db.system":"postgresql"}',
      ...(overrides.orgId === undefined ? {} : { orgId: overrides.orgId }),
    }),
  ];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sightline-traces-'));
  database = await DuckDBDatabase.open(
    { path: join(dir, 'traces.duckdb'), memoryLimit: '512MB', checkpointThreshold: '16MB' },
    silentLogger(),
  );
  await database.migrate();
  store = new DuckDBStore(database);
  await store.start();
  await store.writeSpans([
    ...traceOf('a1', 1n * MINUTE_NS, 10n),
    ...traceOf('a2', 2n * MINUTE_NS, 300n, {
      status: 'error',
      attributes: '{"http.route":"/orders","http.status_code":500}',
    }),
    ...traceOf('a3', 3n * MINUTE_NS, 50n, { name: 'POST /orders', resource: '{"region":"eu"}' }),
    // Another org's trace: same service, newest, matches every filter above.
    ...traceOf('b1', 4n * MINUTE_NS, 300n, { orgId: ORG_B, status: 'error', name: 'POST /orders' }),
  ]);
  await new RollupJob(
    { intervalSeconds: 60, latenessSeconds: 600 },
    { steps: new DuckDBRollupSteps(database), logger: silentLogger() },
  ).runOnce(H0 + 10n * MINUTE_NS);
});

afterAll(async () => {
  await database.close();
  rmSync(dir, { recursive: true, force: true });
});

const search = (overrides: Partial<TraceSearch> = {}) =>
  store.searchTraces(ORG_A, { ...RANGE, attributes: {}, limit: 100, ...overrides });
const ids = async (overrides: Partial<TraceSearch> = {}) =>
  (await search(overrides)).map((t) => t.traceId.replace(/^0+/, ''));

describe('trace search on DuckDB', () => {
  it('returns one row per trace, newest first, summarised over all its spans', async () => {
    const traces = await search();
    expect(traces.map((t) => t.traceId.replace(/^0+/, ''))).toEqual(['a3', 'a2', 'a1']);
    expect(traces[1]).toEqual({
      traceId: 'a2'.padStart(32, '0'),
      rootService: 'checkout',
      rootOperation: 'GET /orders',
      startTs: H0 + 2n * MINUTE_NS,
      durationNs: 300n * MS,
      spanCount: 2,
      errorCount: 1,
    });
  });

  it('filters by service, operation, span duration, status, attributes, time and limit', async () => {
    // A trace matches on any of its spans, and is still summarised from its root.
    expect(await ids({ service: 'postgres' })).toEqual(['a3', 'a2', 'a1']);
    expect((await search({ service: 'postgres', limit: 1 }))[0]?.rootService).toBe('checkout');
    expect(await ids({ operation: 'POST /orders' })).toEqual(['a3']);
    expect(await ids({ minDurationNs: 50n * MS })).toEqual(['a3', 'a2']);
    expect(await ids({ minDurationNs: 11n * MS, maxDurationNs: 50n * MS })).toEqual(['a3']);
    expect(await ids({ status: 'error' })).toEqual(['a2']);
    expect(await ids({ status: 'unset' })).toEqual([]);
    expect(await ids({ attributes: { 'http.status_code': '500' } })).toEqual(['a2']);
    expect(await ids({ attributes: { 'db.system': 'postgresql', region: 'eu' } })).toEqual([]);
    expect(await ids({ attributes: { region: 'eu' } })).toEqual(['a3']);
    expect(await ids({ fromNs: H0 + 2n * MINUTE_NS, toNs: H0 + 3n * MINUTE_NS })).toEqual(['a2']);
    expect(await ids({ limit: 2 })).toEqual(['a3', 'a2']);
  });

  it("never returns another org's traces, even when they match", async () => {
    expect(await ids({ status: 'error', minDurationNs: 300n * MS })).toEqual(['a2']);
    const other = await store.searchTraces(ORG_B, { ...RANGE, attributes: {}, limit: 100 });
    expect(other.map((t) => t.traceId.replace(/^0+/, ''))).toEqual(['b1']);
    expect(other[0]).toMatchObject({ spanCount: 2, errorCount: 1 });
  });

  it('treats a hostile attribute key and value as data', async () => {
    expect(await ids({ attributes: { [`x") OR true --`]: `' OR 1=1 --` } })).toEqual([]);
    expect(await ids({ service: `checkout' OR '1'='1` })).toEqual([]);
  });
});

describe('RED metrics from span_latency_1m on DuckDB', () => {
  it('gives per-service counts, errors and count-weighted quantiles', async () => {
    const services = await store.spanRed(ORG_A, RANGE);
    expect(services.map((s) => [s.service, s.operation, s.count, s.errors])).toEqual([
      ['checkout', '', 3, 1],
      ['postgres', '', 3, 0],
    ]);
    const checkout = services[0];
    // Each minute holds one checkout span, so its quantiles are that span's duration.
    expect(checkout?.meanNs).toBeCloseTo(((10 + 300 + 50) * 1e6) / 3);
    expect(checkout?.p95Ns).toBeCloseTo(((10 + 300 + 50) * 1e6) / 3);
    expect(services[1]?.p99Ns).toBeCloseTo(1e6);
  });

  it('gives per-operation rows of one service, and only the caller org', async () => {
    const operations = await store.spanRed(ORG_A, RANGE, 'checkout');
    expect(operations.map((s) => [s.operation, s.count, s.errors, s.p50Ns])).toEqual([
      ['GET /orders', 2, 1, 155e6],
      ['POST /orders', 1, 0, 50e6],
    ]);
    const other = await store.spanRed(ORG_B, RANGE, 'checkout');
    expect(other.map((s) => [s.operation, s.count, s.errors])).toEqual([['POST /orders', 1, 1]]);
    expect(await store.spanRed(ORG_A, RANGE, `checkout' OR '1'='1`)).toEqual([]);
  });
});
