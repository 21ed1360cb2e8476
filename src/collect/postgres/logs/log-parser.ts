/** The three PostgreSQL `log_destination` file formats (PostgreSQL 15 docs, "Error Reporting and Logging"). */
export type LogFormat = 'csvlog' | 'jsonlog' | 'stderr';

/**
 * One server log entry with the fields the log holds, as written ('' when the format or the
 * entry does not carry one). Names follow the csvlog columns.
 */
export interface ParsedLogEntry {
  format: LogFormat;
  /** As the server wrote it: `2026-11-23 19:08:41.123 UTC`, `… +0545`, or epoch seconds (%n). */
  logTime: string;
  user: string;
  database: string;
  pid: number | null;
  /** Client host or address, without the port; `[local]` for a Unix socket. */
  remoteHost: string;
  remotePort: string;
  sessionId: string;
  sessionLineNum: number | null;
  commandTag: string;
  sessionStart: string;
  virtualTransactionId: string;
  transactionId: string;
  /** LOG, ERROR, FATAL, … (csvlog error_severity). */
  severity: string;
  sqlstate: string;
  message: string;
  detail: string;
  hint: string;
  internalQuery: string;
  internalQueryPos: string;
  context: string;
  /** The statement the entry is about (csvlog `query`, jsonlog `statement`, stderr `STATEMENT:`). */
  query: string;
  queryPos: string;
  location: string;
  application: string;
  backendType: string;
  leaderPid: string;
  /** A signed 64-bit integer as text ('' or '0' when not computed). */
  queryId: string;
  /** The record was longer than the parser's limit and was cut. */
  truncated: boolean;
  /** The record did not have the format's shape; its text is in `message`. */
  malformed: boolean;
}

/**
 * A streaming parser for one log file. Feed it the file's bytes in chunks of any size (a chunk may
 * end inside a record, a quoted field or a UTF-8 character); it returns the entries completed so far.
 * It holds at most one record (bounded by `maxRecordBytes`) between calls.
 */
export interface LogParser {
  readonly format: LogFormat;
  push(chunk: Buffer): ParsedLogEntry[];
  /** At the end of the input (or when the file has been idle): the entries still held back. */
  flush(): ParsedLogEntry[];
  /**
   * Bytes fed but not yet returned as entries. To resume after a restart without losing or
   * repeating entries, read again from (bytes fed) - pendingBytes.
   */
  readonly pendingBytes: number;
}

export interface LogParserOptions {
  /** A longer record is cut to this many bytes and flagged `truncated`. Default 1 MiB. */
  maxRecordBytes?: number;
  /** stderr only: the server's log_line_prefix when it is none of the common forms (tried first). */
  linePrefix?: string;
}

export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;

export function emptyEntry(format: LogFormat): ParsedLogEntry {
  return {
    format,
    logTime: '',
    user: '',
    database: '',
    pid: null,
    remoteHost: '',
    remotePort: '',
    sessionId: '',
    sessionLineNum: null,
    commandTag: '',
    sessionStart: '',
    virtualTransactionId: '',
    transactionId: '',
    severity: '',
    sqlstate: '',
    message: '',
    detail: '',
    hint: '',
    internalQuery: '',
    internalQueryPos: '',
    context: '',
    query: '',
    queryPos: '',
    location: '',
    application: '',
    backendType: '',
    leaderPid: '',
    queryId: '',
    truncated: false,
    malformed: false,
  };
}

/** A decimal integer field, or null when empty or not a non-negative integer. */
export function intOrNull(text: string): number | null {
  if (!/^\d{1,15}$/.test(text)) return null;
  return Number(text);
}

/** Splits `host:port` (csvlog connection_from) or `host(port)` (log_line_prefix %r). */
export function splitHostPort(text: string): { host: string; port: string } {
  const paren = /^(.*)\((\d+)\)$/.exec(text);
  if (paren !== null) return { host: paren[1] ?? '', port: paren[2] ?? '' };
  const colon = /^(.*):(\d+)$/.exec(text);
  if (colon !== null) return { host: colon[1] ?? '', port: colon[2] ?? '' };
  return { host: text, port: '' };
}

/**
 * Which format a log file is in, from its name (PostgreSQL names csvlog files `.csv` and jsonlog
 * files `.json`) or, without a telling extension, from its first bytes.
 */
export function detectLogFormat(fileName: string, head?: Buffer): LogFormat {
  if (/\.csv$/i.test(fileName)) return 'csvlog';
  if (/\.json$/i.test(fileName)) return 'jsonlog';
  if (/\.log$/i.test(fileName) || head === undefined) return 'stderr';
  const start = head.subarray(0, 64).toString('latin1');
  if (start.startsWith('{')) return 'jsonlog';
  // csvlog starts with log_time followed by a comma: `2026-11-23 19:08:41.123 UTC,`.
  if (/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: [^,\s]+)?,/.test(start)) return 'csvlog';
  return 'stderr';
}
