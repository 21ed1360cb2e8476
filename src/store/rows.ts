import type { Severity } from '../core/severity.js';

export type { Severity };

/**
 * Rows as the store keeps them (the table contracts of DESIGN.md). Timestamps are
 * nanoseconds since the Unix epoch (UTC) as bigint; attribute maps are JSON text.
 */

export type OrgId = string & { readonly __brand: 'OrgId' };

export function orgId(value: string): OrgId {
  return value as OrgId;
}

export interface LogRow {
  id: string;
  ts: bigint;
  observedTs: bigint;
  orgId: OrgId;
  service: string;
  host: string;
  entityId: string;
  severity: Severity;
  severityNumber: number;
  severityText: string;
  body: string;
  traceId: string;
  spanId: string;
  eventName: string;
  scopeName: string;
  attributes: string;
  resource: string;
}

export type SpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type SpanStatus = 'unset' | 'ok' | 'error';

export interface SpanRow {
  id: string;
  startTs: bigint;
  endTs: bigint;
  durationNs: bigint;
  orgId: OrgId;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  traceState: string;
  service: string;
  host: string;
  entityId: string;
  name: string;
  kind: SpanKind;
  status: SpanStatus;
  statusMessage: string;
  scopeName: string;
  attributes: string;
  resource: string;
  events: string;
  links: string;
}

export type MetricKind = 'gauge' | 'sum' | 'histogram';
export type Temporality = '' | 'delta' | 'cumulative';

export interface MetricPointRow {
  id: string;
  ts: bigint;
  startTs: bigint;
  orgId: OrgId;
  entityId: string;
  service: string;
  host: string;
  /** Digest of name, resource and labels: one series. */
  seriesId: string;
  name: string;
  kind: MetricKind;
  unit: string;
  temporality: Temporality;
  monotonic: boolean;
  /** Gauge and sum points; null for histograms. */
  value: number | null;
  labels: string;
  resource: string;
  scopeName: string;
  histCount: bigint | null;
  histSum: number | null;
  histMin: number | null;
  histMax: number | null;
  bucketBounds: number[] | null;
  bucketCounts: bigint[] | null;
}

export interface DeadLetterRow {
  id: string;
  ts: bigint;
  orgId: OrgId;
  sourceTopic: string;
  reason: string;
  headers: string;
  payload: Uint8Array;
}

/** One statement shape on one database for one interval (pg_stat_statements deltas). */
export interface QueryStatRow {
  id: string;
  intervalStart: bigint;
  intervalEnd: bigint;
  orgId: OrgId;
  /** The instance the statement ran on. */
  entityId: string;
  database: string;
  userName: string;
  queryId: string;
  fingerprint: string;
  /** Normalized: literals replaced by placeholders. */
  query: string;
  calls: number;
  totalTimeMs: number;
  minTimeMs: number;
  maxTimeMs: number;
  meanTimeMs: number;
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
}

/** One execution of a statement, usually a slow one, with its plan. */
export interface QuerySampleRow {
  id: string;
  ts: bigint;
  orgId: OrgId;
  entityId: string;
  database: string;
  userName: string;
  fingerprint: string;
  query: string;
  durationMs: number;
  /** EXPLAIN output: JSON text when the server gave JSON, else as written, or empty. */
  plan: string;
  /** Where the sample came from: the log line's category (`plan` for auto_explain). */
  source: string;
}

/** One session of one server at one moment (a row of pg_stat_activity). */
export interface SessionRow {
  id: string;
  ts: bigint;
  orgId: OrgId;
  entityId: string;
  pid: number;
  database: string;
  userName: string;
  application: string;
  clientAddr: string;
  backendType: string;
  state: string;
  waitEventType: string;
  waitEvent: string;
  fingerprint: string;
  query: string;
  durationMs: number;
  xactDurationMs: number | null;
  /** The pids this session waits for. */
  blockedBy: number[];
}

/** That a server was sampled at a moment, with how many sessions it had (possibly none). */
export interface ActivitySnapshotRow {
  id: string;
  ts: bigint;
  orgId: OrgId;
  entityId: string;
  sessions: number;
}

/** Something a collector watches: an instance, a database, a host. */
export interface EntityRow {
  orgId: OrgId;
  id: string;
  kind: string;
  name: string;
  /** The entity this one belongs to (a database's instance), or empty. */
  parentId: string;
  version: string;
  attributes: string;
  firstSeen: bigint;
  lastSeen: bigint;
}

/** What a browser event is (raw-rum's `type`). */
export type RumEventType =
  'page_view' | 'web_vital' | 'error' | 'resource' | 'action' | 'session_start' | 'custom';

/** One browser event (Real User Monitoring): a page view, a web vital, an error, … */
export interface RumEventRow {
  id: string;
  ts: bigint;
  orgId: OrgId;
  sessionId: string;
  viewId: string;
  type: RumEventType;
  /** web_vital: LCP, CLS, INP, FCP, TTFB; action, custom, resource: what it names. */
  name: string;
  /** web_vital: milliseconds (CLS: a score); custom: any number. */
  value: number | null;
  url: string;
  /** The URL's path, for grouping pages without their query strings. */
  urlPath: string;
  referrer: string;
  title: string;
  message: string;
  stack: string;
  errorType: string;
  durationMs: number | null;
  /** The web app (`app` of the request). */
  service: string;
  release: string;
  userAgent: string;
  /** Filled by the enrich stage from `userAgent`. */
  browserName: string;
  browserVersion: string;
  osName: string;
  osVersion: string;
  /** ua-parser's device type (mobile, tablet, …); empty for a desktop browser. */
  deviceType: string;
  /** Filled by the enrich stage from `clientAddress`: ISO 3166-1 alpha-2, and the city. */
  country: string;
  city: string;
  /**
   * Where the event came from, for the enrich stage's GeoIP only. Never stored: an IP address is
   * personal data (GDPR; CJEU C-582/14 Breyer), and `rum_events` has no column for it.
   */
  clientAddress: string;
  attributes: string;
}
