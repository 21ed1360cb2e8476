import {
  COMMON_LINE_PREFIXES,
  compileLinePrefix,
  matchLine,
  type CompiledPrefix,
  type PrefixField,
} from './log-line-prefix.js';
import {
  DEFAULT_MAX_RECORD_BYTES,
  emptyEntry,
  intOrNull,
  splitHostPort,
  type LogParser,
  type LogParserOptions,
  type ParsedLogEntry,
} from './log-parser.js';
import { RecordSplitter, cutToBytes, type SplitRecord } from './record-splitter.js';

type TextField = 'message' | 'detail' | 'hint' | 'internalQuery' | 'context' | 'location' | 'query';

/**
 * elog.c writes an entry as one line per part, each with the prefix: the message, then
 * `DETAIL:`, `HINT:`, `QUERY:`, `CONTEXT:`, `LOCATION:`, `STATEMENT:` lines.
 */
const PART_LABELS: Record<string, TextField> = {
  DETAIL: 'detail',
  HINT: 'hint',
  QUERY: 'internalQuery',
  CONTEXT: 'context',
  LOCATION: 'location',
  STATEMENT: 'query',
};

/** Sessions remembered for filling user/database/application when the prefix lacks them. */
const MAX_SESSIONS = 10_000;

interface HeldEntry {
  entry: ParsedLogEntry;
  /** Where a tab-indented line continues: the part written last. */
  field: TextField;
  /** Stream bytes of the lines taken so far. */
  bytes: number;
  /** UTF-8 bytes of text kept, to bound an entry of many short lines. */
  size: number;
}

interface SessionNames {
  user: string;
  database: string;
  application: string;
}

/**
 * stderr logs (also what `logging_collector` writes to `.log` files). An entry's lines are known
 * to be complete only when the next entry starts, so the last entry is held back until then or
 * until flush(). Lines within a part of an entry (a multi-line statement or plan) are
 * tab-indented by elog.c's append_with_tabs().
 */
export class StderrParser implements LogParser {
  readonly format = 'stderr' as const;
  private readonly maxRecordBytes: number;
  private readonly splitter: RecordSplitter;
  private readonly prefixes: CompiledPrefix[];
  private held: HeldEntry | undefined;
  private readonly sessions = new Map<number, SessionNames>();

  constructor(options: LogParserOptions = {}) {
    this.maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.splitter = new RecordSplitter(this.maxRecordBytes);
    const sources: string[] = [...COMMON_LINE_PREFIXES];
    if (options.linePrefix !== undefined) sources.unshift(options.linePrefix);
    this.prefixes = [...new Set(sources)].map(compileLinePrefix);
  }

  get pendingBytes(): number {
    return this.splitter.pendingBytes + (this.held?.bytes ?? 0);
  }

  push(chunk: Buffer): ParsedLogEntry[] {
    const out: ParsedLogEntry[] = [];
    for (const line of this.splitter.push(chunk)) this.take(line, out);
    return out;
  }

  flush(): ParsedLogEntry[] {
    const out: ParsedLogEntry[] = [];
    for (const line of this.splitter.flush()) this.take(line, out);
    this.release(out);
    return out;
  }

  private take(line: SplitRecord, out: ParsedLogEntry[]): void {
    const { text } = line;
    if (text.startsWith('\t')) {
      if (this.held !== undefined) {
        this.append(this.held, this.held.field, text.slice(1), line);
      } else {
        out.push(malformed(text, line.truncated));
      }
      return;
    }
    if (text === '') {
      // elog.c never writes an empty line; count its bytes and move on.
      if (this.held !== undefined) this.held.bytes += line.bytes;
      return;
    }
    const parsed = this.parseLine(text);
    if (parsed === undefined) {
      this.release(out);
      out.push(malformed(text, line.truncated));
      return;
    }
    const { entry, label, rest } = parsed;
    const part = PART_LABELS[label];
    if (part !== undefined && this.held !== undefined && samePid(this.held.entry.pid, entry.pid)) {
      this.append(this.held, part, rest, line);
      return;
    }
    // A part label with no entry of its pid to join (the entry was flushed) stands alone.
    this.release(out);
    entry.severity = label;
    entry.truncated = line.truncated;
    this.held = { entry, field: 'message', bytes: line.bytes, size: 0 };
    this.append(this.held, 'message', rest, undefined);
    this.rememberSession(entry);
  }

  private parseLine(text: string): { entry: ParsedLogEntry; label: string; rest: string } | undefined {
    const match = matchLine(this.prefixes, text);
    if (match === undefined) return undefined;
    const entry = emptyEntry('stderr');
    for (const [field, value] of Object.entries(match.fields) as Array<[PrefixField, string]>) {
      if (value !== '') assign(entry, field, value);
    }
    return { entry, label: match.severity, rest: match.rest };
  }

  /** Adds a line to a part of the held entry, keeping the entry within maxRecordBytes. */
  private append(held: HeldEntry, field: TextField, text: string, line: SplitRecord | undefined): void {
    if (line !== undefined) {
      held.bytes += line.bytes;
      if (line.truncated) held.entry.truncated = true;
    }
    held.field = field;
    const current = held.entry[field];
    const addition = current === '' ? text : `\n${text}`;
    const room = this.maxRecordBytes - held.size;
    const { text: kept, cut } = cutToBytes(addition, Math.max(0, room));
    if (cut) held.entry.truncated = true;
    held.entry[field] = current + kept;
    held.size += Buffer.byteLength(kept);
  }

  private release(out: ParsedLogEntry[]): void {
    if (this.held === undefined) return;
    const { entry } = this.held;
    this.held = undefined;
    moveCursorPosition(entry);
    out.push(entry);
  }

  /**
   * With the default prefix ('%m [%p] ') lines carry no user or database; the session's
   * "connection authorized" line names them, so entries of the same pid get them from it.
   */
  private rememberSession(entry: ParsedLogEntry): void {
    const pid = entry.pid;
    if (pid === null) return;
    const message = entry.message;
    if (message.startsWith('connection received:')) {
      this.sessions.delete(pid);
      return;
    }
    const authorized =
      /^(?:replication )?connection authorized: user=(\S*)(?: database=(\S*))?(?: application_name=(.*?))?(?: SSL enabled \(.*\)| GSS \(.*\))*$/.exec(
        message,
      );
    if (authorized !== null) {
      this.sessions.delete(pid);
      this.sessions.set(pid, {
        user: authorized[1] ?? '',
        database: authorized[2] ?? '',
        application: authorized[3] ?? '',
      });
      if (this.sessions.size > MAX_SESSIONS) {
        const oldest = this.sessions.keys().next();
        if (oldest.done !== true) this.sessions.delete(oldest.value);
      }
    }
    const session = this.sessions.get(pid);
    if (session !== undefined) {
      if (entry.user === '') entry.user = session.user;
      if (entry.database === '') entry.database = session.database;
      if (entry.application === '') entry.application = session.application;
    }
    if (message.startsWith('disconnection:')) this.sessions.delete(pid);
  }
}

/**
 * elog.c appends " at character N" to the message line of an error with a cursor position
 * (csvlog has it as query_pos, or internal_query_pos for a position in the internal query).
 */
function moveCursorPosition(entry: ParsedLogEntry): void {
  if (!CURSOR_SEVERITIES.has(entry.severity)) return;
  const match = / at character (\d+)$/.exec(entry.message);
  if (match === null) return;
  entry.message = entry.message.slice(0, match.index);
  if (entry.internalQuery !== '') entry.internalQueryPos = match[1] ?? '';
  else entry.queryPos = match[1] ?? '';
}

const CURSOR_SEVERITIES = new Set(['ERROR', 'FATAL', 'PANIC', 'WARNING', 'NOTICE', 'INFO']);

function samePid(a: number | null, b: number | null): boolean {
  return a === null || b === null || a === b;
}

function malformed(text: string, truncated: boolean): ParsedLogEntry {
  const entry = emptyEntry('stderr');
  entry.malformed = true;
  entry.truncated = truncated;
  entry.message = text;
  return entry;
}

/** `[unknown]` is what %u/%d/%a print before authentication; csvlog leaves those columns empty. */
function known(value: string): string {
  return value === '[unknown]' ? '' : value;
}

function assign(entry: ParsedLogEntry, field: PrefixField, value: string): void {
  switch (field) {
    case 'pid':
      entry.pid = intOrNull(value);
      break;
    case 'sessionLineNum':
      entry.sessionLineNum = intOrNull(value);
      break;
    case 'remoteHostPort': {
      const { host, port } = splitHostPort(value);
      entry.remoteHost = host;
      entry.remotePort = port;
      break;
    }
    case 'user':
    case 'database':
    case 'application':
      entry[field] = known(value);
      break;
    case 'logTime':
    case 'remoteHost':
    case 'sessionId':
    case 'transactionId':
    case 'virtualTransactionId':
    case 'sqlstate':
    case 'commandTag':
    case 'sessionStart':
    case 'backendType':
    case 'leaderPid':
    case 'queryId':
      entry[field] = value;
      break;
  }
}
