import type { MetricDefinition } from '../metric-batch.js';

/**
 * The metrics the MySQL/MariaDB collector emits. Names, units and attribute values follow the
 * OpenTelemetry collector-contrib mysqlreceiver (`receiver/mysqlreceiver/metadata.yaml`) where it
 * has the metric; the others use the same `mysql.` prefix and style. Counters are cumulative since
 * the server started (status counters: since the last FLUSH STATUS).
 *
 * Per-object attributes are named as the PostgreSQL collector names them (`mysql.database.name`,
 * `mysql.table.name`, `mysql.index.name`; the receiver says `schema`, `table`, `index`), so the
 * database views filter a schema's metrics the same way for both engines.
 */
function gauge(name: string, unit: string, description: string): MetricDefinition {
  return { name, unit, description };
}
function counter(name: string, unit: string, description: string): MetricDefinition {
  return { name, unit, description, counter: true };
}

export const MY = {
  // Ours: the collector's own verdict.
  up: gauge('mysql.up', '1', '1 when the collector reached the server in this cycle, else 0.'),

  // information_schema.PROCESSLIST and INNODB_TRX (family `sessions`).
  sessions: gauge(
    'mysql.sessions',
    '{sessions}',
    'Client sessions by command (Sleep, Query, …) and state (the processlist STATE; empty when none).',
  ),
  longestQuery: gauge('mysql.query.longest_duration', 's', 'Age of the longest running statement.'),
  oldestTransaction: gauge(
    'mysql.transaction.longest_duration',
    's',
    'Age of the oldest open InnoDB transaction (a long one holds back purge: see history list length).',
  ),
  lockWaits: gauge(
    'mysql.sessions.blocked',
    '{sessions}',
    'Transactions waiting for an InnoDB row lock another holds.',
  ),

  // SHOW GLOBAL STATUS (family `status`).
  uptime: counter('mysql.uptime', 's', 'Seconds the server has been up (Uptime).'),
  threads: gauge(
    'mysql.threads',
    '{threads}',
    'Server threads by kind: cached, connected, running (now) and created (cumulative; Threads_*).',
  ),
  connectionCount: counter(
    'mysql.connection.count',
    '{connections}',
    'Connection attempts, successful or not (Connections).',
  ),
  connectionErrors: counter(
    'mysql.connection.errors',
    '{errors}',
    'Failed connections by error: accept, internal, max_connections, peer_address, select, tcpwrap ' +
      '(Connection_errors_*), aborted (Aborted_connects), aborted_clients (Aborted_clients: sessions ' +
      'dropped without a proper close) and locked (Locked_connects, MySQL 8.0.19+).',
  ),
  maxUsedConnections: gauge(
    'mysql.max_used_connections',
    '{connections}',
    'Most connections open at once since the server started or FLUSH STATUS (Max_used_connections).',
  ),
  queryCount: counter(
    'mysql.query.count',
    '{queries}',
    'Statements executed, including those inside stored programs (Queries).',
  ),
  queryClientCount: counter(
    'mysql.query.client.count',
    '{queries}',
    'Statements sent by clients (Questions).',
  ),
  querySlowCount: counter(
    'mysql.query.slow.count',
    '{queries}',
    'Statements that took longer than long_query_time (Slow_queries).',
  ),
  commands: counter(
    'mysql.commands',
    '{commands}',
    'Statements executed by command: select, insert, update, delete, their _multi and _select forms, ' +
      'replace, load, begin, commit, rollback, DDL and a few others (Com_<command>).',
  ),
  preparedStatements: counter(
    'mysql.prepared_statements',
    '{commands}',
    'Prepared-statement protocol commands: execute, close, fetch, prepare, reset, send_long_data (Com_stmt_*).',
  ),
  clientNetworkIo: counter(
    'mysql.client.network.io',
    'By',
    'Bytes received from and sent to clients, kind received or sent (Bytes_received, Bytes_sent).',
  ),
  handlers: counter(
    'mysql.handlers',
    '{operations}',
    'Storage engine handler calls by kind: read_rnd_next counts rows read by full scans, read_key index lookups (Handler_*).',
  ),
  sorts: counter(
    'mysql.sorts',
    '{sorts}',
    'Sorts by kind: merge_passes, range, rows (rows sorted) and scan (Sort_*).',
  ),
  joins: counter(
    'mysql.joins',
    '{joins}',
    'Joins and selects by kind: full (no index), full_range, range, range_check and scan (first table fully scanned; Select_*).',
  ),
  tmpResources: counter(
    'mysql.tmp_resources',
    '{resources}',
    'Temporary resources created: tables, disk_tables (those written to disk) and files (Created_tmp_*).',
  ),
  locks: counter(
    'mysql.locks',
    '{locks}',
    'Table locks granted at once (kind immediate) or after a wait (waited; Table_locks_*).',
  ),
  openedResources: counter(
    'mysql.opened_resources',
    '{resources}',
    'Files, table definitions and tables opened (Opened_files, Opened_table_definitions, Opened_tables).',
  ),
  tableOpenCache: counter(
    'mysql.table_open_cache',
    '{lookups}',
    'Table cache lookups by status: hit, miss, overflow (Table_open_cache_*).',
  ),
  tableCacheOpen: gauge(
    'mysql.table_cache.open',
    '{tables}',
    'Tables open in the table cache now (Open_tables); compare with mysql.table_cache.limit.',
  ),

  // SHOW GLOBAL STATUS LIKE 'Innodb%' (family `innodb`).
  bufferPoolPages: gauge(
    'mysql.buffer_pool.pages',
    '{pages}',
    'InnoDB buffer pool pages by kind: data, free, misc (locks, adaptive hash) and total.',
  ),
  bufferPoolDataPages: gauge(
    'mysql.buffer_pool.data_pages',
    '{pages}',
    'InnoDB buffer pool data pages by status: dirty (changed, not yet flushed) and clean.',
  ),
  bufferPoolUsage: gauge(
    'mysql.buffer_pool.usage',
    'By',
    'Bytes of data in the InnoDB buffer pool by status: dirty and clean.',
  ),
  bufferPoolPageFlushes: counter(
    'mysql.buffer_pool.page_flushes',
    '{pages}',
    'Pages flushed from the InnoDB buffer pool (Innodb_buffer_pool_pages_flushed).',
  ),
  bufferPoolOperations: counter(
    'mysql.buffer_pool.operations',
    '{operations}',
    'InnoDB buffer pool operations: read_requests (logical reads) and reads (the ones that went to disk; ' +
      'hit ratio = 1 - reads/read_requests), write_requests, wait_free, read_ahead, read_ahead_rnd, read_ahead_evicted.',
  ),
  pageSize: gauge('mysql.page_size', 'By', 'InnoDB page size (Innodb_page_size).'),
  pageOperations: counter(
    'mysql.page_operations',
    '{pages}',
    'InnoDB pages created, read and written (Innodb_pages_*).',
  ),
  rowOperations: counter(
    'mysql.row_operations',
    '{rows}',
    'InnoDB rows read, inserted, updated and deleted (Innodb_rows_*). Newer MariaDB (10.11 for one) has no such counters: there they ' +
      "are the server's for all engines (Rows_read, Handler_write, Handler_update, Handler_delete).",
  ),
  rowLocks: counter(
    'mysql.row_locks',
    '1',
    'InnoDB row lock waits: kind waits counts them, kind time is the total time waited in milliseconds ' +
      '(Innodb_row_lock_waits, Innodb_row_lock_time; one metric with two units, as the OpenTelemetry receiver has it).',
  ),
  rowLockCurrentWaits: gauge(
    'mysql.row_lock.current_waits',
    '{waits}',
    'InnoDB row locks being waited for now (Innodb_row_lock_current_waits).',
  ),
  deadlocks: counter('mysql.deadlocks', '{deadlocks}', 'InnoDB deadlocks (Innodb_deadlocks; MariaDB only).'),
  historyListLength: gauge(
    'mysql.innodb.history_list_length',
    '{transactions}',
    'Undo log entries not purged yet: grows while a long transaction holds old versions (Innodb_history_list_length; MariaDB only).',
  ),
  logOperations: counter(
    'mysql.log_operations',
    '{operations}',
    'InnoDB redo log operations: waits (a write had to wait for log buffer space), write_requests, writes, ' +
      'fsyncs (Innodb_log_*, Innodb_os_log_fsyncs where the server has it).',
  ),
  redoLogWritten: counter(
    'mysql.redo_log.written',
    'By',
    'Bytes written to the InnoDB redo log (Innodb_os_log_written).',
  ),
  operations: counter(
    'mysql.operations',
    '{operations}',
    'InnoDB data file operations: reads, writes, fsyncs (Innodb_data_reads, _writes, _fsyncs).',
  ),
  pendingOperations: gauge(
    'mysql.pending_operations',
    '{operations}',
    'InnoDB data file reads, writes and fsyncs in progress now (Innodb_data_pending_*).',
  ),
  dataIo: counter(
    'mysql.data.io',
    'By',
    'Bytes InnoDB read from (kind read) and wrote to (kind written) its data files (Innodb_data_read, Innodb_data_written).',
  ),
  doubleWrites: counter(
    'mysql.double_writes',
    '{operations}',
    'InnoDB doublewrite buffer: pages_written and writes (Innodb_dblwr_*).',
  ),

  // SHOW GLOBAL VARIABLES (family `variables`).
  connectionMax: gauge('mysql.connection.max', '{connections}', 'max_connections.'),
  bufferPoolLimit: gauge(
    'mysql.buffer_pool.limit',
    'By',
    'Configured size of the InnoDB buffer pool (innodb_buffer_pool_size).',
  ),
  tableCacheLimit: gauge(
    'mysql.table_cache.limit',
    '{tables}',
    'Size of the table cache (table_open_cache).',
  ),

  // Replication (family `replication`): one point per replication channel of a replica.
  replicaTimeBehindSource: gauge(
    'mysql.replica.time_behind_source',
    's',
    'How late the replica applies what it received, per channel (Seconds_Behind_Source / _Master); ' +
      'no point while the SQL thread is stopped.',
  ),
  replicaSqlDelay: gauge(
    'mysql.replica.sql_delay',
    's',
    'Delay the replica is configured to keep behind its source, per channel (SQL_Delay).',
  ),
  replicaIoRunning: gauge(
    'mysql.replica.io_running',
    '1',
    '1 when the replication I/O (receiver) thread of a channel is running and connected, else 0 (also while it is connecting).',
  ),
  replicaSqlRunning: gauge(
    'mysql.replica.sql_running',
    '1',
    '1 when the replication SQL (applier) thread of a channel is running, else 0.',
  ),
  replicaGtidGap: gauge(
    'mysql.replica.gtid.gap',
    '{transactions}',
    'Transactions a channel received but has not applied yet: Retrieved_Gtid_Set minus Executed_Gtid_Set on MySQL; ' +
      'on MariaDB the sequence numbers of Gtid_IO_Pos minus Gtid_Slave_Pos, domain by domain. No point without GTIDs.',
  ),

  // information_schema.TABLES (family `tables`): the top N tables by size.
  tableCount: gauge(
    'mysql.table.count',
    '{tables}',
    'Tables outside the system schemas; only the largest topTables get per-table points.',
  ),
  tableSize: gauge(
    'mysql.table.size',
    'By',
    'Size of a table by kind: data and index (DATA_LENGTH, INDEX_LENGTH; MySQL 8 caches these for information_schema_stats_expiry).',
  ),
  tableRows: gauge('mysql.table.rows', '{rows}', 'Rows of a table (TABLE_ROWS: an estimate for InnoDB).'),
  tableAverageRowLength: gauge(
    'mysql.table.average_row_length',
    'By',
    'Average row length of a table (AVG_ROW_LENGTH).',
  ),

  // performance_schema (families `table_io`, `index_io`): the top N by wait time.
  tableIoWaitCount: counter(
    'mysql.table.io.wait.count',
    '{operations}',
    'Row I/O operations on a table by operation: fetch, insert, update, delete (table_io_waits_summary_by_table).',
  ),
  tableIoWaitTime: counter(
    'mysql.table.io.wait.time',
    'ns',
    'Time spent in row I/O on a table by operation: fetch, insert, update, delete.',
  ),
  indexIoWaitCount: counter(
    'mysql.index.io.wait.count',
    '{operations}',
    'Row I/O operations through an index by operation (table_io_waits_summary_by_index_usage); index NONE is I/O that used no index.',
  ),
  indexIoWaitTime: counter(
    'mysql.index.io.wait.time',
    'ns',
    'Time spent in row I/O through an index by operation; index NONE is I/O that used no index.',
  ),
} as const;
