import type { Component } from '../core/component.js';
import type { LogQuery, LogQueryResult } from './log-query.js';
import type { BlockingNode } from './blocking-tree.js';
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
  Severity,
  SpanRow,
  SpanStatus,
  Temporality,
} from './rows.js';

export type { BlockingNode };

export interface WriteResult {
  inserted: number;
  /** Rows whose id was already stored (a retried batch or a replayed message). */
  duplicates: number;
}

export interface TimeRange {
  fromNs: bigint;
  /** Exclusive. */
  toNs: bigint;
}

export interface LogSearch extends TimeRange {
  /** Every term must occur in the body, case-insensitively. */
  text: readonly string[];
  services: readonly string[];
  severities: readonly Severity[];
  hosts: readonly string[];
  traceIds: readonly string[];
  limit: number;
}

export type StoredLog = Omit<LogRow, 'orgId'>;
export type StoredSpan = Omit<SpanRow, 'orgId'>;

export type MetricAggregation = 'avg' | 'min' | 'max' | 'sum' | 'count' | 'last';

/** Points of one entity, optionally only those whose labels hold these values. */
export interface EntityFilter {
  entityId?: string;
  /** Label name → value; every one must match (a database's metrics: `postgresql.database.name`). */
  labels?: Readonly<Record<string, string>>;
}

export interface MetricQuery extends TimeRange, EntityFilter {
  name: string;
  /** Bucket width; without it the raw points are returned. */
  stepNs?: bigint;
  aggregation: MetricAggregation;
  /** Across all series; beyond it the result is cut and marked `truncated`. */
  maxPoints: number;
}

export interface MetricSeries {
  seriesId: string;
  name: string;
  kind: MetricKind;
  unit: string;
  temporality: Temporality;
  service: string;
  labels: string;
  resource: string;
  points: MetricPoint[];
}

export interface MetricPoint {
  ts: bigint;
  /** Gauge/sum value, or for histograms the mean of the observations (sum / count). */
  value: number | null;
  count?: bigint | null;
  sum?: number | null;
}

export interface MetricCatalogQuery extends TimeRange, EntityFilter {
  entityId: string;
}

/** One metric an entity reports, with the latest point of each of its series in the range. */
export interface MetricCatalogEntry {
  name: string;
  kind: MetricKind;
  unit: string;
  seriesCount: number;
  /** At most MAX_CATALOG_SERIES_PER_METRIC, by labels. */
  series: Array<{ seriesId: string; labels: string; ts: bigint; value: number | null }>;
}

/** A stored metric name with its latest kind, for mapping PromQL names onto stored ones. */
export interface MetricNameEntry {
  name: string;
  kind: MetricKind;
  unit: string;
  temporality: Temporality;
  monotonic: boolean;
}

/** Raw points, or one of the rollups (each row standing for its bucket's last point). */
export type SeriesResolution = 'raw' | '1m' | '5m' | '1h';

export interface SeriesListQuery extends TimeRange {
  resolution?: SeriesResolution;
  /** Stored metric names; left out, every metric's series. */
  names?: readonly string[];
  /** Beyond it the list is cut and marked `truncated`. */
  maxSeries: number;
}

/** One stored series (metric name, resource and labels) without its points. */
export interface StoredSeriesMeta {
  seriesId: string;
  name: string;
  kind: MetricKind;
  unit: string;
  temporality: Temporality;
  monotonic: boolean;
  service: string;
  host: string;
  entityId: string;
  /** The point labels as JSON text. */
  labels: string;
}

/** `toNs` is inclusive here: PromQL windows end at their evaluation time. */
export interface SeriesPointsQuery extends TimeRange {
  /** Raw by default; histograms (`histogram: true`) only raw. */
  resolution?: SeriesResolution;
  seriesIds: readonly string[];
  /** The series' metric names (the read uses them to skip other metrics' rows). */
  names: readonly string[];
  /** Read histogram observations and buckets instead of values. */
  histogram?: boolean;
  /** More points than this across all series is SL_ERR_QUERY_LIMIT. */
  maxPoints: number;
}

/** Points of one series in time order; for histograms `values` holds the observation counts. */
export interface SeriesPoints {
  timestampsMs: Float64Array;
  values: Float64Array;
  histogram?: {
    sums: Float64Array;
    /** Per point: the explicit bucket bounds and the per-bucket (not cumulative) counts. */
    bounds: readonly (readonly number[])[];
    counts: readonly (readonly number[])[];
  };
  /** Rollup rows: the increase within each bucket (null → NaN) of a sum and of a histogram's observations. */
  rollup?: {
    deltas: Float64Array;
    histCountDeltas: Float64Array;
    histSumDeltas: Float64Array;
  };
}

export const MAX_CATALOG_SERIES = 10_000;
export const MAX_CATALOG_SERIES_PER_METRIC = 100;

export type StoredEntity = Omit<EntityRow, 'orgId'>;
export type StoredQueryStat = Omit<QueryStatRow, 'orgId'>;
export type StoredQuerySample = Omit<QuerySampleRow, 'orgId'>;
export type StoredSession = Omit<SessionRow, 'orgId'>;

/** Which query statistics to read: an instance (and one database of it), a time range of interval ends. */
export interface QueryScope extends TimeRange {
  entityId?: string;
  database?: string;
}

/** `io`: blocks read from or written to the OS (shared read + written, temp read + written). */
/** `io` counts PostgreSQL's blocks read and written; `rows_examined` is MySQL's rows read per result. */
export type QueryOrder = 'total_time' | 'calls' | 'mean_time' | 'rows' | 'io' | 'rows_examined';

export interface TopQueriesQuery extends QueryScope {
  order: QueryOrder;
  limit: number;
  /** Width of the buckets of each statement's time series. */
  stepNs: bigint;
}

export interface QueryTotals {
  calls: number;
  totalTimeMs: number;
  /** totalTimeMs / calls; 0 without calls. */
  meanTimeMs: number;
  /** The largest max_time_ms reported in the range (pg_stat_statements keeps it since its reset). */
  maxTimeMs: number;
  rows: number;
  sharedBlksHit: number;
  sharedBlksRead: number;
  sharedBlksDirtied: number;
  sharedBlksWritten: number;
  tempBlksRead: number;
  tempBlksWritten: number;
  walBytes: number;
  rowsExamined: number;
  lockTimeMs: number;
  errors: number;
  noIndexUsed: number;
  tmpDiskTables: number;
  /** Distinct values, sorted, at most MAX_DISTINCT_LISTED each. */
  databases: string[];
  users: string[];
  entityIds: string[];
}

export const MAX_DISTINCT_LISTED = 100;

export interface QueryBucket {
  ts: bigint;
  calls: number;
  totalTimeMs: number;
}

export interface TopQuery extends QueryTotals {
  fingerprint: string;
  /** The newest text seen for the fingerprint in the range. */
  query: string;
  series: QueryBucket[];
}

export interface TopQueries {
  /** Over every statement in the scope, not only the listed ones: the denominators of shares. */
  overall: { calls: number; totalTimeMs: number; fingerprints: number };
  queries: TopQuery[];
}

export interface QueryDetail {
  fingerprint: string;
  query: string;
  totals: QueryTotals;
  /** Oldest first; the newest MAX_DETAIL_INTERVALS when there are more. */
  intervals: StoredQueryStat[];
  intervalsTruncated: boolean;
  /** Newest first, at most MAX_DETAIL_SAMPLES. */
  samples: StoredQuerySample[];
}

export const MAX_DETAIL_INTERVALS = 5_000;

/** One statement's intervals summed per bucket of `stepNs` (by interval end). */
export interface QuerySeriesQuery extends QueryScope {
  stepNs: bigint;
}

export interface QuerySeriesBucket {
  /** Start of the bucket. */
  ts: bigint;
  calls: number;
  totalTimeMs: number;
  rows: number;
  sharedBlksHit: number;
  sharedBlksRead: number;
}
export const MAX_DETAIL_SAMPLES = 50;

export interface ActivityQuery extends TimeRange {
  /** The snapshot shown is the last one at or before this time. */
  atNs: bigint;
  stepNs: bigint;
  /** Only sessions connected to this database (a database entity's view of its instance). */
  database?: string;
}

export interface ActivityBucket {
  ts: bigint;
  /** Snapshots taken in the bucket; the values below are averages over them. */
  snapshots: number;
  /** Active sessions by wait_event_type ('CPU' for active sessions not waiting): average active sessions. */
  waits: Record<string, number>;
  /** All sessions by state (active, idle, idle in transaction, …): average sessions. */
  states: Record<string, number>;
}

export interface Activity {
  snapshot: { ts: bigint; sessions: StoredSession[]; blocking: BlockingNode[] } | null;
  series: ActivityBucket[];
}

/** The most spans one trace read returns; `truncated` says when a trace has more. */
export const MAX_TRACE_SPANS = 10_000;

/**
 * `POST /api/v1/traces/search`: traces with at least one span in the range (by start) that
 * matches every given filter; the duration bounds are that span's, inclusive.
 */
export interface TraceSearch extends TimeRange {
  service?: string;
  /** The span name. */
  operation?: string;
  minDurationNs?: bigint;
  maxDurationNs?: bigint;
  status?: SpanStatus;
  /** Key → value; each must equal the span attribute or, failing that, the resource attribute. */
  attributes: Readonly<Record<string, string>>;
  limit: number;
}

/** One trace found by a search, summarised over all its stored spans. */
export interface TraceSummary {
  traceId: string;
  /** Of the span without a parent (else the earliest span). */
  rootService: string;
  rootOperation: string;
  startTs: bigint;
  /** Earliest start to latest end. */
  durationNs: bigint;
  spanCount: number;
  errorCount: number;
}

/** Rate, errors and duration of one service or operation, from the span_latency_1m rollup. */
export interface SpanRed {
  service: string;
  /** The span name; empty when grouped by service only. */
  operation: string;
  count: number;
  errors: number;
  meanNs: number;
  /** Count-weighted averages of the per-minute quantiles: approximate (see trace-sql.ts). */
  p50Ns: number;
  p95Ns: number;
  p99Ns: number;
}

export interface RecordCounts {
  logs: number;
  spans: number;
  metricPoints: number;
  deadLetters: number;
  queryStats: number;
  querySamples: number;
  sessions: number;
  entities: number;
  rumEvents: number;
}

/** The first bytes of a dead letter's payload a read returns (a preview, never the whole record). */
export const DEAD_LETTER_HEAD_BYTES = 512;
export const MAX_DEAD_LETTER_REASONS = 50;

/** Dead letters stored in the range, newest first (by `ts`, then `id` descending). */
export interface DeadLetterQuery extends TimeRange {
  limit: number;
  /** Only rows after this one in that order: the last row of the previous page. */
  after?: { ts: bigint; id: string };
}

export interface StoredDeadLetter {
  id: string;
  ts: bigint;
  sourceTopic: string;
  reason: string;
  /** The message headers as JSON text. */
  headers: string;
  /** The payload's length in bytes. */
  size: number;
  /** Its first DEAD_LETTER_HEAD_BYTES bytes. */
  payloadHead: Uint8Array;
}

export interface DeadLetterReasonCount {
  sourceTopic: string;
  reason: string;
  count: number;
}

export interface DeadLetterPage {
  /** At most `limit`; `more` when older rows in the range follow. */
  records: StoredDeadLetter[];
  more: boolean;
  /** Every dead letter in the range, whatever the page. */
  total: number;
  /** Counts per source topic and reason over the range, most first, at most MAX_DEAD_LETTER_REASONS. */
  reasons: DeadLetterReasonCount[];
}

/** `usage_daily` of one org (both usage stores): records and bytes per signal per UTC day. */
export interface UsageDay {
  /** `YYYY-MM-DD`. */
  day: string;
  signal: string;
  records: number;
  bytes: number;
}

export interface UsageReader {
  /** From `fromDay` to `toDay` (`YYYY-MM-DD`, both included), oldest first. */
  usage(org: OrgId, fromDay: string, toDay: string): Promise<UsageDay[]>;
}

/**
 * Records stored per signal whose own time falls in a range (logs, metric points, samples and
 * sessions by `ts`, spans by start, query statistics by interval end): what the overview shows
 * as ingest volume.
 */
export interface SignalCounts {
  logs: number;
  spans: number;
  metricPoints: number;
  queryStats: number;
  querySamples: number;
  sessions: number;
  rumEvents: number;
}

/**
 * Where telemetry rows live. Writes are batches committed in one transaction and
 * deduplicated by row id; every read takes the caller's org and sees only its rows.
 */
export interface Store extends Component {
  writeLogs(rows: readonly LogRow[]): Promise<WriteResult>;
  writeSpans(rows: readonly SpanRow[]): Promise<WriteResult>;
  writeMetricPoints(rows: readonly MetricPointRow[]): Promise<WriteResult>;
  writeDeadLetters(rows: readonly DeadLetterRow[]): Promise<WriteResult>;
  writeQueryStats(rows: readonly QueryStatRow[]): Promise<WriteResult>;
  writeQuerySamples(rows: readonly QuerySampleRow[]): Promise<WriteResult>;
  writeSessions(rows: readonly SessionRow[]): Promise<WriteResult>;
  /** Written after the snapshots' sessions, so a visible snapshot has all its sessions. */
  writeActivitySnapshots(rows: readonly ActivitySnapshotRow[]): Promise<WriteResult>;
  /**
   * Inserts new entities and merges known ones (by org and id): first seen is the earliest,
   * last seen the latest, the other fields come from the record seen last. `inserted` counts
   * new entities, `duplicates` every other row of the batch (merged into a known or new entity).
   */
  upsertEntities(rows: readonly EntityRow[]): Promise<WriteResult>;
  writeRumEvents(rows: readonly RumEventRow[]): Promise<WriteResult>;

  searchLogs(org: OrgId, search: LogSearch): Promise<StoredLog[]>;
  /** The log search language (`POST /api/v1/logs/search`): a page of rows newest first, or counts. */
  queryLogs(org: OrgId, query: LogQuery): Promise<LogQueryResult<StoredLog>>;
  getTrace(org: OrgId, traceId: string): Promise<{ spans: StoredSpan[]; truncated: boolean }>;
  /** Newest trace start first, at most `search.limit`. */
  searchTraces(org: OrgId, search: TraceSearch): Promise<TraceSummary[]>;
  /** Per service (or per operation of `service`), busiest first, over rollup minutes in the range. */
  spanRed(org: OrgId, range: TimeRange, service?: string): Promise<SpanRed[]>;
  queryMetrics(org: OrgId, query: MetricQuery): Promise<{ series: MetricSeries[]; truncated: boolean }>;
  /** The metric names with points in the range. */
  listMetricNames(org: OrgId, range: TimeRange, resolution?: SeriesResolution): Promise<MetricNameEntry[]>;
  /** Rollup buckets before this time were complete when last computed; undefined before the first pass. */
  rollupsCompleteTo(): Promise<bigint | undefined>;
  listSeries(org: OrgId, query: SeriesListQuery): Promise<{ series: StoredSeriesMeta[]; truncated: boolean }>;
  /** One entry per `query.seriesIds`, in that order. */
  readSeriesPoints(org: OrgId, query: SeriesPointsQuery): Promise<SeriesPoints[]>;
  countRecords(org: OrgId): Promise<RecordCounts>;
  /** Records per signal with their time in the range (SignalCounts). */
  countSignals(org: OrgId, range: TimeRange): Promise<SignalCounts>;

  listEntities(org: OrgId): Promise<StoredEntity[]>;
  getEntity(org: OrgId, id: string): Promise<StoredEntity | undefined>;
  /** The metrics an entity reported in the range; `truncated` when it has more than MAX_CATALOG_SERIES series. */
  listMetrics(
    org: OrgId,
    query: MetricCatalogQuery,
  ): Promise<{ metrics: MetricCatalogEntry[]; truncated: boolean }>;
  topQueries(org: OrgId, query: TopQueriesQuery): Promise<TopQueries>;
  /** Undefined when the fingerprint was never stored in this scope (at any time). */
  queryDetail(org: OrgId, fingerprint: string, scope: QueryScope): Promise<QueryDetail | undefined>;
  /** Oldest first; buckets without an interval are left out. */
  querySeries(org: OrgId, fingerprint: string, query: QuerySeriesQuery): Promise<QuerySeriesBucket[]>;
  activity(org: OrgId, entityId: string, query: ActivityQuery): Promise<Activity>;
  /** The dead-letter topic's records as the processor stored them (`GET /api/v1/dead-letters`). */
  listDeadLetters(org: OrgId, query: DeadLetterQuery): Promise<DeadLetterPage>;
}

export const MAX_ENTITIES = 10_000;
