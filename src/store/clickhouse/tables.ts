import type {
  ActivitySnapshotRow,
  DeadLetterRow,
  LogRow,
  MetricPointRow,
  QuerySampleRow,
  QueryStatRow,
  RumEventRow,
  SessionRow,
  SpanRow,
} from '../rows.js';
import type { TableSpec } from './table-writer.js';

/**
 * What the writers send to each record table, in the tables' column order (schema.ts). The same
 * columns as DuckDB's writers (../duckdb/telemetry-store.ts); only the value forms differ:
 * booleans are 0/1, NULL lists are empty arrays, counts from JSON are Int64.
 */

/** Counts arrive as JS numbers (JSON); Int64 columns take integers. */
function int64(value: number): bigint {
  return BigInt(Math.trunc(value));
}

export const LOGS: TableSpec<LogRow> = {
  table: 'logs',
  timeColumn: 'ts',
  time: (row) => row.ts,
  keyColumns: [{ name: 'service', value: (r) => r.service }],
  columns: [
    { name: 'id', value: (r) => r.id },
    { name: 'ts', value: (r) => r.ts },
    { name: 'observed_ts', value: (r) => r.observedTs },
    { name: 'org_id', value: (r) => r.orgId },
    { name: 'service', value: (r) => r.service },
    { name: 'host', value: (r) => r.host },
    { name: 'entity_id', value: (r) => r.entityId },
    { name: 'severity', value: (r) => r.severity },
    { name: 'severity_number', value: (r) => r.severityNumber },
    { name: 'severity_text', value: (r) => r.severityText },
    { name: 'body', value: (r) => r.body },
    { name: 'trace_id', value: (r) => r.traceId },
    { name: 'span_id', value: (r) => r.spanId },
    { name: 'event_name', value: (r) => r.eventName },
    { name: 'scope_name', value: (r) => r.scopeName },
    { name: 'attributes', value: (r) => r.attributes },
    { name: 'resource', value: (r) => r.resource },
  ],
};

export const SPANS: TableSpec<SpanRow> = {
  table: 'spans',
  timeColumn: 'start_ts',
  time: (row) => row.startTs,
  keyColumns: [
    { name: 'service', value: (r) => r.service },
    { name: 'name', value: (r) => r.name },
  ],
  columns: [
    { name: 'id', value: (r) => r.id },
    { name: 'start_ts', value: (r) => r.startTs },
    { name: 'end_ts', value: (r) => r.endTs },
    { name: 'duration_ns', value: (r) => r.durationNs },
    { name: 'org_id', value: (r) => r.orgId },
    { name: 'trace_id', value: (r) => r.traceId },
    { name: 'span_id', value: (r) => r.spanId },
    { name: 'parent_span_id', value: (r) => r.parentSpanId },
    { name: 'trace_state', value: (r) => r.traceState },
    { name: 'service', value: (r) => r.service },
    { name: 'host', value: (r) => r.host },
    { name: 'entity_id', value: (r) => r.entityId },
    { name: 'name', value: (r) => r.name },
    { name: 'kind', value: (r) => r.kind },
    { name: 'status', value: (r) => r.status },
    { name: 'status_message', value: (r) => r.statusMessage },
    { name: 'scope_name', value: (r) => r.scopeName },
    { name: 'attributes', value: (r) => r.attributes },
    { name: 'resource', value: (r) => r.resource },
    { name: 'events', value: (r) => r.events },
    { name: 'links', value: (r) => r.links },
  ],
};

export const METRIC_POINTS: TableSpec<MetricPointRow> = {
  table: 'metric_points',
  timeColumn: 'ts',
  time: (row) => row.ts,
  keyColumns: [
    { name: 'name', value: (r) => r.name },
    { name: 'series_id', value: (r) => r.seriesId },
  ],
  columns: [
    { name: 'id', value: (r) => r.id },
    { name: 'ts', value: (r) => r.ts },
    { name: 'start_ts', value: (r) => r.startTs },
    { name: 'org_id', value: (r) => r.orgId },
    { name: 'entity_id', value: (r) => r.entityId },
    { name: 'service', value: (r) => r.service },
    { name: 'host', value: (r) => r.host },
    { name: 'series_id', value: (r) => r.seriesId },
    { name: 'name', value: (r) => r.name },
    { name: 'kind', value: (r) => r.kind },
    { name: 'unit', value: (r) => r.unit },
    { name: 'temporality', value: (r) => r.temporality },
    { name: 'monotonic', value: (r) => r.monotonic },
    { name: 'value', value: (r) => r.value },
    { name: 'labels', value: (r) => r.labels },
    { name: 'resource', value: (r) => r.resource },
    { name: 'scope_name', value: (r) => r.scopeName },
    { name: 'hist_count', value: (r) => r.histCount },
    { name: 'hist_sum', value: (r) => r.histSum },
    { name: 'hist_min', value: (r) => r.histMin },
    { name: 'hist_max', value: (r) => r.histMax },
    { name: 'bucket_bounds', value: (r) => r.bucketBounds ?? [] },
    { name: 'bucket_counts', value: (r) => r.bucketCounts ?? [] },
  ],
};

export const DEAD_LETTERS: TableSpec<DeadLetterRow> = {
  table: 'dead_letters',
  timeColumn: 'ts',
  time: (row) => row.ts,
  keyColumns: [{ name: 'source_topic', value: (r) => r.sourceTopic }],
  columns: [
    { name: 'id', value: (r) => r.id },
    { name: 'ts', value: (r) => r.ts },
    { name: 'org_id', value: (r) => r.orgId },
    { name: 'source_topic', value: (r) => r.sourceTopic },
    { name: 'reason', value: (r) => r.reason },
    { name: 'headers', value: (r) => r.headers },
    { name: 'payload', value: (r) => r.payload },
  ],
};

export const QUERY_STATS: TableSpec<QueryStatRow> = {
  table: 'query_stats',
  timeColumn: 'interval_end',
  time: (row) => row.intervalEnd,
  keyColumns: [
    { name: 'entity_id', value: (r) => r.entityId },
    { name: 'fingerprint', value: (r) => r.fingerprint },
  ],
  columns: [
    { name: 'id', value: (r) => r.id },
    { name: 'interval_start', value: (r) => r.intervalStart },
    { name: 'interval_end', value: (r) => r.intervalEnd },
    { name: 'org_id', value: (r) => r.orgId },
    { name: 'entity_id', value: (r) => r.entityId },
    { name: 'database', value: (r) => r.database },
    { name: 'user_name', value: (r) => r.userName },
    { name: 'query_id', value: (r) => r.queryId },
    { name: 'fingerprint', value: (r) => r.fingerprint },
    { name: 'query', value: (r) => r.query },
    { name: 'calls', value: (r) => int64(r.calls) },
    { name: 'total_time_ms', value: (r) => r.totalTimeMs },
    { name: 'min_time_ms', value: (r) => r.minTimeMs },
    { name: 'max_time_ms', value: (r) => r.maxTimeMs },
    { name: 'mean_time_ms', value: (r) => r.meanTimeMs },
    { name: 'rows', value: (r) => int64(r.rows) },
    { name: 'shared_blks_hit', value: (r) => int64(r.sharedBlksHit) },
    { name: 'shared_blks_read', value: (r) => int64(r.sharedBlksRead) },
    { name: 'shared_blks_dirtied', value: (r) => int64(r.sharedBlksDirtied) },
    { name: 'shared_blks_written', value: (r) => int64(r.sharedBlksWritten) },
    { name: 'temp_blks_read', value: (r) => int64(r.tempBlksRead) },
    { name: 'temp_blks_written', value: (r) => int64(r.tempBlksWritten) },
    { name: 'wal_bytes', value: (r) => int64(r.walBytes) },
    { name: 'rows_examined', value: (r) => int64(r.rowsExamined) },
    { name: 'lock_time_ms', value: (r) => r.lockTimeMs },
    { name: 'errors', value: (r) => int64(r.errors) },
    { name: 'no_index_used', value: (r) => int64(r.noIndexUsed) },
    { name: 'tmp_disk_tables', value: (r) => int64(r.tmpDiskTables) },
  ],
};

export const QUERY_SAMPLES: TableSpec<QuerySampleRow> = {
  table: 'query_samples',
  timeColumn: 'ts',
  time: (row) => row.ts,
  keyColumns: [{ name: 'fingerprint', value: (r) => r.fingerprint }],
  columns: [
    { name: 'id', value: (r) => r.id },
    { name: 'ts', value: (r) => r.ts },
    { name: 'org_id', value: (r) => r.orgId },
    { name: 'entity_id', value: (r) => r.entityId },
    { name: 'database', value: (r) => r.database },
    { name: 'user_name', value: (r) => r.userName },
    { name: 'fingerprint', value: (r) => r.fingerprint },
    { name: 'query', value: (r) => r.query },
    { name: 'duration_ms', value: (r) => r.durationMs },
    { name: 'plan', value: (r) => r.plan },
    { name: 'source', value: (r) => r.source },
  ],
};

export const ACTIVITY_SAMPLES: TableSpec<SessionRow> = {
  table: 'activity_samples',
  timeColumn: 'ts',
  time: (row) => row.ts,
  keyColumns: [{ name: 'entity_id', value: (r) => r.entityId }],
  columns: [
    { name: 'id', value: (r) => r.id },
    { name: 'ts', value: (r) => r.ts },
    { name: 'org_id', value: (r) => r.orgId },
    { name: 'entity_id', value: (r) => r.entityId },
    { name: 'pid', value: (r) => r.pid },
    { name: 'database', value: (r) => r.database },
    { name: 'user_name', value: (r) => r.userName },
    { name: 'application', value: (r) => r.application },
    { name: 'client_addr', value: (r) => r.clientAddr },
    { name: 'backend_type', value: (r) => r.backendType },
    { name: 'state', value: (r) => r.state },
    { name: 'wait_event_type', value: (r) => r.waitEventType },
    { name: 'wait_event', value: (r) => r.waitEvent },
    { name: 'fingerprint', value: (r) => r.fingerprint },
    { name: 'query', value: (r) => r.query },
    { name: 'duration_ms', value: (r) => r.durationMs },
    { name: 'xact_duration_ms', value: (r) => r.xactDurationMs },
    { name: 'blocked_by', value: (r) => r.blockedBy },
  ],
};

export const ACTIVITY_SNAPSHOTS: TableSpec<ActivitySnapshotRow> = {
  table: 'activity_snapshots',
  timeColumn: 'ts',
  time: (row) => row.ts,
  keyColumns: [{ name: 'entity_id', value: (r) => r.entityId }],
  columns: [
    { name: 'id', value: (r) => r.id },
    { name: 'ts', value: (r) => r.ts },
    { name: 'org_id', value: (r) => r.orgId },
    { name: 'entity_id', value: (r) => r.entityId },
    { name: 'sessions', value: (r) => r.sessions },
  ],
};

/** No client_address: RumEventRow.clientAddress is only for the enrich stage. */
export const RUM_EVENTS: TableSpec<RumEventRow> = {
  table: 'rum_events',
  timeColumn: 'ts',
  time: (row) => row.ts,
  keyColumns: [
    { name: 'service', value: (r) => r.service },
    { name: 'type', value: (r) => r.type },
  ],
  columns: [
    { name: 'id', value: (r) => r.id },
    { name: 'ts', value: (r) => r.ts },
    { name: 'org_id', value: (r) => r.orgId },
    { name: 'session_id', value: (r) => r.sessionId },
    { name: 'view_id', value: (r) => r.viewId },
    { name: 'type', value: (r) => r.type },
    { name: 'name', value: (r) => r.name },
    { name: 'value', value: (r) => r.value },
    { name: 'url', value: (r) => r.url },
    { name: 'url_path', value: (r) => r.urlPath },
    { name: 'referrer', value: (r) => r.referrer },
    { name: 'title', value: (r) => r.title },
    { name: 'message', value: (r) => r.message },
    { name: 'stack', value: (r) => r.stack },
    { name: 'error_type', value: (r) => r.errorType },
    { name: 'duration_ms', value: (r) => r.durationMs },
    { name: 'service', value: (r) => r.service },
    { name: 'release', value: (r) => r.release },
    { name: 'user_agent', value: (r) => r.userAgent },
    { name: 'browser_name', value: (r) => r.browserName },
    { name: 'browser_version', value: (r) => r.browserVersion },
    { name: 'os_name', value: (r) => r.osName },
    { name: 'os_version', value: (r) => r.osVersion },
    { name: 'device_type', value: (r) => r.deviceType },
    { name: 'country', value: (r) => r.country },
    { name: 'city', value: (r) => r.city },
    { name: 'attributes', value: (r) => r.attributes },
  ],
};
