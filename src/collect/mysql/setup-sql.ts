export interface MysqlSetupSqlOptions {
  user: string;
  password: string;
  /** Where the collector connects from: a host pattern of the account (`%` = anywhere). */
  from: string;
  /** Schemas whose SELECTs the collector may EXPLAIN: EXPLAIN needs SELECT on the tables. */
  explainSchemas: readonly string[];
  /** Switch the slow query log on (until the next restart) so slow statements reach the logs. */
  slowLog: boolean;
}

/** A string literal for MySQL and MariaDB in their default sql_mode (backslash escapes on). */
function literal(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
function identifier(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/**
 * The least-privilege setup for the MySQL/MariaDB collector, as one script that runs on both:
 * PROCESS (every session and InnoDB's transactions and lock waits), SHOW DATABASES (schema
 * names), SELECT on mysql.innodb_table_stats (table sizes), the replication-status
 * privilege under each server's name for it (MariaDB 10.5+ REPLICA MONITOR, MySQL REPLICATION
 * CLIENT; picked at run time with a prepared statement), and SELECT on performance_schema
 * (statement digests, history, table I/O; MySQL 8's error_log). Nothing that writes.
 */
export function mysqlSetupSql(options: MysqlSetupSqlOptions): string {
  const account = `${literal(options.user)}@${literal(options.from)}`;
  const accountInText = account.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
  const lines = [
    '-- Sightline: least-privilege setup for the MySQL / MariaDB collector (MySQL 8, MariaDB 10.5+).',
    '-- Run it as an administrator:',
    '--   sightline setup-sql mysql | mysql -u root -p        (or | mariadb -u root -p)',
    '-- The collector never needs more: every session it opens is read-only and time-limited anyway.',
    '',
    '-- 1. The monitoring account: a few connections at most (one per target, and reconnects).',
    `CREATE USER IF NOT EXISTS ${account} IDENTIFIED BY ${literal(options.password)} WITH MAX_USER_CONNECTIONS 5;`,
    `ALTER USER ${account} IDENTIFIED BY ${literal(options.password)};`,
    '',
    '-- 2. Sessions, InnoDB transactions and lock waits (PROCESS); the names of all schemas, not',
    '--    their data (SHOW DATABASES); replication status under its name on each server:',
    '--    REPLICA MONITOR on MariaDB, REPLICATION CLIENT on MySQL.',
    "SET @sightline_grant = CONCAT('GRANT PROCESS, SHOW DATABASES, ',",
    "  IF(VERSION() LIKE '%MariaDB%', 'REPLICA MONITOR', 'REPLICATION CLIENT'),",
    `  ' ON *.* TO ${accountInText}');`,
    'PREPARE sightline_grant FROM @sightline_grant;',
    'EXECUTE sightline_grant;',
    'DEALLOCATE PREPARE sightline_grant;',
    '',
    '-- 3. Statement digests and history, table I/O, and on MySQL 8 the error log table.',
    `GRANT SELECT ON performance_schema.* TO ${account};`,
    '-- 4. Table sizes and row estimates from InnoDB statistics (information_schema shows a user only',
    '--    the tables it may read).',
    `GRANT SELECT ON mysql.innodb_table_stats TO ${account};`,
  ];
  if (options.explainSchemas.length > 0) {
    lines.push(
      '',
      '-- 5. EXPLAIN of sampled slow statements (explain.enabled in the target config). EXPLAIN needs',
      '--    SELECT on the tables a statement reads: this lets the account read these schemas.',
      ...options.explainSchemas.map((schema) => `GRANT SELECT ON ${identifier(schema)}.* TO ${account};`),
    );
  }
  lines.push(
    '',
    '-- Samples of statements (with literals removed by the collector) come from the statement',
    '-- history (fed by the current-statement consumer); switch both on now, and in my.cnf so they',
    '-- survive a restart:',
    '--   performance-schema-consumer-events-statements-current = ON',
    '--   performance-schema-consumer-events-statements-history-long = ON',
    'UPDATE performance_schema.setup_consumers SET ENABLED = ' +
      "'YES' WHERE NAME IN ('events_statements_current', 'events_statements_history_long');",
  );
  if (options.slowLog) {
    lines.push(
      '',
      '-- The slow query log, for statements slower than long_query_time (at most 1 s here). Until the',
      '-- next restart; in my.cnf: slow_query_log = ON, long_query_time = 1. Sightline reads the file',
      '-- when it runs on the same host (logs.slowLog in the target config).',
      'SET GLOBAL slow_query_log = ON;',
      'SET GLOBAL long_query_time = LEAST(@@GLOBAL.long_query_time, 1);',
    );
  }
  lines.push('', `SHOW GRANTS FOR ${account};`, '');
  return lines.join('\n');
}
