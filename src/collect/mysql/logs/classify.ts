/**
 * What a MySQL or MariaDB error log entry is about, from its level, subsystem and text. The
 * messages are those of MariaDB 10.6–11.x and MySQL 5.7–8.4 in English (lc_messages is only
 * for client errors; the error log is always English).
 */

export type ErrorLogCategory =
  'startup' | 'shutdown' | 'connection' | 'replication' | 'innodb' | 'error' | 'other';

export type AttributeValue = string | number | boolean;

export interface ErrorLogClassification {
  category: ErrorLogCategory;
  /** From `Access denied for user 'u'@'h'` and `Aborted connection … user: 'u' host: 'h'`. */
  user: string;
  database: string;
  attributes: Record<string, AttributeValue>;
}

/**
 * sql_acl.cc ER_ACCESS_DENIED_ERROR: `Access denied for user '%s'@'%s' (using password: %s)`.
 * The server does not escape the names: the user is everything up to the last `'@'`.
 */
const ACCESS_DENIED = /^Access denied for user '(.*)'@'([^']*)'(?: \(using password: (YES|NO)\))?/;
/** ER_NEW_ABORTING_CONNECTION, logged at log_warnings ≥ 2 (MariaDB) / verbosity 3 (MySQL 8, with a final period). */
const ABORTED = /^Aborted connection (\d+) to db: '(.*?)' user: '(.*?)' host: '([^']*)' \((.*)\)\.?$/;

const CONNECTION = [
  /^Could not read packet: /,
  /^Got (?:timeout|an error) (?:reading|writing) communication packets/,
  /^Too many connections/,
  /^Host '[^']*' is blocked because of many connection errors/,
  /^IP address '[^']*' could not be resolved/,
  /^Hostname '[^']*' does not resolve to '[^']*'/,
];

const REPLICATION = [
  /^(?:Slave|Replica|Master|Source)\b/,
  /\b(?:relay[ _-]log|binlog_dump|semi-?sync|replication)\b/i,
  /^Error reading packet from (?:server|master|source)/i,
  // Galera (MariaDB Cluster) prefixes its messages.
  /^WSREP: /,
];

const SHUTDOWN = [
  /\bNormal shutdown\b/,
  /\bShutdown complete\b/,
  /^Shutdown completed; log sequence number/,
  /^InnoDB: Starting shutdown/,
  /^Received SHUTDOWN from user /,
  /^Giving \d+ client threads a chance to die/,
  /\bShutting down (?:slave|replica|plugin)/i,
  /^Event Scheduler: Purging the queue/,
  /^Aborting$/,
];

const STARTUP = [
  /^Starting MariaDB /,
  /\(mysqld [^)]*\) starting as process \d+/,
  /\(mysqld [^)]*\) initializing of server/,
  /: ready for connections\b/,
  /^X Plugin ready for connections/,
  /^Server socket created on IP: /,
  /^Server hostname \(bind-address\): /,
  /^InnoDB initialization has (?:started|ended)/,
  /^Starting crash recovery/,
  /^Crash recovery finished/,
  /^mysqld_safe (?:Starting|Logging to) /,
  /^Starting mysqld daemon/,
];

const INNODB = /^InnoDB[: ]/;

export function classifyErrorLog(level: string, subsystem: string, message: string): ErrorLogClassification {
  const result: ErrorLogClassification = { category: 'other', user: '', database: '', attributes: {} };
  const a = result.attributes;

  const denied = ACCESS_DENIED.exec(message);
  const aborted = denied === null ? ABORTED.exec(message) : null;
  if (denied !== null) {
    a.event = 'access_denied';
    result.user = denied[1] ?? '';
    a.client_host = denied[2] ?? '';
    if (denied[3] !== undefined) a.using_password = denied[3] === 'YES';
  } else if (aborted !== null) {
    a.event = 'aborted_connection';
    a.connection_id = Number(aborted[1]);
    const database = aborted[2] ?? '';
    // MySQL writes 'unconnected' when the session had no default database.
    if (database !== 'unconnected') result.database = database;
    result.user = aborted[3] ?? '';
    a.client_host = aborted[4] ?? '';
    a.reason = aborted[5] ?? '';
  }

  // The severity decides first, as for PostgreSQL (classify.ts there): a query for errors finds
  // them all. The topic of an error stays in its subsystem attribute and its text.
  if (level.toUpperCase() === 'ERROR') result.category = 'error';
  else if (denied !== null || aborted !== null || matches(CONNECTION, message))
    result.category = 'connection';
  else if (subsystem === 'Repl' || matches(REPLICATION, message)) result.category = 'replication';
  else if (matches(SHUTDOWN, message)) result.category = 'shutdown';
  else if (matches(STARTUP, message)) result.category = 'startup';
  else if (subsystem === 'InnoDB' || INNODB.test(message)) result.category = 'innodb';
  return result;
}

function matches(patterns: readonly RegExp[], message: string): boolean {
  return patterns.some((pattern) => pattern.test(message));
}
