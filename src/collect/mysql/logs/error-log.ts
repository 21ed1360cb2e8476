import type { ServerLogRecord } from '../../../bus/raw-records.js';
import { RecordSplitter } from '../../postgres/logs/record-splitter.js';
import { mysqlShape } from '../../../sql/mysql-shape.js';
import { classifyErrorLog, type AttributeValue } from './classify.js';
import { parseMysqlTime, type LocalTimeOptions } from './log-time.js';

/** One error log entry as the server wrote it ('' / null for what the format or the entry lacks). */
export interface ErrorLogEntry {
  /** As written: `2026-11-27 14:08:31`, `2026-11-27T14:08:31.123456Z`, `261127 14:08:31`, or epoch seconds (the table). */
  time: string;
  /** The connection (thread) id; 0 for the server's own threads. */
  threadId: number | null;
  /** Note, Warning, ERROR or System ('' when the line has none: InnoDB assertion reports). */
  level: string;
  /** MySQL 8: `MY-010116`. */
  errorCode: string;
  /** MySQL 8: Server, InnoDB, Repl, … */
  subsystem: string;
  /** The text after the head; lines without a head of their own follow it, after `\n`. */
  message: string;
  /** `mysqld_safe` for the lines of the start script; '' for the server's. */
  program: string;
  /** The entry was longer than the parser's limit and was cut. */
  truncated: boolean;
  /** Text that belongs to no entry (the input began inside one); it is in `message`. */
  malformed: boolean;
}

export interface ErrorLogParserOptions {
  /** A longer entry is cut to this many bytes and flagged `truncated`. Default 1 MiB. */
  maxEntryBytes?: number;
}

export const DEFAULT_MAX_ENTRY_BYTES = 1024 * 1024;

/** MySQL 5.7+: `2026-11-27T14:08:31.123456Z 0 [System] [MY-010116] [Server] …` (8.0 adds code and subsystem). */
const MYSQL_HEAD =
  /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)) +(\d+) +\[([A-Za-z]+)\](?: \[(MY-\d+)\] \[([A-Za-z]+)\])? ?(.*)$/;
/**
 * MariaDB 10.x, MySQL 5.6: `2026-11-27 14:08:31 0 [Note] …`. An InnoDB assertion report has a
 * hexadecimal thread and no level: `2026-11-27 14:08:31 0x7f3c8c0ff700  InnoDB: Assertion failure …`.
 */
const LOCAL_HEAD = /^(\d{4}-\d\d-\d\d +\d{1,2}:\d\d:\d\d) +(\d+|0x[0-9a-f]+)(?: +\[([A-Za-z]+)\])? +(.*)$/;
/** MySQL ≤ 5.5, MariaDB ≤ 10.0, crash reports: `261127 14:08:31 [ERROR] …`; the start script: `261127 14:08:31 mysqld_safe …`. */
const SHORT_HEAD = /^(\d{6} +\d{1,2}:\d\d:\d\d) +(?:\[([A-Za-z]+)\] ?(.*)|(mysqld_safe) (.*))$/;

/** Parses one line that starts an entry, or returns undefined for a continuation line. */
export function parseErrorLogHead(line: string): ErrorLogEntry | undefined {
  const mysql = MYSQL_HEAD.exec(line);
  if (mysql !== null) {
    return entry({
      time: mysql[1] ?? '',
      threadId: Number(mysql[2]),
      level: mysql[3] ?? '',
      errorCode: mysql[4] ?? '',
      subsystem: mysql[5] ?? '',
      message: mysql[6] ?? '',
    });
  }
  const local = LOCAL_HEAD.exec(line);
  if (local !== null) {
    const thread = local[2] ?? '';
    const threadId = thread.startsWith('0x') ? Number.parseInt(thread.slice(2), 16) : Number(thread);
    return entry({
      time: local[1] ?? '',
      threadId: Number.isSafeInteger(threadId) ? threadId : null,
      level: local[3] ?? '',
      message: local[4] ?? '',
    });
  }
  const short = SHORT_HEAD.exec(line);
  if (short !== null) {
    if (short[4] !== undefined) {
      return entry({ time: short[1] ?? '', level: 'Note', program: short[4], message: short[5] ?? '' });
    }
    return entry({ time: short[1] ?? '', level: short[2] ?? '', message: short[3] ?? '' });
  }
  return undefined;
}

function entry(fields: Partial<ErrorLogEntry>): ErrorLogEntry {
  return {
    time: '',
    threadId: null,
    level: '',
    errorCode: '',
    subsystem: '',
    message: '',
    program: '',
    truncated: false,
    malformed: false,
    ...fields,
  };
}

/**
 * A streaming parser for one error log file. Feed it the file's bytes in chunks of any size (a
 * chunk may end inside a line or a UTF-8 character); it returns the entries completed so far.
 * An entry ends where the next one begins — lines without a time of their own (the `Version:`
 * line after `ready for connections`, crash reports) belong to the entry before them — so the
 * last entry is held until the next arrives or `flush()` is called (at the end of the input, or
 * when the file has been idle).
 */
export class ErrorLogParser {
  private readonly lines: RecordSplitter;
  private readonly maxEntryBytes: number;
  private current: { entry: ErrorLogEntry; lines: string[]; bytes: number } | undefined;

  constructor(options: ErrorLogParserOptions = {}) {
    this.maxEntryBytes = options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
    this.lines = new RecordSplitter(this.maxEntryBytes);
  }

  push(chunk: Buffer): ErrorLogEntry[] {
    const entries: ErrorLogEntry[] = [];
    for (const line of this.lines.push(chunk)) this.line(line.text, line.truncated, entries);
    return entries;
  }

  flush(): ErrorLogEntry[] {
    const entries: ErrorLogEntry[] = [];
    for (const line of this.lines.flush()) this.line(line.text, line.truncated, entries);
    this.finish(entries);
    return entries;
  }

  private line(text: string, truncated: boolean, out: ErrorLogEntry[]): void {
    const head = parseErrorLogHead(text);
    if (head !== undefined) {
      this.finish(out);
      head.truncated = truncated;
      this.current = { entry: head, lines: [head.message], bytes: Buffer.byteLength(head.message) };
      return;
    }
    if (this.current === undefined) {
      // The input began inside an entry: keep what there is, flagged, rather than drop it.
      if (text === '') return;
      const orphan = entry({ malformed: true, truncated });
      this.current = { entry: orphan, lines: [], bytes: 0 };
    }
    const current = this.current;
    if (truncated) current.entry.truncated = true;
    const bytes = Buffer.byteLength(text) + 1;
    if (current.bytes + bytes > this.maxEntryBytes) {
      current.entry.truncated = true;
      return;
    }
    current.lines.push(text);
    current.bytes += bytes;
  }

  private finish(out: ErrorLogEntry[]): void {
    if (this.current === undefined) return;
    const { entry: done, lines } = this.current;
    this.current = undefined;
    while (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
    done.message = lines.join('\n');
    out.push(done);
  }
}

/** A ServerLogRecord without what only the caller knows: which server and host it came from. */
export type MysqlLogFields = Omit<ServerLogRecord, 'entityId' | 'host'>;

export interface ErrorLogFieldOptions extends LocalTimeOptions {
  /** Keep literals in the statements of replication errors (default false: they are removed). */
  keepLiterals?: boolean;
  /** The time for an entry without a readable time. Default: now. */
  now?: () => bigint;
  /** Where the entry was read: `error_log` (the file) or `error_log_table` (performance_schema.error_log). */
  logFormat?: string;
}

/** raw-records.ts caps every text field at 1,000,000 characters. */
const MAX_TEXT_CHARS = 1_000_000;

/**
 * Turns an error log entry into record fields: ts from its time (local times per
 * `utcOffsetMinutes`, see log-time.ts), the server's level (`Error` from the table spelled
 * `ERROR` as in the file), the thread id as pid, category and user/host/database from the text
 * (classify.ts), the MySQL 8 code and subsystem as `mysql.error_code` / `mysql.subsystem`. The
 * statement a replication error quotes is shaped like a slow log statement and its literals
 * removed unless keepLiterals.
 */
export function errorLogFields(entry: ErrorLogEntry, options: ErrorLogFieldOptions = {}): MysqlLogFields {
  const attributes: Record<string, AttributeValue> = {};
  let ts = parseMysqlTime(entry.time, options);
  if (ts === undefined || ts < 0n) {
    ts = (options.now ?? (() => BigInt(Date.now()) * 1_000_000n))();
    attributes.time_missing = true;
  }
  const level = entry.level.toUpperCase() === 'ERROR' ? 'ERROR' : entry.level;
  const c = classifyErrorLog(level, entry.subsystem, entry.message);
  const quoted = replicationStatement(entry.message, options.keepLiterals ?? false);

  Object.assign(attributes, c.attributes);
  if (entry.errorCode !== '') attributes['mysql.error_code'] = entry.errorCode;
  if (entry.subsystem !== '') attributes['mysql.subsystem'] = entry.subsystem;
  if (quoted.sqlErrorCode !== '') attributes['mysql.sql_error_code'] = quoted.sqlErrorCode;
  if (entry.program !== '') attributes.program = entry.program;
  attributes.log_format = options.logFormat ?? 'error_log';
  if (entry.truncated) attributes.truncated = true;
  if (entry.malformed) attributes.malformed = true;

  return {
    type: 'server_log',
    ts: ts.toString(),
    level,
    message: clamp(quoted.message),
    database: c.database !== '' ? c.database : quoted.database,
    user: c.user,
    application: '',
    pid: entry.threadId ?? 0,
    sqlstate: '',
    category: c.category,
    durationMs: null,
    fingerprint: quoted.fingerprint,
    statement: clamp(quoted.statement),
    sample: null,
    attributes,
  };
}

interface QuotedStatement {
  message: string;
  statement: string;
  fingerprint: string;
  database: string;
  sqlErrorCode: string;
}

/**
 * A replica that fails to apply an event quotes the statement and the error, values included:
 * MariaDB `Slave SQL: Error 'Duplicate entry '7' for key 'PRIMARY'' on query. Default database:
 * 'shop'. Query: 'INSERT …', Gtid 0-1-7, Internal MariaDB error code: 1062`, MySQL 8 `… Query:
 * 'INSERT …', Error_code: MY-001062`. The statement gets its shape, the values in the error `?`.
 */
function replicationStatement(message: string, keepLiterals: boolean): QuotedStatement {
  const result: QuotedStatement = { message, statement: '', fingerprint: '', database: '', sqlErrorCode: '' };
  const code = /(?:Error_code: |Internal MariaDB error code: )(MY-\d+|\d+)/.exec(message);
  if (code !== null) result.sqlErrorCode = code[1] ?? '';
  const database = / Default database: '([^']*)'/.exec(message);
  if (database !== null) result.database = database[1] ?? '';
  const query =
    /^([\s\S]*? Query: ')([\s\S]*)(', (?:Error_code: |Gtid |Internal MariaDB error code: )[\s\S]*)$/.exec(
      message,
    ) ?? /^([\s\S]*? Query: ')([\s\S]*)(')$/.exec(message);
  if (query === null) {
    // Row-based events quote no statement, but their errors still quote values.
    if (!keepLiterals) result.message = redactErrorValues(message);
    return result;
  }
  const [, head = '', raw = '', tail = ''] = query;
  const shape = mysqlShape(raw);
  result.fingerprint = shape.fingerprint;
  result.statement = keepLiterals ? raw : shape.query;
  result.message = keepLiterals ? message : `${redactErrorValues(head)}${shape.query}${tail}`;
  return result;
}

/** Values an error text quotes: `Duplicate entry '7' for key`, `Incorrect integer value: 'abc'`. */
function redactErrorValues(text: string): string {
  return text
    .replace(/Duplicate entry '[\s\S]*?' for key/g, "Duplicate entry '?' for key")
    .replace(/\bvalue: '[\s\S]*?' for column/g, "value: '?' for column");
}

function clamp(text: string): string {
  return text.length <= MAX_TEXT_CHARS ? text : text.slice(0, MAX_TEXT_CHARS);
}
