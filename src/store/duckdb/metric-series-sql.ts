import { BIGINT, LIST, VARCHAR, listValue, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import { SightlineError } from '../../core/errors.js';
import type { MetricKind, Temporality } from '../rows.js';
import type {
  MetricNameEntry,
  SeriesListQuery,
  SeriesResolution,
  SeriesPoints,
  SeriesPointsQuery,
  StoredSeriesMeta,
} from '../store.js';
import { PointsBuilder, type PointsShape } from '../series-points.js';
import type { DuckDBDatabase } from './database.js';
import type { Params } from './log-search-sql.js';
import { str } from './values.js';

/**
 * The reads behind the PromQL engine: which metrics and series an org has in a range, and the
 * points of chosen series as typed arrays. Points are millions of rows for a day of a busy
 * metric, so they are read chunk by chunk into Float64Arrays with a small integer per series
 * (its position in the request) instead of row objects with the series id string.
 */

/** The telemetry store's org scope for one table: `FROM <table> WHERE org_id = $org AND …`. */
export type PointsScope = (
  table: PointsTable,
  conditions: readonly string[],
) => { from: string; params: Params };

export type PointsTable = 'metric_points' | 'metric_rollups_1m' | 'metric_rollups_5m' | 'metric_rollups_1h';

/**
 * Where each resolution's points live and which column is their time: a rollup row stands for
 * its bucket's last point (its value `last`, its time `last_ts`), so counters keep their
 * meaning for `rate` and gauges their latest value.
 */
const SOURCES: Record<SeriesResolution, { table: PointsTable; time: string }> = {
  raw: { table: 'metric_points', time: 'ts' },
  '1m': { table: 'metric_rollups_1m', time: 'last_ts' },
  '5m': { table: 'metric_rollups_5m', time: 'last_ts' },
  '1h': { table: 'metric_rollups_1h', time: 'last_ts' },
};

const RANGE_TYPES: Record<string, DuckDBType> = { fromNs: BIGINT, toNs: BIGINT };
const NS_PER_MS = 1_000_000;

export async function readMetricNames(
  database: DuckDBDatabase,
  scope: PointsScope,
  range: { fromNs: bigint; toNs: bigint },
  resolution: SeriesResolution = 'raw',
): Promise<MetricNameEntry[]> {
  const { table, time } = SOURCES[resolution];
  const { from, params } = scope(table, [`${time} >= $fromNs`, `${time} < $toNs`]);
  const rows = await read(
    database,
    `SELECT name, arg_max(kind, ${time}) AS kind, arg_max(unit, ${time}) AS unit,
            arg_max(temporality, ${time}) AS temporality, bool_or(monotonic) AS monotonic
     ${from} GROUP BY name ORDER BY name`,
    { ...params, fromNs: range.fromNs, toNs: range.toNs },
    RANGE_TYPES,
  );
  return rows.map((r) => ({
    name: str(r.name),
    kind: str(r.kind) as MetricKind,
    unit: str(r.unit),
    temporality: str(r.temporality) as Temporality,
    monotonic: r.monotonic === true,
  }));
}

export async function readSeriesList(
  database: DuckDBDatabase,
  scope: PointsScope,
  query: SeriesListQuery,
): Promise<{ series: StoredSeriesMeta[]; truncated: boolean }> {
  const { table, time } = SOURCES[query.resolution ?? 'raw'];
  const conditions = [`${time} >= $fromNs`, `${time} < $toNs`];
  if (query.names !== undefined) conditions.push('list_contains($names, name)');
  const { from, params } = scope(table, conditions);
  const types: Record<string, DuckDBType> = { ...RANGE_TYPES };
  const values: Params = { ...params, fromNs: query.fromNs, toNs: query.toNs, limit: query.maxSeries + 1 };
  if (query.names !== undefined) {
    values.names = listValue([...query.names]);
    types.names = LIST(VARCHAR);
  }
  const rows = await read(
    database,
    `SELECT series_id, any_value(name) AS name, any_value(kind) AS kind, any_value(unit) AS unit,
            any_value(temporality) AS temporality, any_value(monotonic) AS monotonic,
            any_value(service) AS service, any_value(host) AS host, any_value(entity_id) AS entity_id,
            any_value(labels) AS labels
     ${from} GROUP BY series_id ORDER BY series_id LIMIT $limit`,
    values,
    types,
  );
  const truncated = rows.length > query.maxSeries;
  if (truncated) rows.length = query.maxSeries;
  return {
    truncated,
    series: rows.map((r) => ({
      seriesId: str(r.series_id),
      name: str(r.name),
      kind: str(r.kind) as MetricKind,
      unit: str(r.unit),
      temporality: str(r.temporality) as Temporality,
      monotonic: r.monotonic === true,
      service: str(r.service),
      host: str(r.host),
      entityId: str(r.entity_id),
      labels: str(r.labels),
    })),
  };
}

/**
 * Points of `query.seriesIds` in time order, one entry per requested id (empty arrays for a
 * series without points). More than `maxPoints` points in all is a SL_ERR_QUERY_LIMIT error:
 * a partial series would give wrong rates rather than a shorter answer.
 */
export async function readSeriesPoints(
  database: DuckDBDatabase,
  scope: PointsScope,
  query: SeriesPointsQuery,
): Promise<SeriesPoints[]> {
  const resolution = query.resolution ?? 'raw';
  const { table, time } = SOURCES[resolution];
  const { from, params } = scope(table, [
    `${time} >= $fromNs`,
    `${time} <= $toNs`,
    'list_contains($names, name)',
  ]);
  const histogram = query.histogram === true;
  if (histogram && resolution !== 'raw') {
    throw new Error('histogram buckets are only stored raw: read histograms at resolution raw');
  }
  const shape = histogram ? 'histogram' : resolution === 'raw' ? 'value' : 'rollup';
  const columns = {
    histogram:
      'p.hist_count::DOUBLE AS count, p.hist_sum AS sum, p.bucket_bounds AS bounds, p.bucket_counts AS counts',
    value: 'p.value',
    rollup: 'p.last AS value, p.delta, p.hist_count::DOUBLE AS hist_delta, p.hist_sum AS hist_sum_delta',
  }[shape];
  const sql = `WITH wanted AS (SELECT unnest($ids) AS series_id, generate_subscripts($ids, 1) - 1 AS idx),
    p AS (SELECT * ${from})
    SELECT w.idx::INTEGER AS idx, (p.${time} // ${NS_PER_MS})::DOUBLE AS ms, ${columns}
    FROM p JOIN wanted w USING (series_id) ORDER BY idx, p.${time} LIMIT $limit`;
  const values: Params = {
    ...params,
    ids: listValue([...query.seriesIds]),
    names: listValue([...query.names]),
    fromNs: query.fromNs,
    toNs: query.toNs,
    limit: query.maxPoints + 1,
  };
  return database.query(async (connection) => collectPoints(connection, sql, values, query, shape));
}

async function collectPoints(
  connection: DuckDBConnection,
  sql: string,
  values: Params,
  query: SeriesPointsQuery,
  shape: PointsShape,
): Promise<SeriesPoints[]> {
  const result = await connection.run(sql, values, {
    ...RANGE_TYPES,
    ids: LIST(VARCHAR),
    names: LIST(VARCHAR),
  });
  const builders = query.seriesIds.map(() => new PointsBuilder(shape));
  let total = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) break;
    total += chunk.rowCount;
    if (total > query.maxPoints) {
      throw new SightlineError(
        'SL_ERR_QUERY_LIMIT',
        `the query reads more than ${query.maxPoints} points (api.query.maxSamples); ` +
          'narrow the selector with labels, shorten the range or use a larger step',
      );
    }
    const idx = chunk.getColumnVector(0);
    const ms = chunk.getColumnVector(1);
    if (shape === 'histogram') {
      const count = chunk.getColumnVector(2);
      const sum = chunk.getColumnVector(3);
      const bounds = chunk.getColumnVector(4);
      const counts = chunk.getColumnVector(5);
      for (let i = 0; i < chunk.rowCount; i++) {
        builders[Number(idx.getItem(i))]?.addHistogram(
          Number(ms.getItem(i)),
          numberOrNaN(count.getItem(i)),
          numberOrNaN(sum.getItem(i)),
          numberList(bounds.getItem(i)),
          numberList(counts.getItem(i)),
        );
      }
    } else if (shape === 'rollup') {
      const value = chunk.getColumnVector(2);
      const delta = chunk.getColumnVector(3);
      const histDelta = chunk.getColumnVector(4);
      const histSumDelta = chunk.getColumnVector(5);
      for (let i = 0; i < chunk.rowCount; i++) {
        builders[Number(idx.getItem(i))]?.addRollup(
          Number(ms.getItem(i)),
          numberOrNaN(value.getItem(i)),
          numberOrNaN(delta.getItem(i)),
          numberOrNaN(histDelta.getItem(i)),
          numberOrNaN(histSumDelta.getItem(i)),
        );
      }
    } else {
      const value = chunk.getColumnVector(2);
      for (let i = 0; i < chunk.rowCount; i++) {
        builders[Number(idx.getItem(i))]?.add(Number(ms.getItem(i)), numberOrNaN(value.getItem(i)));
      }
    }
  }
  return builders.map((b) => b.build());
}

function numberOrNaN(value: unknown): number {
  return typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : NaN;
}

/** A LIST value (`DuckDBListValue.items`) as numbers; null lists are empty. */
function numberList(value: unknown): number[] {
  if (value === null || typeof value !== 'object' || !('items' in value) || !Array.isArray(value.items)) {
    return [];
  }
  return value.items.map(numberOrNaN);
}

/** The rollup job's progress (rollups.ts): buckets before it were complete when last computed. */
export async function readRollupsCompleteTo(database: DuckDBDatabase): Promise<bigint | undefined> {
  const rows = await read(database, `SELECT done_to FROM rollup_progress WHERE job = 'rollups'`, {}, {});
  const doneTo = rows[0]?.done_to;
  return typeof doneTo === 'bigint' ? doneTo : typeof doneTo === 'number' ? BigInt(doneTo) : undefined;
}

async function read(
  database: DuckDBDatabase,
  sql: string,
  params: Params,
  types: Record<string, DuckDBType>,
): Promise<Record<string, unknown>[]> {
  return database.query(async (connection) => {
    const reader = await connection.runAndReadAll(sql, params, types);
    return reader.getRowObjectsJS();
  });
}
