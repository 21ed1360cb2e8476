import { BIGINT, VARCHAR, type DuckDBType } from '@duckdb/node-api';
import type { SpanRed, TimeRange, TraceSearch, TraceSummary } from '../store.js';
import type { DuckDBDatabase } from './database.js';
import { jsonPath, type Params } from './log-search-sql.js';
import { big, str } from './values.js';

/**
 * Trace search and RED metrics as DuckDB SQL. Every value from the request — service,
 * operation, durations, status, attribute keys (as JSON paths) and values, the time range —
 * is a parameter; the SQL text is built only from this file's fixed fragments.
 */

/** The telemetry store's org scope (`orgScoped`) for one table: `FROM <table> WHERE org_id = $org AND …`. */
export type TableScope = (
  table: 'spans' | 'span_latency_1m',
  conditions: readonly string[],
) => { from: string; params: Params };

export interface CompiledSql {
  sql: string;
  params: Params;
  types: Record<string, DuckDBType>;
}

class ParamList {
  readonly params: Params = {};
  readonly types: Record<string, DuckDBType> = {};
  private count = 0;

  add(value: string | bigint, type: DuckDBType): string {
    const name = `p${this.count++}`;
    this.params[name] = value;
    this.types[name] = type;
    return `$${name}`;
  }
}

/**
 * Traces with a matching span: the newest `limit` by their first matching span's start, then
 * summarised over all their spans in the org (a trace's other spans may lie outside the range).
 * The root is the span without a parent, else the earliest one.
 */
export function compileTraceSearch(scope: TableScope, search: TraceSearch): CompiledSql {
  const p = new ParamList();
  const conditions = [
    `start_ts >= ${p.add(search.fromNs, BIGINT)}`,
    `start_ts < ${p.add(search.toNs, BIGINT)}`,
  ];
  if (search.service !== undefined) conditions.push(`service = ${p.add(search.service, VARCHAR)}`);
  if (search.operation !== undefined) conditions.push(`name = ${p.add(search.operation, VARCHAR)}`);
  if (search.minDurationNs !== undefined)
    conditions.push(`duration_ns >= ${p.add(search.minDurationNs, BIGINT)}`);
  if (search.maxDurationNs !== undefined)
    conditions.push(`duration_ns <= ${p.add(search.maxDurationNs, BIGINT)}`);
  if (search.status !== undefined) conditions.push(`status = ${p.add(search.status, VARCHAR)}`);
  for (const [key, value] of Object.entries(search.attributes)) {
    const path = p.add(jsonPath(key), VARCHAR);
    const v = p.add(value, VARCHAR);
    conditions.push(
      `coalesce(json_extract_string(attributes, ${path}) = ${v}, json_extract_string(resource, ${path}) = ${v}, false)`,
    );
  }
  const matched = scope('spans', conditions);
  const all = scope('spans', ['trace_id IN (SELECT trace_id FROM matched)']);
  const limit = p.add(BigInt(search.limit), BIGINT);
  const rootKey = `{'child': parent_span_id <> '', 'ts': start_ts, 'span': span_id}`;
  const sql =
    `WITH matched AS (SELECT trace_id, min(start_ts) AS first_ts ${matched.from} ` +
    `GROUP BY trace_id ORDER BY first_ts DESC, trace_id LIMIT ${limit}) ` +
    `SELECT trace_id, arg_min(service, ${rootKey}) AS root_service, arg_min(name, ${rootKey}) AS root_operation, ` +
    `min(start_ts) AS start_ts, max(end_ts) - min(start_ts) AS duration_ns, count(*) AS span_count, ` +
    `count(*) FILTER (WHERE status = 'error') AS error_count ${all.from} ` +
    `GROUP BY trace_id ORDER BY start_ts DESC, trace_id`;
  return { sql, params: { ...matched.params, ...all.params, ...p.params }, types: p.types };
}

/**
 * RED metrics from the per-minute span rollup (`span_latency_1m`, placed by span end), per
 * service or, given one, per operation (span name) of that service. Counts, errors and the
 * mean are exact over the rollup minutes in the range. The quantiles are not: a quantile of a
 * range cannot be rebuilt from per-minute quantiles, so p50/p95/p99 are the minutes'
 * quantiles averaged with their span counts as weights — close when the latency distribution
 * is steady across minutes, and it smooths out a short spike that an exact p99 would show.
 */
export function compileSpanRed(scope: TableScope, range: TimeRange, service?: string): CompiledSql {
  const p = new ParamList();
  const conditions = [
    `bucket_ts >= ${p.add(range.fromNs, BIGINT)}`,
    `bucket_ts < ${p.add(range.toNs, BIGINT)}`,
  ];
  if (service !== undefined) conditions.push(`service = ${p.add(service, VARCHAR)}`);
  const { from, params } = scope('span_latency_1m', conditions);
  const group = service === undefined ? `service, '' AS operation` : 'service, name AS operation';
  const weighted = (column: string) => `sum(${column} * count) / nullif(sum(count), 0)`;
  const sql =
    `SELECT ${group}, sum(count) AS n, sum(errors) AS errors, sum(sum_ns) / nullif(sum(count), 0) AS mean_ns, ` +
    `${weighted('p50_ns')} AS p50_ns, ${weighted('p95_ns')} AS p95_ns, ${weighted('p99_ns')} AS p99_ns ` +
    `${from} GROUP BY ALL ORDER BY n DESC, service, operation`;
  return { sql, params: { ...params, ...p.params }, types: p.types };
}

async function read(database: DuckDBDatabase, compiled: CompiledSql): Promise<Record<string, unknown>[]> {
  return database.query(async (connection) => {
    const reader = await connection.runAndReadAll(compiled.sql, compiled.params, compiled.types);
    return reader.getRowObjectsJS();
  });
}

export async function runTraceSearch(
  database: DuckDBDatabase,
  scope: TableScope,
  search: TraceSearch,
): Promise<TraceSummary[]> {
  const rows = await read(database, compileTraceSearch(scope, search));
  return rows.map((r) => ({
    traceId: str(r.trace_id),
    rootService: str(r.root_service),
    rootOperation: str(r.root_operation),
    startTs: big(r.start_ts),
    durationNs: big(r.duration_ns),
    spanCount: Number(r.span_count),
    errorCount: Number(r.error_count),
  }));
}

export async function runSpanRed(
  database: DuckDBDatabase,
  scope: TableScope,
  range: TimeRange,
  service?: string,
): Promise<SpanRed[]> {
  const rows = await read(database, compileSpanRed(scope, range, service));
  return rows.map((r) => ({
    service: str(r.service),
    operation: str(r.operation),
    count: Number(r.n),
    errors: Number(r.errors),
    meanNs: Number(r.mean_ns ?? 0),
    p50Ns: Number(r.p50_ns ?? 0),
    p95Ns: Number(r.p95_ns ?? 0),
    p99Ns: Number(r.p99_ns ?? 0),
  }));
}
