import type { OrgId } from '../rows.js';
import type {
  QueryDetail,
  QueryOrder,
  QueryScope,
  QuerySeriesBucket,
  QuerySeriesQuery,
  QueryTotals,
  StoredQuerySample,
  StoredQueryStat,
  TopQueries,
  TopQueriesQuery,
  TopQuery,
} from '../store.js';
import { MAX_DETAIL_INTERVALS, MAX_DETAIL_SAMPLES, MAX_DISTINCT_LISTED } from '../store.js';
import type { ClickhouseDatabase } from './database.js';
import { list } from './log-search-sql.js';
import { orgScoped } from './scope.js';
import { rawSql, sql, type Sql } from './sql.js';

/**
 * The statement views (top queries, one statement's detail) over query_stats and query_samples,
 * as ../duckdb/telemetry-store.ts computes them. Aliases are `t_*`: in ClickHouse an alias equal
 * to a column is substituted wherever the column is named, so `sum(calls) AS calls` would nest
 * one aggregate inside another in the ORDER BY.
 */

/** Sort keys of the top-queries list; each is an aggregate over one fingerprint's rows. */
const QUERY_ORDER: Record<QueryOrder, Sql> = {
  total_time: rawSql('sum(total_time_ms)'),
  calls: rawSql('sum(calls)'),
  // nullIf: ClickHouse divides floats by zero into inf/nan, DuckDB's nullif gives NULL (last).
  mean_time: rawSql('sum(total_time_ms) / nullIf(sum(calls), 0)'),
  rows: rawSql('sum(rows)'),
  io: rawSql('sum(shared_blks_read + shared_blks_written + temp_blks_read + temp_blks_written)'),
  rows_examined: rawSql('sum(rows_examined)'),
};

/** DuckDB's list_slice(list_sort(list(DISTINCT c)), 1, N): sorted distinct values, the first N. */
const distinctSorted = (column: string, alias: string): string =>
  `arraySlice(arraySort(groupUniqArray(${column})), 1, ${MAX_DISTINCT_LISTED}) AS ${alias}`;

const TOTALS = rawSql(`argMax(query, interval_end) AS t_query, sum(calls) AS t_calls,
  sum(total_time_ms) AS t_total_time_ms, max(max_time_ms) AS t_max_time_ms, sum(rows) AS t_rows,
  sum(shared_blks_hit) AS t_shared_blks_hit, sum(shared_blks_read) AS t_shared_blks_read,
  sum(shared_blks_dirtied) AS t_shared_blks_dirtied, sum(shared_blks_written) AS t_shared_blks_written,
  sum(temp_blks_read) AS t_temp_blks_read, sum(temp_blks_written) AS t_temp_blks_written,
  sum(wal_bytes) AS t_wal_bytes, sum(rows_examined) AS t_rows_examined, sum(lock_time_ms) AS t_lock_time_ms,
  sum(errors) AS t_errors, sum(no_index_used) AS t_no_index_used, sum(tmp_disk_tables) AS t_tmp_disk_tables,
  ${distinctSorted('database', 't_databases')}, ${distinctSorted('user_name', 't_users')},
  ${distinctSorted('entity_id', 't_entity_ids')}`);

/** Int64 sums arrive as strings (database.ts SETTINGS), Float64 ones as numbers. */
type Numeric = string | number;

interface TotalsRecord {
  t_query: string;
  t_calls: Numeric;
  t_total_time_ms: Numeric;
  t_max_time_ms: Numeric;
  t_rows: Numeric;
  t_shared_blks_hit: Numeric;
  t_shared_blks_read: Numeric;
  t_shared_blks_dirtied: Numeric;
  t_shared_blks_written: Numeric;
  t_temp_blks_read: Numeric;
  t_temp_blks_written: Numeric;
  t_wal_bytes: Numeric;
  t_rows_examined: Numeric;
  t_lock_time_ms: Numeric;
  t_errors: Numeric;
  t_no_index_used: Numeric;
  t_tmp_disk_tables: Numeric;
  t_databases: string[];
  t_users: string[];
  t_entity_ids: string[];
}

function totalsOf(r: TotalsRecord | undefined): QueryTotals {
  const n = (value: Numeric | undefined): number => (value === undefined ? 0 : Number(value));
  const calls = n(r?.t_calls);
  const totalTimeMs = n(r?.t_total_time_ms);
  return {
    calls,
    totalTimeMs,
    meanTimeMs: calls === 0 ? 0 : totalTimeMs / calls,
    maxTimeMs: n(r?.t_max_time_ms),
    rows: n(r?.t_rows),
    sharedBlksHit: n(r?.t_shared_blks_hit),
    sharedBlksRead: n(r?.t_shared_blks_read),
    sharedBlksDirtied: n(r?.t_shared_blks_dirtied),
    sharedBlksWritten: n(r?.t_shared_blks_written),
    tempBlksRead: n(r?.t_temp_blks_read),
    tempBlksWritten: n(r?.t_temp_blks_written),
    walBytes: n(r?.t_wal_bytes),
    rowsExamined: n(r?.t_rows_examined),
    lockTimeMs: n(r?.t_lock_time_ms),
    errors: n(r?.t_errors),
    noIndexUsed: n(r?.t_no_index_used),
    tmpDiskTables: n(r?.t_tmp_disk_tables),
    databases: r?.t_databases ?? [],
    users: r?.t_users ?? [],
    entityIds: r?.t_entity_ids ?? [],
  };
}

/**
 * The conditions of a query scope on a table whose time column is `timeColumn`; without a
 * time column, at any time.
 */
function statsScope(scope: QueryScope, timeColumn: 'interval_end' | 'ts' | null = 'interval_end'): Sql[] {
  const conditions: Sql[] = [];
  if (timeColumn !== null) {
    const column = rawSql(timeColumn);
    conditions.push(sql`${column} >= ${scope.fromNs}`, sql`${column} < ${scope.toNs}`);
  }
  if (scope.entityId !== undefined) conditions.push(sql`entity_id = ${scope.entityId}`);
  if (scope.database !== undefined) conditions.push(sql`database = ${scope.database}`);
  return conditions;
}

export async function readTopQueries(
  database: ClickhouseDatabase,
  org: OrgId,
  query: TopQueriesQuery,
): Promise<TopQueries> {
  const scope = statsScope(query);
  const from = orgScoped('query_stats', org, scope);
  const overall = await database.select<{
    t_calls: Numeric;
    t_total_time_ms: Numeric;
    t_fingerprints: Numeric;
  }>(
    sql`SELECT sum(calls) AS t_calls, sum(total_time_ms) AS t_total_time_ms, uniqExact(fingerprint) AS t_fingerprints
        ${from}`,
  );
  const top = await database.select<TotalsRecord & { fingerprint: string }>(
    sql`SELECT fingerprint, ${TOTALS} ${from}
        GROUP BY fingerprint ORDER BY ${QUERY_ORDER[query.order]} DESC NULLS LAST, fingerprint LIMIT ${query.limit}`,
  );
  const queries: TopQuery[] = top.map((r) => ({
    fingerprint: r.fingerprint,
    query: r.t_query,
    ...totalsOf(r),
    series: [],
  }));
  if (queries.length > 0) {
    const byFingerprint = new Map(queries.map((q) => [q.fingerprint, q]));
    const buckets = await database.select<{
      fingerprint: string;
      t_bucket: string;
      t_calls: Numeric;
      t_total_time_ms: Numeric;
    }>(
      sql`SELECT fingerprint, intDiv(interval_end, ${query.stepNs}) * ${query.stepNs} AS t_bucket,
                 sum(calls) AS t_calls, sum(total_time_ms) AS t_total_time_ms
          ${orgScoped('query_stats', org, [...scope, sql`fingerprint IN (${list([...byFingerprint.keys()])})`])}
          GROUP BY fingerprint, t_bucket ORDER BY fingerprint, t_bucket`,
    );
    for (const b of buckets) {
      byFingerprint.get(b.fingerprint)?.series.push({
        ts: BigInt(b.t_bucket),
        calls: Number(b.t_calls),
        totalTimeMs: Number(b.t_total_time_ms),
      });
    }
  }
  const o = overall[0];
  return {
    overall: {
      calls: Number(o?.t_calls ?? 0),
      totalTimeMs: Number(o?.t_total_time_ms ?? 0),
      fingerprints: Number(o?.t_fingerprints ?? 0),
    },
    queries,
  };
}

export async function readQuerySeries(
  database: ClickhouseDatabase,
  org: OrgId,
  fingerprint: string,
  query: QuerySeriesQuery,
): Promise<QuerySeriesBucket[]> {
  const rows = await database.select<{
    t_bucket: string;
    t_calls: Numeric;
    t_total_time_ms: Numeric;
    t_rows: Numeric;
    t_hit: Numeric;
    t_read: Numeric;
  }>(
    sql`SELECT intDiv(interval_end, ${query.stepNs}) * ${query.stepNs} AS t_bucket, sum(calls) AS t_calls,
               sum(total_time_ms) AS t_total_time_ms, sum(rows) AS t_rows,
               sum(shared_blks_hit) AS t_hit, sum(shared_blks_read) AS t_read
        ${orgScoped('query_stats', org, [...statsScope(query), sql`fingerprint = ${fingerprint}`])}
        GROUP BY t_bucket ORDER BY t_bucket`,
  );
  return rows.map((r) => ({
    ts: BigInt(r.t_bucket),
    calls: Number(r.t_calls),
    totalTimeMs: Number(r.t_total_time_ms),
    rows: Number(r.t_rows),
    sharedBlksHit: Number(r.t_hit),
    sharedBlksRead: Number(r.t_read),
  }));
}

export async function readQueryDetail(
  database: ClickhouseDatabase,
  org: OrgId,
  fingerprint: string,
  scope: QueryScope,
): Promise<QueryDetail | undefined> {
  const inRange = orgScoped('query_stats', org, [...statsScope(scope), sql`fingerprint = ${fingerprint}`]);
  const totals = await database.select<TotalsRecord & { t_n: string }>(
    sql`SELECT ${TOTALS}, count() AS t_n ${inRange}`,
  );
  const intervals = await database.select<QueryStatRecord>(
    sql`SELECT ${QUERY_STAT_COLUMNS} ${inRange} ORDER BY interval_end DESC, id DESC LIMIT ${MAX_DETAIL_INTERVALS + 1}`,
  );
  const intervalsTruncated = intervals.length > MAX_DETAIL_INTERVALS;
  if (intervalsTruncated) intervals.length = MAX_DETAIL_INTERVALS;
  const sampled = orgScoped('query_samples', org, [
    ...statsScope(scope, 'ts'),
    sql`fingerprint = ${fingerprint}`,
  ]);
  const samples = (
    await database.select<QuerySampleRecord>(
      sql`SELECT id, ts, entity_id, database, user_name, fingerprint, query, duration_ms, plan, source
          ${sampled} ORDER BY ts DESC, id LIMIT ${MAX_DETAIL_SAMPLES}`,
    )
  ).map(sampleOf);
  // An aggregate over no rows is one row of defaults in ClickHouse (argMax gives ''), as DuckDB's NULLs read.
  let text = totals[0]?.t_query ?? '';
  if (intervals.length === 0 && samples.length === 0) {
    // Nothing in the range: a fingerprint stored at another time is known, one never stored is not.
    const anyTime = [...statsScope(scope, null), sql`fingerprint = ${fingerprint}`];
    const known = await database.select<{ t_query: string; t_n: string }>(
      sql`SELECT argMax(query, interval_end) AS t_query, count() AS t_n ${orgScoped('query_stats', org, anyTime)}`,
    );
    text = known[0]?.t_query ?? '';
    if (Number(known[0]?.t_n ?? 0) === 0) {
      const samplesEver = await database.select<{ t_query: string; t_n: string }>(
        sql`SELECT argMax(query, ts) AS t_query, count() AS t_n ${orgScoped('query_samples', org, anyTime)}`,
      );
      if (Number(samplesEver[0]?.t_n ?? 0) === 0) return undefined;
      text = samplesEver[0]?.t_query ?? '';
    }
  }
  return {
    fingerprint,
    query: text !== '' ? text : (samples[0]?.query ?? ''),
    totals: totalsOf(Number(totals[0]?.t_n ?? 0) === 0 ? undefined : totals[0]),
    intervals: intervals.reverse().map(queryStatOf),
    intervalsTruncated,
    samples,
  };
}

const QUERY_STAT_COLUMNS = rawSql(`id, interval_start, interval_end, entity_id, database, user_name, query_id,
  fingerprint, query, calls, total_time_ms, min_time_ms, max_time_ms, mean_time_ms, rows, shared_blks_hit,
  shared_blks_read, shared_blks_dirtied, shared_blks_written, temp_blks_read, temp_blks_written, wal_bytes,
  rows_examined, lock_time_ms, errors, no_index_used, tmp_disk_tables`);

interface QueryStatRecord {
  id: string;
  interval_start: string;
  interval_end: string;
  entity_id: string;
  database: string;
  user_name: string;
  query_id: string;
  fingerprint: string;
  query: string;
  calls: Numeric;
  total_time_ms: Numeric;
  min_time_ms: Numeric;
  max_time_ms: Numeric;
  mean_time_ms: Numeric;
  rows: Numeric;
  shared_blks_hit: Numeric;
  shared_blks_read: Numeric;
  shared_blks_dirtied: Numeric;
  shared_blks_written: Numeric;
  temp_blks_read: Numeric;
  temp_blks_written: Numeric;
  wal_bytes: Numeric;
  rows_examined: Numeric;
  lock_time_ms: Numeric;
  errors: Numeric;
  no_index_used: Numeric;
  tmp_disk_tables: Numeric;
}

function queryStatOf(r: QueryStatRecord): StoredQueryStat {
  return {
    id: r.id,
    intervalStart: BigInt(r.interval_start),
    intervalEnd: BigInt(r.interval_end),
    entityId: r.entity_id,
    database: r.database,
    userName: r.user_name,
    queryId: r.query_id,
    fingerprint: r.fingerprint,
    query: r.query,
    calls: Number(r.calls),
    totalTimeMs: Number(r.total_time_ms),
    minTimeMs: Number(r.min_time_ms),
    maxTimeMs: Number(r.max_time_ms),
    meanTimeMs: Number(r.mean_time_ms),
    rows: Number(r.rows),
    sharedBlksHit: Number(r.shared_blks_hit),
    sharedBlksRead: Number(r.shared_blks_read),
    sharedBlksDirtied: Number(r.shared_blks_dirtied),
    sharedBlksWritten: Number(r.shared_blks_written),
    tempBlksRead: Number(r.temp_blks_read),
    tempBlksWritten: Number(r.temp_blks_written),
    walBytes: Number(r.wal_bytes),
    rowsExamined: Number(r.rows_examined),
    lockTimeMs: Number(r.lock_time_ms),
    errors: Number(r.errors),
    noIndexUsed: Number(r.no_index_used),
    tmpDiskTables: Number(r.tmp_disk_tables),
  };
}

interface QuerySampleRecord {
  id: string;
  ts: string;
  entity_id: string;
  database: string;
  user_name: string;
  fingerprint: string;
  query: string;
  duration_ms: Numeric;
  plan: string;
  source: string;
}

function sampleOf(r: QuerySampleRecord): StoredQuerySample {
  return {
    id: r.id,
    ts: BigInt(r.ts),
    entityId: r.entity_id,
    database: r.database,
    userName: r.user_name,
    fingerprint: r.fingerprint,
    query: r.query,
    durationMs: Number(r.duration_ms),
    plan: r.plan,
    source: r.source,
  };
}
