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
import { HOUR_NS, MINUTE_NS, RollupJob } from '../../src/store/rollup-job.js';
import { DuckDBRollupSteps } from '../../src/store/duckdb/rollups.js';
import { DuckDBStore } from '../../src/store/duckdb/telemetry-store.js';
import { logRow, metricRow, spanRow } from '../fixtures/rows.js';
import {
  H0,
  describeRollupContract,
  type LogCountView,
  type MetricRollupView,
  type RollupSeriesView,
  type SpanLatencyView,
} from '../helpers/rollup-contract.js';

const S = 1_000_000_000n;
const DAY_NS = 24n * HOUR_NS;
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
  return new RollupJob(
    { intervalSeconds: 60, latenessSeconds },
    { steps: new DuckDBRollupSteps(database), logger: silentLogger() },
  );
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

/** The rollup contract on a fresh in-memory DuckDB per case, read back with DuckDB's SQL. */
describeRollupContract('DuckDB', async () => {
  const database = await DuckDBDatabase.open(
    { path: ':memory:', memoryLimit: '256MB', checkpointThreshold: '16MB' },
    silentLogger(),
  );
  open.push(database);
  await database.migrate();
  const store = new DuckDBStore(database);
  await store.start();
  const numbers = (row: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]));
  return {
    writeMetricPoints: (rows) => store.writeMetricPoints(rows),
    writeLogs: (rows) => store.writeLogs(rows),
    writeSpans: (rows) => store.writeSpans(rows),
    pass: (now, options = {}) =>
      new RollupJob(
        { intervalSeconds: 60, latenessSeconds: 600, ...options },
        { steps: new DuckDBRollupSteps(database), logger: silentLogger() },
      ).runOnce(now),
    metricRollups: async (table, series) =>
      (
        await query(
          database,
          `SELECT (bucket_ts - $h0) // ${MINUTE_NS} AS minute, count, min, max, sum, last,
                  (last_ts - $h0) // ${S} AS last_s, delta, hist_count, hist_sum
           FROM ${table} WHERE series_id = $series ORDER BY bucket_ts`,
          { h0: H0, series },
        )
      ).map(numbers) as unknown as MetricRollupView[],
    seriesCopies: async (table) =>
      (await query(
        database,
        `SELECT org_id, name, kind, unit, temporality, monotonic, entity_id, service, host, labels, resource,
                scope_name, last FROM ${table} ORDER BY org_id`,
      )) as unknown as RollupSeriesView[],
    logCounts: async () =>
      (await query(
        database,
        `SELECT (bucket_ts - $h0) // ${MINUTE_NS} AS minute, service, severity, count FROM log_counts_1m
         ORDER BY minute, service, severity`,
        { h0: H0 },
      )) as unknown as LogCountView[],
    spanLatency: async () =>
      (await query(
        database,
        `SELECT (bucket_ts - $h0) // ${MINUTE_NS} AS minute, service, name, kind, count, errors, sum_ns, min_ns,
                max_ns, p50_ns, p95_ns, p99_ns
         FROM span_latency_1m ORDER BY minute`,
        { h0: H0 },
      )) as unknown as SpanLatencyView[],
  };
});

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
      {
        steps: new DuckDBRollupSteps(database),
        logger: silentLogger(),
        onReport: (r) => reports.push(r.rows.log_counts_1m),
      },
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
