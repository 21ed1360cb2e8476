import { RecordSplitter } from '../../postgres/logs/record-splitter.js';
import { mysqlShape } from '../../../sql/mysql-shape.js';
import type { AttributeValue } from './classify.js';
import { DEFAULT_MAX_ENTRY_BYTES, type MysqlLogFields } from './error-log.js';
import { parseMysqlTime, type LocalTimeOptions } from './log-time.js';

/**
 * One slow query log entry as the server wrote it (sql/log.cc, `write_slow` in MySQL 8 and
 * `MYSQL_QUERY_LOG::write` in MariaDB 10.x):
 *
 * ```
 * # Time: 261127 14:08:31                     (MariaDB: only when the second changed; MySQL: 2026-11-27T14:08:31.123456Z)
 * # User@Host: root[root] @ localhost [127.0.0.1]          (MySQL adds `  Id:     8`)
 * # Thread_id: 8  Schema: app  QC_hit: No                  (MariaDB)
 * # Query_time: 0.000123  Lock_time: 0.000045  Rows_sent: 1  Rows_examined: 1
 * # Rows_affected: 0  Bytes_sent: 56                       (MariaDB; log_slow_verbosity adds more, and `# explain:` rows)
 * use app;                                                 (when the schema changed)
 * SET timestamp=1795788511;                                (also `SET last_insert_id=5,insert_id=6,timestamp=…;`)
 * SELECT …;                                                (as sent, any number of lines; the server adds the `;`)
 * ```
 */
export interface SlowLogEntry {
  /** The `# Time:` in effect, as written ('' before the first one). */
  time: string;
  /** `SET timestamp=N`: when the statement started, in seconds since the epoch. */
  timestamp: number | null;
  /** The user name the client gave (`root[root]`: the one in brackets). */
  user: string;
  /** The account it was matched to (before the brackets). */
  privUser: string;
  clientHost: string;
  clientIp: string;
  threadId: number | null;
  /**
   * `Schema:` (MariaDB), else the last `use` line: the server writes one only when the schema
   * differs from the one it wrote last, whichever session that was for.
   */
  schema: string;
  /** Every `Key: value` of the `#` lines, as written. */
  fields: Record<string, string>;
  /** The statement as logged, without the `;` the server appends. */
  statement: string;
  /** log_slow_admin_statements: `# administrator command: Quit;` gives `Quit`. */
  adminCommand: string;
  truncated: boolean;
  /** Lines before the first entry header (the input began inside an entry). */
  malformed: boolean;
}

export interface SlowLogParserOptions {
  /** A longer entry is cut to this many bytes and flagged `truncated`. Default 1 MiB. */
  maxEntryBytes?: number;
}

const TIME =
  /^# Time: (\d{6} +\d{1,2}:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)?)\s*$/;
const USER_HOST = /^# User@Host: (.*?)\[(.*?)\] @ (\S*) \[([^\]]*)\](?:\s+Id:\s*(\d+))?\s*$/;
const ADMIN = /^# administrator command: (.*?);?\s*$/;
const USE = /^use (`(?:[^`]|``)*`|[^`;\s]+);$/;
const SET_TIMESTAMP = /^SET (?:\w+=\d+,)*timestamp=(\d+)(?:,\w+=\d+)*;$/;
/** What the server writes when it opens the log (at start and after FLUSH SLOW LOGS). */
const SERVER_HEADER = [
  /, Version: .* started with:$/,
  /^Tcp port: \d+ +Unix socket: /,
  /^TCP Port: \d+, Named Pipe: /,
  /^Time\s+Id\s+Command\s+Argument$/,
];
const FIELD = /(?:^|\s)([A-Za-z][A-Za-z0-9_]*):(?=\s|$)/g;

type Phase = 'header' | 'body';

interface Building {
  entry: SlowLogEntry;
  phase: Phase;
  lines: string[];
  bytes: number;
  /** Started by `# Time:`: the `# User@Host:` that follows belongs to it. */
  awaitsUserHost: boolean;
}

/**
 * A streaming parser for one slow query log file. Chunks may end anywhere (inside a line or a
 * UTF-8 character). An entry ends where the next begins — only a line with the exact shape of
 * `# Time:` or `# User@Host:` starts one, so a statement whose text has a line starting with
 * `#` stays whole — so the last entry is held until the next arrives or `flush()` is called
 * (at the end of the input, or when the file has been idle).
 */
export class SlowLogParser {
  private readonly lines: RecordSplitter;
  private readonly maxEntryBytes: number;
  private current: Building | undefined;
  /** MariaDB writes `# Time:` only when the second changed: it holds for the entries after it. */
  private time = '';
  /** The last `use` line's schema: it holds for the entries after it. */
  private schema = '';

  constructor(options: SlowLogParserOptions = {}) {
    this.maxEntryBytes = options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
    this.lines = new RecordSplitter(this.maxEntryBytes);
  }

  push(chunk: Buffer): SlowLogEntry[] {
    const entries: SlowLogEntry[] = [];
    for (const line of this.lines.push(chunk)) this.line(line.text, line.truncated, entries);
    return entries;
  }

  flush(): SlowLogEntry[] {
    const entries: SlowLogEntry[] = [];
    for (const line of this.lines.flush()) this.line(line.text, line.truncated, entries);
    this.finish(entries);
    return entries;
  }

  private line(text: string, truncated: boolean, out: SlowLogEntry[]): void {
    const time = TIME.exec(text);
    if (time !== null) {
      this.finish(out);
      this.time = time[1] ?? '';
      this.start(true);
      return;
    }
    const userHost = USER_HOST.exec(text);
    if (userHost !== null) {
      if (this.current?.awaitsUserHost !== true) {
        this.finish(out);
        this.start(false);
      }
      const building = this.current as Building;
      building.awaitsUserHost = false;
      const e = building.entry;
      e.privUser = userHost[1] ?? '';
      e.user = userHost[2] ?? '';
      e.clientHost = userHost[3] ?? '';
      e.clientIp = userHost[4] ?? '';
      if (userHost[5] !== undefined) e.threadId = Number(userHost[5]);
      return;
    }
    if (SERVER_HEADER.some((pattern) => pattern.test(text))) {
      this.finish(out);
      return;
    }

    let building = this.current;
    if (building === undefined) {
      if (text.trim() === '') return;
      // The input began inside an entry: keep its statement, flagged, rather than drop it.
      building = this.start(false);
      building.entry.malformed = true;
      building.phase = 'body';
    }
    building.awaitsUserHost = false;
    if (truncated) building.entry.truncated = true;
    const e = building.entry;
    if (building.phase === 'header') {
      if (text.startsWith('#')) {
        const admin = ADMIN.exec(text);
        if (admin !== null) {
          e.adminCommand = admin[1] ?? '';
          building.phase = 'body';
        } else if (!text.startsWith('# explain:')) {
          readFields(text.slice(1), e.fields);
        }
        return;
      }
      const use = USE.exec(text);
      if (use !== null) {
        const name = use[1] ?? '';
        this.schema = name.startsWith('`') ? name.slice(1, -1).replace(/``/g, '`') : name;
        e.schema = this.schema;
        return;
      }
      const timestamp = SET_TIMESTAMP.exec(text);
      if (timestamp !== null) {
        e.timestamp = Number(timestamp[1]);
        return;
      }
      building.phase = 'body';
    }
    const bytes = Buffer.byteLength(text) + 1;
    if (building.bytes + bytes > this.maxEntryBytes) {
      e.truncated = true;
      return;
    }
    building.lines.push(text);
    building.bytes += bytes;
  }

  private start(awaitsUserHost: boolean): Building {
    this.current = {
      entry: {
        time: this.time,
        timestamp: null,
        user: '',
        privUser: '',
        clientHost: '',
        clientIp: '',
        threadId: null,
        schema: this.schema,
        fields: {},
        statement: '',
        adminCommand: '',
        truncated: false,
        malformed: false,
      },
      phase: 'header',
      lines: [],
      bytes: 0,
      awaitsUserHost,
    };
    return this.current;
  }

  private finish(out: SlowLogEntry[]): void {
    const building = this.current;
    if (building === undefined) return;
    this.current = undefined;
    const e = building.entry;
    // A `# Time:` line with nothing after it (the server stopped while writing) is no entry.
    if (building.awaitsUserHost && building.lines.length === 0) return;
    e.statement = building.lines.join('\n').trimEnd().replace(/;$/, '');
    // MariaDB names the session's schema in every entry ('' for none).
    if (e.fields.Schema !== undefined) e.schema = e.fields.Schema;
    const thread = e.fields.Thread_id;
    if (e.threadId === null && thread !== undefined && /^\d+$/.test(thread)) e.threadId = Number(thread);
    out.push(e);
  }
}

/** `Thread_id: 4  Schema:   QC_hit: No` → { Thread_id: '4', Schema: '', QC_hit: 'No' }. */
function readFields(text: string, into: Record<string, string>): void {
  const keys = [...text.matchAll(FIELD)];
  keys.forEach((match, index) => {
    const name = match[1] ?? '';
    const from = match.index + match[0].length;
    const to = keys[index + 1]?.index ?? text.length;
    into[name] = text.slice(from, to).trim();
  });
}

export interface SlowLogFieldOptions extends LocalTimeOptions {
  /** Keep the statement as logged (default false: its literals are removed). */
  keepLiterals?: boolean;
  /** The time for an entry without a readable time. Default: now. */
  now?: () => bigint;
}

/** The category of slow log records: a statement with its duration. */
export const SLOW_LOG_CATEGORY = 'statement_duration';

/** The `#` fields that have a place of their own in the record, or are times. */
const PLACED = new Set(['Query_time', 'Lock_time', 'Thread_id', 'Id', 'Schema', 'Start', 'End']);
const NUMBER = /^-?\d+(?:\.\d+)?$/;
const MAX_TEXT_CHARS = 1_000_000;
const NS_PER_SECOND = 1_000_000_000n;

/**
 * Turns a slow log entry into record fields: category `duration`, durationMs from Query_time,
 * the statement's shape (`mysqlShape`, the fingerprint the statement digests of query-stats
 * carry, so an entry links to its digest) with literals removed unless keepLiterals.
 *
 * ts is when the statement ended, as the server's own `# Time:` is: that time where it has a
 * zone (MySQL 5.7+), else `SET timestamp` (the start, in whole seconds since the epoch: no zone
 * to guess) plus Query_time, else the local `# Time:` (see log-time.ts).
 *
 * Attributes: lock_time_ms, client_host (the host name, or the address when the server logged
 * none) and client_ip (when both were logged), and every other `#` field under its name in lower
 * case (rows_sent, rows_examined, rows_affected, bytes_sent, qc_hit, full_scan, …): numbers as
 * numbers, Yes/No as booleans.
 */
export function slowLogFields(entry: SlowLogEntry, options: SlowLogFieldOptions = {}): MysqlLogFields {
  const attributes: Record<string, AttributeValue> = {};
  const durationMs = seconds(entry.fields.Query_time);
  const lockTimeMs = seconds(entry.fields.Lock_time);

  let ts: bigint | undefined;
  if (/(?:Z|[+-]\d\d:\d\d)$/.test(entry.time)) ts = parseMysqlTime(entry.time);
  if (ts === undefined && entry.timestamp !== null) {
    ts = BigInt(entry.timestamp) * NS_PER_SECOND + BigInt(Math.round((durationMs ?? 0) * 1_000_000));
  }
  if (ts === undefined && entry.time !== '') ts = parseMysqlTime(entry.time, options);
  if (ts === undefined) {
    ts = (options.now ?? (() => BigInt(Date.now()) * 1_000_000n))();
    attributes.time_missing = true;
  }

  let statement = '';
  let fingerprint = '';
  if (entry.statement !== '') {
    const shape = mysqlShape(entry.statement);
    fingerprint = shape.fingerprint;
    statement = options.keepLiterals === true ? entry.statement : shape.query;
  }
  const what =
    entry.adminCommand !== '' ? `administrator command: ${entry.adminCommand}` : `statement: ${statement}`;
  const message = durationMs === null ? what : `duration: ${durationMs} ms  ${what}`;

  if (lockTimeMs !== null) attributes.lock_time_ms = lockTimeMs;
  for (const [name, value] of Object.entries(entry.fields)) {
    if (PLACED.has(name) || value === '') continue;
    const key = name.toLowerCase();
    if (NUMBER.test(value)) attributes[key] = Number(value);
    else if (value === 'Yes' || value === 'No') attributes[key] = value === 'Yes';
    else attributes[key] = clamp(value);
  }
  const host = entry.clientHost !== '' ? entry.clientHost : entry.clientIp;
  if (host !== '') attributes.client_host = host;
  if (entry.clientHost !== '' && entry.clientIp !== '' && entry.clientIp !== entry.clientHost)
    attributes.client_ip = entry.clientIp;
  if (entry.adminCommand !== '') attributes.admin_command = entry.adminCommand;
  attributes.log_format = 'slow_log';
  if (entry.truncated) attributes.truncated = true;
  if (entry.malformed) attributes.malformed = true;

  return {
    type: 'server_log',
    ts: ts.toString(),
    level: 'Note',
    message: clamp(message),
    database: entry.schema,
    user: entry.user !== '' ? entry.user : entry.privUser,
    application: '',
    pid: entry.threadId ?? 0,
    sqlstate: '',
    category: SLOW_LOG_CATEGORY,
    durationMs,
    fingerprint,
    statement: clamp(statement),
    sample: null,
    attributes,
  };
}

/** Seconds as the slow log writes them (`0.000123`) → milliseconds, to the microsecond. */
function seconds(value: string | undefined): number | null {
  if (value === undefined || !NUMBER.test(value)) return null;
  return Math.round(Number(value) * 1_000_000) / 1000;
}

function clamp(text: string): string {
  return text.length <= MAX_TEXT_CHARS ? text : text.slice(0, MAX_TEXT_CHARS);
}
