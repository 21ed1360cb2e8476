import {
  DEFAULT_MAX_RECORD_BYTES,
  emptyEntry,
  intOrNull,
  type LogParser,
  type LogParserOptions,
  type ParsedLogEntry,
} from './log-parser.js';
import { RecordSplitter, type SplitRecord } from './record-splitter.js';

/**
 * jsonlog (PostgreSQL 15+): one JSON object per line; strings escape their newlines, so a raw
 * newline always ends a record. Keys are left out when empty (src/backend/utils/error/jsonlog.c).
 */
export class JsonlogParser implements LogParser {
  readonly format = 'jsonlog' as const;
  private readonly splitter: RecordSplitter;

  constructor(options: LogParserOptions = {}) {
    this.splitter = new RecordSplitter(options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES);
  }

  get pendingBytes(): number {
    return this.splitter.pendingBytes;
  }

  push(chunk: Buffer): ParsedLogEntry[] {
    return toEntries(this.splitter.push(chunk));
  }

  flush(): ParsedLogEntry[] {
    return toEntries(this.splitter.flush());
  }
}

function toEntries(records: SplitRecord[]): ParsedLogEntry[] {
  const entries: ParsedLogEntry[] = [];
  for (const record of records) {
    if (record.text.trim() === '' && !record.truncated) continue;
    entries.push(parseJsonlogLine(record.text, record.truncated));
  }
  return entries;
}

type JsonValues = Record<string, string>;

/**
 * query_id is a signed 64-bit integer written as a JSON number: JSON.parse would round it. A
 * raw `"` cannot occur inside a JSON string (it is escaped), so a match after `{` or `,` is a key.
 */
const QUERY_ID_NUMBER = /([{,])"query_id":(-?\d+)(?=[,}])/;

export function parseJsonlogLine(line: string, truncated = false): ParsedLogEntry {
  let values: JsonValues | undefined;
  if (!truncated) values = strictValues(line);
  // A cut (or otherwise broken) line still yields the keys before the cut.
  const lenient = values === undefined ? lenientValues(line) : undefined;
  values ??= lenient?.values;
  if (values === undefined || values.timestamp === undefined) {
    const entry = emptyEntry('jsonlog');
    entry.malformed = true;
    entry.truncated = truncated;
    entry.message = line;
    return entry;
  }
  const entry = entryFromJsonValues(values);
  entry.truncated = truncated;
  entry.malformed = lenient !== undefined && !truncated;
  return entry;
}

function strictValues(line: string): JsonValues | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line.replace(QUERY_ID_NUMBER, '$1"query_id":"$2"'));
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const values: JsonValues = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof value === 'string') values[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') values[key] = String(value);
  }
  return values;
}

/**
 * Reads the flat object key by key and stops where the text stops, keeping a string value cut
 * in the middle. Numbers are kept as written.
 */
function lenientValues(line: string): { values: JsonValues } | undefined {
  const values: JsonValues = {};
  let i = skipSpace(line, 0);
  if (line[i] !== '{') return undefined;
  i++;
  for (;;) {
    i = skipSpace(line, i);
    if (line[i] !== '"') break;
    const key = readString(line, i);
    i = skipSpace(line, key.end);
    if (line[i] !== ':') break;
    i = skipSpace(line, i + 1);
    if (line[i] === '"') {
      const value = readString(line, i);
      values[key.value] = value.value;
      if (!value.closed) break;
      i = value.end;
    } else {
      const scalar = /^[^,}\s]+/.exec(line.slice(i, i + 40));
      if (scalar === null) break;
      if (scalar[0] !== 'null') values[key.value] = scalar[0];
      i += scalar[0].length;
    }
    i = skipSpace(line, i);
    if (line[i] !== ',') break;
    i++;
  }
  return { values };
}

function skipSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && /\s/.test(text[i] ?? '')) i++;
  return i;
}

function readString(text: string, start: number): { value: string; end: number; closed: boolean } {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  const closed = i < text.length;
  let body = text.slice(start + 1, Math.min(i, text.length));
  if (!closed) body = body.replace(/\\(?:u[0-9a-fA-F]{0,3})?$/, '');
  let value: string;
  try {
    value = JSON.parse(`"${body}"`) as string;
  } catch {
    value = body;
  }
  return { value, end: closed ? i + 1 : text.length, closed };
}

function entryFromJsonValues(v: JsonValues): ParsedLogEntry {
  const entry = emptyEntry('jsonlog');
  const get = (key: string): string => v[key] ?? '';
  entry.logTime = get('timestamp');
  entry.user = get('user');
  entry.database = get('dbname');
  entry.pid = intOrNull(get('pid'));
  entry.remoteHost = get('remote_host');
  entry.remotePort = get('remote_port');
  entry.sessionId = get('session_id');
  entry.sessionLineNum = intOrNull(get('line_num'));
  entry.commandTag = get('ps');
  entry.sessionStart = get('session_start');
  entry.virtualTransactionId = get('vxid');
  entry.transactionId = get('txid');
  entry.severity = get('error_severity');
  // Left out when the code is 0, which csvlog writes as 00000 (successful completion).
  entry.sqlstate = v.state_code ?? '00000';
  entry.message = get('message');
  entry.detail = get('detail');
  entry.hint = get('hint');
  entry.internalQuery = get('internal_query');
  entry.internalQueryPos = get('internal_position');
  entry.context = get('context');
  entry.query = get('statement');
  entry.queryPos = get('cursor_position');
  // csvlog's location column is "function, file:line"; jsonlog splits it into three keys.
  const file = get('file_name');
  const line = get('file_line_num');
  const where = file === '' ? '' : line === '' ? file : `${file}:${line}`;
  entry.location = [get('func_name'), where].filter((part) => part !== '').join(', ');
  entry.application = get('application_name');
  entry.backendType = get('backend_type');
  entry.leaderPid = get('leader_pid');
  entry.queryId = get('query_id');
  return entry;
}
