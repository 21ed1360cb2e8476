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
