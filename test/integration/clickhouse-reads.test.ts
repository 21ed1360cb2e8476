import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickhouseStore } from '../../src/store/clickhouse/telemetry-store.js';
import type { SpanRow } from '../../src/store/rows.js';
import type { TraceSearch } from '../../src/store/store.js';
import { ORG_A, ORG_B, T0, metricRow, spanRow } from '../fixtures/rows.js';
import { CLICKHOUSE_INSTALL_HINT, clickhouseAvailable } from '../harness/clickhouse.js';
import { startClickhouseStores, type ClickhouseStores } from '../helpers/clickhouse-stores.js';
import { requireService } from '../harness/service-missing.js';

/*
 * queryMetrics, listMetrics, searchTraces and spanRed on ClickHouse, with the cases of
 * duckdb-store.test.ts (metrics) and trace-search.test.ts (traces). span_latency_1m is filled
 * by hand: the ClickHouse rollup job does not exist yet.
 */

const available = requireService('ClickHouse', clickhouseAvailable(), CLICKHOUSE_INSTALL_HINT);

const MS = 1_000_000n;
const MINUTE = 60_000_000_000n;
const HOUR = 60n * MINUTE;
const H0 = (T0 / HOUR) * HOUR;
const RANGE = { fromNs: H0, toNs: H0 + HOUR };
const METRICS = H0 + 2n * HOUR;

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

describe.skipIf(!available)('metric and trace reads on ClickHouse', () => {
  let clickhouse: ClickhouseStores;
  let store: ClickhouseStore;

  beforeAll(async () => {
    clickhouse = await startClickhouseStores();
    ({ store } = await clickhouse.openStore());
    await store.writeSpans([
      ...traceOf('a1', 1n * MINUTE, 10n),
      ...traceOf('a2', 2n * MINUTE, 300n, {
        status: 'error',
        attributes: '{"http.route":"/orders","http.status_code":500}',
      }),
      ...traceOf('a3', 3n * MINUTE, 50n, { name: 'POST /orders', resource: '{"region":"eu"}' }),
      ...traceOf('b1', 4n * MINUTE, 300n, { orgId: ORG_B, status: 'error', name: 'POST /orders' }),
    ]);
    await store.writeMetricPoints([
      metricRow({ id: 'm1', ts: METRICS, value: 10 }),
      metricRow({ id: 'm2', ts: METRICS + MINUTE / 2n, value: 20 }),
      metricRow({ id: 'm3', ts: METRICS + MINUTE, value: 40 }),
      metricRow({ id: 'm4', ts: METRICS, seriesId: 'series-2', labels: '{"route":"/cart"}', value: 1 }),
      metricRow({
        id: 'm5',
        ts: METRICS + MINUTE,
        seriesId: 'series-2',
        labels: '{"route":"/cart"}',
        value: null,
      }),
      metricRow({
        id: 'h1',
        ts: METRICS,
        name: 'http.server.duration',
        kind: 'histogram',
        seriesId: 'hist',
        value: null,
        histCount: 4n,
        histSum: 10,
        histMin: 1,
        histMax: 4,
        bucketBounds: [1, 5],
        bucketCounts: [1n, 3n, 0n],
      }),
      metricRow({ id: 'o1', orgId: ORG_B, ts: METRICS, value: 99 }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await clickhouse?.stop();
  });

  const search = (overrides: Partial<TraceSearch> = {}) =>
    store.searchTraces(ORG_A, { ...RANGE, attributes: {}, limit: 100, ...overrides });
  const ids = async (overrides: Partial<TraceSearch> = {}) =>
    (await search(overrides)).map((t) => t.traceId.replace(/^0+/, ''));

  it('searchTraces: one row per trace, newest first, summarised over all its spans', async () => {
    const traces = await search();
    expect(traces.map((t) => t.traceId.replace(/^0+/, ''))).toEqual(['a3', 'a2', 'a1']);
    expect(traces[1]).toEqual({
      traceId: 'a2'.padStart(32, '0'),
      rootService: 'checkout',
      rootOperation: 'GET /orders',
      startTs: H0 + 2n * MINUTE,
      durationNs: 300n * MS,
      spanCount: 2,
      errorCount: 1,
    });
  });

  it('searchTraces: filters by service, operation, span duration, status, attributes, time and limit', async () => {
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
    expect(await ids({ fromNs: H0 + 2n * MINUTE, toNs: H0 + 3n * MINUTE })).toEqual(['a2']);
    expect(await ids({ limit: 2 })).toEqual(['a3', 'a2']);
  });

  it("searchTraces: never returns another org's traces; hostile keys and values are data", async () => {
    expect(await ids({ status: 'error', minDurationNs: 300n * MS })).toEqual(['a2']);
    const other = await store.searchTraces(ORG_B, { ...RANGE, attributes: {}, limit: 100 });
    expect(other.map((t) => t.traceId.replace(/^0+/, ''))).toEqual(['b1']);
    expect(other[0]).toMatchObject({ spanCount: 2, errorCount: 1 });
    expect(await ids({ attributes: { [`x") OR true --`]: `' OR 1=1 --` } })).toEqual([]);
    expect(await ids({ attributes: { "x\\'": "\\'); DROP TABLE spans; --" } })).toEqual([]);
    expect(await ids({ service: `checkout' OR '1'='1` })).toEqual([]);
    expect(await ids({ operation: "\\'); DROP TABLE spans; --" })).toEqual([]);
    expect((await store.countRecords(ORG_A)).spans).toBe(6);
  });

  it('spanRed: per service, or per operation of one service, from span_latency_1m (newest version)', async () => {
    const row = (
      org: string,
      minute: bigint,
      service: string,
      name: string,
      count: number,
      errors: number,
      p: number,
      version = 1,
    ) =>
      `('${org}', ${H0 + minute * MINUTE}, '${service}', '${name}', 'server', ${count}, ${errors}, ${count * p}, 1, ${2 * p}, ${p}, ${p * 2}, ${p * 3}, ${version})`;
    await clickhouse.ch.query(
      `INSERT INTO span_latency_1m VALUES ${[
        row(ORG_A, 1n, 'checkout', 'GET /orders', 1, 0, 100, 1),
        row(ORG_A, 1n, 'checkout', 'GET /orders', 3, 1, 10, 2),
        row(ORG_A, 2n, 'checkout', 'GET /orders', 1, 0, 30),
        row(ORG_A, 2n, 'checkout', 'POST /orders', 2, 2, 50),
        row(ORG_A, 1n, 'postgres', 'SELECT orders', 1, 0, 1),
        row(ORG_B, 1n, 'checkout', 'GET /orders', 100, 100, 1),
      ].join(', ')}`,
    );
    expect(await store.spanRed(ORG_A, RANGE)).toEqual([
      {
        service: 'checkout',
        operation: '',
        count: 6,
        errors: 3,
        meanNs: 160 / 6,
        p50Ns: 160 / 6,
        p95Ns: 320 / 6,
        p99Ns: 480 / 6,
      },
      { service: 'postgres', operation: '', count: 1, errors: 0, meanNs: 1, p50Ns: 1, p95Ns: 2, p99Ns: 3 },
    ]);
    const operations = await store.spanRed(ORG_A, RANGE, 'checkout');
    expect(operations.map((o) => [o.operation, o.count, o.errors])).toEqual([
      ['GET /orders', 4, 1],
      ['POST /orders', 2, 2],
    ]);
    expect(await store.spanRed(ORG_A, RANGE, `checkout' OR '1'='1`)).toEqual([]);
    expect((await store.spanRed(ORG_B, RANGE, 'checkout')).map((o) => o.count)).toEqual([100]);
  });

  const window = { fromNs: METRICS - MINUTE, toNs: METRICS + 2n * MINUTE };

  it('queryMetrics: raw points, buckets per step, histogram means, the point limit', async () => {
    const { series: raw, truncated } = await store.queryMetrics(ORG_A, {
      name: 'http.server.requests',
      ...window,
      aggregation: 'avg',
      maxPoints: 100,
    });
    expect(truncated).toBe(false);
    expect(raw.map((s) => s.seriesId)).toEqual(['series-1', 'series-2']);
    expect(raw[0]?.points.map((p) => p.value)).toEqual([10, 20, 40]);
    expect(raw[1]?.points.map((p) => p.value)).toEqual([1, null]);
    const { series: bucketed } = await store.queryMetrics(ORG_A, {
      name: 'http.server.requests',
      ...window,
      stepNs: MINUTE,
      aggregation: 'max',
      maxPoints: 100,
    });
    const base = (METRICS / MINUTE) * MINUTE;
    expect(bucketed.find((s) => s.seriesId === 'series-1')?.points).toEqual([
      { ts: base, value: 20, count: null, sum: null },
      { ts: base + MINUTE, value: 40, count: null, sum: null },
    ]);
    // `last` is the value of the latest point, null included (as DuckDB's arg_max).
    const { series: last } = await store.queryMetrics(ORG_A, {
      name: 'http.server.requests',
      ...window,
      stepNs: 2n * MINUTE,
      aggregation: 'last',
      maxPoints: 100,
      labels: { route: '/cart' },
    });
    expect(last.map((s) => [s.seriesId, s.points.map((p) => p.value)])).toEqual([['series-2', [null]]]);
    const { series: histogram } = await store.queryMetrics(ORG_A, {
      name: 'http.server.duration',
      ...window,
      aggregation: 'avg',
      maxPoints: 10,
    });
    expect(histogram[0]?.kind).toBe('histogram');
    expect(histogram[0]?.points[0]).toMatchObject({ value: 2.5, count: 4n, sum: 10 });
    const cut = await store.queryMetrics(ORG_A, {
      name: 'http.server.requests',
      ...window,
      aggregation: 'avg',
      maxPoints: 2,
    });
    expect(cut.truncated).toBe(true);
    expect(cut.series.flatMap((s) => s.points)).toHaveLength(2);
    const theirs = await store.queryMetrics(ORG_B, {
      name: 'http.server.requests',
      ...window,
      aggregation: 'avg',
      maxPoints: 10,
    });
    expect(theirs.series.flatMap((s) => s.points.map((p) => p.value))).toEqual([99]);
    const hostile = await store.queryMetrics(ORG_A, {
      name: "x' OR 1=1 --",
      ...window,
      aggregation: 'avg',
      maxPoints: 10,
      entityId: "\\'); DROP TABLE metric_points; --",
      labels: { "we'ird\\": "\\'" },
    });
    expect(hostile).toEqual({ series: [], truncated: false });
  });

  it('listMetrics: an entity catalogue with the latest point of each series', async () => {
    const entityId = metricRow({}).entityId;
    const { metrics, truncated } = await store.listMetrics(ORG_A, { ...window, entityId });
    expect(truncated).toBe(false);
    expect(metrics.map((m) => [m.name, m.kind, m.seriesCount])).toEqual([
      ['http.server.duration', 'histogram', 1],
      ['http.server.requests', metricRow({}).kind, 2],
    ]);
    const requests = metrics.find((m) => m.name === 'http.server.requests');
    expect(requests?.series).toEqual(
      [
        { seriesId: 'series-2', labels: '{"route":"/cart"}', ts: METRICS + MINUTE, value: null },
        { seriesId: 'series-1', labels: metricRow({}).labels, ts: METRICS + MINUTE, value: 40 },
      ].sort((a, b) => (a.labels < b.labels ? -1 : 1)),
    );
    expect(metrics[0]?.series[0]?.value).toBe(2.5);
    expect((await store.listMetrics(ORG_A, { ...window, entityId: "x' OR 1=1 --" })).metrics).toEqual([]);
    expect((await store.listMetrics(ORG_B, { ...window, entityId })).metrics[0]?.series[0]?.value).toBe(99);
  });
});
