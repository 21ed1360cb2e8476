import { z } from 'zod';

/**
 * The JSON records collectors publish on the `raw-*` topics (DESIGN.md "Topics"). They are
 * a contract between roles that may run different versions, so the processor validates every
 * record against these schemas and sends what does not fit to the dead-letter topic.
 *
 * Times are nanoseconds since the epoch as decimal strings: they do not fit a JSON number.
 */

const nsTime = z.string().regex(/^\d{1,19}$/, 'must be nanoseconds since the epoch as a decimal string');
const count = z.number().int().nonnegative();
const millis = z.number().nonnegative();
const text = z.string().max(1_000_000);

/** raw-queries: one statement shape on one database for one interval (deltas, never totals). */
export const queryStatsRecord = z.strictObject({
  type: z.literal('query_stats'),
  entityId: z.string().min(1),
  database: z.string(),
  user: z.string(),
  /** The server's own id for the statement (pg_stat_statements queryid: a signed int64 as text). */
  queryId: z.string(),
  /** libpg-query fingerprint of the normalized text: equal across servers for the same shape. */
  fingerprint: z.string().min(1),
  /** Normalized text: literals replaced by placeholders. */
  query: text,
  intervalStart: nsTime,
  intervalEnd: nsTime,
  calls: count,
  totalTimeMs: millis,
  /** pg_stat_statements keeps min/max since its last reset, not per interval. */
  minTimeMs: millis,
  maxTimeMs: millis,
  meanTimeMs: millis,
  rows: count,
  sharedBlksHit: count,
  sharedBlksRead: count,
  sharedBlksDirtied: count,
  sharedBlksWritten: count,
  tempBlksRead: count,
  tempBlksWritten: count,
  walBytes: count,
  /** MySQL/MariaDB digests: rows read to produce the result (PostgreSQL has no such counter: 0). */
  rowsExamined: count.default(0),
  /** MySQL/MariaDB: time spent waiting for table locks. */
  lockTimeMs: millis.default(0),
  /** MySQL/MariaDB: executions that ended in an error. */
  errors: count.default(0),
  /** MySQL/MariaDB: executions that scanned a table without an index. */
  noIndexUsed: count.default(0),
  /** MySQL/MariaDB: internal temporary tables created on disk. */
  tmpDiskTables: count.default(0),
});
export type QueryStatsRecord = z.infer<typeof queryStatsRecord>;

/** A statement plan, as EXPLAIN (FORMAT JSON) or auto_explain writes it. */
const planSample = z.strictObject({
  fingerprint: z.string(),
  query: text,
  durationMs: millis,
  /** The plan as JSON text; empty when only the duration is known. */
  plan: text,
});

/** raw-queries: one execution of a statement (from the server's statement history), with its plan when explained. */
export const querySampleRecord = z.strictObject({
  type: z.literal('query_sample'),
  entityId: z.string().min(1),
  database: z.string(),
  user: z.string(),
  ts: nsTime,
  ...planSample.shape,
  /** Where the sample came from: `history` (statement history), `explain` (the collector's EXPLAIN). */
  source: z.string().min(1),
});
export type QuerySampleRecord = z.infer<typeof querySampleRecord>;

/** Everything on raw-queries, told apart by `type`. */
export const rawQueryRecord = z.discriminatedUnion('type', [queryStatsRecord, querySampleRecord]);
export type RawQueryRecord = z.infer<typeof rawQueryRecord>;

/** raw-logs: one server log entry, parsed. */
export const serverLogRecord = z.strictObject({
  type: z.literal('server_log'),
  entityId: z.string().min(1),
  host: z.string(),
  ts: nsTime,
  /** The server's own level name: DEBUG1 … PANIC (PostgreSQL), Note/Warning/ERROR (MySQL). */
  level: z.string(),
  message: text,
  database: z.string(),
  user: z.string(),
  application: z.string(),
  pid: z.number().int().nonnegative(),
  sqlstate: z.string(),
  /** What the line is: statement duration, autovacuum, checkpoint, plan, error, connection, other. */
  category: z.string(),
  /** A duration the line reports (statement duration, checkpoint total), in milliseconds. */
  durationMs: millis.nullable(),
  /** For lines about a statement: its shape, literals removed unless configured otherwise. */
  fingerprint: z.string(),
  statement: text,
  sample: planSample.nullable(),
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
});
export type ServerLogRecord = z.infer<typeof serverLogRecord>;

export const sessionSample = z.strictObject({
  pid: z.number().int(),
  database: z.string(),
  user: z.string(),
  application: z.string(),
  clientAddr: z.string(),
  backendType: z.string(),
  state: z.string(),
  waitEventType: z.string(),
  waitEvent: z.string(),
  fingerprint: z.string(),
  /** Literals removed. */
  query: text,
  /** Since the current statement started (active) or the state last changed (idle in transaction). */
  durationMs: millis,
  xactDurationMs: millis.nullable(),
  /** The pids this session waits for (pg_blocking_pids). */
  blockedBy: z.array(z.number().int()),
});
export type SessionSample = z.infer<typeof sessionSample>;

/** raw-activity: the sessions of one server at one moment. */
export const activitySnapshot = z.strictObject({
  type: z.literal('activity'),
  entityId: z.string().min(1),
  ts: nsTime,
  sessions: z.array(sessionSample).max(100_000),
});
export type ActivitySnapshot = z.infer<typeof activitySnapshot>;

/** raw-entities: something a collector watches, as it saw it now. */
export const entityRecord = z.strictObject({
  type: z.literal('entity'),
  entityId: z.string().min(1),
  /** postgresql.instance, postgresql.database, host, … */
  kind: z.string().min(1),
  name: z.string(),
  /** The entity this one belongs to (a database's instance), or empty. */
  parentId: z.string(),
  ts: nsTime,
  version: z.string(),
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
});
export type EntityRecord = z.infer<typeof entityRecord>;

/** What a browser event is (bounded: it selects the columns that matter and labels counts). */
export const RUM_EVENT_TYPES = [
  'page_view',
  'web_vital',
  'error',
  'resource',
  'action',
  'session_start',
  'custom',
] as const;
export type RumEventType = (typeof RUM_EVENT_TYPES)[number];

/** The web vitals a `web_vital` event names, as Google's `web-vitals` library reports them. */
export const WEB_VITAL_NAMES = ['LCP', 'CLS', 'INP', 'FCP', 'TTFB'] as const;

const rumId = z.string().min(1).max(128);

/**
 * raw-rum: one browser event, as the ingest gateway normalized it from a `POST /v1/rum` request
 * (src/ingest/rum.ts, where the browser-facing shape is). Fields an event type has no use for
 * are empty (or null for numbers).
 */
export const rumEventRecord = z.strictObject({
  type: z.enum(RUM_EVENT_TYPES),
  /** The browser session: the message key, so one session's events stay in order. */
  sessionId: rumId,
  /** One page view (a soft navigation starts a new one); empty when the SDK has none. */
  viewId: rumId.or(z.literal('')).default(''),
  ts: nsTime,
  /** The page the event happened on (for `resource`: the resource fetched). */
  url: text,
  referrer: text.default(''),
  title: text.default(''),
  /** web_vital: one of WEB_VITAL_NAMES; action, custom, resource: what the event is about. */
  name: text.default(''),
  /** web_vital: milliseconds (CLS: a unitless score); custom: any number. */
  value: z.number().nullable().default(null),
  /** error: the message, stack and class (`TypeError`). */
  message: text.default(''),
  stack: text.default(''),
  errorType: text.default(''),
  durationMs: millis.nullable().default(null),
  /** The event's own user agent, else the request's User-Agent header. */
  userAgent: text.default(''),
  /**
   * The address the request came from (the socket's, or the first X-Forwarded-For entry when
   * `ingest.rum.trustProxy` is on). Personal data: the processor only derives country and city
   * from it and never stores it.
   */
  clientAddress: z.string().max(200).default(''),
  /** The web app (`app` of the request) and its release. */
  service: text.default(''),
  release: text.default(''),
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
});
export type RumEventRecord = z.infer<typeof rumEventRecord>;
