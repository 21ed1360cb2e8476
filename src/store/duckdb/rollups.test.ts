import { BIGINT } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { metricRow } from '../../../test/fixtures/rows.js';
import { silentLogger } from '../../core/logger.js';
import type { MetricPointRow } from '../rows.js';
import { DuckDBDatabase } from './database.js';
import {
  HOUR_NS,
  MAX_STEPS_PER_PASS,
  MINUTE_NS,
  RollupJob,
  ceilTo,
  floorTo,
  planRollup,
  type RollupOptions,
} from './rollups.js';
import { DuckDBStore } from './telemetry-store.js';

const S = 1_000_000_000n;
/** An hour boundary, so minutes, 5 minutes and hours all start here. */
const H0 = floorTo(1_700_000_000_000_000_000n, HOUR_NS);

describe('planRollup', () => {
  const lateness = 600n * S;
  const week = 7n * 24n * HOUR_NS;

  it('recomputes the lateness window up to and including the current minute', () => {
    const now = H0 + 34n * MINUTE_NS + 56n * S;
    expect(planRollup(now, lateness, week, H0 + 34n * MINUTE_NS)).toEqual({
      completeTo: H0 + 34n * MINUTE_NS,
      steps: [[H0 + 24n * MINUTE_NS, H0 + 35n * MINUTE_NS]],
    });
  });

  it('splits a window that crosses an hour into one step per hour', () => {
    const now = H0 + HOUR_NS + 3n * MINUTE_NS + 10n * S;
    expect(planRollup(now, lateness, week, undefined).steps).toEqual([
      [H0 + 53n * MINUTE_NS, H0 + HOUR_NS],
      [H0 + HOUR_NS, H0 + HOUR_NS + 4n * MINUTE_NS],
    ]);
  });

  it('starts where the last pass got to after downtime, a day per pass at most', () => {
    const now = H0 + 3n * HOUR_NS + 30n * S;
    const afterDowntime = planRollup(now, lateness, week, H0 + 17n * MINUTE_NS);
    expect(afterDowntime.steps[0]).toEqual([H0 + 17n * MINUTE_NS, H0 + HOUR_NS]);
    expect(afterDowntime.steps.at(-1)).toEqual([H0 + 3n * HOUR_NS, H0 + 3n * HOUR_NS + MINUTE_NS]);
    expect(afterDowntime.steps).toHaveLength(4);

    const longAgo = planRollup(now + 5n * 24n * HOUR_NS, lateness, week, H0);
    expect(longAgo.steps).toHaveLength(MAX_STEPS_PER_PASS);
    expect(longAgo.steps[0]?.[0]).toBe(H0);
    expect(longAgo.steps.at(-1)?.[1]).toBe(H0 + BigInt(MAX_STEPS_PER_PASS) * HOUR_NS);
  });

  it('never reaches back further than the catch-up limit', () => {
    const now = H0 + 30n * 24n * HOUR_NS;
    const plan = planRollup(now, lateness, 2n * HOUR_NS, H0);
    expect(plan.steps[0]?.[0]).toBe(now - 2n * HOUR_NS);
    expect(plan.steps.at(-1)?.[1]).toBe(now + MINUTE_NS);
  });

  it('rounds to buckets', () => {
    expect(floorTo(H0 + 61n * S, MINUTE_NS)).toBe(H0 + MINUTE_NS);
    expect(ceilTo(H0 + 61n * S, 5n * MINUTE_NS)).toBe(H0 + 5n * MINUTE_NS);
    expect(ceilTo(H0, HOUR_NS)).toBe(H0);
  });
});

/** Rollups of a fresh in-memory store: the SQL that computes them, on exactly these points. */
describe('metric rollups per minute', () => {
  const open: DuckDBDatabase[] = [];
  afterEach(async () => {
    for (const database of open.splice(0)) await database.close();
  });

  async function storeWith(points: MetricPointRow[]): Promise<DuckDBDatabase> {
    const database = await DuckDBDatabase.open(
      { path: ':memory:', memoryLimit: '256MB', checkpointThreshold: '16MB' },
      silentLogger(),
    );
    open.push(database);
    await database.migrate();
    const store = new DuckDBStore(database);
    await store.start();
    await store.writeMetricPoints(points);
    return database;
  }

  function pass(database: DuckDBDatabase, nowNs: bigint, options: Partial<RollupOptions> = {}) {
    const job = new RollupJob(
      { intervalSeconds: 60, latenessSeconds: 600, ...options },
      { database, logger: silentLogger() },
    );
    return job.runOnce(nowNs);
  }

  async function minutes(database: DuckDBDatabase, series: string) {
    return database.withConnection(async (connection) => {
      const reader = await connection.runAndReadAll(
        `SELECT (bucket_ts - $h0) // 60000000000 AS minute, count, min, max, sum, last, delta, hist_count, hist_sum
         FROM metric_rollups_1m WHERE series_id = $series ORDER BY bucket_ts`,
        { h0: H0, series },
        { h0: BIGINT },
      );
      const num = (v: unknown): number | null => (v === null ? null : Number(v));
      return reader.getRowObjectsJS().map((r) => ({
        minute: Number(r.minute),
        count: Number(r.count),
        min: num(r.min),
        max: num(r.max),
        sum: num(r.sum),
        last: num(r.last),
        delta: num(r.delta),
        hist_count: num(r.hist_count),
        hist_sum: num(r.hist_sum),
      }));
    });
  }

  let seq = 0;
  const point = (series: string, at: bigint, value: number, overrides: Partial<MetricPointRow> = {}) =>
    metricRow({ id: `p${++seq}`, seriesId: series, ts: H0 + at, startTs: H0 - HOUR_NS, value, ...overrides });

  it('counts a cumulative counter from the point before, and a drop or a new start time as a reset', async () => {
    const restart = H0 + MINUTE_NS + 50n * S;
    const database = await storeWith([
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
    await pass(database, H0 + 3n * MINUTE_NS);
    expect(await minutes(database, 'c')).toEqual([
      // The series' first point: nothing says since when it counted, so it adds nothing.
      {
        minute: 0,
        count: 3,
        min: 100,
        max: 130,
        sum: 340,
        last: 130,
        delta: 30,
        hist_count: null,
        hist_sum: null,
      },
      {
        minute: 1,
        count: 3,
        min: 5,
        max: 135,
        sum: 148,
        last: 8,
        delta: 5 + 5 + 3,
        hist_count: null,
        hist_sum: null,
      },
      {
        minute: 2,
        count: 2,
        min: 20,
        max: 25,
        sum: 45,
        last: 25,
        delta: 20 + 5,
        hist_count: null,
        hist_sum: null,
      },
    ]);
  });

  it('gives the same rows when a later pass recomputes only part of the range', async () => {
    const database = await storeWith([
      point('c', 0n, 100),
      point('c', 30n * S, 120),
      point('c', 60n * S, 150),
      point('c', 90n * S, 10),
      point('c', 120n * S, 40),
    ]);
    await pass(database, H0 + 2n * MINUTE_NS + 30n * S);
    const first = await minutes(database, 'c');
    // Minutes 1 and 2 only: minute 1's first increase counts from the raw point before it.
    const report = await pass(database, H0 + 2n * MINUTE_NS + 40n * S, { latenessSeconds: 60 });
    expect(report.fromNs).toBe(H0 + MINUTE_NS);
    expect(await minutes(database, 'c')).toEqual(first);
    expect(first.map((m) => m.delta)).toEqual([20, 30 + 10, 30]);
  });

  it('starts a counter again after a silence longer than the lookback', async () => {
    const database = await storeWith([
      point('gap', -2n * HOUR_NS, 50),
      point('gap', 10n * S, 60),
      point('gap', 30n * S, 70),
      point('near', -30n * MINUTE_NS, 50),
      point('near', 10n * S, 60),
      point('near', 30n * S, 70),
    ]);
    await pass(database, H0 + MINUTE_NS, { latenessSeconds: 60, maxCatchUpSeconds: 60 });
    expect((await minutes(database, 'gap')).map((m) => m.delta)).toEqual([10]);
    expect((await minutes(database, 'near')).map((m) => m.delta)).toEqual([20]);
  });

  it('treats a silence of more than an hour alike wherever the recomputed range starts', async () => {
    const database = await storeWith([
      point('sparse', 5n * MINUTE_NS, 50),
      point('sparse', 95n * MINUTE_NS, 80),
    ]);
    // One pass from the first point, in hourly steps: the second step's point before is 85 minutes back.
    await pass(database, H0 + 96n * MINUTE_NS, { latenessSeconds: 60 });
    const caughtUp = await minutes(database, 'sparse');
    expect(caughtUp.map((m) => [m.minute, m.delta])).toEqual([
      [5, 0],
      [95, 0],
    ]);
    // A pass over the last minutes only gives the same.
    await pass(database, H0 + 96n * MINUTE_NS, { latenessSeconds: 120 });
    expect(await minutes(database, 'sparse')).toEqual(caughtUp);
  });

  it('adds up delta sums, and leaves gauges and non-monotonic sums without a delta', async () => {
    const database = await storeWith([
      point('d', 0n, 3, { temporality: 'delta' }),
      point('d', 20n * S, 4, { temporality: 'delta' }),
      point('d', 40n * S, 5, { temporality: 'delta' }),
      point('g', 0n, 7, { kind: 'gauge', temporality: '', monotonic: false }),
      point('g', 30n * S, 2.5, { kind: 'gauge', temporality: '', monotonic: false }),
      point('u', 0n, 7, { monotonic: false }),
      point('u', 30n * S, 2, { monotonic: false }),
    ]);
    await pass(database, H0 + MINUTE_NS);
    expect(await minutes(database, 'd')).toMatchObject([{ count: 3, sum: 12, last: 5, delta: 12 }]);
    expect(await minutes(database, 'g')).toMatchObject([
      { count: 2, min: 2.5, max: 7, sum: 9.5, last: 2.5, delta: null },
    ]);
    expect(await minutes(database, 'u')).toMatchObject([{ count: 2, last: 2, delta: null }]);
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
    const database = await storeWith([
      histogram(0n, 10n, 100),
      histogram(20n * S, 15n, 160),
      histogram(40n * S, 2n, 30, H0 + 30n * S),
    ]);
    await pass(database, H0 + MINUTE_NS);
    expect(await minutes(database, 'h')).toEqual([
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
