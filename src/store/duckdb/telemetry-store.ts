import { BIGINT, blobValue, listValue, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { blockingTree } from '../blocking-tree.js';
import type {
  ActivitySnapshotRow,
  DeadLetterRow,
  EntityRow,
  LogRow,
  MetricKind,
  MetricPointRow,
  OrgId,
  QuerySampleRow,
  QueryStatRow,
  RumEventRow,
  SessionRow,
  SpanKind,
  SpanRow,
  SpanStatus,
  Temporality,
} from '../rows.js';
import type {
  Activity,
  ActivityBucket,
  ActivityQuery,
  DeadLetterPage,
  DeadLetterQuery,
  EntityFilter,
  LogSearch,
  MetricCatalogEntry,
  MetricCatalogQuery,
  MetricNameEntry,
  MetricQuery,
  MetricSeries,
  QueryDetail,
  QueryOrder,
  QueryScope,
  QuerySeriesBucket,
  QuerySeriesQuery,
  QueryTotals,
  RecordCounts,
  SignalCounts,
  SeriesListQuery,
  SeriesPoints,
  SeriesPointsQuery,
  SeriesResolution,
  SpanRed,
  Store,
  StoredEntity,
  StoredLog,
  StoredQuerySample,
  StoredQueryStat,
  StoredSeriesMeta,
  StoredSession,
  StoredSpan,
  TimeRange,
  TopQueries,
  TopQueriesQuery,
  TopQuery,
  TraceSearch,
  TraceSummary,
  WriteResult,
} from '../store.js';
import {
  MAX_CATALOG_SERIES,
  MAX_CATALOG_SERIES_PER_METRIC,
  MAX_DETAIL_INTERVALS,
  MAX_DETAIL_SAMPLES,
  MAX_DISTINCT_LISTED,
  MAX_ENTITIES,
  MAX_TRACE_SPANS,
} from '../store.js';
import { SIGNAL_TABLES, signalCountsOf } from '../signal-counts.js';
import type { LogQuery, LogQueryResult } from '../log-query.js';
import type { DuckDBDatabase } from './database.js';
import { readDeadLetters } from './dead-letter-sql.js';
import { EntityWriter } from './entity-writer.js';
import { escapeRegex, runLogQuery } from './log-search-sql.js';
import {
  readMetricNames,
  readRollupsCompleteTo,
  readSeriesList,
  readSeriesPoints,
  type PointsScope,
} from './metric-series-sql.js';
import { TableWriter, type TableSpec } from './table-writer.js';
import { runSpanRed, runTraceSearch, type TableScope } from './trace-sql.js';
import { LOG_COLUMNS, big, storedLogOf, str } from './values.js';

/** A point's value; a histogram's is the mean of its observations, so histograms chart like gauges. */
const POINT_VALUE = 'coalesce(value, hist_sum / nullif(hist_count, 0))';

const LOGS: TableSpec<LogRow> = {
  table: 'logs',
  timeColumn: 'ts',
  time: (row) => row.ts,
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

const SPANS: TableSpec<SpanRow> = {
  table: 'spans',
  timeColumn: 'start_ts',
  time: (row) => row.startTs,
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

const METRIC_POINTS: TableSpec<MetricPointRow> = {
  table: 'metric_points',
  timeColumn: 'ts',
  time: (row) => row.ts,
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
    { name: 'bucket_bounds', value: (r) => nullableList(r.bucketBounds) },
    { name: 'bucket_counts', value: (r) => nullableList(r.bucketCounts) },
  ],
};

const DEAD_LETTERS: TableSpec<DeadLetterRow> = {
  table: 'dead_letters',
  timeColumn: 'ts',
  time: (row) => row.ts,
  columns: [
    { name: 'id', value: (r) => r.id },
    { name: 'ts', value: (r) => r.ts },
    { name: 'org_id', value: (r) => r.orgId },
    { name: 'source_topic', value: (r) => r.sourceTopic },
    { name: 'reason', value: (r) => r.reason },
    { name: 'headers', value: (r) => r.headers },
    { name: 'payload', value: (r) => blobValue(r.payload) },
  ],
};

const QUERY_STATS: TableSpec<QueryStatRow> = {
  table: 'query_stats',
  timeColumn: 'interval_end',
  time: (row) => row.intervalEnd,
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

const QUERY_SAMPLES: TableSpec<QuerySampleRow> = {
  table: 'query_samples',
  timeColumn: 'ts',
  time: (row) => row.ts,
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

const ACTIVITY_SAMPLES: TableSpec<SessionRow> = {
  table: 'activity_samples',
  timeColumn: 'ts',
  time: (row) => row.ts,
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
    { name: 'blocked_by', value: (r) => listValue(r.blockedBy) },
  ],
};

const ACTIVITY_SNAPSHOTS: TableSpec<ActivitySnapshotRow> = {
  table: 'activity_snapshots',
  timeColumn: 'ts',
  time: (row) => row.ts,
  columns: [
    { name: 'id', value: (r) => r.id },
    { name: 'ts', value: (r) => r.ts },
    { name: 'org_id', value: (r) => r.orgId },
    { name: 'entity_id', value: (r) => r.entityId },
    { name: 'sessions', value: (r) => r.sessions },
  ],
};

/** No client_address: RumEventRow.clientAddress is only for the enrich stage. */
const RUM_EVENTS: TableSpec<RumEventRow> = {
  table: 'rum_events',
  timeColumn: 'ts',
  time: (row) => row.ts,
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

/** Counts arrive as JS numbers (JSON); BIGINT columns take bigint. */
function int64(value: number): bigint {
  return BigInt(Math.trunc(value));
}

function nullableList(values: ReadonlyArray<number | bigint> | null): DuckDBValue {
  return values === null ? null : listValue(values);
}

type Params = Record<string, DuckDBValue>;

/**
 * The only way reads reach a telemetry table: the caller's org is always the first
 * condition, so no query can see another org's rows.
 */
function orgScoped(
  table: string,
  org: OrgId,
  conditions: readonly string[],
): { from: string; params: Params } {
  return {
    from: `FROM ${table} WHERE org_id = $org${conditions.map((c) => ` AND ${c}`).join('')}`,
    params: { org },
  };
}

/** `orgScoped` for the trace reads, which name their table per subquery. */
function orgTables(org: OrgId): TableScope {
  return (table, conditions) => orgScoped(table, org, conditions);
}

function pointsScope(org: OrgId): PointsScope {
  return (table, conditions) => orgScoped(table, org, conditions);
}

const BIGINT_PARAMS = { fromNs: BIGINT, toNs: BIGINT, stepNs: BIGINT, atNs: BIGINT, snapshotTs: BIGINT };

export class DuckDBStore implements Store {
  private readonly logs: TableWriter<LogRow>;
  private readonly spans: TableWriter<SpanRow>;
  private readonly metricPoints: TableWriter<MetricPointRow>;
  private readonly deadLetters: TableWriter<DeadLetterRow>;
  private readonly queryStats: TableWriter<QueryStatRow>;
  private readonly querySamples: TableWriter<QuerySampleRow>;
  private readonly sessions: TableWriter<SessionRow>;
  private readonly activitySnapshots: TableWriter<ActivitySnapshotRow>;
  private readonly rumEvents: TableWriter<RumEventRow>;
  private readonly entities: EntityWriter;

  constructor(private readonly database: DuckDBDatabase) {
    this.logs = new TableWriter(database, LOGS);
    this.spans = new TableWriter(database, SPANS);
    this.metricPoints = new TableWriter(database, METRIC_POINTS);
    this.deadLetters = new TableWriter(database, DEAD_LETTERS);
    this.queryStats = new TableWriter(database, QUERY_STATS);
    this.querySamples = new TableWriter(database, QUERY_SAMPLES);
    this.sessions = new TableWriter(database, ACTIVITY_SAMPLES);
    this.activitySnapshots = new TableWriter(database, ACTIVITY_SNAPSHOTS);
    this.rumEvents = new TableWriter(database, RUM_EVENTS);
    this.entities = new EntityWriter(database);
  }

  async start(): Promise<void> {
    for (const writer of [
      this.logs,
      this.spans,
      this.metricPoints,
      this.deadLetters,
      this.queryStats,
      this.querySamples,
      this.sessions,
      this.activitySnapshots,
      this.rumEvents,
      this.entities,
    ])
      await writer.open();
  }

  /** The database is closed by its owner, after every role that shares it has stopped. */
  async shutdown(): Promise<void> {}

  writeLogs(rows: readonly LogRow[]): Promise<WriteResult> {
    return this.logs.write(rows);
  }

  writeSpans(rows: readonly SpanRow[]): Promise<WriteResult> {
    return this.spans.write(rows);
  }

  writeMetricPoints(rows: readonly MetricPointRow[]): Promise<WriteResult> {
    return this.metricPoints.write(rows);
  }

  writeDeadLetters(rows: readonly DeadLetterRow[]): Promise<WriteResult> {
    return this.deadLetters.write(rows);
  }

  writeQueryStats(rows: readonly QueryStatRow[]): Promise<WriteResult> {
    return this.queryStats.write(rows);
  }

  writeQuerySamples(rows: readonly QuerySampleRow[]): Promise<WriteResult> {
    return this.querySamples.write(rows);
  }

  writeSessions(rows: readonly SessionRow[]): Promise<WriteResult> {
    return this.sessions.write(rows);
  }

  writeActivitySnapshots(rows: readonly ActivitySnapshotRow[]): Promise<WriteResult> {
    return this.activitySnapshots.write(rows);
  }

  writeRumEvents(rows: readonly RumEventRow[]): Promise<WriteResult> {
    return this.rumEvents.write(rows);
  }

  upsertEntities(rows: readonly EntityRow[]): Promise<WriteResult> {
    return this.entities.upsert(rows);
  }

  queryLogs(org: OrgId, query: LogQuery): Promise<LogQueryResult<StoredLog>> {
    return runLogQuery(this.database, (conditions) => orgScoped('logs', org, conditions), query);
  }

  async searchLogs(org: OrgId, search: LogSearch): Promise<StoredLog[]> {
    const conditions = ['ts >= $fromNs', 'ts < $toNs'];
    const extra: Params = { fromNs: search.fromNs, toNs: search.toNs, limit: search.limit };
    addIn(conditions, extra, 'service', search.services);
    addIn(conditions, extra, 'severity', search.severities);
    addIn(conditions, extra, 'host', search.hosts);
    addIn(conditions, extra, 'trace_id', search.traceIds);
    search.text.forEach((term, index) => {
      conditions.push(`regexp_matches(body, $text${index}, 'is')`);
      extra[`text${index}`] = escapeRegex(term);
    });
    const { from, params } = orgScoped('logs', org, conditions);
    const rows = await this.read(`SELECT ${LOG_COLUMNS} ${from} ORDER BY ts DESC, id DESC LIMIT $limit`, {
      ...params,
      ...extra,
    });
    return rows.map(storedLogOf);
  }

  async getTrace(org: OrgId, traceId: string): Promise<{ spans: StoredSpan[]; truncated: boolean }> {
    const { from, params } = orgScoped('spans', org, ['trace_id = $traceId']);
    const rows = await this.read(
      `SELECT id, start_ts, end_ts, duration_ns, trace_id, span_id, parent_span_id, trace_state, service, host,
              entity_id, name, kind, status, status_message, scope_name, attributes, resource, events, links
       ${from} ORDER BY start_ts, span_id LIMIT $limit`,
      { ...params, traceId, limit: MAX_TRACE_SPANS + 1 },
    );
    const truncated = rows.length > MAX_TRACE_SPANS;
    const spans = rows.slice(0, MAX_TRACE_SPANS).map((r) => ({
      id: str(r.id),
      startTs: big(r.start_ts),
      endTs: big(r.end_ts),
      durationNs: big(r.duration_ns),
      traceId: str(r.trace_id),
      spanId: str(r.span_id),
      parentSpanId: str(r.parent_span_id),
      traceState: str(r.trace_state),
      service: str(r.service),
      host: str(r.host),
      entityId: str(r.entity_id),
      name: str(r.name),
      kind: str(r.kind) as SpanKind,
      status: str(r.status) as SpanStatus,
      statusMessage: str(r.status_message),
      scopeName: str(r.scope_name),
      attributes: str(r.attributes),
      resource: str(r.resource),
      events: str(r.events),
      links: str(r.links),
    }));
    return { spans, truncated };
  }

  searchTraces(org: OrgId, search: TraceSearch): Promise<TraceSummary[]> {
    return runTraceSearch(this.database, orgTables(org), search);
  }

  spanRed(org: OrgId, range: TimeRange, service?: string): Promise<SpanRed[]> {
    return runSpanRed(this.database, orgTables(org), range, service);
  }

  async queryMetrics(
    org: OrgId,
    query: MetricQuery,
  ): Promise<{ series: MetricSeries[]; truncated: boolean }> {
    const filter = entityFilter(query);
    const { from, params } = orgScoped('metric_points', org, [
      'name = $name',
      'ts >= $fromNs',
      'ts < $toNs',
      ...filter.conditions,
    ]);
    const scope = { ...params, ...filter.params, name: query.name, fromNs: query.fromNs, toNs: query.toNs };
    const base = { ...scope, maxPoints: query.maxPoints + 1 };
    const rows =
      query.stepNs === undefined
        ? await this.read(
            `SELECT series_id, ts, ${POINT_VALUE} AS value, hist_count AS count, hist_sum AS sum
             ${from} ORDER BY series_id, ts LIMIT $maxPoints`,
            base,
          )
        : await this.read(
            `SELECT series_id, (ts // $stepNs) * $stepNs AS ts, ${aggregate(query.aggregation, POINT_VALUE)} AS value,
                    sum(hist_count) AS count, sum(hist_sum) AS sum
             ${from} GROUP BY series_id, (ts // $stepNs) ORDER BY series_id, ts LIMIT $maxPoints`,
            { ...base, stepNs: query.stepNs },
          );
    const truncated = rows.length > query.maxPoints;
    if (truncated) rows.length = query.maxPoints;
    const seriesIds = [...new Set(rows.map((r) => str(r.series_id)))];
    if (seriesIds.length === 0) return { series: [], truncated };
    const meta = await this.read(
      `SELECT series_id, any_value(kind) AS kind, any_value(unit) AS unit, any_value(temporality) AS temporality,
              any_value(service) AS service, any_value(labels) AS labels, any_value(resource) AS resource
       ${from} GROUP BY series_id`,
      scope,
    );
    const series = new Map<string, MetricSeries>();
    for (const m of meta) {
      series.set(str(m.series_id), {
        seriesId: str(m.series_id),
        name: query.name,
        kind: str(m.kind) as MetricKind,
        unit: str(m.unit),
        temporality: str(m.temporality) as Temporality,
        service: str(m.service),
        labels: str(m.labels),
        resource: str(m.resource),
        points: [],
      });
    }
    for (const r of rows) {
      series.get(str(r.series_id))?.points.push({
        ts: big(r.ts),
        value: r.value === null ? null : Number(r.value),
        count: r.count === null ? null : big(r.count),
        sum: r.sum === null ? null : Number(r.sum),
      });
    }
    return { series: seriesIds.flatMap((id) => series.get(id) ?? []), truncated };
  }

  listMetricNames(org: OrgId, range: TimeRange, resolution?: SeriesResolution): Promise<MetricNameEntry[]> {
    return readMetricNames(this.database, pointsScope(org), range, resolution);
  }

  rollupsCompleteTo(): Promise<bigint | undefined> {
    return readRollupsCompleteTo(this.database);
  }

  listSeries(
    org: OrgId,
    query: SeriesListQuery,
  ): Promise<{ series: StoredSeriesMeta[]; truncated: boolean }> {
    return readSeriesList(this.database, pointsScope(org), query);
  }

  readSeriesPoints(org: OrgId, query: SeriesPointsQuery): Promise<SeriesPoints[]> {
    return readSeriesPoints(this.database, pointsScope(org), query);
  }

  async countRecords(org: OrgId): Promise<RecordCounts> {
    const count = async (table: string): Promise<number> => {
      const { from, params } = orgScoped(table, org, []);
      const rows = await this.read(`SELECT count(*) AS n ${from}`, params);
      return Number(rows[0]?.n ?? 0);
    };
    return {
      logs: await count('logs'),
      spans: await count('spans'),
      metricPoints: await count('metric_points'),
      deadLetters: await count('dead_letters'),
      queryStats: await count('query_stats'),
      querySamples: await count('query_samples'),
      sessions: await count('activity_samples'),
      entities: await count('entities'),
      rumEvents: await count('rum_events'),
    };
  }

  /** One scan per table, each narrowed to the range by its time column. */
  async countSignals(org: OrgId, range: TimeRange): Promise<SignalCounts> {
    const counts = Object.entries(SIGNAL_TABLES).map(([signal, [table, column]]) => {
      const { from } = orgScoped(table, org, [`${column} >= $fromNs`, `${column} < $toNs`]);
      return `(SELECT count(*) ${from}) AS ${signal}`;
    });
    const rows = await this.read(`SELECT ${counts.join(', ')}`, {
      org,
      fromNs: range.fromNs,
      toNs: range.toNs,
    });
    return signalCountsOf(rows[0] ?? {});
  }

  async listEntities(org: OrgId): Promise<StoredEntity[]> {
    const { from, params } = orgScoped('entities', org, []);
    const rows = await this.read(`SELECT ${ENTITY_COLUMNS} ${from} ORDER BY id LIMIT $limit`, {
      ...params,
      limit: MAX_ENTITIES,
    });
    return rows.map(entityOf);
  }

  async getEntity(org: OrgId, id: string): Promise<StoredEntity | undefined> {
    const { from, params } = orgScoped('entities', org, ['id = $id']);
    const rows = await this.read(`SELECT ${ENTITY_COLUMNS} ${from}`, { ...params, id });
    return rows[0] === undefined ? undefined : entityOf(rows[0]);
  }

  async listMetrics(
    org: OrgId,
    query: MetricCatalogQuery,
  ): Promise<{ metrics: MetricCatalogEntry[]; truncated: boolean }> {
    const filter = entityFilter(query);
    const { from, params } = orgScoped('metric_points', org, [
      'ts >= $fromNs',
      'ts < $toNs',
      ...filter.conditions,
    ]);
    const rows = await this.read(
      `SELECT name, series_id, arg_max(kind, ts) AS kind, arg_max(unit, ts) AS unit,
              arg_max(labels, ts) AS last_labels, max(ts) AS last_ts,
              arg_max(${POINT_VALUE}, ts) AS last_value
       ${from} GROUP BY name, series_id ORDER BY name, last_labels, series_id LIMIT $limit`,
      { ...params, ...filter.params, fromNs: query.fromNs, toNs: query.toNs, limit: MAX_CATALOG_SERIES + 1 },
    );
    const truncated = rows.length > MAX_CATALOG_SERIES;
    if (truncated) rows.length = MAX_CATALOG_SERIES;
    const metrics = new Map<string, MetricCatalogEntry>();
    for (const r of rows) {
      const name = str(r.name);
      let entry = metrics.get(name);
      if (entry === undefined) {
        entry = { name, kind: str(r.kind) as MetricKind, unit: str(r.unit), seriesCount: 0, series: [] };
        metrics.set(name, entry);
      }
      entry.seriesCount++;
      if (entry.series.length < MAX_CATALOG_SERIES_PER_METRIC) {
        entry.series.push({
          seriesId: str(r.series_id),
          labels: str(r.last_labels),
          ts: big(r.last_ts),
          value: num(r.last_value),
        });
      }
    }
    return { metrics: [...metrics.values()], truncated };
  }

  async topQueries(org: OrgId, query: TopQueriesQuery): Promise<TopQueries> {
    const scope = statsScope(query);
    const { from, params } = orgScoped('query_stats', org, scope.conditions);
    const all = { ...params, ...scope.params };
    const overall = await this.read(
      `SELECT sum(calls) AS calls, sum(total_time_ms) AS total_time_ms, count(DISTINCT fingerprint) AS fingerprints
       ${from}`,
      all,
    );
    const top = await this.read(
      `SELECT fingerprint, ${TOTALS_SQL} ${from}
       GROUP BY fingerprint ORDER BY ${QUERY_ORDER[query.order]} DESC NULLS LAST, fingerprint LIMIT $limit`,
      { ...all, limit: query.limit },
    );
    const queries: TopQuery[] = top.map((r) => ({
      fingerprint: str(r.fingerprint),
      query: str(r.query),
      ...totalsOf(r),
      series: [],
    }));
    if (queries.length > 0) {
      const byFingerprint = new Map(queries.map((q) => [q.fingerprint, q]));
      const conditions = [...scope.conditions];
      const seriesParams: Params = { ...scope.params, stepNs: query.stepNs };
      addIn(
        conditions,
        seriesParams,
        'fingerprint',
        queries.map((q) => q.fingerprint),
      );
      const series = orgScoped('query_stats', org, conditions);
      const buckets = await this.read(
        `SELECT fingerprint, (interval_end // $stepNs) * $stepNs AS bucket,
                sum(calls) AS calls, sum(total_time_ms) AS total_time_ms
         ${series.from} GROUP BY fingerprint, bucket ORDER BY fingerprint, bucket`,
        { ...series.params, ...seriesParams },
      );
      for (const b of buckets) {
        byFingerprint.get(str(b.fingerprint))?.series.push({
          ts: big(b.bucket),
          calls: num(b.calls) ?? 0,
          totalTimeMs: num(b.total_time_ms) ?? 0,
        });
      }
    }
    const o = overall[0] ?? {};
    return {
      overall: {
        calls: num(o.calls) ?? 0,
        totalTimeMs: num(o.total_time_ms) ?? 0,
        fingerprints: num(o.fingerprints) ?? 0,
      },
      queries,
    };
  }

  async querySeries(org: OrgId, fingerprint: string, query: QuerySeriesQuery): Promise<QuerySeriesBucket[]> {
    const stats = statsScope(query);
    const inRange = orgScoped('query_stats', org, [...stats.conditions, 'fingerprint = $fingerprint']);
    const rows = await this.read(
      `SELECT (interval_end // $stepNs) * $stepNs AS bucket, sum(calls) AS calls,
              sum(total_time_ms) AS total_time_ms, sum(rows) AS rows,
              sum(shared_blks_hit) AS shared_blks_hit, sum(shared_blks_read) AS shared_blks_read
       ${inRange.from} GROUP BY bucket ORDER BY bucket`,
      { ...inRange.params, ...stats.params, fingerprint, stepNs: query.stepNs },
    );
    return rows.map((r) => ({
      ts: big(r.bucket),
      calls: num(r.calls) ?? 0,
      totalTimeMs: num(r.total_time_ms) ?? 0,
      rows: num(r.rows) ?? 0,
      sharedBlksHit: num(r.shared_blks_hit) ?? 0,
      sharedBlksRead: num(r.shared_blks_read) ?? 0,
    }));
  }

  async queryDetail(org: OrgId, fingerprint: string, scope: QueryScope): Promise<QueryDetail | undefined> {
    const stats = statsScope(scope);
    const inRange = orgScoped('query_stats', org, [...stats.conditions, 'fingerprint = $fingerprint']);
    const params = { ...inRange.params, ...stats.params, fingerprint };
    const totals = await this.read(`SELECT ${TOTALS_SQL} ${inRange.from}`, params);
    const intervals = await this.read(
      `SELECT ${QUERY_STAT_COLUMNS} ${inRange.from} ORDER BY interval_end DESC, id DESC LIMIT $limit`,
      { ...params, limit: MAX_DETAIL_INTERVALS + 1 },
    );
    const intervalsTruncated = intervals.length > MAX_DETAIL_INTERVALS;
    if (intervalsTruncated) intervals.length = MAX_DETAIL_INTERVALS;
    const sampleScope = statsScope(scope, 'ts');
    const sampled = orgScoped('query_samples', org, [
      ...sampleScope.conditions,
      'fingerprint = $fingerprint',
    ]);
    const samples = (
      await this.read(
        `SELECT id, ts, entity_id, database, user_name, fingerprint, query, duration_ms, plan, source
         ${sampled.from} ORDER BY ts DESC, id LIMIT $limit`,
        { ...sampled.params, ...sampleScope.params, fingerprint, limit: MAX_DETAIL_SAMPLES },
      )
    ).map(sampleOf);
    let text = str(totals[0]?.query);
    if (intervals.length === 0 && samples.length === 0) {
      // Nothing in the range: a fingerprint stored at another time is known, one never stored is not.
      const anyTime = statsScope(scope, null);
      const ever = orgScoped('query_stats', org, [...anyTime.conditions, 'fingerprint = $fingerprint']);
      const known = await this.read(
        `SELECT arg_max(query, interval_end) AS query, count(*) AS n ${ever.from}`,
        { ...ever.params, ...anyTime.params, fingerprint },
      );
      text = str(known[0]?.query);
      if (Number(known[0]?.n ?? 0) === 0) {
        const sampledEver = orgScoped('query_samples', org, [
          ...anyTime.conditions,
          'fingerprint = $fingerprint',
        ]);
        const samplesEver = await this.read(
          `SELECT arg_max(query, ts) AS query, count(*) AS n ${sampledEver.from}`,
          { ...sampledEver.params, ...anyTime.params, fingerprint },
        );
        if (Number(samplesEver[0]?.n ?? 0) === 0) return undefined;
        text = str(samplesEver[0]?.query);
      }
    }
    return {
      fingerprint,
      query: text !== '' ? text : (samples[0]?.query ?? ''),
      totals: totalsOf(totals[0] ?? {}),
      intervals: intervals.reverse().map(queryStatOf),
      intervalsTruncated,
      samples,
    };
  }

  listDeadLetters(org: OrgId, query: DeadLetterQuery): Promise<DeadLetterPage> {
    return readDeadLetters(this.database, org, query);
  }

  async activity(org: OrgId, entityId: string, query: ActivityQuery): Promise<Activity> {
    const database = query.database === undefined ? [] : ['database = $database'];
    const dbParams: Params = query.database === undefined ? {} : { database: query.database };
    const latest = orgScoped('activity_snapshots', org, ['entity_id = $entityId', 'ts <= $atNs']);
    const found = await this.read(`SELECT max(ts) AS ts ${latest.from}`, {
      ...latest.params,
      entityId,
      atNs: query.atNs,
    });
    let snapshot: Activity['snapshot'] = null;
    if (found[0]?.ts !== null && found[0]?.ts !== undefined) {
      const snapshotTs = big(found[0].ts);
      const at = orgScoped('activity_samples', org, [
        'entity_id = $entityId',
        'ts = $snapshotTs',
        ...database,
      ]);
      const sessions = (
        await this.read(`SELECT ${SESSION_COLUMNS} ${at.from} ORDER BY pid, id`, {
          ...at.params,
          ...dbParams,
          entityId,
          snapshotTs,
        })
      ).map(sessionOf);
      snapshot = { ts: snapshotTs, sessions, blocking: blockingTree(sessions) };
    }
    const range = ['entity_id = $entityId', 'ts >= $fromNs', 'ts < $toNs'];
    const rangeParams = { entityId, fromNs: query.fromNs, toNs: query.toNs, stepNs: query.stepNs };
    const snapshots = orgScoped('activity_snapshots', org, range);
    const snapshotCounts = await this.read(
      `SELECT (ts // $stepNs) * $stepNs AS bucket, count(*) AS n ${snapshots.from} GROUP BY bucket ORDER BY bucket`,
      { ...snapshots.params, ...rangeParams },
    );
    const samples = orgScoped('activity_samples', org, [...range, ...database]);
    const counts = await this.read(
      `SELECT (ts // $stepNs) * $stepNs AS bucket, state,
              CASE WHEN wait_event_type = '' THEN 'CPU' ELSE wait_event_type END AS wait, count(*) AS n
       ${samples.from} GROUP BY bucket, state, wait ORDER BY bucket`,
      { ...samples.params, ...dbParams, ...rangeParams },
    );
    const buckets = new Map<bigint, ActivityBucket>();
    for (const r of snapshotCounts) {
      buckets.set(big(r.bucket), { ts: big(r.bucket), snapshots: Number(r.n), waits: {}, states: {} });
    }
    for (const r of counts) {
      const bucket = buckets.get(big(r.bucket));
      if (bucket === undefined) continue;
      const average = Number(r.n) / bucket.snapshots;
      const state = str(r.state) === '' ? 'background' : str(r.state);
      bucket.states[state] = (bucket.states[state] ?? 0) + average;
      // "Where did the time go": only sessions running a statement spend it.
      if (state === 'active') bucket.waits[str(r.wait)] = (bucket.waits[str(r.wait)] ?? 0) + average;
    }
    return { snapshot, series: [...buckets.values()] };
  }

  private read(sql: string, params: Params): Promise<Record<string, unknown>[]> {
    const types = Object.fromEntries(
      Object.keys(params).flatMap((k) => (k in BIGINT_PARAMS ? [[k, BIGINT]] : [])),
    );
    return this.database.query(async (connection: DuckDBConnection) => {
      const reader = await connection.runAndReadAll(sql, params, types);
      return reader.getRowObjectsJS();
    });
  }
}

const ENTITY_COLUMNS = 'id, kind, name, parent_id, version, attributes, first_seen, last_seen';

function entityOf(r: Record<string, unknown>): StoredEntity {
  return {
    id: str(r.id),
    kind: str(r.kind),
    name: str(r.name),
    parentId: str(r.parent_id),
    version: str(r.version),
    attributes: str(r.attributes),
    firstSeen: big(r.first_seen),
    lastSeen: big(r.last_seen),
  };
}

/** The conditions of an entity filter; label names go into a JSON path as quoted keys. */
function entityFilter(filter: EntityFilter): { conditions: string[]; params: Params } {
  const conditions: string[] = [];
  const params: Params = {};
  if (filter.entityId !== undefined) {
    conditions.push('entity_id = $entityId');
    params.entityId = filter.entityId;
  }
  Object.entries(filter.labels ?? {}).forEach(([key, value], index) => {
    conditions.push(`json_extract_string(labels, $labelPath${index}) = $labelValue${index}`);
    params[`labelPath${index}`] = `$."${key.replace(/["\\]/g, (c) => `\\${c}`)}"`;
    params[`labelValue${index}`] = value;
  });
  return { conditions, params };
}

/**
 * The conditions of a query scope on a table whose time column is `timeColumn`; without a
 * time column, at any time.
 */
function statsScope(
  scope: QueryScope,
  timeColumn: string | null = 'interval_end',
): { conditions: string[]; params: Params } {
  const conditions: string[] = [];
  const params: Params = {};
  if (timeColumn !== null) {
    conditions.push(`${timeColumn} >= $fromNs`, `${timeColumn} < $toNs`);
    Object.assign(params, { fromNs: scope.fromNs, toNs: scope.toNs });
  }
  if (scope.entityId !== undefined) {
    conditions.push('entity_id = $entityId');
    params.entityId = scope.entityId;
  }
  if (scope.database !== undefined) {
    conditions.push('database = $database');
    params.database = scope.database;
  }
  return { conditions, params };
}

/** Sort keys of the top-queries list; each is an aggregate over one fingerprint's rows. */
const QUERY_ORDER: Record<QueryOrder, string> = {
  total_time: 'sum(total_time_ms)',
  calls: 'sum(calls)',
  mean_time: 'sum(total_time_ms) / nullif(sum(calls), 0)',
  rows: 'sum(rows)',
  io: 'sum(shared_blks_read + shared_blks_written + temp_blks_read + temp_blks_written)',
  rows_examined: 'sum(rows_examined)',
};

const TOTALS_SQL = `arg_max(query, interval_end) AS query, sum(calls) AS calls,
  sum(total_time_ms) AS total_time_ms, max(max_time_ms) AS max_time_ms, sum(rows) AS rows,
  sum(shared_blks_hit) AS shared_blks_hit, sum(shared_blks_read) AS shared_blks_read,
  sum(shared_blks_dirtied) AS shared_blks_dirtied, sum(shared_blks_written) AS shared_blks_written,
  sum(temp_blks_read) AS temp_blks_read, sum(temp_blks_written) AS temp_blks_written,
  sum(wal_bytes) AS wal_bytes, sum(rows_examined) AS rows_examined, sum(lock_time_ms) AS lock_time_ms,
  sum(errors) AS errors, sum(no_index_used) AS no_index_used, sum(tmp_disk_tables) AS tmp_disk_tables,
  list_slice(list_sort(list(DISTINCT database)), 1, ${MAX_DISTINCT_LISTED}) AS databases,
  list_slice(list_sort(list(DISTINCT user_name)), 1, ${MAX_DISTINCT_LISTED}) AS users,
  list_slice(list_sort(list(DISTINCT entity_id)), 1, ${MAX_DISTINCT_LISTED}) AS entity_ids`;

function totalsOf(r: Record<string, unknown>): QueryTotals {
  const calls = num(r.calls) ?? 0;
  const totalTimeMs = num(r.total_time_ms) ?? 0;
  return {
    calls,
    totalTimeMs,
    meanTimeMs: calls === 0 ? 0 : totalTimeMs / calls,
    maxTimeMs: num(r.max_time_ms) ?? 0,
    rows: num(r.rows) ?? 0,
    sharedBlksHit: num(r.shared_blks_hit) ?? 0,
    sharedBlksRead: num(r.shared_blks_read) ?? 0,
    sharedBlksDirtied: num(r.shared_blks_dirtied) ?? 0,
    sharedBlksWritten: num(r.shared_blks_written) ?? 0,
    tempBlksRead: num(r.temp_blks_read) ?? 0,
    tempBlksWritten: num(r.temp_blks_written) ?? 0,
    walBytes: num(r.wal_bytes) ?? 0,
    ...mysqlCountersOf(r),
    databases: strings(r.databases),
    users: strings(r.users),
    entityIds: strings(r.entity_ids),
  };
}

const QUERY_STAT_COLUMNS = `id, interval_start, interval_end, entity_id, database, user_name, query_id, fingerprint,
  query, calls, total_time_ms, min_time_ms, max_time_ms, mean_time_ms, rows, shared_blks_hit, shared_blks_read,
  shared_blks_dirtied, shared_blks_written, temp_blks_read, temp_blks_written, wal_bytes,
  rows_examined, lock_time_ms, errors, no_index_used, tmp_disk_tables`;

/** The digest counters only MySQL and MariaDB have; 0 on PostgreSQL rows. */
function mysqlCountersOf(r: Record<string, unknown>) {
  return {
    rowsExamined: num(r.rows_examined) ?? 0,
    lockTimeMs: num(r.lock_time_ms) ?? 0,
    errors: num(r.errors) ?? 0,
    noIndexUsed: num(r.no_index_used) ?? 0,
    tmpDiskTables: num(r.tmp_disk_tables) ?? 0,
  };
}

function queryStatOf(r: Record<string, unknown>): StoredQueryStat {
  return {
    id: str(r.id),
    intervalStart: big(r.interval_start),
    intervalEnd: big(r.interval_end),
    entityId: str(r.entity_id),
    database: str(r.database),
    userName: str(r.user_name),
    queryId: str(r.query_id),
    fingerprint: str(r.fingerprint),
    query: str(r.query),
    calls: num(r.calls) ?? 0,
    totalTimeMs: num(r.total_time_ms) ?? 0,
    minTimeMs: num(r.min_time_ms) ?? 0,
    maxTimeMs: num(r.max_time_ms) ?? 0,
    meanTimeMs: num(r.mean_time_ms) ?? 0,
    rows: num(r.rows) ?? 0,
    sharedBlksHit: num(r.shared_blks_hit) ?? 0,
    sharedBlksRead: num(r.shared_blks_read) ?? 0,
    sharedBlksDirtied: num(r.shared_blks_dirtied) ?? 0,
    sharedBlksWritten: num(r.shared_blks_written) ?? 0,
    tempBlksRead: num(r.temp_blks_read) ?? 0,
    tempBlksWritten: num(r.temp_blks_written) ?? 0,
    walBytes: num(r.wal_bytes) ?? 0,
    ...mysqlCountersOf(r),
  };
}

function sampleOf(r: Record<string, unknown>): StoredQuerySample {
  return {
    id: str(r.id),
    ts: big(r.ts),
    entityId: str(r.entity_id),
    database: str(r.database),
    userName: str(r.user_name),
    fingerprint: str(r.fingerprint),
    query: str(r.query),
    durationMs: num(r.duration_ms) ?? 0,
    plan: str(r.plan),
    source: str(r.source),
  };
}

const SESSION_COLUMNS = `id, ts, entity_id, pid, database, user_name, application, client_addr, backend_type, state,
  wait_event_type, wait_event, fingerprint, query, duration_ms, xact_duration_ms, blocked_by`;

function sessionOf(r: Record<string, unknown>): StoredSession {
  return {
    id: str(r.id),
    ts: big(r.ts),
    entityId: str(r.entity_id),
    pid: Number(r.pid),
    database: str(r.database),
    userName: str(r.user_name),
    application: str(r.application),
    clientAddr: str(r.client_addr),
    backendType: str(r.backend_type),
    state: str(r.state),
    waitEventType: str(r.wait_event_type),
    waitEvent: str(r.wait_event),
    fingerprint: str(r.fingerprint),
    query: str(r.query),
    durationMs: num(r.duration_ms) ?? 0,
    xactDurationMs: num(r.xact_duration_ms),
    blockedBy: Array.isArray(r.blocked_by) ? r.blocked_by.map(Number) : [],
  };
}

function num(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(str) : [];
}

function addIn(conditions: string[], params: Params, column: string, values: readonly string[]): void {
  if (values.length === 0) return;
  const names = values.map((value, index) => {
    const name = `${column}${index}`;
    params[name] = value;
    return `$${name}`;
  });
  conditions.push(`${column} IN (${names.join(', ')})`);
}

function aggregate(aggregation: MetricQuery['aggregation'], value: string): string {
  switch (aggregation) {
    case 'avg':
      return `avg(${value})`;
    case 'min':
      return `min(${value})`;
    case 'max':
      return `max(${value})`;
    case 'sum':
      return `sum(${value})`;
    case 'count':
      return `count(${value})`;
    case 'last':
      return `arg_max(${value}, ts)`;
  }
}
