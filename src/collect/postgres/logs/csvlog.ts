import {
  DEFAULT_MAX_RECORD_BYTES,
  emptyEntry,
  intOrNull,
  splitHostPort,
  type LogParser,
  type LogParserOptions,
  type ParsedLogEntry,
} from './log-parser.js';
import { RecordSplitter, type RecordEndScanner, type SplitRecord } from './record-splitter.js';

/**
 * csvlog columns in order (PostgreSQL 15 docs, "Using CSV-Format Log Output"). Older servers
 * write a prefix of this list: 13 stops before backend_type, 14 adds leader_pid and query_id.
 */
export const CSVLOG_COLUMNS = [
  'log_time',
  'user_name',
  'database_name',
  'process_id',
  'connection_from',
  'session_id',
  'session_line_num',
  'command_tag',
  'session_start_time',
  'virtual_transaction_id',
  'transaction_id',
  'error_severity',
  'sql_state_code',
  'message',
  'detail',
  'hint',
  'internal_query',
  'internal_query_pos',
  'context',
  'query',
  'query_pos',
  'location',
  'application_name',
  'backend_type',
  'leader_pid',
  'query_id',
] as const;

/** Every csvlog version has at least the columns up to application_name (PostgreSQL 9.0+). */
const MIN_COLUMNS = 23;
const LOG_TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/;

const QUOTE = 0x22;
const NEWLINE = 0x0a;

/**
 * A record ends at a newline outside quotes (RFC 4180). Quotes and newlines are ASCII, which
 * never occurs inside a UTF-8 multi-byte sequence, so scanning bytes is safe; a doubled quote
 * inside a quoted field toggles the state twice and leaves it unchanged.
 */
function csvRecordScanner(): RecordEndScanner {
  let inQuotes = false;
  return (chunk, from) => {
    let i = from;
    for (;;) {
      if (inQuotes) {
        const quote = chunk.indexOf(QUOTE, i);
        if (quote === -1) return -1;
        inQuotes = false;
        i = quote + 1;
        continue;
      }
      const quote = chunk.indexOf(QUOTE, i);
      const newline = chunk.indexOf(NEWLINE, i);
      if (newline !== -1 && (quote === -1 || newline < quote)) return newline;
      if (quote === -1) return -1;
      inQuotes = true;
      i = quote + 1;
    }
  };
}

/** Splits one CSV record into fields; a quoted field left open (a cut record) runs to the end. */
export function parseCsvRecord(text: string): string[] {
  const fields: string[] = [];
  let i = 0;
  const n = text.length;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      let j = i + 1;
      for (;;) {
        const quote = text.indexOf('"', j);
        if (quote === -1) {
          value += text.slice(j);
          j = n;
          break;
        }
        value += text.slice(j, quote);
        if (text[quote + 1] === '"') {
          value += '"';
          j = quote + 2;
        } else {
          j = quote + 1;
          break;
        }
      }
      fields.push(value);
      // Anything between the closing quote and the next comma is not valid CSV; skip it.
      const comma = text.indexOf(',', j);
      if (comma === -1) return fields;
      i = comma + 1;
    } else {
      const comma = text.indexOf(',', i);
      if (comma === -1) {
        fields.push(text.slice(i));
        return fields;
      }
      fields.push(text.slice(i, comma));
      i = comma + 1;
    }
  }
}

export function entryFromCsvFields(fields: readonly string[], truncated: boolean): ParsedLogEntry {
  const field = (index: number): string => fields[index] ?? '';
  const entry = emptyEntry('csvlog');
  entry.truncated = truncated;
  if (!LOG_TIME.test(field(0)) || (fields.length < MIN_COLUMNS && !truncated)) {
    entry.malformed = true;
    entry.message = fields.join(',');
    return entry;
  }
  const from = splitHostPort(field(4));
  entry.logTime = field(0);
  entry.user = field(1);
  entry.database = field(2);
  entry.pid = intOrNull(field(3));
  entry.remoteHost = from.host;
  entry.remotePort = from.port;
  entry.sessionId = field(5);
  entry.sessionLineNum = intOrNull(field(6));
  entry.commandTag = field(7);
  entry.sessionStart = field(8);
  entry.virtualTransactionId = field(9);
  entry.transactionId = field(10);
  entry.severity = field(11);
  entry.sqlstate = field(12);
  entry.message = field(13);
  entry.detail = field(14);
  entry.hint = field(15);
  entry.internalQuery = field(16);
  entry.internalQueryPos = field(17);
  entry.context = field(18);
  entry.query = field(19);
  entry.queryPos = field(20);
  entry.location = field(21);
  entry.application = field(22);
  entry.backendType = field(23);
  entry.leaderPid = field(24);
  entry.queryId = field(25);
  return entry;
}

/** csvlog: RFC 4180 records whose quoted fields may hold newlines. */
export class CsvlogParser implements LogParser {
  readonly format = 'csvlog' as const;
  private readonly maxRecordBytes: number;
  private splitter: RecordSplitter;

  constructor(options: LogParserOptions = {}) {
    this.maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.splitter = new RecordSplitter(this.maxRecordBytes, csvRecordScanner());
  }

  get pendingBytes(): number {
    return this.splitter.pendingBytes;
  }

  push(chunk: Buffer): ParsedLogEntry[] {
    return toEntries(this.splitter.push(chunk));
  }

  flush(): ParsedLogEntry[] {
    const entries = toEntries(this.splitter.flush());
    // The scanner may have been left inside quotes by an unfinished record: start clean.
    this.splitter = new RecordSplitter(this.maxRecordBytes, csvRecordScanner());
    return entries;
  }
}

function toEntries(records: SplitRecord[]): ParsedLogEntry[] {
  const entries: ParsedLogEntry[] = [];
  for (const record of records) {
    if (record.text === '' && !record.truncated) continue;
    entries.push(entryFromCsvFields(parseCsvRecord(record.text), record.truncated));
  }
  return entries;
}
