import type { ServerLogRecord } from '../../../bus/raw-records.js';
import { classify, type AttributeValue } from './classify.js';
import type { ParsedLogEntry } from './log-parser.js';
import { DEFAULT_MAX_PLAN_BYTES, shapePlan } from './plan.js';
import { redactContext, redactDetail, redactStatement } from './redact.js';
import { parseLogTime } from './timestamp.js';

/** A ServerLogRecord without what only the caller knows: which server and host it came from. */
export type ServerLogFields = Omit<ServerLogRecord, 'entityId' | 'host'>;

export interface ServerLogOptions {
  /** Keep literals in statements, plans and details (default false: they are removed). */
  keepLiterals?: boolean;
  /** auto_explain plans longer than this are cut and flagged. Default 256 KiB. */
  maxPlanBytes?: number;
  /** The time for an entry without a readable log time. Default: now. */
  now?: () => bigint;
}

/** raw-records.ts caps every text field at 1,000,000 characters. */
const MAX_TEXT_CHARS = 1_000_000;

/**
 * Turns a parsed entry into record fields: ts from the log time (ns since the epoch), level is the
 * server's severity, category/duration/statement/sample from the message (classify.ts), literals
 * removed unless keepLiterals. Requires `await loadSqlParser()` (src/sql/postgres-shape.ts) before the first call.
 */
export function toServerLogFields(entry: ParsedLogEntry, options: ServerLogOptions = {}): ServerLogFields {
  const keepLiterals = options.keepLiterals ?? false;
  const attributes: Record<string, AttributeValue> = {};
  const time = parseLogTime(entry.logTime);
  let ts: bigint;
  if (time === undefined || time.ns < 0n) {
    ts = (options.now ?? (() => BigInt(Date.now()) * 1_000_000n))();
    attributes.time_missing = true;
  } else {
    ts = time.ns;
    if (time.tzUnknown) attributes.tz_unknown = true;
  }

  const c = classify(entry.severity, entry.message);
  let message = entry.message;
  let statement = '';
  let fingerprint = '';
  let sample: ServerLogFields['sample'] = null;

  if (c.planBody !== null) {
    const plan = shapePlan(c.planBody, {
      keepLiterals,
      maxPlanBytes: options.maxPlanBytes ?? DEFAULT_MAX_PLAN_BYTES,
    });
    message = c.messageHead;
    statement = plan.query;
    fingerprint = plan.fingerprint;
    sample = { fingerprint, query: clamp(statement), durationMs: c.durationMs ?? 0, plan: plan.plan };
    attributes.plan_format = plan.format;
    if (plan.truncated) attributes.plan_truncated = true;
  } else if (c.statement !== '') {
    ({ statement, fingerprint } = redactStatement(c.statement, keepLiterals));
    message = `${c.messageHead}${statement}`;
  } else if (entry.query !== '') {
    // The statement an error (or a log_min_error_statement line) is about.
    ({ statement, fingerprint } = redactStatement(entry.query, keepLiterals));
  }

  Object.assign(attributes, c.attributes);
  const put = (key: string, value: string | number | null): void => {
    if (value !== null && value !== '') attributes[key] = typeof value === 'string' ? clamp(value) : value;
  };
  put('detail', keepLiterals ? entry.detail : redactDetail(entry.detail));
  put('hint', entry.hint);
  put('context', keepLiterals ? entry.context : redactContext(entry.context));
  if (entry.internalQuery !== '')
    put('internal_query', redactStatement(entry.internalQuery, keepLiterals).statement);
  put('internal_query_pos', entry.internalQueryPos);
  put('query_pos', entry.queryPos);
  put('location', entry.location);
  put('session_id', entry.sessionId);
  put('session_line', entry.sessionLineNum);
  put('command_tag', entry.commandTag);
  put('session_start', entry.sessionStart);
  put('vxid', entry.virtualTransactionId);
  if (entry.transactionId !== '0') put('txid', entry.transactionId);
  put('remote_host', entry.remoteHost);
  put('remote_port', entry.remotePort);
  put('backend_type', entry.backendType);
  put('leader_pid', entry.leaderPid);
  if (entry.queryId !== '0') put('query_id', entry.queryId);
  attributes.log_format = entry.format;
  if (entry.truncated) attributes.truncated = true;
  if (entry.malformed) attributes.malformed = true;

  return {
    type: 'server_log',
    ts: ts.toString(),
    level: entry.severity,
    message: clamp(message),
    database: entry.database,
    user: entry.user,
    application: entry.application,
    pid: entry.pid ?? 0,
    sqlstate: entry.sqlstate,
    category: c.category,
    durationMs: c.durationMs,
    fingerprint,
    statement: clamp(statement),
    sample,
    attributes,
  };
}

function clamp(text: string): string {
  return text.length <= MAX_TEXT_CHARS ? text : text.slice(0, MAX_TEXT_CHARS);
}
