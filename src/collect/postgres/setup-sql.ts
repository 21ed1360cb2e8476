export interface SetupSqlOptions {
  user: string;
  password: string;
  /** Grant what reading the server log over SQL needs (the collector's default log source). */
  logsOverSql: boolean;
}

function identifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * The least-privilege setup for the PostgreSQL collector: a login role with pg_monitor (reads
 * every statistics view and other users' statement texts, writes nothing), read-only by
 * default, pg_stat_statements, and the server settings that make query analytics and logs work.
 *
 * It is a psql script: `\if` picks the settings the server's version knows (jsonlog is 15+,
 * compute_query_id 14+), because ALTER SYSTEM cannot run inside a DO block.
 */
export function postgresSetupSql(options: SetupSqlOptions): string {
  const role = identifier(options.user);
  const lines = [
    '-- Sightline: least-privilege setup for the PostgreSQL collector (PostgreSQL 12 to 17).',
    '-- A psql script; run it as a superuser in the database Sightline connects to:',
    '--   sightline setup-sql postgres | psql -U postgres -d <that database>',
    '-- The collector never needs a superuser; every session it opens is read-only anyway.',
    "SELECT current_setting('server_version_num')::int >= 140000 AS pg14,",
    "       current_setting('server_version_num')::int >= 150000 AS pg15 \\gset",
    '',
    "-- 1. The monitoring role: pg_monitor reads statistics and other sessions' queries, and cannot write.",
    // One connection per target; a few more for several targets on one server and reconnects.
    `CREATE ROLE ${role} WITH LOGIN PASSWORD ${literal(options.password)} CONNECTION LIMIT 10;`,
    `GRANT pg_monitor TO ${role};`,
    `ALTER ROLE ${role} SET default_transaction_read_only = on;`,
    `ALTER ROLE ${role} SET statement_timeout = '5s';`,
    `ALTER ROLE ${role} SET lock_timeout = '1s';`,
    '',
    '-- 2. Query analytics. Needs pg_stat_statements in shared_preload_libraries (step 3, then a restart);',
    "--    run this in the database named in Sightline's connection string.",
    'CREATE EXTENSION IF NOT EXISTS pg_stat_statements;',
    '',
    "-- 3. Server settings. The libraries and log destinations already set are kept; Sightline's are added.",
    '--    shared_preload_libraries and logging_collector need a restart; the others take effect with pg_reload_conf().',
    "SELECT string_agg(quote_literal(lib), ', ' ORDER BY first) AS preload",
    "  FROM (SELECT trim(both ' \"' FROM item) AS lib, min(n) AS first",
    "          FROM unnest(string_to_array(current_setting('shared_preload_libraries') || ',pg_stat_statements,auto_explain', ','))",
    '               WITH ORDINALITY AS t(item, n)',
    "         WHERE trim(both ' \"' FROM item) <> ''",
    '         GROUP BY 1) libs \\gset',
    'ALTER SYSTEM SET shared_preload_libraries = :preload;',
    "ALTER SYSTEM SET pg_stat_statements.track = 'all';",
    "ALTER SYSTEM SET track_io_timing = 'on';",
    "ALTER SYSTEM SET logging_collector = 'on';",
    "SELECT CASE WHEN :'pg15'::boolean THEN 'jsonlog' ELSE 'csvlog' END AS format \\gset",
    "SELECT CASE WHEN :'format' = ANY (string_to_array(replace(current_setting('log_destination'), ' ', ''), ','))",
    "            THEN current_setting('log_destination')",
    "            ELSE current_setting('log_destination') || ',' || :'format' END AS destinations \\gset",
    "ALTER SYSTEM SET log_destination = :'destinations';",
    '\\if :pg14',
    "  ALTER SYSTEM SET compute_query_id = 'on';",
    '\\endif',
    "ALTER SYSTEM SET log_min_duration_statement = '1000';     -- statements slower than 1 s",
    "ALTER SYSTEM SET log_autovacuum_min_duration = '0';",
    "ALTER SYSTEM SET log_checkpoints = 'on';",
    "ALTER SYSTEM SET log_lock_waits = 'on';",
    "LOAD 'auto_explain';                                      -- so ALTER SYSTEM knows its settings",
    "ALTER SYSTEM SET auto_explain.log_min_duration = '1000';  -- plans of statements slower than 1 s",
    "ALTER SYSTEM SET auto_explain.log_format = 'json';",
    'SELECT pg_reload_conf();',
  ];
  if (options.logsOverSql) {
    lines.push(
      '',
      '-- 4. Reading the server log over SQL, so Sightline needs no access to the database host.',
      '--    pg_read_binary_file can read any file the server account can read: leave this out',
      '--    (--no-logs-over-sql) and set logs.source to the log directory if Sightline runs on the host.',
      `GRANT EXECUTE ON FUNCTION pg_current_logfile(text) TO ${role};`,
      `GRANT EXECUTE ON FUNCTION pg_stat_file(text) TO ${role};`,
      `GRANT EXECUTE ON FUNCTION pg_read_binary_file(text, bigint, bigint) TO ${role};`,
    );
  }
  lines.push(
    '',
    '-- Then restart PostgreSQL (e.g. systemctl restart postgresql) and run:',
    `--   sightline start --postgres 'postgresql://${encodeURIComponent(options.user)}:<password>@<host>:5432/<database>'`,
    '',
  );
  return lines.join('\n');
}
