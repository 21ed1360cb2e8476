import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickhouseStore } from '../../src/store/clickhouse/telemetry-store.js';
import type { MetricPointRow } from '../../src/store/rows.js';
import { ORG_A, T0, metricRow } from '../fixtures/rows.js';
import { SERIES_SOURCE_ROWS, describeSeriesSourceContract } from '../helpers/series-source-contract.js';
import { CLICKHOUSE_INSTALL_HINT, clickhouseAvailable } from '../harness/clickhouse.js';
import { startClickhouseStores, type ClickhouseStores } from '../helpers/clickhouse-stores.js';
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
  let clickhouse: ClickhouseStores;
  let store: ClickhouseStore;

  beforeAll(async () => {
    clickhouse = await startClickhouseStores();
    ({ store } = await clickhouse.openStore());
    await store.writeMetricPoints([
      ...SERIES_SOURCE_ROWS,
      ...points('special', [NaN, Infinity, -Infinity], { name: 'odd.values', kind: 'gauge', labels: '{}' }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await clickhouse?.stop();
  });

  describeSeriesSourceContract('ClickHouse', () => store);

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
    await clickhouse.ch.query(
      `INSERT INTO metric_rollups_1m VALUES ${row(bucket, 4, '1', 1)}, ${row(bucket, 5, '8', 2)}, ${row(bucket + MINUTE, 9, 'NULL', 1)}`,
    );
    await clickhouse.ch.query(
      `INSERT INTO rollup_progress VALUES ('rollups', 100), ('rollups', 200), ('other', 999)`,
    );
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
