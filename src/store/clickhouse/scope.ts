import type { OrgId } from '../rows.js';
import { identifier, joinSql, sql, type Sql } from './sql.js';

/** The tables reads may name; `orgScoped` refuses any other. */
const READABLE = new Set([
  'logs',
  'spans',
  'spans_trace_index',
  'metric_points',
  'dead_letters',
  'query_stats',
  'query_samples',
  'activity_samples',
  'activity_snapshots',
  'entities',
  'rum_events',
  'metric_rollups_1m',
  'metric_rollups_5m',
  'metric_rollups_1h',
  'log_counts_1m',
  'span_latency_1m',
  'usage_daily',
]);

/**
 * The only way reads reach a telemetry table, and the one place both guarantees live:
 * - the caller's org is always the first condition, so no query sees another org's rows;
 * - FINAL, so a replayed record (same sorting key, schema.ts) counts once even before a
 *   background merge removed its copy. On the aggregate tables (entities, the trace index)
 *   FINAL merges states, which their -Merge reads would do anyway.
 */
export function orgScoped(table: string, org: OrgId, conditions: readonly Sql[]): Sql {
  if (!READABLE.has(table)) throw new Error(`not a telemetry table: ${table}`);
  return sql`FROM ${identifier(table)} FINAL WHERE ${joinSql([sql`org_id = ${org}`, ...conditions], ' AND ')}`;
}

/** The tables a cross-org read may name: the usage and limit baselines the processor loads. */
const ALL_ORGS_READABLE = new Set(['usage_daily', 'metric_points']);

/**
 * The named escape from `orgScoped` for the few reads that serve every org at once (the limit
 * stage's baseline after a restart, usage-store.ts). Still FINAL; never for an API read, which
 * always has one caller's org.
 */
export function acrossOrgs(table: string, conditions: readonly Sql[]): Sql {
  if (!ALL_ORGS_READABLE.has(table)) throw new Error(`not a cross-org table: ${table}`);
  return sql`FROM ${identifier(table)} FINAL WHERE ${joinSql(conditions.length === 0 ? [sql`1`] : conditions, ' AND ')}`;
}
