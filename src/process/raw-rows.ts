import type { z } from 'zod';
import type {
  ActivitySnapshot,
  EntityRecord,
  QuerySampleRecord,
  QueryStatsRecord,
  RawQueryRecord,
  RumEventRecord,
  ServerLogRecord,
} from '../bus/raw-records.js';
import { recordId } from '../core/ids.js';
import { SEVERITY_BANDS, severityFromText, type Severity } from '../core/severity.js';
import { MAX_TIME_NS } from '../core/time.js';
import type {
  ActivitySnapshotRow,
  EntityRow,
  LogRow,
  QuerySampleRow,
  QueryStatRow,
  RumEventRow,
  SessionRow,
} from '../store/rows.js';
import type { RowContext } from './otlp-rows.js';

/**
 * The collectors' JSON records (`raw-*` topics, src/bus/raw-records.ts) → table rows. Each
 * row's id is a digest of what identifies the record, so a replayed message is stored once.
 */

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Most validation problems one reason lists; the rest are counted. */
const MAX_ISSUES = 5;

/**
 * Reads one record: UTF-8 JSON that fits the schema. Throws with a reason a person can act
 * on (it becomes the dead letter's reason).
 */
export function parseRawRecord<S extends z.ZodType>(schema: S, what: string, bytes: Uint8Array): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(bytes));
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(`not a ${what} record: the value is not UTF-8 JSON (${why})`);
  }
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const listed = issues
    .slice(0, MAX_ISSUES)
    .map((issue) => `${issue.path.map(String).join('.') || '(record)'}: ${issue.message}`);
  const more = issues.length > MAX_ISSUES ? `; and ${issues.length - MAX_ISSUES} more` : '';
  throw new Error(`not a valid ${what} record: ${listed.join('; ')}${more}`);
}

/** A time as stored: signed 64-bit nanoseconds. The schema checked it is decimal digits. */
function nanos(value: string, field: string): bigint {
  const ns = BigInt(value);
  if (ns > MAX_TIME_NS)
    throw new Error(`${field} ${value} is after the latest storable time (2^63-1 ns, year 2262)`);
  return ns;
}

export function queryStatsToRow(record: QueryStatsRecord, context: RowContext): QueryStatRow {
  const intervalEnd = nanos(record.intervalEnd, 'intervalEnd');
  return {
    id: recordId([
      'query_stats',
      record.entityId,
      record.database,
      record.user,
      record.queryId,
      record.fingerprint,
      record.intervalEnd,
    ]),
    intervalStart: nanos(record.intervalStart, 'intervalStart'),
    intervalEnd,
    orgId: context.orgId,
    entityId: record.entityId,
    database: record.database,
    userName: record.user,
    queryId: record.queryId,
    fingerprint: record.fingerprint,
    query: record.query,
    calls: record.calls,
    totalTimeMs: record.totalTimeMs,
    minTimeMs: record.minTimeMs,
    maxTimeMs: record.maxTimeMs,
    meanTimeMs: record.meanTimeMs,
    rows: record.rows,
    sharedBlksHit: record.sharedBlksHit,
    sharedBlksRead: record.sharedBlksRead,
    sharedBlksDirtied: record.sharedBlksDirtied,
    sharedBlksWritten: record.sharedBlksWritten,
    tempBlksRead: record.tempBlksRead,
    tempBlksWritten: record.tempBlksWritten,
    walBytes: record.walBytes,
    rowsExamined: record.rowsExamined,
    lockTimeMs: record.lockTimeMs,
    errors: record.errors,
    noIndexUsed: record.noIndexUsed,
    tmpDiskTables: record.tmpDiskTables,
  };
}

/**
 * Server log levels → severity with its OTLP number (the first of each band, FATAL's last for
 * PANIC). PostgreSQL: elog.h; MySQL/MariaDB error log: System, Note, Warning, ERROR.
 */
const LEVELS: Record<string, { severity: Severity; number: number }> = {
  DEBUG5: { severity: 'DEBUG', number: 5 },
  DEBUG4: { severity: 'DEBUG', number: 5 },
  DEBUG3: { severity: 'DEBUG', number: 6 },
  DEBUG2: { severity: 'DEBUG', number: 7 },
  DEBUG1: { severity: 'DEBUG', number: 8 },
  DEBUG: { severity: 'DEBUG', number: 5 },
  LOG: { severity: 'INFO', number: 9 },
  INFO: { severity: 'INFO', number: 9 },
  NOTICE: { severity: 'INFO', number: 10 },
  NOTE: { severity: 'INFO', number: 9 },
  SYSTEM: { severity: 'INFO', number: 9 },
  WARNING: { severity: 'WARN', number: 13 },
  ERROR: { severity: 'ERROR', number: 17 },
  FATAL: { severity: 'FATAL', number: 21 },
  PANIC: { severity: 'FATAL', number: 24 },
};

export function serverLogSeverity(level: string): { severity: Severity; number: number } {
  const known = LEVELS[level.trim().toUpperCase()];
  if (known !== undefined) return known;
  const fromText = severityFromText(level);
  if (fromText === undefined || fromText === 'UNSPECIFIED') return { severity: 'UNSPECIFIED', number: 0 };
  return { severity: fromText, number: SEVERITY_BANDS.indexOf(fromText) * 4 + 1 };
}

/** Entity id prefixes of the collectors (`pg:<target>`, …) → the service their logs belong to. */
const SERVICES: Record<string, string> = {
  pg: 'postgresql',
  postgres: 'postgresql',
  postgresql: 'postgresql',
  mysql: 'mysql',
  mariadb: 'mariadb',
};

export function serviceOfEntity(entityId: string): string {
  const prefix = entityId.split(':', 1)[0] ?? '';
  return SERVICES[prefix.toLowerCase()] ?? 'postgresql';
}

export interface ServerLogRows {
  log: LogRow;
  /** A plan sample the line carried (auto_explain), as a query_samples row. */
  sample: QuerySampleRow | null;
}

export function serverLogToRows(record: ServerLogRecord, context: RowContext): ServerLogRows {
  const ts = nanos(record.ts, 'ts');
  const { severity, number } = serverLogSeverity(record.level);
  const service = serviceOfEntity(record.entityId);
  // The server numbers each session's lines (csvlog/jsonlog session_id and line_num): with them,
  // two lines of one backend in the same millisecond stay apart; the text covers stderr logs.
  const id = recordId([
    'server_log',
    record.entityId,
    record.ts,
    String(record.pid),
    String(record.attributes.session_id ?? ''),
    String(record.attributes.session_line ?? ''),
    record.level,
    record.category,
    record.sqlstate,
    record.message,
    record.statement,
  ]);
  // Record attributes first: the fields the collector parsed win over a same-named extra.
  const attributes: Record<string, string | number | boolean> = { ...record.attributes };
  const fields: Record<string, string | number | null> = {
    database: record.database,
    user: record.user,
    application: record.application,
    pid: record.pid,
    sqlstate: record.sqlstate,
    category: record.category,
    duration_ms: record.durationMs,
    fingerprint: record.fingerprint,
    statement: record.statement,
  };
  for (const [key, value] of Object.entries(fields)) {
    if (value !== null && value !== '') attributes[key] = value;
  }
  const log: LogRow = {
    id,
    ts,
    observedTs: context.receivedAtNs,
    orgId: context.orgId,
    service,
    host: record.host,
    entityId: record.entityId,
    severity,
    severityNumber: number,
    severityText: record.level,
    body: record.message,
    traceId: '',
    spanId: '',
    eventName: '',
    scopeName: '',
    attributes: JSON.stringify(attributes),
    resource: JSON.stringify({
      'service.name': service,
      ...(record.host === '' ? {} : { 'host.name': record.host }),
      'sightline.entity.id': record.entityId,
    }),
  };
  const sample = record.sample;
  if (sample === null) return { log, sample: null };
  return {
    log,
    sample: {
      id: recordId(['query_sample', id]),
      ts,
      orgId: context.orgId,
      entityId: record.entityId,
      database: record.database,
      userName: record.user,
      fingerprint: sample.fingerprint !== '' ? sample.fingerprint : record.fingerprint,
      query: sample.query !== '' ? sample.query : record.statement,
      durationMs: sample.durationMs,
      plan: sample.plan,
      source: record.category !== '' ? record.category : 'log',
    },
  };
}

/** A row of raw-queries: interval statistics or one sampled execution. */
export type RawQueryRow = { stat: QueryStatRow; sample?: never } | { sample: QuerySampleRow; stat?: never };

export function rawQueryToRow(record: RawQueryRecord, context: RowContext): RawQueryRow {
  return record.type === 'query_stats'
    ? { stat: queryStatsToRow(record, context) }
    : { sample: querySampleToRow(record, context) };
}

export function querySampleToRow(record: QuerySampleRecord, context: RowContext): QuerySampleRow {
  return {
    id: recordId([
      'query_sample',
      record.entityId,
      record.ts,
      record.database,
      record.fingerprint,
      record.source,
    ]),
    ts: nanos(record.ts, 'ts'),
    orgId: context.orgId,
    entityId: record.entityId,
    database: record.database,
    userName: record.user,
    fingerprint: record.fingerprint,
    query: record.query,
    durationMs: record.durationMs,
    plan: record.plan,
    source: record.source,
  };
}

export interface ActivityRows {
  snapshot: ActivitySnapshotRow;
  sessions: SessionRow[];
}

export function activityToRows(record: ActivitySnapshot, context: RowContext): ActivityRows {
  const ts = nanos(record.ts, 'ts');
  return {
    snapshot: {
      id: recordId(['activity', record.entityId, record.ts]),
      ts,
      orgId: context.orgId,
      entityId: record.entityId,
      sessions: record.sessions.length,
    },
    // Position in the snapshot too: a pid is unique at one moment, but a collector bug must not lose sessions.
    sessions: record.sessions.map((s, index) => ({
      id: recordId(['session', record.entityId, record.ts, String(s.pid), String(index)]),
      ts,
      orgId: context.orgId,
      entityId: record.entityId,
      pid: s.pid,
      database: s.database,
      userName: s.user,
      application: s.application,
      clientAddr: s.clientAddr,
      backendType: s.backendType,
      state: s.state,
      waitEventType: s.waitEventType,
      waitEvent: s.waitEvent,
      fingerprint: s.fingerprint,
      query: s.query,
      durationMs: s.durationMs,
      xactDurationMs: s.xactDurationMs,
      blockedBy: s.blockedBy,
    })),
  };
}

export function entityToRow(record: EntityRecord, context: RowContext): EntityRow {
  const ts = nanos(record.ts, 'ts');
  return {
    orgId: context.orgId,
    id: record.entityId,
    kind: record.kind,
    name: record.name,
    parentId: record.parentId,
    version: record.version,
    attributes: JSON.stringify(record.attributes),
    firstSeen: ts,
    lastSeen: ts,
  };
}

/**
 * A browser event → a `rum_events` row. The browser, OS, device, country and city columns are
 * left empty for the enrich stage, which fills them from the user agent and the client address;
 * the address itself is carried for that stage only and never stored.
 */
export function rumEventToRow(record: RumEventRecord, context: RowContext): RumEventRow {
  const ts = nanos(record.ts, 'ts');
  return {
    // Everything the browser said about the event; not the address or user agent, which come
    // from the request and do not make it another event.
    id: recordId([
      'rum',
      record.sessionId,
      record.viewId,
      record.ts,
      record.type,
      record.name,
      String(record.value),
      record.url,
      record.message,
      record.errorType,
      String(record.durationMs),
      JSON.stringify(record.attributes),
    ]),
    ts,
    orgId: context.orgId,
    sessionId: record.sessionId,
    viewId: record.viewId,
    type: record.type,
    name: record.name,
    value: record.value,
    url: record.url,
    urlPath: urlPath(record.url),
    referrer: record.referrer,
    title: record.title,
    message: record.message,
    stack: record.stack,
    errorType: record.errorType,
    durationMs: record.durationMs,
    service: record.service,
    release: record.release,
    userAgent: record.userAgent,
    browserName: '',
    browserVersion: '',
    osName: '',
    osVersion: '',
    deviceType: '',
    country: '',
    city: '',
    clientAddress: record.clientAddress,
    attributes: JSON.stringify(record.attributes),
  };
}

/** The path of a URL (`/cart` of `https://shop.example/cart?step=2#pay`); empty when it is no URL. */
function urlPath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '';
  }
}
