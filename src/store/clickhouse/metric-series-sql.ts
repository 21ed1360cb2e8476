import { SightlineError } from '../../core/errors.js';
import type { MetricKind, OrgId, Temporality } from '../rows.js';
import type {
  MetricNameEntry,
  SeriesListQuery,
  SeriesPoints,
  SeriesPointsQuery,
  SeriesResolution,
  StoredSeriesMeta,
} from '../store.js';
import { PointsBuilder, type PointsShape } from '../series-points.js';
import type { ClickhouseDatabase } from './database.js';
import { list } from './log-search-sql.js';
import { orgScoped } from './scope.js';
import { rawSql, sql, type Sql } from './sql.js';

/**
 * The reads behind the PromQL engine, as ../duckdb/metric-series-sql.ts: which metrics and
 * series an org has in a range, and the points of chosen series as typed arrays (one entry per
 * requested series, in request order). Every read goes through `orgScoped` (org + FINAL).
 *
 * ClickHouse substitutes a SELECT alias wherever its name appears in the query, so an
 * aggregate's alias never equals a column name (`argMax(kind, ts) AS kind` would nest
 * aggregates): the aliases here are `m_*`, mapped back to the DuckDB shapes.
 */

type PointsTable = 'metric_points' | 'metric_rollups_1m' | 'metric_rollups_5m' | 'metric_rollups_1h';

/**
 * Where each resolution's points live and which column is their time: a rollup row stands for
 * its bucket's last point (its value `last`, its time `last_ts`).
 */
const SOURCES: Record<SeriesResolution, { table: PointsTable; time: Sql }> = {
  raw: { table: 'metric_points', time: rawSql('ts') },
  '1m': { table: 'metric_rollups_1m', time: rawSql('last_ts') },
  '5m': { table: 'metric_rollups_5m', time: rawSql('last_ts') },
  '1h': { table: 'metric_rollups_1h', time: rawSql('last_ts') },
};

const NS_PER_MS = 1_000_000n;

export async function readMetricNames(
  database: ClickhouseDatabase,
  org: OrgId,
  range: { fromNs: bigint; toNs: bigint },
  resolution: SeriesResolution = 'raw',
): Promise<MetricNameEntry[]> {
  const { table, time } = SOURCES[resolution];
  const rows = await database.select<{
    name: string;
    m_kind: string;
    m_unit: string;
    m_temporality: string;
    m_monotonic: number;
  }>(
    sql`SELECT name, argMax(kind, ${time}) AS m_kind, argMax(unit, ${time}) AS m_unit,
               argMax(temporality, ${time}) AS m_temporality, max(monotonic) AS m_monotonic
        ${orgScoped(table, org, [sql`${time} >= ${range.fromNs}`, sql`${time} < ${range.toNs}`])}
        GROUP BY name ORDER BY name`,
  );
  return rows.map((r) => ({
    name: r.name,
    kind: r.m_kind as MetricKind,
    unit: r.m_unit,
    temporality: r.m_temporality as Temporality,
    monotonic: Number(r.m_monotonic) === 1,
  }));
}

export async function readSeriesList(
  database: ClickhouseDatabase,
  org: OrgId,
  query: SeriesListQuery,
): Promise<{ series: StoredSeriesMeta[]; truncated: boolean }> {
  const { table, time } = SOURCES[query.resolution ?? 'raw'];
  if (query.names !== undefined && query.names.length === 0) return { series: [], truncated: false };
  const conditions = [sql`${time} >= ${query.fromNs}`, sql`${time} < ${query.toNs}`];
  if (query.names !== undefined) conditions.push(sql`name IN (${list(query.names)})`);
  const rows = await database.select<{
    series_id: string;
    m_name: string;
    m_kind: string;
    m_unit: string;
    m_temporality: string;
    m_monotonic: number;
    m_service: string;
    m_host: string;
    m_entity_id: string;
    m_labels: string;
  }>(
    sql`SELECT series_id, any(name) AS m_name, any(kind) AS m_kind, any(unit) AS m_unit,
               any(temporality) AS m_temporality, any(monotonic) AS m_monotonic,
               any(service) AS m_service, any(host) AS m_host, any(entity_id) AS m_entity_id,
               any(labels) AS m_labels
        ${orgScoped(table, org, conditions)}
        GROUP BY series_id ORDER BY series_id LIMIT ${query.maxSeries + 1}`,
  );
  const truncated = rows.length > query.maxSeries;
  if (truncated) rows.length = query.maxSeries;
  return {
    truncated,
    series: rows.map((r) => ({
      seriesId: r.series_id,
      name: r.m_name,
      kind: r.m_kind as MetricKind,
      unit: r.m_unit,
      temporality: r.m_temporality as Temporality,
      monotonic: Number(r.m_monotonic) === 1,
      service: r.m_service,
      host: r.m_host,
      entityId: r.m_entity_id,
      labels: r.m_labels,
    })),
  };
}

/** Float64 columns arrive as numbers, NaN/±Inf as strings (database.ts SETTINGS), NULL as null. */
type Num = number | string | null;

interface PointRecord {
  idx: number;
  ms: Num;
  m_value: Num;
  m_sum?: Num;
  m_bounds?: Num[];
  m_counts?: Array<string | number>;
  m_delta?: Num;
  m_hist_delta?: Num;
  m_hist_sum_delta?: Num;
}

/**
 * Points of `query.seriesIds` in time order, one entry per requested id (empty arrays for a
 * series without points). More than `maxPoints` points in all is SL_ERR_QUERY_LIMIT: a partial
 * series would give wrong rates rather than a shorter answer.
 */
export async function readSeriesPoints(
  database: ClickhouseDatabase,
  org: OrgId,
  query: SeriesPointsQuery,
): Promise<SeriesPoints[]> {
  const resolution = query.resolution ?? 'raw';
  const { table, time } = SOURCES[resolution];
  const histogram = query.histogram === true;
  if (histogram && resolution !== 'raw') {
    throw new Error('histogram buckets are only stored raw: read histograms at resolution raw');
  }
  const shape: PointsShape = histogram ? 'histogram' : resolution === 'raw' ? 'value' : 'rollup';
  const builders = query.seriesIds.map(() => new PointsBuilder(shape));
  if (query.seriesIds.length === 0 || query.names.length === 0) return builders.map((b) => b.build());
  const columns = {
    histogram: rawSql(
      'toFloat64(hist_count) AS m_value, hist_sum AS m_sum, bucket_bounds AS m_bounds, bucket_counts AS m_counts',
    ),
    value: rawSql('value AS m_value'),
    rollup: rawSql(
      'last AS m_value, delta AS m_delta, toFloat64(hist_count) AS m_hist_delta, hist_sum AS m_hist_sum_delta',
    ),
  }[shape];
  // The series' position in the request (0-based) instead of its id string in every row.
  const ids = [...query.seriesIds];
  const rows = await database.select<PointRecord>(
    sql`SELECT toInt32(indexOf(${ids}, series_id) - 1) AS idx, toFloat64(intDiv(${time}, ${NS_PER_MS})) AS ms, ${columns}
        ${orgScoped(table, org, [
          sql`${time} >= ${query.fromNs}`,
          sql`${time} <= ${query.toNs}`,
          sql`name IN (${list(query.names)})`,
          sql`series_id IN (${list(ids)})`,
        ])}
        ORDER BY idx, ${time} LIMIT ${query.maxPoints + 1}`,
  );
  if (rows.length > query.maxPoints) {
    throw new SightlineError(
      'SL_ERR_QUERY_LIMIT',
      `the query reads more than ${query.maxPoints} points (api.query.maxSamples); ` +
        'narrow the selector with labels, shorten the range or use a larger step',
    );
  }
  for (const r of rows) {
    const builder = builders[Number(r.idx)];
    if (builder === undefined) continue;
    const ms = num(r.ms);
    if (shape === 'histogram') {
      builder.addHistogram(
        ms,
        num(r.m_value),
        num(r.m_sum ?? null),
        (r.m_bounds ?? []).map(num),
        (r.m_counts ?? []).map(num),
      );
    } else if (shape === 'rollup') {
      builder.addRollup(
        ms,
        num(r.m_value),
        num(r.m_delta ?? null),
        num(r.m_hist_delta ?? null),
        num(r.m_hist_sum_delta ?? null),
      );
    } else {
      builder.add(ms, num(r.m_value));
    }
  }
  return builders.map((b) => b.build());
}

/** A number column as a number: null → NaN, `"nan"`/`"inf"`/`"-inf"` and UInt64 strings parsed. */
function num(value: Num): number {
  if (typeof value === 'number') return value;
  if (value === null) return NaN;
  if (value === 'inf' || value === '+inf') return Infinity;
  if (value === '-inf') return -Infinity;
  return Number(value);
}

/**
 * The rollup job's progress: buckets before it were complete when last computed. Not per org
 * (one job for all), so not through orgScoped; FINAL picks the newest done_to (schema.ts).
 */
export async function readRollupsCompleteTo(database: ClickhouseDatabase): Promise<bigint | undefined> {
  const rows = await database.select<{ done_to: string }>(
    sql`SELECT done_to FROM rollup_progress FINAL WHERE job = ${'rollups'} ORDER BY done_to DESC LIMIT 1`,
  );
  const doneTo = rows[0]?.done_to;
  return doneTo === undefined ? undefined : BigInt(doneTo);
}
