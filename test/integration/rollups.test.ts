import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIGINT, type DuckDBValue } from '@duckdb/node-api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { nowNs } from '../../src/core/time.js';
import type { RetentionDays } from '../../src/store/maintenance.js';
import { DuckDBDatabase } from '../../src/store/duckdb/database.js';
import { RetentionJob } from '../../src/store/duckdb/retention.js';
import { HOUR_NS, MINUTE_NS, RollupJob, floorTo } from '../../src/store/duckdb/rollups.js';
import { DuckDBStore } from '../../src/store/duckdb/telemetry-store.js';
import type { MetricPointRow } from '../../src/store/rows.js';
import { ORG_A, ORG_B, T0, logRow, metricRow, spanRow } from '../fixtures/rows.js';

const S = 1_000_000_000n;
const DAY_NS = 24n * HOUR_NS;
/** An hour boundary: minutes, five minutes and the hour all start here. */
const H0 = floorTo(T0, HOUR_NS);
const START = H0 - DAY_NS;

let dir: string;
let fileCount = 0;
const open: DuckDBDatabase[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sightline-rollups-'));
});

afterEach(async () => {
  for (const database of open.splice(0)) await database.close();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function openStore(path = join(dir, `rollups-${++fileCount}.duckdb`)) {
  const database = await DuckDBDatabase.open(
    { path, memoryLimit: '512MB', checkpointThreshold: '16MB' },
    silentLogger(),
  );
  open.push(database);
  await database.migrate();
  const store = new DuckDBStore(database);
  await store.start();
  return { path, database, store };
}

function rollups(database: DuckDBDatabase, latenessSeconds = 600): RollupJob {
  return new RollupJob({ intervalSeconds: 60, latenessSeconds }, { database, logger: silentLogger() });
}

async function query(
  database: DuckDBDatabase,
  sql: string,
  params: Record<string, DuckDBValue> = {},
): Promise<Record<string, unknown>[]> {
  const types = Object.fromEntries(
    Object.entries(params).flatMap(([k, v]) => (typeof v === 'bigint' ? [[k, BIGINT]] : [])),
  );
  return database.withConnection(async (connection) => {
    const reader = await connection.runAndReadAll(sql, params, types);
    return reader
      .getRowObjectsJS()
      .map((row) =>
        Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
      );
  });
}

/** Rollup rows of one series, buckets as minutes since H0. */
function metricRollups(database: DuckDBDatabase, table: string, series: string) {
  return query(
    database,
    `SELECT (bucket_ts - $h0) // ${MINUTE_NS} AS minute, count, min, max, sum, last, (last_ts - $h0) // ${S} AS last_s, delta
     FROM ${table} WHERE series_id = $series ORDER BY bucket_ts`,
    { h0: H0, series },
  );
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

const KEEP_FOREVER: RetentionDays = {
  logs: 0,
  spans: 0,
  metricPoints: 0,
  deadLetters: 0,
  queryStats: 0,
  querySamples: 0,
  activitySamples: 0,
  activitySnapshots: 0,
  rumEvents: 0,
  metricRollups1m: 0,
  metricRollups5m: 0,
  metricRollups1h: 0,
  logCounts1m: 0,
  spanLatency1m: 0,
};

const TEN_MINUTES = Array.from({ length: 60 }, (_, i) => i);

describe('metric rollups from points sent at 10 s resolution for 10 minutes', () => {
  it('has the right 1m and 5m rows for a gauge and a counter', async () => {
    const { database, store } = await openStore();
    await store.writeMetricPoints(TEN_MINUTES.flatMap((i) => [gauge(i), counter(i)]));
    const report = await rollups(database).runOnce(H0 + 10n * MINUTE_NS + 5n * S);
    expect(report.fromNs).toBe(H0);
    expect(report.rows).toMatchObject({ metric_rollups_1m: 20, metric_rollups_5m: 4, metric_rollups_1h: 2 });

    // Minute m holds points 6m … 6m+5, at 10 s each.
    expect(await metricRollups(database, 'metric_rollups_1m', 'gauge')).toEqual(
      Array.from({ length: 10 }, (_, m) => ({
        minute: m,
        count: 6,
        min: 6 * m,
        max: 6 * m + 5,
        sum: 36 * m + 15,
        last: 6 * m + 5,
        last_s: 60 * m + 50,
        delta: null,
      })),
    );
    expect(await metricRollups(database, 'metric_rollups_5m', 'gauge')).toEqual([
      { minute: 0, count: 30, min: 0, max: 29, sum: 435, last: 29, last_s: 290, delta: null },
      { minute: 5, count: 30, min: 30, max: 59, sum: 1335, last: 59, last_s: 590, delta: null },
    ]);

    // The first minute has 5 increases (the first point adds none); later ones 6, one from the minute before.
    const counter1m = await metricRollups(database, 'metric_rollups_1m', 'counter');
    expect(counter1m.map((r) => r.delta)).toEqual([25, 30, 30, 30, 30, 30, 30, 30, 30, 30]);
    expect(counter1m[3]).toEqual({
      minute: 3,
      count: 6,
      min: 190,
      max: 215,
      sum: 6 * 190 + 75,
      last: 215,
      last_s: 230,
      delta: 30,
    });
    expect(await metricRollups(database, 'metric_rollups_5m', 'counter')).toEqual([
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
    expect(await metricRollups(database, 'metric_rollups_1h', 'counter')).toMatchObject([
      { minute: 0, count: 60, min: 100, max: 395, last: 395, delta: 295 },
    ]);
  });

  it('counts a counter restart inside a bucket from zero', async () => {
    const { database, store } = await openStore();
    await store.writeMetricPoints(TEN_MINUTES.map(restarted));
    await rollups(database).runOnce(H0 + 10n * MINUTE_NS + 5n * S);
    const perMinute = await metricRollups(database, 'metric_rollups_1m', 'restarted');
    // Minute 5: three increases of 10, the restart's 2, then two more of 10.
    expect(perMinute.map((r) => r.delta)).toEqual([50, 60, 60, 60, 60, 52, 60, 60, 60, 60]);
    expect(perMinute[5]).toMatchObject({ count: 6, min: 2, max: 1320, last: 22 });
    expect((await metricRollups(database, 'metric_rollups_5m', 'restarted')).map((r) => r.delta)).toEqual([
      290, 292,
    ]);
  });

  it('recomputes a bucket when a late point arrives, and stores a resent batch once', async () => {
    const { database, store } = await openStore();
    await store.writeMetricPoints(TEN_MINUTES.flatMap((i) => [gauge(i), counter(i)]));
    const job = rollups(database);
    await job.runOnce(H0 + 10n * MINUTE_NS + 5n * S);

    // 40 s late, between points 57 and 58; and the whole batch again (at-least-once delivery).
    const late = metricRow({ ...gauge(0), id: 'gauge-late', ts: H0 + 575n * S, value: 1000 });
    await store.writeMetricPoints([late, ...TEN_MINUTES.flatMap((i) => [gauge(i), counter(i)])]);
    await job.runOnce(H0 + 10n * MINUTE_NS + 45n * S);
    await job.runOnce(H0 + 10n * MINUTE_NS + 50n * S);

    const gauge1m = await metricRollups(database, 'metric_rollups_1m', 'gauge');
    expect(gauge1m).toHaveLength(10);
    expect(gauge1m[9]).toMatchObject({
      count: 7,
      min: 54,
      max: 1000,
      sum: 54 + 55 + 56 + 57 + 1000 + 58 + 59,
      last: 59,
    });
    expect(await metricRollups(database, 'metric_rollups_5m', 'gauge')).toMatchObject([
      { minute: 0, count: 30, max: 29 },
      { minute: 5, count: 31, max: 1000, sum: 1335 + 1000 },
    ]);
    expect((await metricRollups(database, 'metric_rollups_5m', 'counter')).map((r) => r.delta)).toEqual([
      145, 150,
    ]);
  });

  it('keeps orgs apart and copies what a series is for querying', async () => {
    const { database, store } = await openStore();
    await store.writeMetricPoints([
      metricRow({ id: 'a', seriesId: 'same', ts: H0, value: 1 }),
      metricRow({ id: 'b', seriesId: 'same', ts: H0, value: 2, orgId: ORG_B }),
    ]);
    await rollups(database).runOnce(H0 + MINUTE_NS);
    expect(
      await query(
        database,
        `SELECT org_id, name, kind, unit, temporality, monotonic, entity_id, service, host, labels, resource, scope_name, last
         FROM metric_rollups_5m ORDER BY org_id`,
      ),
    ).toEqual([
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

  it('catches up on the hours it did not run, and picks up again after a restart', async () => {
    const first = await openStore();
    const points = Array.from({ length: 3 * 60 }, (_, m) =>
      metricRow({ id: `m${m}`, seriesId: 'slow', ts: H0 + BigInt(m) * MINUTE_NS, startTs: START, value: m }),
    );
    await first.store.writeMetricPoints(points.slice(0, 30));
    await rollups(first.database).runOnce(H0 + 30n * MINUTE_NS);
    await first.database.close();

    // Two and a half hours later, with the points of the time between stored meanwhile.
    const again = await openStore(first.path);
    await again.store.writeMetricPoints(points.slice(30));
    const report = await rollups(again.database).runOnce(H0 + 3n * HOUR_NS);
    expect(report.fromNs).toBe(H0 + 30n * MINUTE_NS);
    const hours = await metricRollups(again.database, 'metric_rollups_1h', 'slow');
    expect(hours.map((h) => [h.minute, h.count, h.delta])).toEqual([
      [0, 60, 59],
      [60, 60, 60],
      [120, 60, 60],
    ]);
  });
});

describe('log counts and span latency per minute', () => {
  it('counts logs per service and severity, and gives span quantiles per operation', async () => {
    const { database, store } = await openStore();
    const log = (id: string, at: bigint, service: string, severity: 'INFO' | 'WARN' | 'ERROR') =>
      logRow({ id, ts: H0 + at, service, severity });
    await store.writeLogs([
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
    await store.writeSpans([
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
    await rollups(database).runOnce(H0 + 5n * MINUTE_NS);

    expect(
      await query(
        database,
        `SELECT (bucket_ts - $h0) // ${MINUTE_NS} AS minute, service, severity, count FROM log_counts_1m
         ORDER BY minute, service, severity`,
        { h0: H0 },
      ),
    ).toEqual([
      { minute: 0, service: 'api', severity: 'WARN', count: 1 },
      { minute: 0, service: 'checkout', severity: 'ERROR', count: 2 },
      { minute: 0, service: 'checkout', severity: 'INFO', count: 3 },
      { minute: 1, service: 'checkout', severity: 'INFO', count: 1 },
    ]);

    const spans = await query(
      database,
      `SELECT (bucket_ts - $h0) // ${MINUTE_NS} AS minute, service, name, kind, count, errors, sum_ns, min_ns, max_ns,
              p50_ns, p95_ns, p99_ns
       FROM span_latency_1m ORDER BY minute`,
      { h0: H0 },
    );
    expect(spans).toEqual([
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

describe('retention', () => {
  it('deletes only rows older than their table keeps them, in bounded batches', async () => {
    const { database, store } = await openStore();
    const now = H0 + 30n * DAY_NS;
    const old = now - 8n * DAY_NS;
    const recent = now - DAY_NS;
    await store.writeLogs([
      ...Array.from({ length: 250 }, (_, i) => logRow({ id: `old-${i}`, ts: old + BigInt(i) })),
      logRow({ id: 'recent', ts: recent }),
    ]);
    await store.writeSpans([
      spanRow({ id: 'old', startTs: old, endTs: old + S }),
      spanRow({ id: 'recent', startTs: recent, endTs: recent + S }),
    ]);
    await store.writeMetricPoints([
      metricRow({ id: 'old', ts: old, startTs: START }),
      metricRow({ id: 'recent', ts: recent, startTs: START }),
    ]);
    // Rollups of both days; the 1m rows (30 days) of the old day stay.
    const job = rollups(database);
    for (const at of [old, recent]) {
      // As if each had been summarised on its day: a first pass starts at the oldest raw row of the last week.
      await database.withConnection((c) => c.run('DELETE FROM rollup_progress'));
      await job.runOnce(at + MINUTE_NS);
    }
    expect(await query(database, 'SELECT count(*) AS n FROM metric_rollups_1m')).toEqual([{ n: 2 }]);

    const retention = new RetentionJob(
      {
        days: { ...KEEP_FOREVER, logs: 7, spans: 7, metricPoints: 7, metricRollups1m: 30 },
        intervalSeconds: 300,
        batchRows: 100,
      },
      { database, logger: silentLogger() },
    );
    const report = await retention.runOnce(now);
    expect(report.deleted).toEqual({ logs: 250, spans: 1, metric_points: 1 });
    expect(report.failed).toEqual([]);
    expect(await query(database, 'SELECT id FROM logs')).toEqual([{ id: 'recent' }]);
    expect(await query(database, 'SELECT id FROM spans')).toEqual([{ id: 'recent' }]);
    expect(await query(database, 'SELECT id FROM metric_points')).toEqual([{ id: 'recent' }]);
    expect(await query(database, 'SELECT count(*) AS n FROM metric_rollups_1m')).toEqual([{ n: 2 }]);

    // A second pass has nothing left to do; a shorter age for the rollups takes the old day.
    expect((await retention.runOnce(now)).deleted).toEqual({});
    const shorter = new RetentionJob(
      { days: { ...KEEP_FOREVER, metricRollups1m: 2 }, intervalSeconds: 300, batchRows: 100 },
      { database, logger: silentLogger() },
    );
    expect((await shorter.runOnce(now)).deleted).toEqual({ metric_rollups_1m: 1 });
  });
});

describe('the jobs on their timers', () => {
  it('summarise what was stored before shutdown, and stop cleanly', async () => {
    const { database, store } = await openStore();
    const reports: number[] = [];
    const timed = new RollupJob(
      { intervalSeconds: 3600, latenessSeconds: 600 },
      { database, logger: silentLogger(), onReport: (r) => reports.push(r.rows.log_counts_1m) },
    );
    await timed.start();
    const now = nowNs();
    await store.writeLogs([logRow({ id: 'just-now', ts: now - S })]);
    await timed.shutdown();
    await timed.shutdown();
    expect(reports.at(-1)).toBe(1);
    expect(await query(database, 'SELECT count FROM log_counts_1m')).toEqual([{ count: 1 }]);
    // Safe before start, and more than once.
    const never = new RetentionJob(
      { days: KEEP_FOREVER, intervalSeconds: 60, batchRows: 1000 },
      { database, logger: silentLogger() },
    );
    await never.shutdown();
    await never.shutdown();
  });
});
