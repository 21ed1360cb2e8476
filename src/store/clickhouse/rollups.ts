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
import type { ClickhouseDatabase } from './database.js';
import { identifier, rawSql, sql, type Sql } from './sql.js';

/**
 * ClickHouse's rollup SQL, the same numbers as DuckDB's (src/store/duckdb/rollups.ts; the
 * rollup contract test runs both). The rollup tables are ReplacingMergeTree(version) keyed by
 * their bucket (schema.ts): a step inserts its buckets again with a newer version and every
 * read uses FINAL, so the newest computation of a bucket is the one seen — the replace that
 * DuckDB does by delete and insert. Two processors running the job at once write the same
 * rows; either version wins.
 *
 * 18.16 has no window functions, so the increase of a cumulative value since the point before
 * is computed per series over its points sorted in an array (`groupArray`, `arraySort`), each
 * element paired with the one before it (`pts[i - 1]`; for i = 1 ClickHouse gives an empty tuple,
 * and `has_prev` says there was none).
 */

const METRIC_ROLLUP_COLUMNS = rawSql(`org_id, series_id, bucket_ts, name, kind, unit, temporality, monotonic,
  entity_id, service, host, labels, resource, scope_name, count, min, max, sum, last, last_ts, delta, hist_count,
  hist_sum, version`);

/** One point as a tuple: its position in time, its values, whether it is in the range, and what may change along a series. */
const POINT_TUPLE = rawSql(
  '(ts, start_ts, id, value, CAST(hist_count AS Nullable(Int64)), hist_sum, toUInt8(IN_RANGE), unit, temporality, monotonic, kind)',
);
const pointTuple = (inRange: boolean): Sql =>
  rawSql(POINT_TUPLE.text.replace('IN_RANGE', inRange ? '1' : '0'));

/** See DuckDB's `increase`: none for a first point or after a long silence, all of it after a reset. */
function increase(current: string, previous: string, reset: string): string {
  return `multiIf(isNull(${current}), NULL,
    NOT has_prev OR isNull(${previous}) OR ts - prev_ts > ${COUNTER_MAX_GAP_NS}, 0,
    ${reset} OR start_ts != prev_start_ts, ${current},
    ${current} - ${previous})`;
}

function metrics1m(from: bigint, to: bigint, version: bigint): Sql {
  const series = rawSql('org_id, series_id');
  const copied = rawSql(
    'any(name) AS name, any(entity_id) AS entity_id, any(service) AS service, any(host) AS host, ' +
      'any(labels) AS labels, any(resource) AS resource, any(scope_name) AS scope_name',
  );
  return sql`INSERT INTO metric_rollups_1m (${METRIC_ROLLUP_COLUMNS})
SELECT org_id, series_id, intDiv(ts, ${MINUTE_NS}) * ${MINUTE_NS} AS bucket,
  any(name), any(kind), argMax(unit, ts), argMax(temporality, ts), argMax(monotonic, ts),
  any(entity_id), any(service), any(host), any(labels), any(resource), any(scope_name),
  count(v), min(v), max(v), sum(v), argMax(v, (ts, start_ts, id)), max(ts),
  sum(d), sum(d_count), sum(d_sum), ${version}
FROM (
  SELECT *,
    if(isNull(value), hist_sum / nullIf(toFloat64(hist_count), 0), value) AS v,
    multiIf(kind = 'sum' AND temporality = 'delta', value,
      kind = 'sum' AND temporality = 'cumulative' AND monotonic = 1,
        ${rawSql(increase('value', 'prev_value', 'value < prev_value'))},
      NULL) AS d,
    multiIf(kind = 'histogram' AND temporality = 'delta', hist_count,
      kind = 'histogram' AND temporality = 'cumulative',
        ${rawSql(increase('hist_count', 'prev_hist_count', 'hist_count < prev_hist_count'))},
      NULL) AS d_count,
    multiIf(kind = 'histogram' AND temporality = 'delta', hist_sum,
      kind = 'histogram' AND temporality = 'cumulative',
        ${rawSql(increase('hist_sum', 'prev_hist_sum', 'hist_count < prev_hist_count'))},
      NULL) AS d_sum
  FROM (
    SELECT org_id, series_id, name, entity_id, service, host, labels, resource, scope_name,
      pts[i] AS p, pts[i - 1] AS q, i > 1 AS has_prev,
      p.1 AS ts, p.2 AS start_ts, p.3 AS id, p.4 AS value, p.5 AS hist_count, p.6 AS hist_sum, p.7 AS in_range,
      p.8 AS unit, p.9 AS temporality, p.10 AS monotonic, p.11 AS kind,
      q.1 AS prev_ts, q.2 AS prev_start_ts, q.4 AS prev_value, q.5 AS prev_hist_count, q.6 AS prev_hist_sum
    FROM (
      SELECT ${series}, ${copied}, arraySort(x -> (x.1, x.2, x.3), groupArray(pt)) AS pts
      FROM (
        SELECT ${series}, name, entity_id, service, host, labels, resource, scope_name, ${pointTuple(true)} AS pt
        FROM metric_points FINAL WHERE ts >= ${from} AND ts < ${to}
        UNION ALL
        SELECT ${series}, ${copied}, argMax(${pointTuple(false)}, (ts, start_ts, id)) AS pt
        FROM metric_points FINAL
        WHERE ts >= ${from - COUNTER_MAX_GAP_NS} AND ts < ${from} AND temporality = 'cumulative'
          AND (monotonic = 1 OR kind = 'histogram')
        GROUP BY ${series}
      )
      GROUP BY ${series}
    )
    ARRAY JOIN arrayEnumerate(pts) AS i
  )
  WHERE in_range = 1
)
GROUP BY org_id, series_id, bucket`;
}

/** Coarser metric rollups from the (newest) 1m rows: every column composes. */
function metricsFromMinutes(table: string, width: bigint, from: bigint, to: bigint, version: bigint): Sql {
  return sql`INSERT INTO ${identifier(table)} (${METRIC_ROLLUP_COLUMNS})
SELECT org_id, series_id, intDiv(bucket_ts, ${width}) * ${width} AS bucket,
  any(name), any(kind), argMax(unit, last_ts), argMax(temporality, last_ts), argMax(monotonic, last_ts),
  any(entity_id), any(service), any(host), any(labels), any(resource), any(scope_name),
  sum(count), min(min), max(max), sum(sum), argMax(last, last_ts), max(last_ts),
  sum(delta), sum(hist_count), sum(hist_sum), ${version}
FROM metric_rollups_1m FINAL WHERE bucket_ts >= ${from} AND bucket_ts < ${to}
GROUP BY org_id, series_id, bucket`;
}

function logCounts1m(from: bigint, to: bigint, version: bigint): Sql {
  return sql`INSERT INTO log_counts_1m (org_id, bucket_ts, service, severity, count, version)
SELECT org_id, intDiv(ts, ${MINUTE_NS}) * ${MINUTE_NS} AS bucket, service, severity, count(), ${version}
FROM logs FINAL WHERE ts >= ${from} AND ts < ${to}
GROUP BY org_id, bucket, service, severity`;
}

/**
 * `quantiles` interpolates between the nearest durations as DuckDB's quantile_cont does; it is
 * exact up to 8,192 spans per operation and minute and a reservoir sample beyond.
 */
function spanLatency1m(from: bigint, to: bigint, version: bigint): Sql {
  return sql`INSERT INTO span_latency_1m
  (org_id, bucket_ts, service, name, kind, count, errors, sum_ns, min_ns, max_ns, p50_ns, p95_ns, p99_ns, version)
SELECT org_id, bucket, service, name, kind, n, errors, total_ns, shortest_ns, longest_ns, q[1], q[2], q[3], ${version}
FROM (
  SELECT org_id, intDiv(end_ts, ${MINUTE_NS}) * ${MINUTE_NS} AS bucket, service, name, kind, count() AS n,
    countIf(status = 'error') AS errors, sum(toFloat64(duration_ns)) AS total_ns,
    min(duration_ns) AS shortest_ns, max(duration_ns) AS longest_ns,
    quantiles(0.5, 0.95, 0.99)(duration_ns) AS q
  FROM spans FINAL WHERE end_ts >= ${from} AND end_ts < ${to}
  GROUP BY org_id, bucket, service, name, kind
)`;
}

let lastVersion = 0n;

/** Newer than every version this process wrote before: microseconds of the wall clock, made strictly increasing. */
function nextVersion(): bigint {
  const now = BigInt(Date.now()) * 1000n;
  lastVersion = now > lastVersion ? now : lastVersion + 1n;
  return lastVersion;
}

export class ClickhouseRollupSteps implements RollupSteps {
  constructor(private readonly database: ClickhouseDatabase) {}

  async startingPoint(sinceNs: bigint): Promise<bigint | undefined> {
    const done = await this.database.select<{ done_to: string }>(
      sql`SELECT done_to FROM rollup_progress FINAL WHERE job = ${ROLLUP_JOB}`,
    );
    if (done[0] !== undefined) return BigInt(done[0].done_to);
    // min() of no rows is 0 on ClickHouse, so each table says how many it saw.
    let oldest: bigint | undefined;
    for (const [table, column] of [
      ['metric_points', 'ts'],
      ['logs', 'ts'],
      ['spans', 'end_ts'],
    ] as const) {
      const rows = await this.database.select<{ n: string; oldest: string }>(
        sql`SELECT count() AS n, min(${identifier(column)}) AS oldest FROM ${identifier(table)}
            WHERE ${identifier(column)} >= ${sinceNs}`,
      );
      const row = rows[0];
      if (row === undefined || row.n === '0') continue;
      const ts = BigInt(row.oldest);
      if (oldest === undefined || ts < oldest) oldest = ts;
    }
    return oldest;
  }

  async step({ from, to, doneTo }: RollupStep): Promise<Record<RollupTable, number>> {
    const fiveMinutes = [floorTo(from, FIVE_MINUTES_NS), ceilTo(to, FIVE_MINUTES_NS)] as const;
    const hours = [floorTo(from, HOUR_NS), ceilTo(to, HOUR_NS)] as const;
    const write = async (table: RollupTable, statement: Sql, version: bigint): Promise<number> => {
      await this.database.run(statement);
      const rows = await this.database.select<{ n: string }>(
        sql`SELECT count() AS n FROM ${identifier(table)} WHERE version = ${version}`,
      );
      return Number(rows[0]?.n ?? 0);
    };
    const v1m = nextVersion();
    const v5m = nextVersion();
    const v1h = nextVersion();
    const vLogs = nextVersion();
    const vSpans = nextVersion();
    const written: Record<RollupTable, number> = {
      metric_rollups_1m: await write('metric_rollups_1m', metrics1m(from, to, v1m), v1m),
      metric_rollups_5m: await write(
        'metric_rollups_5m',
        metricsFromMinutes('metric_rollups_5m', FIVE_MINUTES_NS, ...fiveMinutes, v5m),
        v5m,
      ),
      metric_rollups_1h: await write(
        'metric_rollups_1h',
        metricsFromMinutes('metric_rollups_1h', HOUR_NS, ...hours, v1h),
        v1h,
      ),
      log_counts_1m: await write('log_counts_1m', logCounts1m(from, to, vLogs), vLogs),
      span_latency_1m: await write('span_latency_1m', spanLatency1m(from, to, vSpans), vSpans),
    };
    // Progress only after every table's rows are in: a step cut short is done again next pass.
    await this.database.run(
      sql`INSERT INTO rollup_progress (job, done_to) VALUES (${ROLLUP_JOB}, ${doneTo})`,
    );
    return written;
  }
}
