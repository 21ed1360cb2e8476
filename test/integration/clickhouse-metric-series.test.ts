import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SightlineError } from '../../src/core/errors.js';
import { StoreSeriesSource } from '../../src/query/promql-store-source.js';
import type { RawSeries } from '../../src/query/promql/index.js';
import { ClickhouseDatabase } from '../../src/store/clickhouse/database.js';
import { runMigrations } from '../../src/store/clickhouse/migrations.js';
import { ClickhouseStore } from '../../src/store/clickhouse/telemetry-store.js';
import type { MetricPointRow } from '../../src/store/rows.js';
import { ORG_A, ORG_B, T0, metricRow } from '../fixtures/rows.js';
import {
  CLICKHOUSE_INSTALL_HINT,
  clickhouseAvailable,
  startClickhouse,
  type ClickhouseInstance,
} from '../harness/clickhouse.js';
import { requireService } from '../harness/service-missing.js';

/*
 * The PromQL reads (listMetricNames, listSeries, readSeriesPoints, rollupsCompleteTo) on
 * ClickHouse: the cases of test/integration/promql-store-source.test.ts (DuckDB) over the same
 * points, plus the rollup shape and hostile inputs.
 */

const available = requireService('ClickHouse', clickhouseAvailable(), CLICKHOUSE_INSTALL_HINT);

const S = 1_000_000_000n;
const MINUTE = 60n * S;
const T0_MS = Number(T0 / 1_000_000n);
const LIMITS = { maxSamples: 1_000, maxSeries: 100 };
const HOSTILE = [
  "'; DROP TABLE metric_points; --",
  "\\'); DROP TABLE metric_points; --",
  "x' OR 1=1 OR 'a'='a",
  Array.from({ length: 32 }, (_, code) => String.fromCharCode(code)).join('') + '\u007f',
  'zażółć — 日本語 — 🚀',
];

function points(
  seriesId: string,
  values: readonly number[],
  overrides: Partial<MetricPointRow>,
): MetricPointRow[] {
  return values.map((value, i) =>
    metricRow({ id: `${seriesId}-${i}`, seriesId, ts: T0 + BigInt(i) * 10n * S, value, ...overrides }),
  );
}

describe.skipIf(!available)('PromQL reads on ClickHouse', () => {
  let ch: ClickhouseInstance;
  let database: ClickhouseDatabase;
  let store: ClickhouseStore;

  beforeAll(async () => {
    ch = await startClickhouse();
    database = new ClickhouseDatabase({ url: ch.url });
    await runMigrations(database);
    store = new ClickhouseStore(database);
    await store.start();
    await store.writeMetricPoints([
      ...points('gauge-1', [1, 2, 3], {
        name: 'db.connections.used',
        kind: 'gauge',
        temporality: '',
        monotonic: false,
        labels: '{"db.name":"orders","pool":"main"}',
        entityId: 'postgresql:main',
      }),
      ...points('gauge-2', [7, 8], {
        name: 'db.connections.used',
        kind: 'gauge',
        temporality: '',
        monotonic: false,
        labels: '{"db.name":"billing","pool":"main"}',
        entityId: 'postgresql:main',
      }),
      ...points('delta-1', [5, 0, 3], { name: 'jobs.done', temporality: 'delta', labels: '{}' }),
      ...[0, 1].map((i) =>
        metricRow({
          id: `hist-${i}`,
          seriesId: 'hist-1',
          ts: T0 + BigInt(i) * 10n * S,
          name: 'rpc.duration',
          kind: 'histogram',
          value: null,
          labels: '{}',
          histCount: BigInt(6 + i * 6),
          histSum: 3.5 * (i + 1),
          bucketBounds: [0.1, 1],
          bucketCounts: i === 0 ? [1n, 2n, 3n] : [2n, 4n, 6n],
        }),
      ),
      ...points('other-org', [99], {
        orgId: ORG_B,
        name: 'db.connections.used',
        kind: 'gauge',
        labels: '{}',
      }),
      ...points('special', [NaN, Infinity, -Infinity], { name: 'odd.values', kind: 'gauge', labels: '{}' }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await database?.close();
    await ch?.stop();
  });

  const byLabels = (series: RawSeries[]) =>
    Object.fromEntries(series.map((s) => [JSON.stringify(s.labels), [...s.values]]));

  // StoreSeriesSource takes a whole Store but calls only the four reads ported here.
  const source = (org = ORG_A, limits = LIMITS) => new StoreSeriesSource(store, org, limits);
  const window = [T0_MS - 1000, T0_MS + 60_000] as const;

  describe('StoreSeriesSource over ClickHouse (same expectations as on DuckDB)', () => {
    it('sanitises names and label keys, adds job, instance and entity_id, and applies label matchers', async () => {
      const series = await source().select(
        [
          { name: '__name__', op: '=', value: 'db_connections_used' },
          { name: 'db_name', op: '=~', value: 'ord.*' },
        ],
        ...window,
      );
      expect(byLabels(series)).toEqual({
        [JSON.stringify({
          db_name: 'orders',
          pool: 'main',
          job: 'checkout',
          instance: 'web-1',
          entity_id: 'postgresql:main',
          __name__: 'db_connections_used',
        })]: [1, 2, 3],
      });
      expect([...(series[0]?.timestampsMs ?? [])]).toEqual([T0_MS, T0_MS + 10_000, T0_MS + 20_000]);
    });

    it('reads a delta sum as a running total, so rate() sees a counter', async () => {
      const [series] = await source().select([{ name: '__name__', op: '=', value: 'jobs_done' }], ...window);
      expect([...(series?.values ?? [])]).toEqual([5, 5, 8]);
    });

    it('splits a histogram into _bucket (cumulative, with le), _count and _sum', async () => {
      const buckets = await source().select(
        [{ name: '__name__', op: '=', value: 'rpc_duration_bucket' }],
        ...window,
      );
      const byLe = Object.fromEntries(buckets.map((s) => [s.labels.le ?? '', [...s.values]]));
      expect(byLe).toEqual({ '0.1': [1, 2], '1': [3, 6], '+Inf': [6, 12] });
      const [count] = await source().select(
        [{ name: '__name__', op: '=', value: 'rpc_duration_count' }],
        ...window,
      );
      expect([...(count?.values ?? [])]).toEqual([6, 12]);
      const [sum] = await source().select(
        [{ name: '__name__', op: '=', value: 'rpc_duration_sum' }],
        ...window,
      );
      expect([...(sum?.values ?? [])]).toEqual([3.5, 7]);
      const onlyLe = await source().select(
        [
          { name: '__name__', op: '=', value: 'rpc_duration_bucket' },
          { name: 'le', op: '=', value: '+Inf' },
        ],
        ...window,
      );
      expect(onlyLe.map((s) => s.labels.le)).toEqual(['+Inf']);
    });

    it("never returns another org's series", async () => {
      const all = await source().select([{ name: '__name__', op: '=~', value: '.+' }], ...window);
      expect(all.flatMap((s) => [...s.values])).not.toContain(99);
      const theirs = await source(ORG_B).select([{ name: '__name__', op: '=~', value: '.+' }], ...window);
      expect(theirs.map((s) => [...s.values])).toEqual([[99]]);
    });

    it('refuses to read more points than maxSamples, saying which limit', async () => {
      const error = await source(ORG_A, { maxSamples: 2, maxSeries: 100 })
        .select([{ name: '__name__', op: '=', value: 'db_connections_used' }], ...window)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SightlineError);
      expect((error as SightlineError).code).toBe('SL_ERR_QUERY_LIMIT');
      expect((error as SightlineError).message).toMatch(/api\.query\.maxSamples/);
    });

    it('refuses a selector that matches more series than maxSeries', async () => {
      const error = await source(ORG_A, { maxSamples: 1000, maxSeries: 1 })
        .select([{ name: '__name__', op: '=', value: 'db_connections_used' }], ...window)
        .catch((e: unknown) => e);
      expect((error as SightlineError).code).toBe('SL_ERR_QUERY_LIMIT');
    });
  });

  const range = { fromNs: T0 - S, toNs: T0 + MINUTE };

  it('lists metric names with their latest kind, unit, temporality and monotonic flag', async () => {
    const names = await store.listMetricNames(ORG_A, range);
    expect(names.map((n) => n.name)).toEqual([
      'db.connections.used',
      'jobs.done',
      'odd.values',
      'rpc.duration',
    ]);
    expect(names[0]).toEqual({
      name: 'db.connections.used',
      kind: 'gauge',
      unit: metricRow({}).unit,
      temporality: '',
      monotonic: false,
    });
    expect(names.find((n) => n.name === 'jobs.done')).toMatchObject({ temporality: 'delta' });
    expect(await store.listMetricNames(ORG_A, { fromNs: T0 + MINUTE, toNs: T0 + 2n * MINUTE })).toEqual([]);
  });

  it('lists series by name, ordered by id, cut at maxSeries', async () => {
    const listed = await store.listSeries(ORG_A, { ...range, names: ['db.connections.used'], maxSeries: 10 });
    expect(listed.truncated).toBe(false);
    expect(listed.series).toEqual([
      {
        seriesId: 'gauge-1',
        name: 'db.connections.used',
        kind: 'gauge',
        unit: metricRow({}).unit,
        temporality: '',
        monotonic: false,
        service: 'checkout',
        host: 'web-1',
        entityId: 'postgresql:main',
        labels: '{"db.name":"orders","pool":"main"}',
      },
      expect.objectContaining({ seriesId: 'gauge-2', labels: '{"db.name":"billing","pool":"main"}' }),
    ]);
    const cut = await store.listSeries(ORG_A, { ...range, maxSeries: 2 });
    expect(cut).toMatchObject({
      truncated: true,
      series: [{ seriesId: 'delta-1' }, { seriesId: 'gauge-1' }],
    });
    expect((await store.listSeries(ORG_A, { ...range, names: [], maxSeries: 2 })).series).toEqual([]);
  });

  it('reads points per requested series in request order, empty for unknown ids, NaN and ±Inf kept', async () => {
    const read = await store.readSeriesPoints(ORG_A, {
      ...range,
      seriesIds: ['gauge-2', 'nope', 'gauge-1', 'special'],
      names: ['db.connections.used', 'odd.values'],
      maxPoints: 100,
    });
    expect(read.map((p) => [...p.values])).toEqual([[7, 8], [], [1, 2, 3], [NaN, Infinity, -Infinity]]);
    expect(read[0]?.timestampsMs).toBeInstanceOf(Float64Array);
    expect([...(read[0]?.timestampsMs ?? [])]).toEqual([T0_MS, T0_MS + 10_000]);
    // toNs is inclusive for PromQL windows.
    const inclusive = await store.readSeriesPoints(ORG_A, {
      fromNs: T0,
      toNs: T0 + 10n * S,
      seriesIds: ['gauge-1'],
      names: ['db.connections.used'],
      maxPoints: 100,
    });
    expect([...(inclusive[0]?.values ?? [])]).toEqual([1, 2]);
    const hist = await store.readSeriesPoints(ORG_A, {
      ...range,
      seriesIds: ['hist-1'],
      names: ['rpc.duration'],
      histogram: true,
      maxPoints: 100,
    });
    expect([...(hist[0]?.values ?? [])]).toEqual([6, 12]);
    expect(hist[0]?.histogram).toEqual({
      sums: Float64Array.from([3.5, 7]),
      bounds: [
        [0.1, 1],
        [0.1, 1],
      ],
      counts: [
        [1, 2, 3],
        [2, 4, 6],
      ],
    });
  });

  it('reads rollup rows as their bucket last point with deltas, and the rollup progress', async () => {
    expect(await store.rollupsCompleteTo()).toBeUndefined();
    const row = (bucket: bigint, last: number, delta: string, version: number) =>
      `('${ORG_A}', 'delta-1', ${bucket}, 'jobs.done', 'sum', '1', 'delta', 1, '', 'checkout', 'web-1', '{}', '{}', '',
        3, 0, 5, 8, ${last}, ${bucket + 30n * S}, ${delta}, NULL, NULL, ${version})`;
    const bucket = (T0 / MINUTE) * MINUTE;
    await ch.query(
      `INSERT INTO metric_rollups_1m VALUES ${row(bucket, 4, '1', 1)}, ${row(bucket, 5, '8', 2)}, ${row(bucket + MINUTE, 9, 'NULL', 1)}`,
    );
    await ch.query(`INSERT INTO rollup_progress VALUES ('rollups', 100), ('rollups', 200), ('other', 999)`);
    expect(await store.rollupsCompleteTo()).toBe(200n);
    const [rolled] = await store.readSeriesPoints(ORG_A, {
      fromNs: bucket,
      toNs: bucket + 2n * MINUTE,
      resolution: '1m',
      seriesIds: ['delta-1'],
      names: ['jobs.done'],
      maxPoints: 100,
    });
    // The newest version of a recomputed bucket wins (FINAL).
    expect([...(rolled?.values ?? [])]).toEqual([5, 9]);
    expect([...(rolled?.timestampsMs ?? [])]).toEqual([
      Number((bucket + 30n * S) / 1_000_000n),
      Number((bucket + MINUTE + 30n * S) / 1_000_000n),
    ]);
    expect(rolled?.rollup).toEqual({
      deltas: Float64Array.from([8, NaN]),
      histCountDeltas: Float64Array.from([NaN, NaN]),
      histSumDeltas: Float64Array.from([NaN, NaN]),
    });
    expect(
      (await store.listMetricNames(ORG_A, { fromNs: bucket, toNs: bucket + 2n * MINUTE }, '1m')).map(
        (n) => n.name,
      ),
    ).toEqual(['jobs.done']);
    expect(
      (
        await store.listSeries(ORG_A, {
          fromNs: bucket,
          toNs: bucket + 2n * MINUTE,
          resolution: '1m',
          maxSeries: 5,
        })
      ).series.map((s) => s.seriesId),
    ).toEqual(['delta-1']);
    await expect(
      store.readSeriesPoints(ORG_A, {
        ...range,
        resolution: '1m',
        histogram: true,
        seriesIds: ['hist-1'],
        names: ['rpc.duration'],
        maxPoints: 10,
      }),
    ).rejects.toThrow(/only stored raw/);
  });

  it('treats hostile series ids and names as values', async () => {
    await store.writeMetricPoints(
      HOSTILE.map((text, i) =>
        metricRow({ id: `h${i}`, seriesId: text, name: text, ts: T0 + 5n * MINUTE, value: i, labels: '{}' }),
      ),
    );
    const later = { fromNs: T0 + 4n * MINUTE, toNs: T0 + 6n * MINUTE };
    expect((await store.listMetricNames(ORG_A, later)).map((n) => n.name).sort()).toEqual(
      [...HOSTILE].sort(),
    );
    const listed = await store.listSeries(ORG_A, { ...later, names: HOSTILE, maxSeries: 100 });
    expect(listed.series.map((s) => s.seriesId).sort()).toEqual([...HOSTILE].sort());
    const read = await store.readSeriesPoints(ORG_A, {
      ...later,
      seriesIds: HOSTILE,
      names: HOSTILE,
      maxPoints: 100,
    });
    expect(read.map((p) => [...p.values])).toEqual(HOSTILE.map((_, i) => [i]));
    expect((await store.countRecords(ORG_A)).metricPoints).toBeGreaterThan(10);
  });
});
