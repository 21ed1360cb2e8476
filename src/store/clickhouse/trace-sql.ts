import type { OrgId } from '../rows.js';
import type { SpanRed, TimeRange, TraceSearch, TraceSummary } from '../store.js';
import type { ClickhouseDatabase } from './database.js';
import { jsonText } from './log-search-sql.js';
import { orgScoped } from './scope.js';
import { joinSql, rawSql, sql, type Sql } from './sql.js';

/**
 * Trace search and RED metrics, as ../duckdb/trace-sql.ts computes them. Values only through
 * `sql` (literals); aliases are `m_*` (an alias equal to a column would be substituted inside
 * the aggregates). 18.16 has no WITH subqueries, so the matched traces are an inline subquery.
 */

/**
 * Traces with a matching span: the newest `limit` by their first matching span's start, then
 * summarised over all their spans in the org. The root is the span without a parent, else the
 * earliest one (ties by span id), as DuckDB's arg_min over {child, ts, span}.
 */
export function compileTraceSearch(org: OrgId, search: TraceSearch): Sql {
  const conditions = [sql`start_ts >= ${search.fromNs}`, sql`start_ts < ${search.toNs}`];
  if (search.service !== undefined) conditions.push(sql`service = ${search.service}`);
  if (search.operation !== undefined) conditions.push(sql`name = ${search.operation}`);
  if (search.minDurationNs !== undefined) conditions.push(sql`duration_ns >= ${search.minDurationNs}`);
  if (search.maxDurationNs !== undefined) conditions.push(sql`duration_ns <= ${search.maxDurationNs}`);
  if (search.status !== undefined) conditions.push(sql`status = ${search.status}`);
  for (const [key, value] of Object.entries(search.attributes)) {
    // The span attribute if it has the key, else the resource attribute (coalesce as in DuckDB).
    conditions.push(
      sql`ifNull(coalesce(${jsonText(rawSql('attributes'), key)} = ${value}, ${jsonText(rawSql('resource'), key)} = ${value}), 0)`,
    );
  }
  const matched = sql`SELECT trace_id FROM (SELECT trace_id, min(start_ts) AS m_first_ts
      ${orgScoped('spans', org, conditions)}
      GROUP BY trace_id ORDER BY m_first_ts DESC, trace_id LIMIT ${search.limit})`;
  const rootKey = rawSql(`tuple(parent_span_id != '', start_ts, span_id)`);
  return sql`SELECT trace_id, argMin(service, ${rootKey}) AS m_root_service, argMin(name, ${rootKey}) AS m_root_operation,
      min(start_ts) AS m_start_ts, max(end_ts) - min(start_ts) AS m_duration_ns, count() AS m_span_count,
      countIf(status = 'error') AS m_error_count
      ${orgScoped('spans', org, [sql`trace_id IN (${matched})`])}
      GROUP BY trace_id ORDER BY m_start_ts DESC, trace_id`;
}

/**
 * RED metrics from `span_latency_1m`, per service or, given one, per operation of that service;
 * quantiles are the minutes' quantiles weighted by their span counts (see the DuckDB file).
 */
export function compileSpanRed(org: OrgId, range: TimeRange, service?: string): Sql {
  const conditions = [sql`bucket_ts >= ${range.fromNs}`, sql`bucket_ts < ${range.toNs}`];
  if (service !== undefined) conditions.push(sql`service = ${service}`);
  const operation = service === undefined ? rawSql(`''`) : rawSql('name');
  const weighted = (column: string): Sql =>
    rawSql(`sum(${column} * count) / nullIf(toFloat64(sum(count)), 0)`);
  const select = joinSql(
    [
      sql`service AS m_service`,
      sql`${operation} AS m_operation`,
      rawSql('sum(count) AS m_n'),
      rawSql('sum(errors) AS m_errors'),
      sql`sum(sum_ns) / nullIf(toFloat64(sum(count)), 0) AS m_mean_ns`,
      sql`${weighted('p50_ns')} AS m_p50_ns`,
      sql`${weighted('p95_ns')} AS m_p95_ns`,
      sql`${weighted('p99_ns')} AS m_p99_ns`,
    ],
    ', ',
  );
  return sql`SELECT ${select} ${orgScoped('span_latency_1m', org, conditions)}
      GROUP BY m_service, m_operation ORDER BY m_n DESC, m_service, m_operation`;
}

export async function runTraceSearch(
  database: ClickhouseDatabase,
  org: OrgId,
  search: TraceSearch,
): Promise<TraceSummary[]> {
  const rows = await database.select<{
    trace_id: string;
    m_root_service: string;
    m_root_operation: string;
    m_start_ts: string;
    m_duration_ns: string;
    m_span_count: string;
    m_error_count: string;
  }>(compileTraceSearch(org, search));
  return rows.map((r) => ({
    traceId: r.trace_id,
    rootService: r.m_root_service,
    rootOperation: r.m_root_operation,
    startTs: BigInt(r.m_start_ts),
    durationNs: BigInt(r.m_duration_ns),
    spanCount: Number(r.m_span_count),
    errorCount: Number(r.m_error_count),
  }));
}

type Num = number | string | null;

export async function runSpanRed(
  database: ClickhouseDatabase,
  org: OrgId,
  range: TimeRange,
  service?: string,
): Promise<SpanRed[]> {
  const rows = await database.select<{
    m_service: string;
    m_operation: string;
    m_n: string;
    m_errors: string;
    m_mean_ns: Num;
    m_p50_ns: Num;
    m_p95_ns: Num;
    m_p99_ns: Num;
  }>(compileSpanRed(org, range, service));
  return rows.map((r) => ({
    service: r.m_service,
    operation: r.m_operation,
    count: Number(r.m_n),
    errors: Number(r.m_errors),
    meanNs: Number(r.m_mean_ns ?? 0),
    p50Ns: Number(r.m_p50_ns ?? 0),
    p95Ns: Number(r.m_p95_ns ?? 0),
    p99Ns: Number(r.m_p99_ns ?? 0),
  }));
}
