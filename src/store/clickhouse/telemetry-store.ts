import type {
  ActivitySnapshotRow,
  DeadLetterRow,
  EntityRow,
  LogRow,
  MetricPointRow,
  OrgId,
  QuerySampleRow,
  QueryStatRow,
  RumEventRow,
  SessionRow,
  SpanKind,
  SpanRow,
  SpanStatus,
} from '../rows.js';
import type { LogQuery, LogQueryResult } from '../log-query.js';
import type {
  Activity,
  ActivityQuery,
  DeadLetterPage,
  DeadLetterQuery,
  LogSearch,
  MetricCatalogEntry,
  MetricCatalogQuery,
  MetricNameEntry,
  MetricQuery,
  MetricSeries,
  QueryDetail,
  QueryScope,
  QuerySeriesBucket,
  QuerySeriesQuery,
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
  StoredSeriesMeta,
  StoredSpan,
  TimeRange,
  TopQueries,
  TopQueriesQuery,
  TraceSearch,
  TraceSummary,
  WriteResult,
} from '../store.js';
import { SIGNAL_TABLES, signalCountsOf } from '../signal-counts.js';
import { MAX_ENTITIES, MAX_TRACE_SPANS } from '../store.js';
import type { ClickhouseDatabase } from './database.js';
import {
  LOG_COLUMNS,
  bodyContains,
  list,
  runLogQuery,
  storedLogOf,
  type LogRecord,
} from './log-search-sql.js';
import {
  readMetricNames,
  readRollupsCompleteTo,
  readSeriesList,
  readSeriesPoints,
} from './metric-series-sql.js';
import { listMetrics, queryMetrics } from './metric-query-sql.js';
import { readActivity } from './activity-sql.js';
import { readDeadLetters } from './dead-letter-sql.js';
import { readQueryDetail, readQuerySeries, readTopQueries } from './query-stats-sql.js';
import { orgScoped } from './scope.js';
import { runSpanRed, runTraceSearch } from './trace-sql.js';
import { identifier, joinSql, sql, type Sql } from './sql.js';
import { EntityWriter, TableWriter } from './table-writer.js';
import * as tables from './tables.js';

export { orgScoped };

/**
 * Which Store methods the ClickHouse store has: all of them now (the class implements Store);
 * kept as a name for callers that typed against the partial store.
 */
export type ClickhouseStorePart = Store;

/** An entity's merged sighting (schema.ts ENTITIES): the -Merge of each state, per id. */
const ENTITY_SELECT = sql`SELECT id, argMaxMerge(kind) AS kind, argMaxMerge(name) AS name,
  argMaxMerge(parent_id) AS parent_id, argMaxMerge(version) AS version,
  argMaxMerge(attributes) AS attributes, minMerge(first_seen) AS first_seen, maxMerge(last_seen) AS last_seen`;

interface EntityRecord {
  id: string;
  kind: string;
  name: string;
  parent_id: string;
  version: string;
  attributes: string;
  first_seen: string;
  last_seen: string;
}

function entityOf(r: EntityRecord): StoredEntity {
  return {
    id: r.id,
    kind: r.kind,
    name: r.name,
    parentId: r.parent_id,
    version: r.version,
    attributes: r.attributes,
    firstSeen: BigInt(r.first_seen),
    lastSeen: BigInt(r.last_seen),
  };
}

interface SpanRecord {
  id: string;
  start_ts: string;
  end_ts: string;
  duration_ns: string;
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  trace_state: string;
  service: string;
  host: string;
  entity_id: string;
  name: string;
  kind: string;
  status: string;
  status_message: string;
  scope_name: string;
  attributes: string;
  resource: string;
  events: string;
  links: string;
}

export class ClickhouseStore implements Store {
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

  constructor(private readonly database: ClickhouseDatabase) {
    this.logs = new TableWriter(database, tables.LOGS);
    this.spans = new TableWriter(database, tables.SPANS);
    this.metricPoints = new TableWriter(database, tables.METRIC_POINTS);
    this.deadLetters = new TableWriter(database, tables.DEAD_LETTERS);
    this.queryStats = new TableWriter(database, tables.QUERY_STATS);
    this.querySamples = new TableWriter(database, tables.QUERY_SAMPLES);
    this.sessions = new TableWriter(database, tables.ACTIVITY_SAMPLES);
    this.activitySnapshots = new TableWriter(database, tables.ACTIVITY_SNAPSHOTS);
    this.rumEvents = new TableWriter(database, tables.RUM_EVENTS);
    this.entities = new EntityWriter(database);
  }

  /** Checks every writer's columns against the tables; run the migrations first. */
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

  /** The client is closed by its owner, after every role that shares it has stopped. */
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

  /** The log search language (log-search-sql.ts); deduplicated by FINAL, newest first. */
  queryLogs(org: OrgId, query: LogQuery): Promise<LogQueryResult<StoredLog>> {
    return runLogQuery(this.database, org, query);
  }

  /** GET /api/v1/logs: every text term is a case-insensitive substring of the body. */
  async searchLogs(org: OrgId, search: LogSearch): Promise<StoredLog[]> {
    const conditions: Sql[] = [sql`ts >= ${search.fromNs}`, sql`ts < ${search.toNs}`];
    const addIn = (column: Sql, values: readonly string[]): void => {
      if (values.length > 0) conditions.push(sql`${column} IN (${list(values)})`);
    };
    addIn(sql`service`, search.services);
    addIn(sql`severity`, search.severities);
    addIn(sql`host`, search.hosts);
    addIn(sql`trace_id`, search.traceIds);
    for (const term of search.text) conditions.push(bodyContains(term));
    const rows = await this.database.select<LogRecord>(
      sql`SELECT ${LOG_COLUMNS} ${orgScoped('logs', org, conditions)} ORDER BY ts DESC, id DESC LIMIT ${search.limit}`,
    );
    return rows.map(storedLogOf);
  }

  listMetricNames(org: OrgId, range: TimeRange, resolution?: SeriesResolution): Promise<MetricNameEntry[]> {
    return readMetricNames(this.database, org, range, resolution);
  }

  rollupsCompleteTo(): Promise<bigint | undefined> {
    return readRollupsCompleteTo(this.database);
  }

  listSeries(
    org: OrgId,
    query: SeriesListQuery,
  ): Promise<{ series: StoredSeriesMeta[]; truncated: boolean }> {
    return readSeriesList(this.database, org, query);
  }

  readSeriesPoints(org: OrgId, query: SeriesPointsQuery): Promise<SeriesPoints[]> {
    return readSeriesPoints(this.database, org, query);
  }

  queryMetrics(org: OrgId, query: MetricQuery): Promise<{ series: MetricSeries[]; truncated: boolean }> {
    return queryMetrics(this.database, org, query);
  }

  listMetrics(
    org: OrgId,
    query: MetricCatalogQuery,
  ): Promise<{ metrics: MetricCatalogEntry[]; truncated: boolean }> {
    return listMetrics(this.database, org, query);
  }

  searchTraces(org: OrgId, search: TraceSearch): Promise<TraceSummary[]> {
    return runTraceSearch(this.database, org, search);
  }

  spanRed(org: OrgId, range: TimeRange, service?: string): Promise<SpanRed[]> {
    return runSpanRed(this.database, org, range, service);
  }

  /** Statements ranked over query_stats, with their totals and time series (query-stats-sql.ts). */
  topQueries(org: OrgId, query: TopQueriesQuery): Promise<TopQueries> {
    return readTopQueries(this.database, org, query);
  }

  queryDetail(org: OrgId, fingerprint: string, scope: QueryScope): Promise<QueryDetail | undefined> {
    return readQueryDetail(this.database, org, fingerprint, scope);
  }

  listDeadLetters(org: OrgId, query: DeadLetterQuery): Promise<DeadLetterPage> {
    return readDeadLetters(this.database, org, query);
  }

  querySeries(org: OrgId, fingerprint: string, query: QuerySeriesQuery): Promise<QuerySeriesBucket[]> {
    return readQuerySeries(this.database, org, fingerprint, query);
  }

  /** Sessions of a moment with their blocking tree, and sessions over time (activity-sql.ts). */
  activity(org: OrgId, entityId: string, query: ActivityQuery): Promise<Activity> {
    return readActivity(this.database, org, entityId, query);
  }

  async countRecords(org: OrgId): Promise<RecordCounts> {
    const count = async (table: string): Promise<number> => {
      const rows = await this.database.select<{ n: string }>(
        sql`SELECT count() AS n ${orgScoped(table, org, [])}`,
      );
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
      // FINAL folds each entity's states into one row.
      entities: await count('entities'),
      rumEvents: await count('rum_events'),
    };
  }

  /** One count per table in one statement, each narrowed to the range by its time column (the partition key). */
  async countSignals(org: OrgId, range: TimeRange): Promise<SignalCounts> {
    const counts = Object.entries(SIGNAL_TABLES).map(
      ([signal, [table, column]]) =>
        sql`(SELECT count() ${orgScoped(table, org, [
          sql`${identifier(column)} >= ${range.fromNs}`,
          sql`${identifier(column)} < ${range.toNs}`,
        ])}) AS ${identifier(signal)}`,
    );
    const rows = await this.database.select<Record<string, string>>(sql`SELECT ${joinSql(counts, ', ')}`);
    return signalCountsOf(rows[0] ?? {});
  }

  async listEntities(org: OrgId): Promise<StoredEntity[]> {
    const rows = await this.database.select<EntityRecord>(
      sql`${ENTITY_SELECT} ${orgScoped('entities', org, [])} GROUP BY id ORDER BY id LIMIT ${MAX_ENTITIES}`,
    );
    return rows.map(entityOf);
  }

  async getEntity(org: OrgId, id: string): Promise<StoredEntity | undefined> {
    const rows = await this.database.select<EntityRecord>(
      sql`${ENTITY_SELECT} ${orgScoped('entities', org, [sql`id = ${id}`])} GROUP BY id`,
    );
    return rows[0] === undefined ? undefined : entityOf(rows[0]);
  }

  /**
   * The trace's time bounds from spans_trace_index first (a key lookup), then its spans in that
   * range: spans is ordered by service and time, not by trace id (schema.ts).
   */
  async getTrace(org: OrgId, traceId: string): Promise<{ spans: StoredSpan[]; truncated: boolean }> {
    const bounds = await this.database.select<{ lo: string; hi: string }>(
      sql`SELECT minMerge(min_start_ts) AS lo, maxMerge(max_start_ts) AS hi
          ${orgScoped('spans_trace_index', org, [sql`trace_id = ${traceId}`])} GROUP BY trace_id`,
    );
    const bound = bounds[0];
    if (bound === undefined) return { spans: [], truncated: false };
    const rows = await this.database.select<SpanRecord>(
      sql`SELECT id, start_ts, end_ts, duration_ns, trace_id, span_id, parent_span_id, trace_state, service, host,
                 entity_id, name, kind, status, status_message, scope_name, attributes, resource, events, links
          ${orgScoped('spans', org, [
            sql`trace_id = ${traceId}`,
            sql`start_ts >= ${BigInt(bound.lo)}`,
            sql`start_ts <= ${BigInt(bound.hi)}`,
          ])}
          ORDER BY start_ts, span_id LIMIT ${MAX_TRACE_SPANS + 1}`,
    );
    const truncated = rows.length > MAX_TRACE_SPANS;
    const spans = rows.slice(0, MAX_TRACE_SPANS).map((r): StoredSpan => ({
      id: r.id,
      startTs: BigInt(r.start_ts),
      endTs: BigInt(r.end_ts),
      durationNs: BigInt(r.duration_ns),
      traceId: r.trace_id,
      spanId: r.span_id,
      parentSpanId: r.parent_span_id,
      traceState: r.trace_state,
      service: r.service,
      host: r.host,
      entityId: r.entity_id,
      name: r.name,
      kind: r.kind as SpanKind,
      status: r.status as SpanStatus,
      statusMessage: r.status_message,
      scopeName: r.scope_name,
      attributes: r.attributes,
      resource: r.resource,
      events: r.events,
      links: r.links,
    }));
    return { spans, truncated };
  }
}
