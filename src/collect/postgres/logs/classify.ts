/**
 * What a PostgreSQL log message is about, from its text. The messages are those of PostgreSQL 15
 * in English (lc_messages = 'C' or 'en'): a translated server log is classified as 'other'.
 */

export type LogCategory =
  'statement_duration' | 'plan' | 'autovacuum' | 'checkpoint' | 'connection' | 'error' | 'other';

export type AttributeValue = string | number | boolean;

export interface Classification {
  category: LogCategory;
  /** The duration the message reports, in milliseconds. */
  durationMs: number | null;
  /** The statement the message carries, as logged (literals still in); '' when none. */
  statement: string;
  /** The message up to the statement: the message reads `${messageHead}${statement}`. */
  messageHead: string;
  /** auto_explain: the plan as logged (JSON, text, YAML or XML), after `plan:\n`. */
  planBody: string | null;
  attributes: Record<string, AttributeValue>;
}

const ERROR_SEVERITIES = new Set(['ERROR', 'FATAL', 'PANIC']);

/** postgres.c: "duration: %s ms  statement: %s", "duration: %s ms  execute %s%s%s: %s", … */
const DURATION =
  /^duration: (\d+(?:\.\d+)?) ms(?:( {2}(statement|parse|bind|execute fetch from|execute)(?: ([^:\n]*))?: )([\s\S]*))?$/;
/** log_statement without a duration: "statement: %s", "execute %s: %s". */
const STATEMENT = /^((statement|parse|bind|execute fetch from|execute)(?: ([^:\n]*))?: )([\s\S]*)$/;
/** auto_explain.c: "duration: %.3f ms  plan:\n%s". */
const PLAN = /^duration: (\d+(?:\.\d+)?) ms {2}plan:\n([\s\S]*)$/;

export function classify(severity: string, message: string): Classification {
  const result: Classification = {
    category: 'other',
    durationMs: null,
    statement: '',
    messageHead: message,
    planBody: null,
    attributes: {},
  };
  if (ERROR_SEVERITIES.has(severity)) {
    result.category = 'error';
    return result;
  }
  if (message.startsWith('duration: ')) return classifyDuration(message, result);
  if (message.startsWith('automatic ')) return classifyAutovacuum(message, result);
  if (message.startsWith('checkpoint ') || message.startsWith('restartpoint ')) {
    return classifyCheckpoint(message, result);
  }
  if (/^(?:connection |replication connection |disconnection: )/.test(message)) {
    return classifyConnection(message, result);
  }
  const statement = STATEMENT.exec(message);
  if (statement !== null) {
    result.messageHead = statement[1] ?? '';
    result.statement = statement[4] ?? '';
    result.attributes.statement_phase = phase(statement[2]);
    if (statement[3] !== undefined) result.attributes.prepared_statement = statement[3];
  }
  return result;
}

function classifyDuration(message: string, result: Classification): Classification {
  const plan = PLAN.exec(message);
  if (plan !== null) {
    result.category = 'plan';
    result.durationMs = Number(plan[1]);
    result.messageHead = `duration: ${plan[1] ?? ''} ms  plan:`;
    result.planBody = plan[2] ?? '';
    return result;
  }
  const duration = DURATION.exec(message);
  if (duration === null) return result;
  result.category = 'statement_duration';
  result.durationMs = Number(duration[1]);
  if (duration[2] === undefined) return result;
  result.messageHead = `duration: ${duration[1] ?? ''} ms${duration[2]}`;
  result.statement = duration[5] ?? '';
  result.attributes.statement_phase = phase(duration[3]);
  if (duration[4] !== undefined) result.attributes.prepared_statement = duration[4];
  return result;
}

/** The protocol step a statement line is about; `execute fetch from` is an execute too. */
function phase(word: string | undefined): string {
  return word === 'execute fetch from' ? 'execute' : (word ?? '');
}

/** vacuumlazy.c / analyze.c, PostgreSQL 15 (older and newer wordings where they differ). */
function classifyAutovacuum(message: string, result: Classification): Classification {
  const head =
    /^automatic (aggressive )?(vacuum|analyze)( to prevent wraparound)? of table "((?:[^"]|"")*)"(?:: index scans: (\d+))?/.exec(
      message,
    );
  if (head === null) return result;
  const a = result.attributes;
  result.category = 'autovacuum';
  a.operation = head[2] ?? '';
  a.table = head[4] ?? '';
  if (head[1] !== undefined) a.aggressive = true;
  if (head[3] !== undefined) a.wraparound = true;
  if (head[5] !== undefined) a.index_scans = Number(head[5]);
  numbers(message, /pages: (\d+) removed, (\d+) remain(?:, (\d+) scanned)?/, a, [
    'pages_removed',
    'pages_remain',
    'pages_scanned',
  ]);
  numbers(message, /tuples: (\d+) removed, (\d+) remain, (\d+) are dead but not yet removable/, a, [
    'tuples_removed',
    'tuples_remain',
    'tuples_dead_not_removable',
  ]);
  numbers(message, /buffer usage: (\d+) hits, (\d+) (?:misses|reads), (\d+) dirtied/, a, [
    'buffer_hits',
    'buffer_misses',
    'buffer_dirtied',
  ]);
  numbers(message, /WAL usage: (\d+) records, (\d+) full page images, (\d+) bytes/, a, [
    'wal_records',
    'wal_full_page_images',
    'wal_bytes',
  ]);
  numbers(message, /avg read rate: (\d+(?:\.\d+)?) MB\/s, avg write rate: (\d+(?:\.\d+)?) MB\/s/, a, [
    'read_rate_mb_s',
    'write_rate_mb_s',
  ]);
  numbers(message, /I\/O timings: read: (\d+(?:\.\d+)?) ms, write: (\d+(?:\.\d+)?) ms/, a, [
    'io_read_ms',
    'io_write_ms',
  ]);
  numbers(
    message,
    /system usage: CPU: user: (\d+(?:\.\d+)?) s, system: (\d+(?:\.\d+)?) s, elapsed: (\d+(?:\.\d+)?) s/,
    a,
    ['cpu_user_s', 'cpu_system_s', 'elapsed_s'],
  );
  if (typeof a.elapsed_s === 'number') result.durationMs = round3(a.elapsed_s * 1000);
  return result;
}

/** xlog.c LogCheckpointStart / LogCheckpointEnd. */
function classifyCheckpoint(message: string, result: Classification): Classification {
  const head = /^(checkpoint|restartpoint) (starting|complete)(?::|$)\s*(.*)/.exec(message);
  if (head === null) return result;
  const a = result.attributes;
  result.category = 'checkpoint';
  a.kind = head[1] ?? '';
  a.event = head[2] ?? '';
  if (head[2] === 'starting') {
    a.flags = (head[3] ?? '').trim();
    return result;
  }
  numbers(message, /wrote (\d+) buffers \((\d+(?:\.\d+)?)%\)/, a, ['buffers_written', 'buffers_written_pct']);
  numbers(message, /(\d+) WAL file\(s\) added, (\d+) removed, (\d+) recycled/, a, [
    'wal_files_added',
    'wal_files_removed',
    'wal_files_recycled',
  ]);
  numbers(message, /write=(\d+(?:\.\d+)?) s, sync=(\d+(?:\.\d+)?) s, total=(\d+(?:\.\d+)?) s/, a, [
    'write_s',
    'sync_s',
    'total_s',
  ]);
  numbers(message, /sync files=(\d+), longest=(\d+(?:\.\d+)?) s, average=(\d+(?:\.\d+)?) s/, a, [
    'sync_files',
    'sync_longest_s',
    'sync_average_s',
  ]);
  numbers(message, /distance=(\d+) kB, estimate=(\d+) kB/, a, ['distance_kb', 'estimate_kb']);
  if (typeof a.total_s === 'number') result.durationMs = round3(a.total_s * 1000);
  return result;
}

/** postmaster.c / postinit.c connection logging (log_connections, log_disconnections). */
function classifyConnection(message: string, result: Classification): Classification {
  const a = result.attributes;
  const received = /^connection received: host=(\S*)(?: port=(\d+))?/.exec(message);
  const authenticated = /^connection authenticated: identity="((?:[^"]|"")*)" method=(\S+)/.exec(message);
  const authorized =
    /^(replication )?connection authorized: user=(\S*)(?: database=(\S*))?(?: application_name=(.*?))?(?: SSL enabled \(.*\)| GSS \(.*\))*$/.exec(
      message,
    );
  const disconnection =
    /^disconnection: session time: (\d+):(\d\d):(\d\d(?:\.\d+)?) user=(\S*) database=(\S*) host=(\S*)(?: port=(\d+))?/.exec(
      message,
    );
  if (received !== null) {
    a.event = 'received';
    a.client_host = received[1] ?? '';
    if (received[2] !== undefined) a.client_port = Number(received[2]);
  } else if (authenticated !== null) {
    a.event = 'authenticated';
    a.identity = authenticated[1] ?? '';
    a.method = authenticated[2] ?? '';
  } else if (authorized !== null) {
    a.event = 'authorized';
    if (authorized[1] !== undefined) a.replication = true;
    if (message.includes(' SSL enabled (')) a.ssl = true;
  } else if (disconnection !== null) {
    a.event = 'disconnection';
    const seconds =
      Number(disconnection[1]) * 3600 + Number(disconnection[2]) * 60 + Number(disconnection[3] ?? '0');
    result.durationMs = round3(seconds * 1000);
    a.client_host = disconnection[6] ?? '';
    if (disconnection[7] !== undefined) a.client_port = Number(disconnection[7]);
  } else {
    return result;
  }
  result.category = 'connection';
  return result;
}

function numbers(
  message: string,
  pattern: RegExp,
  into: Record<string, AttributeValue>,
  names: readonly string[],
): void {
  const match = pattern.exec(message);
  if (match === null) return;
  names.forEach((name, index) => {
    const value = match[index + 1];
    if (value !== undefined) into[name] = Number(value);
  });
}

/** Microsecond precision is what the log has; this drops float noise from the unit change. */
function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
