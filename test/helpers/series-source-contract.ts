import { describe, expect, it } from 'vitest';
import { SightlineError } from '../../src/core/errors.js';
import { StoreSeriesSource, type SeriesStore } from '../../src/query/promql-store-source.js';
import type { RawSeries } from '../../src/query/promql/index.js';
import type { MetricPointRow } from '../../src/store/rows.js';
import { ORG_A, ORG_B, T0, metricRow } from '../fixtures/rows.js';

/**
 * The PromQL engine's reads as StoreSeriesSource makes them, one set of expectations for every
 * store: write SERIES_SOURCE_ROWS, then call describeSeriesSourceContract with the store.
 */

const S = 1_000_000_000n;
const T0_MS = Number(T0 / 1_000_000n);
const LIMITS = { maxSamples: 1_000, maxSeries: 100 };

function points(
  seriesId: string,
  values: readonly number[],
  overrides: Partial<MetricPointRow>,
): MetricPointRow[] {
  return values.map((value, i) =>
    metricRow({ id: `${seriesId}-${i}`, seriesId, ts: T0 + BigInt(i) * 10n * S, value, ...overrides }),
  );
}

/** Gauges with dotted names and labels, a delta sum, a histogram, and another org's series. */
export const SERIES_SOURCE_ROWS: MetricPointRow[] = [
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
];

export function describeSeriesSourceContract(storeName: string, store: () => SeriesStore): void {
  const byLabels = (series: RawSeries[]) =>
    Object.fromEntries(series.map((s) => [JSON.stringify(s.labels), [...s.values]]));
  const source = (org = ORG_A, limits = LIMITS) => new StoreSeriesSource(store(), org, limits);
  const window = [T0_MS - 1000, T0_MS + 60_000] as const;

  describe(`StoreSeriesSource over ${storeName}: stored points as PromQL series`, () => {
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
}
