/**
 * The ClickHouse schema: the same logical tables as DuckDB (src/store/duckdb/migrations.ts),
 * in a dialect that runs on 18.16 (Debian bookworm) and on current releases — no TTL,
 * DateTime64, LowCardinality, Map, JSON type or skipping indexes (README.md says why).
 *
 * Shared choices, table by table below only where they differ:
 * - Times are Int64 nanoseconds since the epoch (UTC), as in DuckDB; JSON maps are String;
 *   lists are Array(Float64)/Array(UInt64)/Array(Int32). A NULL list of DuckDB is an empty
 *   array here (ClickHouse has no Nullable(Array)); `bucket_counts` is empty exactly when the
 *   point has no buckets.
 * - Partitioned by UTC day of the time column (`toYYYYMMDD`): retention drops whole days
 *   (`ALTER TABLE … DROP PARTITION`, retention.ts) since 18.16 has no TTL, and a query on a
 *   time range skips other days' parts by their min/max of that column.
 * - ORDER BY starts with org_id (every read is scoped by it, telemetry-store.ts `orgScoped`),
 *   then the columns the API filters on, then the time column, then `id` last.
 * - Record tables are ReplacingMergeTree with `id` as the last sorting-key column: a replayed
 *   record carries the same id and the same values, so its copy has the same sorting key and
 *   is one row to every read that uses FINAL (all of them, through `orgScoped`) — before any
 *   background merge, which later removes the copy from disk. `id` last costs the order
 *   nothing: it only breaks ties between rows with equal time.
 */

/** Rows of one UTC day share a partition; `column` is Int64 nanoseconds. */
export function dayPartition(column: string): string {
  return `toYYYYMMDD(toDateTime(intDiv(${column}, 1000000000), 'UTC'))`;
}

function recordTable(name: string, columns: string, timeColumn: string, orderBy: string): string {
  return `CREATE TABLE IF NOT EXISTS ${name} (
${columns}
) ENGINE = ReplacingMergeTree()
PARTITION BY ${dayPartition(timeColumn)}
ORDER BY (${orderBy})`;
}

/**
 * Logs: searched by time range (newest first) with service, severity and host filters, and
 * counted by service and severity. Service first: most searches name one, and a time range
 * then narrows within each service's run of granules; severity is left out of the key so
 * that a search without it still prunes by time.
 */
export const LOGS = recordTable(
  'logs',
  `  id String,
  ts Int64,
  observed_ts Int64,
  org_id String,
  service String,
  host String,
  entity_id String,
  severity String,
  severity_number Int32,
  severity_text String,
  body String,
  trace_id String,
  span_id String,
  event_name String,
  scope_name String,
  attributes String,
  resource String`,
  'ts',
  'org_id, service, ts, id',
);

/**
 * Spans: trace search filters service, operation (name) and start time; the per-service RED
 * numbers come from span_latency_1m. A trace by id is found through spans_trace_index (its
 * time bounds), which turns the id lookup into a time-range read.
 */
export const SPANS = recordTable(
  'spans',
  `  id String,
  start_ts Int64,
  end_ts Int64,
  duration_ns Int64,
  org_id String,
  trace_id String,
  span_id String,
  parent_span_id String,
  trace_state String,
  service String,
  host String,
  entity_id String,
  name String,
  kind String,
  status String,
  status_message String,
  scope_name String,
  attributes String,
  resource String,
  events String,
  links String`,
  'start_ts',
  'org_id, service, name, start_ts, id',
);

/**
 * Where each trace's spans are in time, per org and day: filled by a materialized view on
 * every insert into spans. Min and max are not changed by a replayed span, so the index needs
 * no deduplication. Partitioned like spans, so retention drops both together.
 */
export const SPANS_TRACE_INDEX = `CREATE TABLE IF NOT EXISTS spans_trace_index (
  org_id String,
  trace_id String,
  day UInt32,
  min_start_ts AggregateFunction(min, Int64),
  max_start_ts AggregateFunction(max, Int64)
) ENGINE = AggregatingMergeTree()
PARTITION BY day
ORDER BY (org_id, trace_id, day)`;

export const SPANS_TRACE_INDEX_VIEW = `CREATE MATERIALIZED VIEW IF NOT EXISTS spans_trace_index_mv
TO spans_trace_index AS
SELECT org_id, trace_id, ${dayPartition('start_ts')} AS day,
       minState(start_ts) AS min_start_ts, maxState(start_ts) AS max_start_ts
FROM spans
GROUP BY org_id, trace_id, day`;

/**
 * Metric points: every read names the metric (queryMetrics, readSeriesPoints with the series'
 * names, the catalogue per entity over a range), then wants series in time order.
 */
export const METRIC_POINTS = recordTable(
  'metric_points',
  `  id String,
  ts Int64,
  start_ts Int64,
  org_id String,
  entity_id String,
  service String,
  host String,
  series_id String,
  name String,
  kind String,
  unit String,
  temporality String,
  monotonic UInt8,
  value Nullable(Float64),
  labels String,
  resource String,
  scope_name String,
  hist_count Nullable(UInt64),
  hist_sum Nullable(Float64),
  hist_min Nullable(Float64),
  hist_max Nullable(Float64),
  bucket_bounds Array(Float64),
  bucket_counts Array(UInt64)`,
  'ts',
  'org_id, name, series_id, ts, id',
);

/** Dead letters: listed per source topic, newest first. `payload` holds the original bytes. */
export const DEAD_LETTERS = recordTable(
  'dead_letters',
  `  id String,
  ts Int64,
  org_id String,
  source_topic String,
  reason String,
  headers String,
  payload String`,
  'ts',
  'org_id, source_topic, ts, id',
);

/**
 * Query statistics: top queries read one instance (entity) over a range and group by
 * fingerprint; the detail view reads one fingerprint. Fingerprint before time makes the
 * detail a key lookup; the time range still narrows within each fingerprint's run.
 */
export const QUERY_STATS = recordTable(
  'query_stats',
  `  id String,
  interval_start Int64,
  interval_end Int64,
  org_id String,
  entity_id String,
  database String,
  user_name String,
  query_id String,
  fingerprint String,
  query String,
  calls Int64,
  total_time_ms Float64,
  min_time_ms Float64,
  max_time_ms Float64,
  mean_time_ms Float64,
  rows Int64,
  shared_blks_hit Int64,
  shared_blks_read Int64,
  shared_blks_dirtied Int64,
  shared_blks_written Int64,
  temp_blks_read Int64,
  temp_blks_written Int64,
  wal_bytes Int64,
  rows_examined Int64,
  lock_time_ms Float64,
  errors Int64,
  no_index_used Int64,
  tmp_disk_tables Int64`,
  'interval_end',
  'org_id, entity_id, fingerprint, interval_end, id',
);

/** Samples are read per fingerprint, newest first (the query detail). */
export const QUERY_SAMPLES = recordTable(
  'query_samples',
  `  id String,
  ts Int64,
  org_id String,
  entity_id String,
  database String,
  user_name String,
  fingerprint String,
  query String,
  duration_ms Float64,
  plan String,
  source String`,
  'ts',
  'org_id, fingerprint, ts, id',
);

/** Sessions and snapshots are read per instance over a range (the activity view). */
export const ACTIVITY_SAMPLES = recordTable(
  'activity_samples',
  `  id String,
  ts Int64,
  org_id String,
  entity_id String,
  pid Int32,
  database String,
  user_name String,
  application String,
  client_addr String,
  backend_type String,
  state String,
  wait_event_type String,
  wait_event String,
  fingerprint String,
  query String,
  duration_ms Float64,
  xact_duration_ms Nullable(Float64),
  blocked_by Array(Int32)`,
  'ts',
  'org_id, entity_id, ts, id',
);

export const ACTIVITY_SNAPSHOTS = recordTable(
  'activity_snapshots',
  `  id String,
  ts Int64,
  org_id String,
  entity_id String,
  sessions Int32`,
  'ts',
  'org_id, entity_id, ts, id',
);

/** Browser events: dashboards per app (service) and event type over a range. */
export const RUM_EVENTS = recordTable(
  'rum_events',
  `  id String,
  ts Int64,
  org_id String,
  session_id String,
  view_id String,
  type String,
  name String,
  value Nullable(Float64),
  url String,
  url_path String,
  referrer String,
  title String,
  message String,
  stack String,
  error_type String,
  duration_ms Nullable(Float64),
  service String,
  release String,
  user_agent String,
  browser_name String,
  browser_version String,
  os_name String,
  os_version String,
  device_type String,
  country String,
  city String,
  attributes String`,
  'ts',
  'org_id, service, type, ts, id',
);

/**
 * Entities merge every sighting: the earliest first_seen, the latest last_seen, and the
 * description of the newest sighting. As aggregate states (min, max, argMax by last_seen) the
 * merge is commutative and idempotent, so concurrent writers and replays need no
 * read-modify-write: they insert into `entities_input` (engine Null, stores nothing) and the
 * view turns each row into states. Reads finish the merge with -Merge and GROUP BY id (a
 * ReplacingMergeTree would keep only one row and so lose the earliest first_seen). No time
 * partition: an entity is not dropped by day.
 */
export const ENTITIES = `CREATE TABLE IF NOT EXISTS entities (
  org_id String,
  id String,
  kind AggregateFunction(argMax, String, Int64),
  name AggregateFunction(argMax, String, Int64),
  parent_id AggregateFunction(argMax, String, Int64),
  version AggregateFunction(argMax, String, Int64),
  attributes AggregateFunction(argMax, String, Int64),
  first_seen AggregateFunction(min, Int64),
  last_seen AggregateFunction(max, Int64)
) ENGINE = AggregatingMergeTree()
ORDER BY (org_id, id)`;

export const ENTITIES_INPUT = `CREATE TABLE IF NOT EXISTS entities_input (
  org_id String,
  id String,
  kind String,
  name String,
  parent_id String,
  version String,
  attributes String,
  first_seen_ns Int64,
  last_seen_ns Int64
) ENGINE = Null`;

// The input's times are named apart from the outputs: an output alias equal to an input name
// (last_seen) would be read by the other aggregates, nesting one aggregate inside another.
export const ENTITIES_VIEW = `CREATE MATERIALIZED VIEW IF NOT EXISTS entities_mv
TO entities AS
SELECT org_id, id,
       argMaxState(kind, last_seen_ns) AS kind,
       argMaxState(name, last_seen_ns) AS name,
       argMaxState(parent_id, last_seen_ns) AS parent_id,
       argMaxState(version, last_seen_ns) AS version,
       argMaxState(attributes, last_seen_ns) AS attributes,
       minState(first_seen_ns) AS first_seen,
       maxState(last_seen_ns) AS last_seen
FROM entities_input
GROUP BY org_id, id`;

/**
 * The rollup job recomputes bucket ranges; DuckDB deletes and inserts, here a recomputed row
 * replaces the older one through ReplacingMergeTree(version) (the job's pass time), and reads
 * use FINAL. Keyed like metric_points: metric name, series, bucket. `version` is the only
 * column DuckDB's table does not have.
 */
const metricRollupTable = (table: string): string => `CREATE TABLE IF NOT EXISTS ${table} (
  org_id String,
  series_id String,
  bucket_ts Int64,
  name String,
  kind String,
  unit String,
  temporality String,
  monotonic UInt8,
  entity_id String,
  service String,
  host String,
  labels String,
  resource String,
  scope_name String,
  count Int64,
  min Nullable(Float64),
  max Nullable(Float64),
  sum Nullable(Float64),
  last Nullable(Float64),
  last_ts Int64,
  delta Nullable(Float64),
  hist_count Nullable(Int64),
  hist_sum Nullable(Float64),
  version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY ${dayPartition('bucket_ts')}
ORDER BY (org_id, name, series_id, bucket_ts)`;

export const METRIC_ROLLUPS_1M = metricRollupTable('metric_rollups_1m');
export const METRIC_ROLLUPS_5M = metricRollupTable('metric_rollups_5m');
export const METRIC_ROLLUPS_1H = metricRollupTable('metric_rollups_1h');

/** Log counts per minute, read per service and severity over a range. */
export const LOG_COUNTS_1M = `CREATE TABLE IF NOT EXISTS log_counts_1m (
  org_id String,
  bucket_ts Int64,
  service String,
  severity String,
  count Int64,
  version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY ${dayPartition('bucket_ts')}
ORDER BY (org_id, service, severity, bucket_ts)`;

/** Span latency per minute, read per service (and operation) over a range: spanRed. */
export const SPAN_LATENCY_1M = `CREATE TABLE IF NOT EXISTS span_latency_1m (
  org_id String,
  bucket_ts Int64,
  service String,
  name String,
  kind String,
  count Int64,
  errors Int64,
  sum_ns Float64,
  min_ns Int64,
  max_ns Int64,
  p50_ns Float64,
  p95_ns Float64,
  p99_ns Float64,
  version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY ${dayPartition('bucket_ts')}
ORDER BY (org_id, service, name, kind, bucket_ts)`;

/** Where each rollup job got to; the newest done_to per job wins. */
export const ROLLUP_PROGRESS = `CREATE TABLE IF NOT EXISTS rollup_progress (
  job String,
  done_to Int64
) ENGINE = ReplacingMergeTree(done_to)
ORDER BY job`;

/**
 * Usage per org, day and signal. A flush adds to the day's row (as in DuckDB): SummingMergeTree
 * adds rows with the same key when it merges, and reads `sum()` grouped by the key, which is
 * right before and after merges. Partitioned by month: a day partition would hold one tiny part.
 */
export const USAGE_DAILY = `CREATE TABLE IF NOT EXISTS usage_daily (
  org_id String,
  day Date,
  signal String,
  records Int64,
  bytes Int64
) ENGINE = SummingMergeTree((records, bytes))
PARTITION BY toYYYYMM(day)
ORDER BY (org_id, day, signal)`;
