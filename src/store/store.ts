import type { Component } from '../core/component.js';
import type {
  DeadLetterRow,
  LogRow,
  MetricKind,
  MetricPointRow,
  OrgId,
  Severity,
  SpanRow,
  Temporality,
} from './rows.js';

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

export interface MetricQuery extends TimeRange {
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

/** The most spans one trace read returns; `truncated` says when a trace has more. */
export const MAX_TRACE_SPANS = 10_000;

export interface RecordCounts {
  logs: number;
  spans: number;
  metricPoints: number;
  deadLetters: number;
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

  searchLogs(org: OrgId, search: LogSearch): Promise<StoredLog[]>;
  getTrace(org: OrgId, traceId: string): Promise<{ spans: StoredSpan[]; truncated: boolean }>;
  queryMetrics(org: OrgId, query: MetricQuery): Promise<{ series: MetricSeries[]; truncated: boolean }>;
  countRecords(org: OrgId): Promise<RecordCounts>;
}
