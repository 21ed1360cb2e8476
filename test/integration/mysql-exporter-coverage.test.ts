import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mysqlTargetSchema } from '../../src/config/schema.js';
import { msToNs } from '../../src/core/time.js';
import { MetricBatch } from '../../src/collect/metric-batch.js';
import { MYSQL_METRIC_FAMILIES } from '../../src/collect/mysql/metric-queries.js';
import { MysqlSession } from '../../src/collect/mysql/session.js';
import { resolveMysqlTarget } from '../../src/collect/mysql/target.js';
import {
  MARIADB_INSTALL_HINT,
  mariadbAvailable,
  startMariadb,
  type MariadbInstance,
} from '../harness/mariadb.js';
import {
  MYSQLD_EXPORTER_INSTALL_HINT,
  mysqldExporterAvailable,
  startMysqldExporter,
  type MysqldExporterInstance,
} from '../harness/mysqld-exporter.js';
import { requireService } from '../harness/service-missing.js';

/**
 * What prometheus-mysqld-exporter (Debian 0.14, its default collectors: global_status,
 * global_variables, slave_status, info_schema.innodb_cmp, info_schema.innodb_cmpmem) exposes,
 * family by family, against what the Sightline MySQL metric families emit, on the same MariaDB
 * 10.11 primary and its replica. Every family must be mapped or declared out of scope, so a
 * family a new exporter or server version adds fails this test until someone decides where it
 * belongs.
 */

const available =
  requireService('MariaDB', mariadbAvailable(), MARIADB_INSTALL_HINT) &&
  requireService('prometheus-mysqld-exporter', mysqldExporterAvailable(), MYSQLD_EXPORTER_INSTALL_HINT);

const EXPORTER_USER = 'exporter';
const EXPORTER_PASSWORD = 'exporter-pw-456';
const REPL_USER = 'repl';
const REPL_PASSWORD = 'repl-pw-789';

interface Mapping {
  /** The Sightline metric(s) that carry the same information. */
  sightline: readonly string[];
  /** Exporter labels → Sightline attributes, and where the two differ. */
  attributes: string;
  /** Emitted by the collector around the families (mysql.up), not by a family this test runs. */
  byCollector?: true;
}

const STATUS = 'mysql_global_status_';

/**
 * Exporter family → the Sightline metric(s) carrying the same information, with how labels map.
 * The test below checks that every one of these Sightline metrics is emitted by the families.
 */
const COVERAGE: Readonly<Record<string, Mapping>> = {
  mysql_up: { sightline: ['mysql.up'], attributes: 'none', byCollector: true },
  // Global status: connections and threads.
  [`${STATUS}connections`]: { sightline: ['mysql.connection.count'], attributes: 'none' },
  [`${STATUS}max_used_connections`]: { sightline: ['mysql.max_used_connections'], attributes: 'none' },
  [`${STATUS}aborted_clients`]: {
    sightline: ['mysql.connection.errors'],
    attributes: 'error=aborted_clients',
  },
  [`${STATUS}aborted_connects`]: { sightline: ['mysql.connection.errors'], attributes: 'error=aborted' },
  [`${STATUS}connection_errors_total`]: {
    sightline: ['mysql.connection.errors'],
    attributes: 'error → error (accept, internal, max_connections, peer_address, select, tcpwrap)',
  },
  [`${STATUS}threads_cached`]: { sightline: ['mysql.threads'], attributes: 'kind=cached' },
  [`${STATUS}threads_connected`]: { sightline: ['mysql.threads'], attributes: 'kind=connected' },
  [`${STATUS}threads_created`]: { sightline: ['mysql.threads'], attributes: 'kind=created' },
  [`${STATUS}threads_running`]: { sightline: ['mysql.threads'], attributes: 'kind=running' },
  [`${STATUS}uptime`]: { sightline: ['mysql.uptime'], attributes: 'none' },
  [`${STATUS}uptime_since_flush_status`]: {
    sightline: ['mysql.query.client.count'],
    attributes: 'not a series: the start time of every status counter after a FLUSH STATUS',
  },
  // Global status: statements.
  [`${STATUS}queries`]: { sightline: ['mysql.query.count'], attributes: 'none' },
  [`${STATUS}questions`]: { sightline: ['mysql.query.client.count'], attributes: 'none' },
  [`${STATUS}slow_queries`]: { sightline: ['mysql.query.slow.count'], attributes: 'none' },
  [`${STATUS}commands_total`]: {
    sightline: ['mysql.commands', 'mysql.prepared_statements'],
    attributes:
      'command → command for 33 data, transaction, DDL and admin commands (not all 160); stmt_* → mysql.prepared_statements{command}',
  },
  [`${STATUS}bytes_received`]: { sightline: ['mysql.client.network.io'], attributes: 'kind=received' },
  [`${STATUS}bytes_sent`]: { sightline: ['mysql.client.network.io'], attributes: 'kind=sent' },
  [`${STATUS}handlers_total`]: {
    sightline: ['mysql.handlers'],
    attributes:
      'handler → kind, the 18 handlers of the mysqlreceiver (not icp_*, mrr_*_refills, tmp_*, read_retry)',
  },
  [`${STATUS}rows_read`]: {
    sightline: ['mysql.row_operations'],
    attributes: 'operation=read, where the server has no Innodb_rows_read (MariaDB)',
  },
  // Global status: sorts, joins, temporary resources, table locks and caches.
  [`${STATUS}sort_merge_passes`]: { sightline: ['mysql.sorts'], attributes: 'kind=merge_passes' },
  [`${STATUS}sort_range`]: { sightline: ['mysql.sorts'], attributes: 'kind=range' },
  [`${STATUS}sort_rows`]: { sightline: ['mysql.sorts'], attributes: 'kind=rows' },
  [`${STATUS}sort_scan`]: { sightline: ['mysql.sorts'], attributes: 'kind=scan' },
  [`${STATUS}select_full_join`]: { sightline: ['mysql.joins'], attributes: 'kind=full' },
  [`${STATUS}select_full_range_join`]: { sightline: ['mysql.joins'], attributes: 'kind=full_range' },
  [`${STATUS}select_range`]: { sightline: ['mysql.joins'], attributes: 'kind=range' },
  [`${STATUS}select_range_check`]: { sightline: ['mysql.joins'], attributes: 'kind=range_check' },
  [`${STATUS}select_scan`]: { sightline: ['mysql.joins'], attributes: 'kind=scan' },
  [`${STATUS}created_tmp_tables`]: { sightline: ['mysql.tmp_resources'], attributes: 'resource=tables' },
  [`${STATUS}created_tmp_disk_tables`]: {
    sightline: ['mysql.tmp_resources'],
    attributes: 'resource=disk_tables',
  },
  [`${STATUS}created_tmp_files`]: { sightline: ['mysql.tmp_resources'], attributes: 'resource=files' },
  [`${STATUS}table_locks_immediate`]: { sightline: ['mysql.locks'], attributes: 'kind=immediate' },
  [`${STATUS}table_locks_waited`]: { sightline: ['mysql.locks'], attributes: 'kind=waited' },
  [`${STATUS}opened_files`]: { sightline: ['mysql.opened_resources'], attributes: 'kind=file' },
  [`${STATUS}opened_table_definitions`]: {
    sightline: ['mysql.opened_resources'],
    attributes: 'kind=table_definition',
  },
  [`${STATUS}opened_tables`]: { sightline: ['mysql.opened_resources'], attributes: 'kind=table' },
  [`${STATUS}open_tables`]: { sightline: ['mysql.table_cache.open'], attributes: 'none' },
  [`${STATUS}table_open_cache_hits`]: { sightline: ['mysql.table_open_cache'], attributes: 'status=hit' },
  [`${STATUS}table_open_cache_misses`]: { sightline: ['mysql.table_open_cache'], attributes: 'status=miss' },
  [`${STATUS}table_open_cache_overflows`]: {
    sightline: ['mysql.table_open_cache'],
    attributes: 'status=overflow',
  },
  // Global status: InnoDB buffer pool.
  [`${STATUS}buffer_pool_pages`]: {
    sightline: ['mysql.buffer_pool.pages'],
    attributes: 'state → kind for data, free, misc, plus kind=total; not old (the LRU old sublist)',
  },
  [`${STATUS}buffer_pool_dirty_pages`]: {
    sightline: ['mysql.buffer_pool.data_pages'],
    attributes: 'status=dirty (and status=clean, data minus dirty)',
  },
  [`${STATUS}buffer_pool_page_changes_total`]: {
    sightline: ['mysql.buffer_pool.page_flushes'],
    attributes: 'operation=flushed only; LRU made_young/made_not_young/lru_*/split are not collected',
  },
  [`${STATUS}innodb_buffer_pool_bytes_data`]: {
    sightline: ['mysql.buffer_pool.usage'],
    attributes: 'status=clean is data minus dirty',
  },
  [`${STATUS}innodb_buffer_pool_bytes_dirty`]: {
    sightline: ['mysql.buffer_pool.usage'],
    attributes: 'status=dirty',
  },
  [`${STATUS}innodb_buffer_pool_read_requests`]: {
    sightline: ['mysql.buffer_pool.operations'],
    attributes: 'operation=read_requests',
  },
  [`${STATUS}innodb_buffer_pool_reads`]: {
    sightline: ['mysql.buffer_pool.operations'],
    attributes: 'operation=reads',
  },
  [`${STATUS}innodb_buffer_pool_write_requests`]: {
    sightline: ['mysql.buffer_pool.operations'],
    attributes: 'operation=write_requests',
  },
  [`${STATUS}innodb_buffer_pool_wait_free`]: {
    sightline: ['mysql.buffer_pool.operations'],
    attributes: 'operation=wait_free',
  },
  [`${STATUS}innodb_buffer_pool_read_ahead`]: {
    sightline: ['mysql.buffer_pool.operations'],
    attributes: 'operation=read_ahead',
  },
  [`${STATUS}innodb_buffer_pool_read_ahead_rnd`]: {
    sightline: ['mysql.buffer_pool.operations'],
    attributes: 'operation=read_ahead_rnd',
  },
  [`${STATUS}innodb_buffer_pool_read_ahead_evicted`]: {
    sightline: ['mysql.buffer_pool.operations'],
    attributes: 'operation=read_ahead_evicted',
  },
  [`${STATUS}innodb_page_size`]: { sightline: ['mysql.page_size'], attributes: 'none' },
  // Global status: InnoDB pages, rows, locks, redo log and data files.
  [`${STATUS}innodb_pages_created`]: {
    sightline: ['mysql.page_operations'],
    attributes: 'operation=created',
  },
  [`${STATUS}innodb_pages_read`]: { sightline: ['mysql.page_operations'], attributes: 'operation=read' },
  [`${STATUS}innodb_pages_written`]: {
    sightline: ['mysql.page_operations'],
    attributes: 'operation=written',
  },
  [`${STATUS}innodb_row_lock_waits`]: { sightline: ['mysql.row_locks'], attributes: 'kind=waits' },
  [`${STATUS}innodb_row_lock_time`]: { sightline: ['mysql.row_locks'], attributes: 'kind=time (ms)' },
  [`${STATUS}innodb_row_lock_current_waits`]: {
    sightline: ['mysql.row_lock.current_waits'],
    attributes: 'none',
  },
  [`${STATUS}innodb_deadlocks`]: { sightline: ['mysql.deadlocks'], attributes: 'none' },
  [`${STATUS}innodb_history_list_length`]: {
    sightline: ['mysql.innodb.history_list_length'],
    attributes: 'none',
  },
  [`${STATUS}innodb_log_waits`]: { sightline: ['mysql.log_operations'], attributes: 'operation=waits' },
  [`${STATUS}innodb_log_write_requests`]: {
    sightline: ['mysql.log_operations'],
    attributes: 'operation=write_requests',
  },
  [`${STATUS}innodb_log_writes`]: { sightline: ['mysql.log_operations'], attributes: 'operation=writes' },
  [`${STATUS}innodb_os_log_written`]: { sightline: ['mysql.redo_log.written'], attributes: 'none' },
  [`${STATUS}innodb_data_reads`]: { sightline: ['mysql.operations'], attributes: 'operation=reads' },
  [`${STATUS}innodb_data_writes`]: { sightline: ['mysql.operations'], attributes: 'operation=writes' },
  [`${STATUS}innodb_data_fsyncs`]: { sightline: ['mysql.operations'], attributes: 'operation=fsyncs' },
  [`${STATUS}innodb_data_pending_reads`]: {
    sightline: ['mysql.pending_operations'],
    attributes: 'operation=reads',
  },
  [`${STATUS}innodb_data_pending_writes`]: {
    sightline: ['mysql.pending_operations'],
    attributes: 'operation=writes',
  },
  [`${STATUS}innodb_data_pending_fsyncs`]: {
    sightline: ['mysql.pending_operations'],
    attributes: 'operation=fsyncs',
  },
  [`${STATUS}innodb_data_read`]: { sightline: ['mysql.data.io'], attributes: 'kind=read' },
  [`${STATUS}innodb_data_written`]: { sightline: ['mysql.data.io'], attributes: 'kind=written' },
  [`${STATUS}innodb_dblwr_pages_written`]: {
    sightline: ['mysql.double_writes'],
    attributes: 'kind=pages_written',
  },
  [`${STATUS}innodb_dblwr_writes`]: { sightline: ['mysql.double_writes'], attributes: 'kind=writes' },
  // Global variables: the limits a metric is compared with.
  mysql_global_variables_max_connections: { sightline: ['mysql.connection.max'], attributes: 'none' },
  mysql_global_variables_innodb_buffer_pool_size: {
    sightline: ['mysql.buffer_pool.limit'],
    attributes: 'none',
  },
  mysql_global_variables_table_open_cache: { sightline: ['mysql.table_cache.limit'], attributes: 'none' },
  // Slave status, on the replica: channel_name/connection_name → channel.
  mysql_slave_status_slave_io_running: {
    sightline: ['mysql.replica.io_running'],
    attributes: 'channel_name / connection_name → channel; master_host and master_uuid are not attributes',
  },
  mysql_slave_status_slave_sql_running: { sightline: ['mysql.replica.sql_running'], attributes: 'as above' },
  mysql_slave_status_seconds_behind_master: {
    sightline: ['mysql.replica.time_behind_source'],
    attributes: 'as above',
  },
  mysql_slave_status_sql_delay: { sightline: ['mysql.replica.sql_delay'], attributes: 'as above' },
  mysql_slave_status_read_master_log_pos: {
    sightline: ['mysql.replica.gtid.gap'],
    attributes:
      'binlog positions received and applied: Sightline reports what lies between in transactions, from GTIDs',
  },
  mysql_slave_status_exec_master_log_pos: { sightline: ['mysql.replica.gtid.gap'], attributes: 'as above' },
};

/** Families Sightline leaves out, each with the reason. */
const OUT_OF_SCOPE: Readonly<Record<string, string>> = {
  mysql_version_info: 'the server version: an attribute of the instance (VERSION()), not a metric',
  mysql_transaction_isolation: 'a setting, not a measurement',
  mysql_galera_variables_info: 'Galera cluster settings; Galera is not in scope',
  mysqld_exporter_build_info: 'the exporter’s own build',
  // Global status, one by one.
  [`${STATUS}aborted_connects_preauth`]:
    'connects aborted before authentication: in aborted (Aborted_connects) too',
  [`${STATUS}access_denied_errors`]:
    'authentication failures: counted among mysql.connection.errors{error=aborted}',
  [`${STATUS}busy_time`]: 'user statistics (userstat), off by default: always 0',
  [`${STATUS}cpu_time`]: 'user statistics (userstat), off by default: always 0',
  [`${STATUS}compression`]: 'whether this session uses protocol compression: a session value',
  [`${STATUS}delete_scan`]:
    'DELETEs that scanned a table: mysql.joins{kind=scan} and the handler reads show scans',
  [`${STATUS}update_scan`]: 'UPDATEs that scanned a table: as delete_scan',
  [`${STATUS}empty_queries`]: 'SELECTs that returned no row: not asked for',
  [`${STATUS}executed_events`]: 'event scheduler runs: not asked for',
  [`${STATUS}executed_triggers`]: 'trigger runs: not asked for',
  [`${STATUS}last_query_cost`]: 'optimizer cost of this session’s last query: a session value',
  [`${STATUS}max_statement_time_exceeded`]: 'statements killed by max_statement_time: not asked for',
  [`${STATUS}memory_used`]: 'MariaDB memory accounting: the process memory is the host’s metric',
  [`${STATUS}memory_used_initial`]: 'as memory_used',
  [`${STATUS}not_flushed_delayed_rows`]: 'INSERT DELAYED (MyISAM only)',
  [`${STATUS}open_files`]:
    'files open now: Opened_files (mysql.opened_resources{kind=file}) is the rate that matters',
  [`${STATUS}open_streams`]: 'stdio streams open (logging): not a workload signal',
  [`${STATUS}open_table_definitions`]:
    'cached table definitions: opened_resources{kind=table_definition} is the rate',
  [`${STATUS}opened_plugin_libraries`]: 'plugin libraries loaded: not a workload signal',
  [`${STATUS}opened_views`]: 'views opened: not asked for',
  [`${STATUS}optimizer_join_prefixes_check_calls`]: 'optimizer internals',
  [`${STATUS}performance_schema_lost_total`]:
    'performance_schema instruments that ran out of memory: not asked for',
  [`${STATUS}prepared_stmt_count`]:
    'prepared statements open now: mysql.prepared_statements counts the commands',
  [`${STATUS}query_time`]: 'user statistics (userstat), off by default',
  [`${STATUS}resultset_metadata_skipped`]: 'protocol optimisation counter',
  [`${STATUS}rows_sent`]:
    'rows sent to clients: per statement in the digests (raw-queries), not as a server total',
  [`${STATUS}rows_tmp_read`]:
    'rows read from temporary tables: mysql.tmp_resources shows temporary-table use',
  [`${STATUS}rpl_transactions_multi_engine`]: 'replication internals',
  [`${STATUS}transactions_multi_engine`]: 'transactions spanning storage engines: not asked for',
  [`${STATUS}transactions_gtid_foreign_engine`]: 'replication internals (gtid_pos_auto_engines)',
  [`${STATUS}slow_launch_threads`]: 'threads slow to start: not asked for',
  [`${STATUS}sort_priority_queue_sorts`]: 'LIMIT sorts done in a priority queue: mysql.sorts covers sorting',
  [`${STATUS}stack_usage`]: 'this session’s stack use: a session value',
  [`${STATUS}syncs`]: 'my_sync() calls on non-InnoDB files: mysql.operations{operation=fsyncs} covers InnoDB',
  [`${STATUS}table_open_cache_active_instances`]: 'table cache partitioning internals',
  [`${STATUS}innodb_available_undo_logs`]: 'undo log slots: configuration',
  [`${STATUS}innodb_background_log_sync`]: 'background redo flushes: InnoDB internals',
  [`${STATUS}innodb_buffer_pool_load_incomplete`]: 'buffer pool warm-up flag after start',
  [`${STATUS}innodb_bulk_operations`]: 'bulk insert optimisation counter',
  [`${STATUS}innodb_instant_alter_column`]: 'instant ALTERs done: schema changes are not metrics here',
  [`${STATUS}innodb_max_trx_id`]: 'next transaction id: an id, not a rate (see mysql.query.count)',
  [`${STATUS}innodb_num_open_files`]: 'InnoDB files open now: bounded by innodb_open_files, not asked for',
  [`${STATUS}innodb_truncated_status_writes`]: 'SHOW ENGINE INNODB STATUS output truncations',
  [`${STATUS}innodb_undo_truncations`]: 'undo tablespace truncations: maintenance',
  [`${STATUS}innodb_row_lock_time_avg`]: 'time / waits of mysql.row_locks, computed by the server',
  [`${STATUS}innodb_row_lock_time_max`]: 'longest row lock wait since start: a maximum, not a series',
  [`${STATUS}innodb_checkpoint_age`]:
    'redo not yet checkpointed: mysql.redo_log.written carries the redo volume',
  [`${STATUS}innodb_checkpoint_max_age`]: 'as innodb_checkpoint_age',
  // Slave status columns, on the replica.
  mysql_slave_status_connect_retry: 'a setting (CHANGE MASTER)',
  mysql_slave_status_master_port: 'a setting: where the source is',
  mysql_slave_status_master_server_id: 'the source’s server_id: an id, not a measurement',
  mysql_slave_status_master_ssl_allowed: 'a setting',
  mysql_slave_status_master_ssl_verify_server_cert: 'a setting',
  mysql_slave_status_max_relay_log_size: 'a setting',
  mysql_slave_status_skip_counter: 'a setting (sql_slave_skip_counter)',
  mysql_slave_status_until_log_pos: 'a setting (START SLAVE UNTIL)',
  mysql_slave_status_relay_log_pos: 'a file position: the gap is mysql.replica.gtid.gap',
  mysql_slave_status_relay_log_space: 'relay log size on disk: not asked for',
  mysql_slave_status_executed_log_entries:
    'events applied: the applied position is in mysql.replica.gtid.gap',
  mysql_slave_status_last_errno:
    'last error number: a stopped thread shows in io_running/sql_running, the message in the error log',
  mysql_slave_status_last_io_errno: 'as last_errno',
  mysql_slave_status_last_sql_errno: 'as last_errno',
  mysql_slave_status_retried_transactions: 'applier retries after deadlocks: not asked for',
  mysql_slave_status_slave_ddl_groups: 'MariaDB parallel replication accounting',
  mysql_slave_status_slave_transactional_groups: 'MariaDB parallel replication accounting',
  mysql_slave_status_slave_non_transactional_groups: 'MariaDB parallel replication accounting',
  mysql_slave_status_slave_heartbeat_period: 'a setting',
  mysql_slave_status_slave_received_heartbeats: 'heartbeats from an idle source: io_running shows the link',
};

/** Whole prefixes out of scope, each with the reason. */
const OUT_OF_SCOPE_PREFIXES: Readonly<Record<string, string>> = {
  mysql_global_variables_:
    'configuration: the three limits a metric is compared with (max_connections, innodb_buffer_pool_size, table_open_cache) are in COVERAGE',
  [`${STATUS}wsrep`]: 'Galera cluster status; Galera is not in scope',
  [`${STATUS}rpl_semi_sync_`]: 'semi-synchronous replication plugin',
  [`${STATUS}ssl_`]: 'TLS library session counters',
  [`${STATUS}aria_`]: 'the Aria engine (MariaDB’s system and internal temporary tables)',
  [`${STATUS}feature_`]: 'SQL feature usage counters',
  [`${STATUS}acl_`]: 'sizes of the grant tables',
  [`${STATUS}key_`]: 'the MyISAM key cache',
  [`${STATUS}qcache_`]: 'the query cache: off by default in MariaDB, gone from MySQL 8',
  [`${STATUS}binlog_`]: 'binary log group commit and cache internals',
  [`${STATUS}column_`]: 'column compression (MariaDB COMPRESSED columns)',
  [`${STATUS}delayed_`]: 'INSERT DELAYED (MyISAM only)',
  [`${STATUS}subquery_cache_`]: 'optimizer subquery cache',
  [`${STATUS}threadpool_`]: 'the thread pool (thread_handling=pool-of-threads), not the default',
  [`${STATUS}tc_log_`]: 'the XA transaction coordinator log',
  [`${STATUS}master_gtid_wait_`]: 'MASTER_GTID_WAIT() calls',
  [`${STATUS}slave_`]:
    'replica counters in SHOW STATUS: the replica’s state comes from SHOW ALL SLAVES STATUS (mysql.replica.*)',
  [`${STATUS}slaves_`]: 'replicas connected to a primary: not asked for',
  [`${STATUS}innodb_encryption_`]: 'data-at-rest encryption',
  [`${STATUS}innodb_num_page`]: 'page compression and encryption',
  [`${STATUS}innodb_page_compression_`]: 'page compression',
  [`${STATUS}innodb_have_`]: 'compression libraries built in: not measurements',
  [`${STATUS}innodb_ibuf_`]: 'the change buffer (removed in MariaDB 11)',
  [`${STATUS}innodb_defragment_`]: 'OPTIMIZE TABLE defragmentation',
  [`${STATUS}innodb_onlineddl_`]: 'progress of an online ALTER TABLE',
  [`${STATUS}innodb_adaptive_hash_`]: 'adaptive hash index internals',
  [`${STATUS}innodb_mem_`]: 'InnoDB memory internals',
  [`${STATUS}innodb_lsn_`]: 'redo log positions: mysql.redo_log.written carries the redo volume',
  [`${STATUS}innodb_master_thread_`]: 'InnoDB master thread internals',
  mysql_info_schema_innodb_cmp: 'InnoDB compressed tables (ROW_FORMAT=COMPRESSED) statistics',
  mysql_exporter_: 'the exporter’s own scrapes',
  go_: 'the exporter’s Go process',
  process_: 'the exporter’s process',
  promhttp_: 'the exporter’s HTTP handler',
};

interface Sample {
  value: number;
  labels: Record<string, string>;
}

/** Prometheus text exposition: family names from `# TYPE` lines, and every sample by name. */
function parseExposition(text: string): { families: Set<string>; samples: Map<string, Sample[]> } {
  const families = new Set<string>();
  const samples = new Map<string, Sample[]>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) \S+/.exec(line);
    if (type?.[1] !== undefined) families.add(type[1]);
    if (line === '' || line.startsWith('#')) continue;
    const sample = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (sample?.[1] === undefined || sample[3] === undefined) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (sample[2] ?? '').matchAll(
      /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g,
    )) {
      if (key !== undefined && value !== undefined) labels[key] = value;
    }
    const list = samples.get(sample[1]) ?? [];
    list.push({ value: Number(sample[3]), labels });
    samples.set(sample[1], list);
  }
  return { families, samples };
}

interface Point {
  value: number;
  attributes: Record<string, unknown>;
}

/** Every Sightline family once against one server, decoded from the batch they fill. */
async function sightlineCycle(server: MariadbInstance): Promise<Map<string, Point[]>> {
  const session = new MysqlSession(resolveMysqlTarget(mysqlTargetSchema.parse({ url: server.url })));
  try {
    const info = await session.serverInfo();
    const batch = new MetricBatch(msToNs(Date.now()), msToNs(info.startedAt.getTime()));
    for (const family of MYSQL_METRIC_FAMILIES)
      await family.collect({ session, server: info, batch, topTables: 50 });
    const points = new Map<string, Point[]>();
    const metrics = batch.toRequest({}, 'test', '0').resourceMetrics?.[0]?.scopeMetrics?.[0]?.metrics ?? [];
    for (const metric of metrics) {
      points.set(
        metric.name ?? '',
        (metric.gauge?.dataPoints ?? metric.sum?.dataPoints ?? []).map((p) => ({
          value: p.asDouble ?? NaN,
          attributes: Object.fromEntries(
            (p.attributes ?? []).map((kv): [string, unknown] => [kv.key ?? '', kv.value?.stringValue]),
          ),
        })),
      );
    }
    return points;
  } finally {
    await session.close();
  }
}

function first(
  points: Map<string, Point[]>,
  name: string,
  attributes: Record<string, unknown> = {},
): number | undefined {
  return points.get(name)?.find((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v))
    ?.value;
}

function exporterValue(
  samples: Map<string, Sample[]>,
  family: string,
  labels: Record<string, string> = {},
): number | undefined {
  return samples.get(family)?.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.skipIf(!available)(
  'prometheus-mysqld-exporter families covered by the Sightline MySQL families',
  () => {
    let primary: MariadbInstance;
    let replica: MariadbInstance;
    const exporters: MysqldExporterInstance[] = [];
    let families: Set<string>;
    let primarySamples: Map<string, Sample[]>;
    let replicaSamples: Map<string, Sample[]>;
    let primaryPoints: Map<string, Point[]>;
    let replicaPoints: Map<string, Point[]>;

    beforeAll(async () => {
      // One after the other: two mariadb-install-db at once have collided on their /tmp temporary tables.
      primary = await startMariadb({ settings: { log_bin: 'mysql-bin', server_id: 1 } });
      replica = await startMariadb({ settings: { server_id: 2 } });
      await primary.sql(`
      CREATE USER '${REPL_USER}'@'127.0.0.1' IDENTIFIED BY '${REPL_PASSWORD}';
      GRANT REPLICATION SLAVE ON *.* TO '${REPL_USER}'@'127.0.0.1';`);
      const [position] = await primary.sql('SELECT @@gtid_binlog_pos AS pos');
      await replica.sql(`
      SET GLOBAL gtid_slave_pos = '${String(position?.pos)}';
      CHANGE MASTER TO MASTER_HOST = '${primary.host}', MASTER_PORT = ${primary.port},
        MASTER_USER = '${REPL_USER}', MASTER_PASSWORD = '${REPL_PASSWORD}', MASTER_USE_GTID = slave_pos;
      START SLAVE;`);
      // Replicated, so the exporter beside the replica logs in with it too. The grants its README asks for.
      await primary.sql(`
      CREATE USER '${EXPORTER_USER}'@'127.0.0.1' IDENTIFIED BY '${EXPORTER_PASSWORD}' WITH MAX_USER_CONNECTIONS 3;
      GRANT PROCESS, REPLICATION CLIENT, SLAVE MONITOR, SELECT ON *.* TO '${EXPORTER_USER}'@'127.0.0.1';
      CREATE DATABASE shop;
      CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(50), KEY items_name (name));`);
      await primary.sql(
        `INSERT INTO shop.items SELECT seq, CONCAT('item ', seq) FROM seq_1_to_1000;
       SELECT COUNT(*) FROM shop.items WHERE name LIKE '%7%';
       SELECT name FROM shop.items WHERE id = 7;
       UPDATE shop.items SET name = CONCAT(name, '!') WHERE id <= 10;
       DELETE FROM shop.items WHERE id = 1000;`,
        'shop',
      );
      await waitFor(async () => {
        const [status] = await replica.sql('SHOW ALL SLAVES STATUS');
        const [pos] = await primary.sql('SELECT @@gtid_binlog_pos AS pos');
        return status?.Gtid_Slave_Pos === pos?.pos;
      }, 'the replica to catch up');

      for (const server of [primary, replica])
        exporters.push(
          await startMysqldExporter({ server, user: EXPORTER_USER, password: EXPORTER_PASSWORD }),
        );
      const scraped = await Promise.all(
        exporters.map(async (exporter) => parseExposition(await exporter.scrape())),
      );
      families = new Set(scraped.flatMap((s) => [...s.families]));
      primarySamples = scraped[0]?.samples ?? new Map<string, Sample[]>();
      replicaSamples = scraped[1]?.samples ?? new Map<string, Sample[]>();

      primaryPoints = await sightlineCycle(primary);
      replicaPoints = await sightlineCycle(replica);
    });

    afterAll(async () => {
      await Promise.all(exporters.map((exporter) => exporter.stop()));
      await primary?.stop();
      await replica?.stop();
    });

    const decided = (family: string) =>
      family in COVERAGE ||
      family in OUT_OF_SCOPE ||
      Object.keys(OUT_OF_SCOPE_PREFIXES).some((prefix) => family.startsWith(prefix));

    it('reaches both servers with its default collectors, replica status included', () => {
      expect(exporterValue(primarySamples, 'mysql_up')).toBe(1);
      expect(exporterValue(replicaSamples, 'mysql_up')).toBe(1);
      expect(exporterValue(replicaSamples, 'mysql_slave_status_slave_io_running')).toBe(1);
      expect(primarySamples.has('mysql_slave_status_slave_io_running')).toBe(false);
    });

    it('exposes no family that is not mapped or declared out of scope', () => {
      expect(
        [...families].filter((family) => !decided(family)),
        'add each to COVERAGE or OUT_OF_SCOPE',
      ).toEqual([]);
    });

    it('exposes every family the tables name, so the tables are not stale', () => {
      const listed = [...Object.keys(COVERAGE), ...Object.keys(OUT_OF_SCOPE)];
      expect(listed.filter((family) => !families.has(family))).toEqual([]);
      const prefixes = Object.keys(OUT_OF_SCOPE_PREFIXES);
      expect(prefixes.filter((prefix) => ![...families].some((family) => family.startsWith(prefix)))).toEqual(
        [],
      );
    });

    it('emits every mapped Sightline metric in one cycle of the families', () => {
      const emitted = new Set([...primaryPoints.keys(), ...replicaPoints.keys()]);
      const missing: string[] = [];
      for (const [family, mapping] of Object.entries(COVERAGE)) {
        if (mapping.byCollector === true) continue;
        for (const metric of mapping.sightline)
          if (!emitted.has(metric)) missing.push(`${family} → ${metric}`);
      }
      expect(missing).toEqual([]);
    });

    it('agrees with the exporter on the values both read', () => {
      expect(first(primaryPoints, 'mysql.connection.max')).toBe(
        exporterValue(primarySamples, 'mysql_global_variables_max_connections'),
      );
      expect(first(primaryPoints, 'mysql.buffer_pool.limit')).toBe(
        exporterValue(primarySamples, 'mysql_global_variables_innodb_buffer_pool_size'),
      );
      expect(first(primaryPoints, 'mysql.table_cache.limit')).toBe(
        exporterValue(primarySamples, 'mysql_global_variables_table_open_cache'),
      );
      // Nothing inserts between the scrape and the cycle.
      expect(first(primaryPoints, 'mysql.commands', { command: 'insert_select' })).toBe(
        exporterValue(primarySamples, 'mysql_global_status_commands_total', { command: 'insert_select' }),
      );
      expect(first(primaryPoints, 'mysql.buffer_pool.pages', { kind: 'total' })).toBeGreaterThan(0);

      // Counters read a moment apart (the exporter first): Sightline's is the same or a little later.
      const questionsBefore = exporterValue(primarySamples, 'mysql_global_status_questions') ?? NaN;
      const questions = first(primaryPoints, 'mysql.query.client.count') ?? NaN;
      expect(questions).toBeGreaterThanOrEqual(questionsBefore);
      expect(questions - questionsBefore).toBeLessThan(100);
      const writesBefore =
        exporterValue(primarySamples, 'mysql_global_status_handlers_total', { handler: 'write' }) ?? NaN;
      expect(first(primaryPoints, 'mysql.handlers', { kind: 'write' })).toBeGreaterThanOrEqual(writesBefore);

      expect(first(replicaPoints, 'mysql.replica.io_running')).toBe(
        exporterValue(replicaSamples, 'mysql_slave_status_slave_io_running'),
      );
      expect(first(replicaPoints, 'mysql.replica.sql_running')).toBe(
        exporterValue(replicaSamples, 'mysql_slave_status_slave_sql_running'),
      );
      expect(first(replicaPoints, 'mysql.replica.sql_delay')).toBe(
        exporterValue(replicaSamples, 'mysql_slave_status_sql_delay'),
      );
      // Caught up: the exporter's positions agree with each other and Sightline sees no gap.
      expect(exporterValue(replicaSamples, 'mysql_slave_status_read_master_log_pos')).toBe(
        exporterValue(replicaSamples, 'mysql_slave_status_exec_master_log_pos'),
      );
      expect(first(replicaPoints, 'mysql.replica.gtid.gap')).toBe(0);
    });
  },
);
