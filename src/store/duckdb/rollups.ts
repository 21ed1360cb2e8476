import { BIGINT, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import type { RollupTable } from '../maintenance.js';
import {
  COUNTER_MAX_GAP_NS,
  FIVE_MINUTES_NS,
  HOUR_NS,
  MINUTE_NS,
  ROLLUP_JOB,
  ceilTo,
  floorTo,
  type RollupStep,
  type RollupSteps,
} from '../rollup-job.js';
import type { DuckDBDatabase } from './database.js';

const METRIC_ROLLUP_COLUMNS = `org_id, series_id, bucket_ts, name, kind, unit, temporality, monotonic,
  entity_id, service, host, labels, resource, scope_name, count, min, max, sum, last, last_ts, delta, hist_count, hist_sum`;

/**
 * The increase of a cumulative value from the point before: none for a series' first point
 * (nothing says since when it counted) or after a silence longer than COUNTER_MAX_GAP_NS, the
 * whole value after a reset (it dropped, or its start time changed), otherwise the difference.
 */
function increase(current: string, previous: string, resetWhen: string): string {
  return `CASE WHEN ${current} IS NULL THEN NULL
    WHEN ${previous} IS NULL OR ts - prev_ts > ${COUNTER_MAX_GAP_NS} THEN 0
    WHEN ${resetWhen} OR start_ts <> prev_start_ts THEN ${current}
    ELSE ${current} - ${previous} END`;
}

/**
 * Minutes [from, to) of metric_rollups_1m from the raw points. The last point before `from` of
 * each cumulative series (within COUNTER_MAX_GAP_NS) joins the window functions, so the first
 * point of the range counts its increase from it: recomputing any range gives the same rows.
 */
const METRICS_1M = `INSERT INTO metric_rollups_1m (${METRIC_ROLLUP_COLUMNS})
WITH points AS (
  SELECT org_id, series_id, id, ts, start_ts, name, kind, unit, temporality, monotonic, entity_id, service,
         host, labels, resource, scope_name, value, hist_count::BIGINT AS hist_count, hist_sum, TRUE AS in_range
  FROM metric_points WHERE ts >= $from AND ts < $to
  UNION ALL BY NAME
  SELECT org_id, series_id, (p).ts AS ts, (p).start_ts AS start_ts, (p).id AS id, (p).value AS value,
         (p).hist_count AS hist_count, (p).hist_sum AS hist_sum, FALSE AS in_range
  FROM (
    SELECT org_id, series_id,
           arg_max({'ts': ts, 'start_ts': start_ts, 'id': id, 'value': value,
                    'hist_count': hist_count::BIGINT, 'hist_sum': hist_sum},
                   {'ts': ts, 'start_ts': start_ts, 'id': id}) AS p
    FROM metric_points
    WHERE ts >= $lookbackFrom AND ts < $from AND temporality = 'cumulative' AND (monotonic OR kind = 'histogram')
    GROUP BY org_id, series_id
  )
),
steps AS (
  SELECT *,
    lag(ts) OVER w AS prev_ts,
    lag(value) OVER w AS prev_value,
    lag(start_ts) OVER w AS prev_start_ts,
    lag(hist_count) OVER w AS prev_hist_count,
    lag(hist_sum) OVER w AS prev_hist_sum
  FROM points
  WINDOW w AS (PARTITION BY org_id, series_id ORDER BY ts, start_ts, id)
),
valued AS (
  SELECT *,
    coalesce(value, hist_sum / nullif(hist_count, 0)) AS v,
    CASE
      WHEN kind = 'sum' AND temporality = 'delta' THEN value
      WHEN kind = 'sum' AND temporality = 'cumulative' AND monotonic
        THEN ${increase('value', 'prev_value', 'value < prev_value')}
    END AS d,
    CASE
      WHEN kind = 'histogram' AND temporality = 'delta' THEN hist_count
      WHEN kind = 'histogram' AND temporality = 'cumulative'
        THEN ${increase('hist_count', 'prev_hist_count', 'hist_count < prev_hist_count')}
    END AS d_count,
    CASE
      WHEN kind = 'histogram' AND temporality = 'delta' THEN hist_sum
      WHEN kind = 'histogram' AND temporality = 'cumulative'
        THEN ${increase('hist_sum', 'prev_hist_sum', 'hist_count < prev_hist_count')}
    END AS d_sum
  FROM steps WHERE in_range
)
SELECT org_id, series_id, (ts // ${MINUTE_NS}) * ${MINUTE_NS} AS bucket_ts,
  any_value(name), any_value(kind), arg_max(unit, ts), arg_max(temporality, ts), arg_max(monotonic, ts),
  any_value(entity_id), any_value(service), any_value(host), any_value(labels), any_value(resource),
  any_value(scope_name),
  count(v), min(v), max(v), sum(v), arg_max(v, {'ts': ts, 'start_ts': start_ts, 'id': id}), max(ts),
  sum(d), sum(d_count), sum(d_sum)
FROM valued
GROUP BY org_id, series_id, bucket_ts`;

/** Coarser metric rollups from the 1m rows: every column composes (deltas add up across buckets). */
function metricsFromMinutes(table: string, width: bigint): string {
  return `INSERT INTO ${table} (${METRIC_ROLLUP_COLUMNS})
SELECT org_id, series_id, (bucket_ts // ${width}) * ${width} AS bucket,
  any_value(name), any_value(kind), arg_max(unit, last_ts), arg_max(temporality, last_ts),
  arg_max(monotonic, last_ts), any_value(entity_id), any_value(service), any_value(host), any_value(labels),
  any_value(resource), any_value(scope_name),
  sum(count), min(min), max(max), sum(sum), arg_max(last, last_ts), max(last_ts),
  sum(delta), sum(hist_count), sum(hist_sum)
FROM metric_rollups_1m WHERE bucket_ts >= $from AND bucket_ts < $to
GROUP BY org_id, series_id, bucket`;
}

const LOG_COUNTS_1M = `INSERT INTO log_counts_1m (org_id, bucket_ts, service, severity, count)
SELECT org_id, (ts // ${MINUTE_NS}) * ${MINUTE_NS} AS bucket, service, severity, count(*)
FROM logs WHERE ts >= $from AND ts < $to
GROUP BY org_id, bucket, service, severity`;

/** Exact quantiles (quantile_cont interpolates between the two nearest durations). */
const SPAN_LATENCY_1M = `INSERT INTO span_latency_1m
  (org_id, bucket_ts, service, name, kind, count, errors, sum_ns, min_ns, max_ns, p50_ns, p95_ns, p99_ns)
SELECT org_id, bucket, service, name, kind, n, errors, sum_ns, min_ns, max_ns, q[1], q[2], q[3]
FROM (
  SELECT org_id, (end_ts // ${MINUTE_NS}) * ${MINUTE_NS} AS bucket, service, name, kind, count(*) AS n,
    count(*) FILTER (WHERE status = 'error') AS errors, sum(duration_ns::DOUBLE) AS sum_ns,
    min(duration_ns) AS min_ns, max(duration_ns) AS max_ns,
    quantile_cont(duration_ns, [0.5, 0.95, 0.99]) AS q
  FROM spans WHERE end_ts >= $from AND end_ts < $to
  GROUP BY org_id, bucket, service, name, kind
)`;

const SAVE_PROGRESS = `INSERT INTO rollup_progress (job, done_to) VALUES ($job, $doneTo)
  ON CONFLICT (job) DO UPDATE SET done_to = greatest(rollup_progress.done_to, excluded.done_to)`;

/**
 * DuckDB's rollup SQL: each step deletes its buckets and inserts them again from the raw rows,
 * in one transaction (the rollup tables have no key, rollup-schema.ts says why).
 */
export class DuckDBRollupSteps implements RollupSteps {
  constructor(private readonly database: DuckDBDatabase) {}

  /** Where the last pass got to; on a data dir without rollups yet, the oldest raw row to summarise. */
  startingPoint(sinceNs: bigint): Promise<bigint | undefined> {
    return this.database.withConnection(async (connection) => {
      const done = await read(connection, 'SELECT done_to FROM rollup_progress WHERE job = $job', {
        job: ROLLUP_JOB,
      });
      if (done[0] !== undefined) return BigInt(done[0].done_to as bigint);
      const oldest = await read(
        connection,
        `SELECT least(
           (SELECT min(ts) FROM metric_points WHERE ts >= $since),
           (SELECT min(ts) FROM logs WHERE ts >= $since),
           (SELECT min(end_ts) FROM spans WHERE end_ts >= $since)) AS ts`,
        { since: sinceNs },
      );
      const ts = oldest[0]?.ts;
      return ts === null || ts === undefined ? undefined : BigInt(ts as bigint);
    });
  }

  step({ from, to, doneTo }: RollupStep): Promise<Record<RollupTable, number>> {
    return this.database.withConnection((connection) => replaceStep(connection, from, to, doneTo));
  }
}

/** Replaces minutes [from, to) and the 5m and 1h buckets around them, in one transaction. */
async function replaceStep(
  connection: DuckDBConnection,
  from: bigint,
  to: bigint,
  doneTo: bigint,
): Promise<Record<RollupTable, number>> {
  const minutes = { from, to };
  const fiveMinutes = { from: floorTo(from, FIVE_MINUTES_NS), to: ceilTo(to, FIVE_MINUTES_NS) };
  const hours = { from: floorTo(from, HOUR_NS), to: ceilTo(to, HOUR_NS) };
  await connection.run('BEGIN TRANSACTION');
  try {
    const replace = async (table: RollupTable, sql: string, range: Range): Promise<number> => {
      await run(connection, `DELETE FROM ${table} WHERE bucket_ts >= $from AND bucket_ts < $to`, {
        from: range.from,
        to: range.to,
      });
      return run(connection, sql, range);
    };
    const written: Record<RollupTable, number> = {
      metric_rollups_1m: await replace('metric_rollups_1m', METRICS_1M, {
        ...minutes,
        lookbackFrom: from - COUNTER_MAX_GAP_NS,
      }),
      metric_rollups_5m: await replace(
        'metric_rollups_5m',
        metricsFromMinutes('metric_rollups_5m', FIVE_MINUTES_NS),
        fiveMinutes,
      ),
      metric_rollups_1h: await replace(
        'metric_rollups_1h',
        metricsFromMinutes('metric_rollups_1h', HOUR_NS),
        hours,
      ),
      log_counts_1m: await replace('log_counts_1m', LOG_COUNTS_1M, minutes),
      span_latency_1m: await replace('span_latency_1m', SPAN_LATENCY_1M, minutes),
    };
    await run(connection, SAVE_PROGRESS, { job: ROLLUP_JOB, doneTo });
    await connection.run('COMMIT');
    return written;
  } catch (error) {
    await connection.run('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

type Params = Record<string, DuckDBValue>;
type Range = { from: bigint; to: bigint } & Params;

/** Runs a statement whose bigint parameters are BIGINT (DuckDB would guess a narrower type); rows changed. */
async function run(connection: DuckDBConnection, sql: string, params: Params): Promise<number> {
  const result = await connection.run(sql, params, bigintTypes(params));
  return Number(result.rowsChanged);
}

async function read(
  connection: DuckDBConnection,
  sql: string,
  params: Params,
): Promise<Record<string, unknown>[]> {
  const reader = await connection.runAndReadAll(sql, params, bigintTypes(params));
  return reader.getRowObjectsJS();
}

function bigintTypes(params: Params): Record<string, DuckDBType> {
  return Object.fromEntries(
    Object.entries(params).flatMap(([key, value]) => (typeof value === 'bigint' ? [[key, BIGINT]] : [])),
  );
}
