import type { MetricKind, OrgId, Temporality } from '../rows.js';
import type {
  EntityFilter,
  MetricCatalogEntry,
  MetricCatalogQuery,
  MetricQuery,
  MetricSeries,
} from '../store.js';
import { MAX_CATALOG_SERIES, MAX_CATALOG_SERIES_PER_METRIC } from '../store.js';
import type { ClickhouseDatabase } from './database.js';
import { jsonText } from './log-search-sql.js';
import { orgScoped } from './scope.js';
import { rawSql, sql, type Sql } from './sql.js';

/**
 * `queryMetrics` and `listMetrics` (the metric explorer and an entity's metric catalogue), as
 * the DuckDB store computes them (../duckdb/telemetry-store.ts). Aliases are `m_*`: ClickHouse
 * would substitute an alias equal to a column name inside the aggregates (metric-series-sql.ts).
 */

/** A point's value: gauges and sums their value, histograms the mean of their observations. */
const POINT_VALUE = rawSql('coalesce(value, hist_sum / nullIf(toFloat64(hist_count), 0))');

/**
 * The value at the latest ts, NULL if that point has none. `argMax(v, ts)` alone skips rows
 * whose v is NULL (ClickHouse's aggregates ignore NULL arguments) and would return an older
 * value; inside a tuple the NULL is kept, as DuckDB's arg_max keeps it.
 */
const lastOf = (value: Sql): Sql => sql`argMax(tuple(${value}), ts).1`;

function aggregate(aggregation: MetricQuery['aggregation'], value: Sql): Sql {
  switch (aggregation) {
    case 'avg':
      return sql`avg(${value})`;
    case 'min':
      return sql`min(${value})`;
    case 'max':
      return sql`max(${value})`;
    case 'sum':
      return sql`sum(${value})`;
    case 'count':
      return sql`count(${value})`;
    case 'last':
      return lastOf(value);
  }
}

/** Entity and label conditions; a label is a top-level key of the labels JSON (jsonText). */
function entityFilter(filter: EntityFilter): Sql[] {
  const conditions: Sql[] = [];
  if (filter.entityId !== undefined) conditions.push(sql`entity_id = ${filter.entityId}`);
  for (const [key, value] of Object.entries(filter.labels ?? {})) {
    conditions.push(sql`ifNull(${jsonText(rawSql('labels'), key)} = ${value}, 0)`);
  }
  return conditions;
}

/** Float64 as JSON: a number, NaN/±Inf as strings (database.ts SETTINGS), NULL as null. */
type Num = number | string | null;

function numOrNull(value: Num | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  if (value === 'inf' || value === '+inf') return Infinity;
  if (value === '-inf') return -Infinity;
  return Number(value);
}

export async function queryMetrics(
  database: ClickhouseDatabase,
  org: OrgId,
  query: MetricQuery,
): Promise<{ series: MetricSeries[]; truncated: boolean }> {
  const from = orgScoped('metric_points', org, [
    sql`name = ${query.name}`,
    sql`ts >= ${query.fromNs}`,
    sql`ts < ${query.toNs}`,
    ...entityFilter(query),
  ]);
  const limit = query.maxPoints + 1;
  type PointRecord = { series_id: string; m_ts: string; m_value: Num; m_count: string | null; m_sum: Num };
  const rows =
    query.stepNs === undefined
      ? await database.select<PointRecord>(
          sql`SELECT series_id, ts AS m_ts, ${POINT_VALUE} AS m_value, hist_count AS m_count, hist_sum AS m_sum
              ${from} ORDER BY series_id, ts LIMIT ${limit}`,
        )
      : await database.select<PointRecord>(
          sql`SELECT series_id, intDiv(ts, ${query.stepNs}) * ${query.stepNs} AS m_ts,
                     ${aggregate(query.aggregation, POINT_VALUE)} AS m_value,
                     sum(hist_count) AS m_count, sum(hist_sum) AS m_sum
              ${from} GROUP BY series_id, m_ts ORDER BY series_id, m_ts LIMIT ${limit}`,
        );
  const truncated = rows.length > query.maxPoints;
  if (truncated) rows.length = query.maxPoints;
  const seriesIds = [...new Set(rows.map((r) => r.series_id))];
  if (seriesIds.length === 0) return { series: [], truncated };
  const meta = await database.select<{
    series_id: string;
    m_kind: string;
    m_unit: string;
    m_temporality: string;
    m_service: string;
    m_labels: string;
    m_resource: string;
  }>(
    sql`SELECT series_id, any(kind) AS m_kind, any(unit) AS m_unit, any(temporality) AS m_temporality,
               any(service) AS m_service, any(labels) AS m_labels, any(resource) AS m_resource
        ${from} GROUP BY series_id`,
  );
  const series = new Map<string, MetricSeries>();
  for (const m of meta) {
    series.set(m.series_id, {
      seriesId: m.series_id,
      name: query.name,
      kind: m.m_kind as MetricKind,
      unit: m.m_unit,
      temporality: m.m_temporality as Temporality,
      service: m.m_service,
      labels: m.m_labels,
      resource: m.m_resource,
      points: [],
    });
  }
  for (const r of rows) {
    series.get(r.series_id)?.points.push({
      ts: BigInt(r.m_ts),
      value: numOrNull(r.m_value),
      count: r.m_count === null ? null : BigInt(r.m_count),
      sum: numOrNull(r.m_sum),
    });
  }
  return { series: seriesIds.flatMap((id) => series.get(id) ?? []), truncated };
}

export async function listMetrics(
  database: ClickhouseDatabase,
  org: OrgId,
  query: MetricCatalogQuery,
): Promise<{ metrics: MetricCatalogEntry[]; truncated: boolean }> {
  const rows = await database.select<{
    name: string;
    series_id: string;
    m_kind: string;
    m_unit: string;
    m_labels: string;
    m_ts: string;
    m_value: Num;
  }>(
    sql`SELECT name, series_id, argMax(kind, ts) AS m_kind, argMax(unit, ts) AS m_unit,
               argMax(labels, ts) AS m_labels, max(ts) AS m_ts, ${lastOf(POINT_VALUE)} AS m_value
        ${orgScoped('metric_points', org, [
          sql`ts >= ${query.fromNs}`,
          sql`ts < ${query.toNs}`,
          ...entityFilter(query),
        ])}
        GROUP BY name, series_id ORDER BY name, m_labels, series_id LIMIT ${MAX_CATALOG_SERIES + 1}`,
  );
  const truncated = rows.length > MAX_CATALOG_SERIES;
  if (truncated) rows.length = MAX_CATALOG_SERIES;
  const metrics = new Map<string, MetricCatalogEntry>();
  for (const r of rows) {
    let entry = metrics.get(r.name);
    if (entry === undefined) {
      entry = { name: r.name, kind: r.m_kind as MetricKind, unit: r.m_unit, seriesCount: 0, series: [] };
      metrics.set(r.name, entry);
    }
    entry.seriesCount++;
    if (entry.series.length < MAX_CATALOG_SERIES_PER_METRIC) {
      entry.series.push({
        seriesId: r.series_id,
        labels: r.m_labels,
        ts: BigInt(r.m_ts),
        value: numOrNull(r.m_value),
      });
    }
  }
  return { metrics: [...metrics.values()], truncated };
}
