import { describe, expect, it } from 'vitest';
import type { RollupReport } from '../../src/store/maintenance.js';
import { HOUR_NS, MINUTE_NS, floorTo, type RollupOptions } from '../../src/store/rollup-job.js';
import type { MetricPointRow, LogRow, SpanRow } from '../../src/store/rows.js';
import { ORG_A, ORG_B, T0, logRow, metricRow, spanRow } from '../fixtures/rows.js';

/**
 * What the rollup job computes, one set of expectations for every store: each case gets a
 * fresh, empty target from `open`, writes raw rows through the store, runs passes and reads
 * the rollup tables back in one shape.
 */

const S = 1_000_000_000n;
/** An hour boundary: minutes, five minutes and the hour all start here. */
export const H0 = floorTo(T0, HOUR_NS);
const START = H0 - 24n * HOUR_NS;

export type MetricRollupTable = 'metric_rollups_1m' | 'metric_rollups_5m' | 'metric_rollups_1h';

/** A metric rollup row, its bucket as minutes since H0 and `last_ts` as seconds since H0. */
export interface MetricRollupView {
  minute: number;
  count: number;
  min: number | null;
  max: number | null;
  sum: number | null;
  last: number | null;
  last_s: number;
  delta: number | null;
  hist_count: number | null;
  hist_sum: number | null;
}

/** What a rollup row copies from its series, for the query side. */
export interface RollupSeriesView {
  org_id: string;
  name: string;
  kind: string;
  unit: string;
  temporality: string;
  monotonic: boolean;
  entity_id: string;
  service: string;
  host: string;
  labels: string;
  resource: string;
  scope_name: string;
  last: number | null;
}

export interface LogCountView {
  minute: number;
  service: string;
  severity: string;
  count: number;
}

export interface SpanLatencyView {
  minute: number;
  service: string;
  name: string;
  kind: string;
  count: number;
  errors: number;
  sum_ns: number;
  min_ns: number;
  max_ns: number;
  p50_ns: number;
  p95_ns: number;
  p99_ns: number;
}

export interface RollupTarget {
  writeMetricPoints(rows: MetricPointRow[]): Promise<unknown>;
  writeLogs(rows: LogRow[]): Promise<unknown>;
  writeSpans(rows: SpanRow[]): Promise<unknown>;
  /** One pass of a new job (progress lives in the store, so a new job is a restarted process). */
  pass(nowNs: bigint, options?: Partial<RollupOptions>): Promise<RollupReport>;
  /** One series' rows of a metric rollup table, oldest bucket first. */
  metricRollups(table: MetricRollupTable, seriesId: string): Promise<MetricRollupView[]>;
  /** Every row of a metric rollup table, ordered by org. */
  seriesCopies(table: MetricRollupTable): Promise<RollupSeriesView[]>;
  /** log_counts_1m ordered by minute, service, severity. */
  logCounts(): Promise<LogCountView[]>;
  /** span_latency_1m ordered by minute. */
  spanLatency(): Promise<SpanLatencyView[]>;
}

const gauge = (i: number): MetricPointRow =>
  metricRow({
    id: `gauge-${i}`,
    seriesId: 'gauge',
    name: 'db.connections',
    kind: 'gauge',
    temporality: '',
    monotonic: false,
    ts: H0 + BigInt(i) * 10n * S,
    startTs: 0n,
    value: i,
  });

/** A cumulative counter growing by 5 every 10 s. */
const counter = (i: number): MetricPointRow =>
  metricRow({
    id: `counter-${i}`,
    seriesId: 'counter',
    ts: H0 + BigInt(i) * 10n * S,
    startTs: START,
    value: 100 + 5 * i,
  });

/** A counter that grows by 10 every 10 s and restarts (from 0, new start time) at point 33, in minute 5. */
const restarted = (i: number): MetricPointRow => {
  const restartedAt = H0 + 325n * S;
  return metricRow({
    id: `restarted-${i}`,
    seriesId: 'restarted',
    ts: H0 + BigInt(i) * 10n * S,
    startTs: i < 33 ? START : restartedAt,
    value: i < 33 ? 1000 + 10 * i : 2 + 10 * (i - 33),
  });
};

const TEN_MINUTES = Array.from({ length: 60 }, (_, i) => i);

export function describeRollupContract(storeName: string, open: () => Promise<RollupTarget>): void {
  describe(`rollups on ${storeName}: points sent at 10 s resolution for 10 minutes`, () => {
    it('has the right 1m and 5m rows for a gauge and a counter', async () => {
      const target = await open();
      await target.writeMetricPoints(TEN_MINUTES.flatMap((i) => [gauge(i), counter(i)]));
      const report = await target.pass(H0 + 10n * MINUTE_NS + 5n * S);
      expect(report.fromNs).toBe(H0);
      expect(report.rows).toMatchObject({
        metric_rollups_1m: 20,
        metric_rollups_5m: 4,
        metric_rollups_1h: 2,
      });

      // Minute m holds points 6m … 6m+5, at 10 s each.
      expect(await target.metricRollups('metric_rollups_1m', 'gauge')).toEqual(
        Array.from({ length: 10 }, (_, m) => ({
          minute: m,
          count: 6,
          min: 6 * m,
          max: 6 * m + 5,
          sum: 36 * m + 15,
          last: 6 * m + 5,
          last_s: 60 * m + 50,
          delta: null,
          hist_count: null,
          hist_sum: null,
        })),
      );
      expect(await target.metricRollups('metric_rollups_5m', 'gauge')).toMatchObject([
        { minute: 0, count: 30, min: 0, max: 29, sum: 435, last: 29, last_s: 290, delta: null },
        { minute: 5, count: 30, min: 30, max: 59, sum: 1335, last: 59, last_s: 590, delta: null },
      ]);

      // The first minute has 5 increases (the first point adds none); later ones 6, one from the minute before.
      const counter1m = await target.metricRollups('metric_rollups_1m', 'counter');
      expect(counter1m.map((r) => r.delta)).toEqual([25, 30, 30, 30, 30, 30, 30, 30, 30, 30]);
      expect(counter1m[3]).toMatchObject({
        minute: 3,
        count: 6,
        min: 190,
        max: 215,
        sum: 6 * 190 + 75,
        last: 215,
        last_s: 230,
        delta: 30,
      });
      expect(await target.metricRollups('metric_rollups_5m', 'counter')).toMatchObject([
        {
          minute: 0,
          count: 30,
          min: 100,
          max: 245,
          sum: 30 * 100 + 5 * 435,
          last: 245,
          last_s: 290,
          delta: 145,
        },
        {
          minute: 5,
          count: 30,
          min: 250,
          max: 395,
          sum: 30 * 250 + 5 * 435,
          last: 395,
          last_s: 590,
          delta: 150,
        },
      ]);
      // All of it: last minus first, as the counter never reset.
      expect(await target.metricRollups('metric_rollups_1h', 'counter')).toMatchObject([
        { minute: 0, count: 60, min: 100, max: 395, last: 395, delta: 295 },
      ]);
    });

    it('counts a counter restart inside a bucket from zero', async () => {
      const target = await open();
      await target.writeMetricPoints(TEN_MINUTES.map(restarted));
      await target.pass(H0 + 10n * MINUTE_NS + 5n * S);
      const perMinute = await target.metricRollups('metric_rollups_1m', 'restarted');
      // Minute 5: three increases of 10, the restart's 2, then two more of 10.
      expect(perMinute.map((r) => r.delta)).toEqual([50, 60, 60, 60, 60, 52, 60, 60, 60, 60]);
      expect(perMinute[5]).toMatchObject({ count: 6, min: 2, max: 1320, last: 22 });
      expect((await target.metricRollups('metric_rollups_5m', 'restarted')).map((r) => r.delta)).toEqual([
        290, 292,
      ]);
    });

    it('recomputes a bucket when a late point arrives, and stores a resent batch once', async () => {
      const target = await open();
      await target.writeMetricPoints(TEN_MINUTES.flatMap((i) => [gauge(i), counter(i)]));
      await target.pass(H0 + 10n * MINUTE_NS + 5n * S);

      // 40 s late, between points 57 and 58; and the whole batch again (at-least-once delivery).
      const late = metricRow({ ...gauge(0), id: 'gauge-late', ts: H0 + 575n * S, value: 1000 });
      await target.writeMetricPoints([late, ...TEN_MINUTES.flatMap((i) => [gauge(i), counter(i)])]);
      await target.pass(H0 + 10n * MINUTE_NS + 45n * S);
      await target.pass(H0 + 10n * MINUTE_NS + 50n * S);

      const gauge1m = await target.metricRollups('metric_rollups_1m', 'gauge');
      expect(gauge1m).toHaveLength(10);
      expect(gauge1m[9]).toMatchObject({
        count: 7,
        min: 54,
        max: 1000,
        sum: 54 + 55 + 56 + 57 + 1000 + 58 + 59,
        last: 59,
      });
      expect(await target.metricRollups('metric_rollups_5m', 'gauge')).toMatchObject([
        { minute: 0, count: 30, max: 29 },
        { minute: 5, count: 31, max: 1000, sum: 1335 + 1000 },
      ]);
      expect((await target.metricRollups('metric_rollups_5m', 'counter')).map((r) => r.delta)).toEqual([
        145, 150,
      ]);
    });

    it('keeps orgs apart and copies what a series is for querying', async () => {
      const target = await open();
      await target.writeMetricPoints([
        metricRow({ id: 'a', seriesId: 'same', ts: H0, value: 1 }),
        metricRow({ id: 'b', seriesId: 'same', ts: H0, value: 2, orgId: ORG_B }),
      ]);
      await target.pass(H0 + MINUTE_NS);
      expect(await target.seriesCopies('metric_rollups_5m')).toEqual([
        {
          org_id: ORG_A,
          name: 'http.server.requests',
          kind: 'sum',
          unit: '{request}',
          temporality: 'cumulative',
          monotonic: true,
          entity_id: 'service/checkout',
          service: 'checkout',
          host: 'web-1',
          labels: '{"route":"/orders"}',
          resource: '{"service.name":"checkout"}',
          scope_name: 'test',
          last: 1,
        },
        expect.objectContaining({ org_id: ORG_B, last: 2 }),
      ]);
    });

    it('catches up on the hours it did not run, where the last pass got to', async () => {
      const target = await open();
      const points = Array.from({ length: 3 * 60 }, (_, m) =>
        metricRow({
          id: `m${m}`,
          seriesId: 'slow',
          ts: H0 + BigInt(m) * MINUTE_NS,
          startTs: START,
          value: m,
        }),
      );
      await target.writeMetricPoints(points.slice(0, 30));
      await target.pass(H0 + 30n * MINUTE_NS);

      // Two and a half hours later, with the points of the time between stored meanwhile.
      await target.writeMetricPoints(points.slice(30));
      const report = await target.pass(H0 + 3n * HOUR_NS);
      expect(report.fromNs).toBe(H0 + 30n * MINUTE_NS);
      const hours = await target.metricRollups('metric_rollups_1h', 'slow');
      expect(hours.map((h) => [h.minute, h.count, h.delta])).toEqual([
        [0, 60, 59],
        [60, 60, 60],
        [120, 60, 60],
      ]);
    });
  });

  describe(`rollups on ${storeName}: increases, resets and kinds per minute`, () => {
    let seq = 0;
    const point = (series: string, at: bigint, value: number, overrides: Partial<MetricPointRow> = {}) =>
      metricRow({
        id: `p${++seq}`,
        seriesId: series,
        ts: H0 + at,
        startTs: H0 - HOUR_NS,
        value,
        ...overrides,
      });
    const minutes = (target: RollupTarget, series: string) =>
      target.metricRollups('metric_rollups_1m', series).then((rows) =>
        rows.map(({ minute, count, min, max, sum, last, delta, hist_count, hist_sum }) => ({
          minute,
          count,
          min,
          max,
          sum,
          last,
          delta,
          hist_count,
          hist_sum,
        })),
      );
    const targetWith = async (points: MetricPointRow[]): Promise<RollupTarget> => {
      const target = await open();
      await target.writeMetricPoints(points);
      return target;
    };

    it('counts a cumulative counter from the point before, and a drop or a new start time as a reset', async () => {
      const restart = H0 + MINUTE_NS + 50n * S;
      const target = await targetWith([
        point('c', 0n, 100),
        point('c', 20n * S, 110),
        point('c', 40n * S, 130),
        point('c', 60n * S, 135),
        point('c', 80n * S, 5), // dropped: the counter restarted and has counted 5 since
        point('c', 100n * S, 8),
        // Restarted again, and already past the old value: only the start time tells.
        point('c', 120n * S, 20, { startTs: restart }),
        point('c', 150n * S, 25, { startTs: restart }),
      ]);
      await target.pass(H0 + 3n * MINUTE_NS);
      const none = { hist_count: null, hist_sum: null };
      expect(await minutes(target, 'c')).toEqual([
        // The series' first point: nothing says since when it counted, so it adds nothing.
        { minute: 0, count: 3, min: 100, max: 130, sum: 340, last: 130, delta: 30, ...none },
        { minute: 1, count: 3, min: 5, max: 135, sum: 148, last: 8, delta: 5 + 5 + 3, ...none },
        { minute: 2, count: 2, min: 20, max: 25, sum: 45, last: 25, delta: 20 + 5, ...none },
      ]);
    });

    it('gives the same rows when a later pass recomputes only part of the range', async () => {
      const target = await targetWith([
        point('c', 0n, 100),
        point('c', 30n * S, 120),
        point('c', 60n * S, 150),
        point('c', 90n * S, 10),
        point('c', 120n * S, 40),
      ]);
      await target.pass(H0 + 2n * MINUTE_NS + 30n * S);
      const first = await minutes(target, 'c');
      // Minutes 1 and 2 only: minute 1's first increase counts from the raw point before it.
      const report = await target.pass(H0 + 2n * MINUTE_NS + 40n * S, { latenessSeconds: 60 });
      expect(report.fromNs).toBe(H0 + MINUTE_NS);
      expect(await minutes(target, 'c')).toEqual(first);
      expect(first.map((m) => m.delta)).toEqual([20, 30 + 10, 30]);
    });

    it('starts a counter again after a silence longer than the lookback', async () => {
      const target = await targetWith([
        point('gap', -2n * HOUR_NS, 50),
        point('gap', 10n * S, 60),
        point('gap', 30n * S, 70),
        point('near', -30n * MINUTE_NS, 50),
        point('near', 10n * S, 60),
        point('near', 30n * S, 70),
      ]);
      await target.pass(H0 + MINUTE_NS, { latenessSeconds: 60, maxCatchUpSeconds: 60 });
      expect((await minutes(target, 'gap')).map((m) => m.delta)).toEqual([10]);
      expect((await minutes(target, 'near')).map((m) => m.delta)).toEqual([20]);
    });

    it('treats a silence of more than an hour alike wherever the recomputed range starts', async () => {
      const target = await targetWith([
        point('sparse', 5n * MINUTE_NS, 50),
        point('sparse', 95n * MINUTE_NS, 80),
      ]);
      // One pass from the first point, in hourly steps: the second step's point before is 85 minutes back.
      await target.pass(H0 + 96n * MINUTE_NS, { latenessSeconds: 60 });
      const caughtUp = await minutes(target, 'sparse');
      expect(caughtUp.map((m) => [m.minute, m.delta])).toEqual([
        [5, 0],
        [95, 0],
      ]);
      // A pass over the last minutes only gives the same.
      await target.pass(H0 + 96n * MINUTE_NS, { latenessSeconds: 120 });
      expect(await minutes(target, 'sparse')).toEqual(caughtUp);
    });

    it('adds up delta sums, and leaves gauges and non-monotonic sums without a delta', async () => {
      const target = await targetWith([
        point('d', 0n, 3, { temporality: 'delta' }),
        point('d', 20n * S, 4, { temporality: 'delta' }),
        point('d', 40n * S, 5, { temporality: 'delta' }),
        point('g', 0n, 7, { kind: 'gauge', temporality: '', monotonic: false }),
        point('g', 30n * S, 2.5, { kind: 'gauge', temporality: '', monotonic: false }),
        point('u', 0n, 7, { monotonic: false }),
        point('u', 30n * S, 2, { monotonic: false }),
      ]);
      await target.pass(H0 + MINUTE_NS);
      expect(await minutes(target, 'd')).toMatchObject([{ count: 3, sum: 12, last: 5, delta: 12 }]);
      expect(await minutes(target, 'g')).toMatchObject([
        { count: 2, min: 2.5, max: 7, sum: 9.5, last: 2.5, delta: null },
      ]);
      expect(await minutes(target, 'u')).toMatchObject([{ count: 2, last: 2, delta: null }]);
    });

    it("counts a cumulative histogram's observations since the point before, with resets", async () => {
      const histogram = (at: bigint, count: bigint, sum: number, startTs = H0 - HOUR_NS) =>
        point('h', at, 0, {
          kind: 'histogram',
          monotonic: false,
          value: null,
          histCount: count,
          histSum: sum,
          startTs,
          bucketBounds: [10, 100],
          bucketCounts: [0n, count, 0n],
        });
      const target = await targetWith([
        histogram(0n, 10n, 100),
        histogram(20n * S, 15n, 160),
        histogram(40n * S, 2n, 30, H0 + 30n * S),
      ]);
      await target.pass(H0 + MINUTE_NS);
      expect(await minutes(target, 'h')).toEqual([
        // Values are the mean of the observations, as the raw queries chart histograms.
        {
          minute: 0,
          count: 3,
          min: 10,
          max: 15,
          sum: expect.closeTo(10 + 160 / 15 + 15, 9) as unknown,
          last: 15,
          delta: null,
          hist_count: 7,
          hist_sum: 90,
        },
      ]);
    });
  });

  describe(`rollups on ${storeName}: log counts and span latency per minute`, () => {
    it('counts logs per service and severity, and gives span quantiles per operation', async () => {
      const target = await open();
      const log = (id: string, at: bigint, service: string, severity: 'INFO' | 'WARN' | 'ERROR') =>
        logRow({ id, ts: H0 + at, service, severity });
      await target.writeLogs([
        log('l1', 1n * S, 'checkout', 'INFO'),
        log('l2', 2n * S, 'checkout', 'INFO'),
        log('l3', 3n * S, 'checkout', 'INFO'),
        log('l4', 4n * S, 'checkout', 'ERROR'),
        log('l5', 59n * S, 'checkout', 'ERROR'),
        log('l6', 30n * S, 'api', 'WARN'),
        log('l7', 60n * S, 'checkout', 'INFO'),
      ]);
      // 100 requests of 1 … 100 ms, every 20th failed, all ending in minute 2.
      const ms = 1_000_000n;
      await target.writeSpans([
        ...Array.from({ length: 100 }, (_, i) =>
          spanRow({
            id: `s${i}`,
            spanId: `s${i}`,
            startTs: H0 + 2n * MINUTE_NS + BigInt(i) * ms,
            endTs: H0 + 2n * MINUTE_NS + BigInt(i) * ms + BigInt(i + 1) * ms,
            durationNs: BigInt(i + 1) * ms,
            status: i % 20 === 19 ? 'error' : 'ok',
          }),
        ),
        // Started in minute 1, ended in minute 3: placed by its end.
        spanRow({
          id: 'long',
          spanId: 'long',
          name: 'nightly report',
          kind: 'internal',
          startTs: H0 + 90n * S,
          endTs: H0 + 190n * S,
          durationNs: 100n * S,
        }),
      ]);
      await target.pass(H0 + 5n * MINUTE_NS);

      expect(await target.logCounts()).toEqual([
        { minute: 0, service: 'api', severity: 'WARN', count: 1 },
        { minute: 0, service: 'checkout', severity: 'ERROR', count: 2 },
        { minute: 0, service: 'checkout', severity: 'INFO', count: 3 },
        { minute: 1, service: 'checkout', severity: 'INFO', count: 1 },
      ]);
      expect(await target.spanLatency()).toEqual([
        {
          minute: 2,
          service: 'checkout',
          name: 'GET /orders',
          kind: 'server',
          count: 100,
          errors: 5,
          sum_ns: 5050 * 1e6,
          min_ns: 1e6,
          max_ns: 100e6,
          // Interpolated between the nearest durations: 50.5 ms, 95.05 ms, 99.01 ms.
          p50_ns: 50.5e6,
          p95_ns: expect.closeTo(95.05e6, 0) as unknown,
          p99_ns: expect.closeTo(99.01e6, 0) as unknown,
        },
        expect.objectContaining({
          minute: 3,
          name: 'nightly report',
          kind: 'internal',
          count: 1,
          p99_ns: 100e9,
        }),
      ]);
    });
  });
}
