import type { MetricBatch, MetricDefinition, PointAttributes } from '../metric-batch.js';
import { MY } from './metric-definitions.js';
import { big, num, text, type MysqlServerInfo, type MysqlSession, type Row } from './session.js';

/**
 * Object attributes as the PostgreSQL collector names them (`postgresql.database.name`, …): the
 * database views filter a database's metrics by `<system>.database.name`. (The mysqlreceiver says
 * `schema`, `table`, `index`.)
 */
const SCHEMA = 'mysql.database.name';
const TABLE = 'mysql.table.name';
const INDEX = 'mysql.index.name';

/** Schemas of the server itself: never reported table by table, never counted. */
const SYSTEM_SCHEMAS = `('mysql', 'information_schema', 'performance_schema', 'sys')`;

export interface MysqlMetricQueryContext {
  session: MysqlSession;
  server: MysqlServerInfo;
  batch: MetricBatch;
  topTables: number;
}

/**
 * One family of metrics, isolated from the others: the collector runs each in turn and one that
 * throws (a missing grant, performance_schema hidden) leaves the rest to be collected. `fast`
 * families run every metrics interval; `slow` ones (per-table sizes and statistics, which open
 * tables or walk many rows) every query-stats interval.
 */
export interface MysqlMetricFamily {
  name: string;
  cadence: 'fast' | 'slow';
  collect(context: MysqlMetricQueryContext): Promise<void>;
}

/** SHOW STATUS / SHOW VARIABLES rows (`Variable_name`, `Value`) as a map. */
async function showVariables(session: MysqlSession, sql: string): Promise<Map<string, string>> {
  const rows = await session.query<{ Variable_name: unknown; Value: unknown }>(sql);
  return new Map(rows.map((row) => [text(row.Variable_name), text(row.Value)]));
}

function addAll(
  batch: Pick<MetricBatch, 'add'>,
  vars: ReadonlyMap<string, string>,
  definition: MetricDefinition,
  key: string,
  points: Readonly<Record<string, string>>,
): void {
  for (const [value, variable] of Object.entries(points))
    batch.add(definition, num(vars.get(variable)), { [key]: value });
}

/**
 * Com_<command> counters worth a series each: the data statements, transactions and the DDL and
 * administration a DBA looks for; the server has 150 and more, mostly zero.
 */
const COMMANDS = [
  'select',
  'insert',
  'insert_select',
  'update',
  'update_multi',
  'delete',
  'delete_multi',
  'replace',
  'replace_select',
  'load',
  'begin',
  'commit',
  'rollback',
  'savepoint',
  'rollback_to_savepoint',
  'call_procedure',
  'create_table',
  'alter_table',
  'drop_table',
  'truncate',
  'create_index',
  'drop_index',
  'create_db',
  'drop_db',
  'lock_tables',
  'unlock_tables',
  'set_option',
  'flush',
  'kill',
  'grant',
  'revoke',
  'analyze',
  'optimize',
] as const;

const HANDLERS = [
  'commit',
  'delete',
  'discover',
  'external_lock',
  'mrr_init',
  'prepare',
  'read_first',
  'read_key',
  'read_last',
  'read_next',
  'read_prev',
  'read_rnd',
  'read_rnd_next',
  'rollback',
  'savepoint',
  'savepoint_rollback',
  'update',
  'write',
] as const;

const status: MysqlMetricFamily = {
  name: 'status',
  cadence: 'fast',
  async collect({ session, server, batch: all }) {
    // Innodb_* are the `innodb` family's; no other status variable starts with Innodb.
    const vars = await showVariables(session, `SHOW GLOBAL STATUS WHERE Variable_name NOT LIKE 'Innodb%'`);
    const v = (name: string) => num(vars.get(name));
    all.add(MY.uptime, v('Uptime'));
    // FLUSH STATUS sets most of these counters back to zero: they count from then on.
    const batch = all.since(flushedAtNs(server, v('Uptime'), v('Uptime_since_flush_status')));
    addAll(batch, vars, MY.threads, 'kind', {
      cached: 'Threads_cached',
      connected: 'Threads_connected',
      created: 'Threads_created',
      running: 'Threads_running',
    });
    batch.add(MY.connectionCount, v('Connections'));
    addAll(batch, vars, MY.connectionErrors, 'error', {
      accept: 'Connection_errors_accept',
      internal: 'Connection_errors_internal',
      max_connections: 'Connection_errors_max_connections',
      peer_address: 'Connection_errors_peer_address',
      select: 'Connection_errors_select',
      tcpwrap: 'Connection_errors_tcpwrap',
      aborted: 'Aborted_connects',
      aborted_clients: 'Aborted_clients',
      locked: 'Locked_connects',
    });
    batch.add(MY.maxUsedConnections, v('Max_used_connections'));
    batch.add(MY.queryCount, v('Queries'));
    batch.add(MY.queryClientCount, v('Questions'));
    batch.add(MY.querySlowCount, v('Slow_queries'));
    for (const command of COMMANDS) batch.add(MY.commands, v(`Com_${command}`), { command });
    for (const command of ['execute', 'close', 'fetch', 'prepare', 'reset', 'send_long_data'])
      batch.add(MY.preparedStatements, v(`Com_stmt_${command}`), { command });
    addAll(batch, vars, MY.clientNetworkIo, 'kind', { received: 'Bytes_received', sent: 'Bytes_sent' });
    for (const kind of HANDLERS) batch.add(MY.handlers, v(`Handler_${kind}`), { kind });
    addAll(batch, vars, MY.sorts, 'kind', {
      merge_passes: 'Sort_merge_passes',
      range: 'Sort_range',
      rows: 'Sort_rows',
      scan: 'Sort_scan',
    });
    addAll(batch, vars, MY.joins, 'kind', {
      full: 'Select_full_join',
      full_range: 'Select_full_range_join',
      range: 'Select_range',
      range_check: 'Select_range_check',
      scan: 'Select_scan',
    });
    addAll(batch, vars, MY.tmpResources, 'resource', {
      tables: 'Created_tmp_tables',
      disk_tables: 'Created_tmp_disk_tables',
      files: 'Created_tmp_files',
    });
    addAll(batch, vars, MY.locks, 'kind', {
      immediate: 'Table_locks_immediate',
      waited: 'Table_locks_waited',
    });
    addAll(batch, vars, MY.openedResources, 'kind', {
      file: 'Opened_files',
      table_definition: 'Opened_table_definitions',
      table: 'Opened_tables',
    });
    addAll(batch, vars, MY.tableOpenCache, 'status', {
      hit: 'Table_open_cache_hits',
      miss: 'Table_open_cache_misses',
      overflow: 'Table_open_cache_overflows',
    });
    batch.add(MY.tableCacheOpen, v('Open_tables'));
  },
};

/**
 * When FLUSH STATUS last ran, from one snapshot's Uptime and Uptime_since_flush_status added to
 * the session's fixed start time, so the same flush gives the same instant every cycle. Undefined
 * when the counters have run since start-up (the batch's own start time applies).
 */
export function flushedAtNs(
  server: Pick<MysqlServerInfo, 'startedAt'>,
  uptime: number | null,
  sinceFlush: number | null,
): bigint | undefined {
  if (uptime === null || sinceFlush === null) return undefined;
  const flushedAfter = Math.trunc(uptime - sinceFlush);
  // The two are read at the same moment but rounded apart: a second is noise, not a flush.
  if (flushedAfter <= 1) return undefined;
  return (BigInt(server.startedAt.getTime()) + BigInt(flushedAfter) * 1000n) * 1_000_000n;
}

/** Where the server has no Innodb_rows_* (newer MariaDB), row operations come from these. */
const ROW_FALLBACK = [
  'Rows_read',
  'Handler_write',
  'Handler_update',
  'Handler_delete',
  'Uptime',
  'Uptime_since_flush_status',
] as const;

const innodb: MysqlMetricFamily = {
  name: 'innodb',
  cadence: 'fast',
  async collect({ session, server, batch }) {
    const vars = await showVariables(
      session,
      `SHOW GLOBAL STATUS WHERE Variable_name LIKE 'Innodb%' OR Variable_name IN (${ROW_FALLBACK.map((n) => `'${n}'`).join(', ')})`,
    );
    const v = (name: string) => num(vars.get(name));
    const total = v('Innodb_buffer_pool_pages_total');
    const misc = v('Innodb_buffer_pool_pages_misc');
    batch.add(MY.bufferPoolPages, v('Innodb_buffer_pool_pages_data'), { kind: 'data' });
    batch.add(MY.bufferPoolPages, v('Innodb_buffer_pool_pages_free'), { kind: 'free' });
    // Some MySQL versions report an underflowed misc count near 2^64 (bugs.mysql.com 59550).
    if (misc !== null && (total === null || misc <= total))
      batch.add(MY.bufferPoolPages, misc, { kind: 'misc' });
    batch.add(MY.bufferPoolPages, total, { kind: 'total' });
    addDirtyAndClean(
      batch,
      MY.bufferPoolDataPages,
      v('Innodb_buffer_pool_pages_data'),
      v('Innodb_buffer_pool_pages_dirty'),
    );
    addDirtyAndClean(
      batch,
      MY.bufferPoolUsage,
      v('Innodb_buffer_pool_bytes_data'),
      v('Innodb_buffer_pool_bytes_dirty'),
    );
    batch.add(MY.bufferPoolPageFlushes, v('Innodb_buffer_pool_pages_flushed'));
    for (const operation of [
      'read_requests',
      'reads',
      'write_requests',
      'wait_free',
      'read_ahead',
      'read_ahead_rnd',
      'read_ahead_evicted',
    ])
      batch.add(MY.bufferPoolOperations, v(`Innodb_buffer_pool_${operation}`), { operation });
    batch.add(MY.pageSize, v('Innodb_page_size'));
    addAll(batch, vars, MY.pageOperations, 'operation', {
      created: 'Innodb_pages_created',
      read: 'Innodb_pages_read',
      written: 'Innodb_pages_written',
    });
    if (vars.has('Innodb_rows_read')) {
      addAll(batch, vars, MY.rowOperations, 'operation', {
        read: 'Innodb_rows_read',
        inserted: 'Innodb_rows_inserted',
        updated: 'Innodb_rows_updated',
        deleted: 'Innodb_rows_deleted',
      });
    } else {
      // Newer MariaDB (10.11 for one) has no Innodb_rows_*: the server's row counters (all engines, reset
      // by FLUSH STATUS) stand in.
      addAll(
        batch.since(flushedAtNs(server, v('Uptime'), v('Uptime_since_flush_status'))),
        vars,
        MY.rowOperations,
        'operation',
        {
          read: 'Rows_read',
          inserted: 'Handler_write',
          updated: 'Handler_update',
          deleted: 'Handler_delete',
        },
      );
    }
    addAll(batch, vars, MY.rowLocks, 'kind', {
      waits: 'Innodb_row_lock_waits',
      time: 'Innodb_row_lock_time',
    });
    batch.add(MY.rowLockCurrentWaits, v('Innodb_row_lock_current_waits'));
    batch.add(MY.deadlocks, v('Innodb_deadlocks'));
    batch.add(MY.historyListLength, v('Innodb_history_list_length'));
    addAll(batch, vars, MY.logOperations, 'operation', {
      waits: 'Innodb_log_waits',
      write_requests: 'Innodb_log_write_requests',
      writes: 'Innodb_log_writes',
      fsyncs: 'Innodb_os_log_fsyncs',
    });
    batch.add(MY.redoLogWritten, v('Innodb_os_log_written'));
    addAll(batch, vars, MY.operations, 'operation', {
      reads: 'Innodb_data_reads',
      writes: 'Innodb_data_writes',
      fsyncs: 'Innodb_data_fsyncs',
    });
    addAll(batch, vars, MY.pendingOperations, 'operation', {
      reads: 'Innodb_data_pending_reads',
      writes: 'Innodb_data_pending_writes',
      fsyncs: 'Innodb_data_pending_fsyncs',
    });
    addAll(batch, vars, MY.dataIo, 'kind', { read: 'Innodb_data_read', written: 'Innodb_data_written' });
    addAll(batch, vars, MY.doubleWrites, 'kind', {
      pages_written: 'Innodb_dblwr_pages_written',
      writes: 'Innodb_dblwr_writes',
    });
  },
};

function addDirtyAndClean(
  batch: Pick<MetricBatch, 'add'>,
  definition: MetricDefinition,
  data: number | null,
  dirty: number | null,
): void {
  batch.add(definition, dirty, { status: 'dirty' });
  if (data !== null && dirty !== null) batch.add(definition, Math.max(0, data - dirty), { status: 'clean' });
}

/** Processlist states: a bounded vocabulary, but a long tail on some versions; the rest are counted as `other`. */
const MAX_STATES = 50;

/** Sessions by command and state, the longest statement and the oldest transaction (not the collector's own). */
const sessions: MysqlMetricFamily = {
  name: 'sessions',
  cadence: 'fast',
  async collect({ session, batch }) {
    const rows = await session.query(
      `SELECT COMMAND AS command, COALESCE(STATE, '') AS state, COUNT(*) AS n,
              MAX(CASE WHEN COMMAND IN ('Query', 'Execute') THEN TIME END) AS longest_s
         FROM information_schema.PROCESSLIST
        WHERE ID <> CONNECTION_ID() AND USER <> 'system user' AND COMMAND <> 'Daemon'
        GROUP BY COMMAND, COALESCE(STATE, '')
        ORDER BY n DESC`,
    );
    let longest = 0;
    let other = 0;
    rows.forEach((row, i) => {
      longest = Math.max(longest, num(row.longest_s) ?? 0);
      if (i < MAX_STATES)
        batch.add(MY.sessions, num(row.n), { command: text(row.command), state: text(row.state) });
      else other += num(row.n) ?? 0;
    });
    if (other > 0) batch.add(MY.sessions, other, { command: 'other', state: 'other' });
    batch.add(MY.longestQuery, longest);
    const [trx] = await session.query(
      `SELECT COALESCE(MAX(TIMESTAMPDIFF(SECOND, trx_started, NOW())), 0) AS oldest_s,
              COALESCE(SUM(trx_state = 'LOCK WAIT'), 0) AS waiting
         FROM information_schema.INNODB_TRX`,
    );
    batch.add(MY.oldestTransaction, num(trx?.oldest_s));
    batch.add(MY.lockWaits, num(trx?.waiting));
  },
};

const variables: MysqlMetricFamily = {
  name: 'variables',
  cadence: 'fast',
  async collect({ session, batch }) {
    const vars = await showVariables(
      session,
      `SHOW GLOBAL VARIABLES WHERE Variable_name IN ('max_connections', 'innodb_buffer_pool_size', 'table_open_cache')`,
    );
    batch.add(MY.connectionMax, num(vars.get('max_connections')));
    batch.add(MY.bufferPoolLimit, num(vars.get('innodb_buffer_pool_size')));
    batch.add(MY.tableCacheLimit, num(vars.get('table_open_cache')));
  },
};

/** The first of `names` the row has: MySQL 8.0.22 renamed Slave_/Master_ columns to Replica_/Source_. */
function pick(row: Row, ...names: string[]): unknown {
  for (const name of names) if (name in row) return row[name];
  return undefined;
}

const replication: MysqlMetricFamily = {
  name: 'replication',
  cadence: 'fast',
  async collect({ session, server, batch }) {
    // MariaDB: one row per named connection (multi-source); MySQL: one row per channel.
    const sql =
      server.flavor === 'mariadb'
        ? 'SHOW ALL SLAVES STATUS'
        : server.versionNumber >= 80022
          ? 'SHOW REPLICA STATUS'
          : 'SHOW SLAVE STATUS';
    const rows = await session.query(sql);
    let globalSlavePos: string | undefined;
    for (const row of rows) {
      const at = { channel: text(pick(row, 'Channel_Name', 'Channel_name', 'Connection_name')) };
      const io = text(pick(row, 'Replica_IO_Running', 'Slave_IO_Running'));
      const sqlThread = text(pick(row, 'Replica_SQL_Running', 'Slave_SQL_Running'));
      batch.add(MY.replicaIoRunning, io === 'Yes' ? 1 : 0, at);
      batch.add(MY.replicaSqlRunning, sqlThread === 'Yes' ? 1 : 0, at);
      // NULL while the SQL thread is stopped (or the I/O thread never connected): no point then.
      batch.add(
        MY.replicaTimeBehindSource,
        num(pick(row, 'Seconds_Behind_Source', 'Seconds_Behind_Master')),
        at,
      );
      batch.add(MY.replicaSqlDelay, num(row.SQL_Delay), at);
      if (server.flavor === 'mariadb') {
        if (text(row.Using_Gtid) === '' || text(row.Using_Gtid) === 'No') continue;
        let slavePos = 'Gtid_Slave_Pos' in row ? text(row.Gtid_Slave_Pos) : undefined;
        if (slavePos === undefined) {
          // Older servers leave the column out: the position is one global for all connections.
          globalSlavePos ??= text((await session.query('SELECT @@GLOBAL.gtid_slave_pos AS pos'))[0]?.pos);
          slavePos = globalSlavePos;
        }
        batch.add(MY.replicaGtidGap, mariadbGtidGap(text(row.Gtid_IO_Pos), slavePos), at);
      } else {
        batch.add(
          MY.replicaGtidGap,
          mysqlGtidGap(text(row.Retrieved_Gtid_Set), text(row.Executed_Gtid_Set)),
          at,
        );
      }
    }
  },
};

/** A closed range of GTID sequence numbers. */
type Interval = readonly [number, number];

/**
 * A MySQL GTID set (`uuid:1-5:7,uuid2:1-3`; since 8.3 also `uuid:tag:1-2` inside an entry) as
 * intervals per source uuid and tag. The server prints it with a newline after each comma.
 */
export function parseMysqlGtidSet(set: string): Map<string, Interval[]> {
  const sources = new Map<string, Interval[]>();
  for (const entry of set.split(',')) {
    const parts = entry.trim().split(':');
    const uuid = parts[0]?.toLowerCase() ?? '';
    if (uuid === '') continue;
    let key = uuid;
    for (const part of parts.slice(1)) {
      const range = /^(\d+)(?:-(\d+))?$/.exec(part);
      if (range === null) {
        key = `${uuid}:${part}`;
        continue;
      }
      const start = Number(range[1]);
      const end = range[2] === undefined ? start : Number(range[2]);
      const list = sources.get(key) ?? [];
      list.push([start, end]);
      sources.set(key, list);
    }
  }
  return sources;
}

function merged(intervals: readonly Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [start, end] of sorted) {
    const last = out.at(-1);
    if (last !== undefined && start <= last[1] + 1) last[1] = Math.max(last[1], end);
    else out.push([start, end]);
  }
  return out;
}

/**
 * Transactions in Retrieved_Gtid_Set that are not in Executed_Gtid_Set; null when the channel
 * does not replicate by GTID (both sets empty).
 */
export function mysqlGtidGap(retrieved: string, executed: string): number | null {
  if (retrieved.trim() === '' && executed.trim() === '') return null;
  const done = parseMysqlGtidSet(executed);
  let gap = 0;
  for (const [key, intervals] of parseMysqlGtidSet(retrieved)) {
    const applied = merged(done.get(key) ?? []);
    for (const [start, end] of merged(intervals)) {
      let missing = end - start + 1;
      for (const [from, to] of applied) missing -= Math.max(0, Math.min(end, to) - Math.max(start, from) + 1);
      gap += missing;
    }
  }
  return gap;
}

/** The highest sequence number per replication domain of a MariaDB GTID list (`0-1-100,1-2-7`). */
export function parseMariadbGtidPos(pos: string): Map<string, number> {
  const domains = new Map<string, number>();
  for (const gtid of pos.split(',')) {
    const match = /^\s*(\d+)-(\d+)-(\d+)\s*$/.exec(gtid);
    if (match?.[1] === undefined) continue;
    domains.set(match[1], Math.max(domains.get(match[1]) ?? 0, Number(match[3])));
  }
  return domains;
}

/**
 * MariaDB numbers a domain's transactions in order whatever server wrote them, so what a
 * connection received (Gtid_IO_Pos) but has not applied (Gtid_Slave_Pos) is the difference of
 * sequence numbers, domain by domain.
 */
export function mariadbGtidGap(ioPos: string, slavePos: string): number {
  const applied = parseMariadbGtidPos(slavePos);
  let gap = 0;
  for (const [domain, received] of parseMariadbGtidPos(ioPos))
    gap += Math.max(0, received - (applied.get(domain) ?? 0));
  return gap;
}

const USER_TABLES = `TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') AND TABLE_SCHEMA NOT IN ${SYSTEM_SCHEMAS}`;

/**
 * The largest tables by data + index length, and how many there are in all. information_schema
 * opens each table for its statistics on MariaDB (MySQL 8 reads cached ones), hence slow cadence.
 */
const tables: MysqlMetricFamily = {
  name: 'tables',
  cadence: 'slow',
  async collect({ session, batch, topTables }) {
    const [visibleCount] = await session.query(
      `SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE ${USER_TABLES}`,
    );
    const visible = await session.query(
      `SELECT TABLE_SCHEMA AS table_schema, TABLE_NAME AS table_name, DATA_LENGTH AS data_length,
              INDEX_LENGTH AS index_length, TABLE_ROWS AS table_rows, AVG_ROW_LENGTH AS avg_row_length
         FROM information_schema.TABLES
        WHERE ${USER_TABLES}
        ORDER BY COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0) DESC, TABLE_SCHEMA, TABLE_NAME
        LIMIT ?`,
      [topTables],
    );
    const innodb = await innodbTableStats(session, topTables);
    const merged = new Map<string, Row>();
    for (const row of [...visible, ...innodb.rows]) {
      const key = `${text(row.table_schema)}\u0000${text(row.table_name)}`;
      if (!merged.has(key)) merged.set(key, row);
    }
    const size = (row: Row) => (num(row.data_length) ?? 0) + (num(row.index_length) ?? 0);
    const largest = [...merged.values()].sort((a, b) => size(b) - size(a)).slice(0, topTables);
    batch.add(MY.tableCount, Math.max(num(visibleCount?.n) ?? 0, innodb.count));
    for (const row of largest) {
      const table = { [SCHEMA]: text(row.table_schema), [TABLE]: text(row.table_name) };
      batch.add(MY.tableSize, num(row.data_length), { ...table, kind: 'data' });
      batch.add(MY.tableSize, num(row.index_length), { ...table, kind: 'index' });
      batch.add(MY.tableRows, num(row.table_rows), table);
      batch.add(MY.tableAverageRowLength, num(row.avg_row_length), table);
    }
  },
};

/** MySQL and MariaDB's "access denied to this table" error (ER_TABLEACCESS_DENIED_ERROR). */
const TABLE_ACCESS_DENIED = 1142;

/**
 * InnoDB's persistent statistics: sizes and row estimates of every InnoDB table, readable with
 * SELECT on this one table, where information_schema.TABLES shows only the tables the user has
 * privileges on. Without that grant (or with persistent statistics off), nothing.
 */
async function innodbTableStats(
  session: MysqlMetricQueryContext['session'],
  topTables: number,
): Promise<{ rows: Row[]; count: number }> {
  try {
    const [count] = await session.query(
      `SELECT COUNT(*) AS n FROM mysql.innodb_table_stats WHERE database_name NOT IN ${SYSTEM_SCHEMAS}`,
    );
    const rows = await session.query(
      `SELECT database_name AS table_schema, table_name, n_rows AS table_rows,
              clustered_index_size * @@innodb_page_size AS data_length,
              sum_of_other_index_sizes * @@innodb_page_size AS index_length
         FROM mysql.innodb_table_stats
        WHERE database_name NOT IN ${SYSTEM_SCHEMAS}
        ORDER BY clustered_index_size + sum_of_other_index_sizes DESC, database_name, table_name
        LIMIT ?`,
      [topTables],
    );
    return { rows, count: num(count?.n) ?? 0 };
  } catch (error) {
    if ((error as { errno?: unknown }).errno === TABLE_ACCESS_DENIED) return { rows: [], count: 0 };
    throw error;
  }
}

const IO_OPERATIONS = ['fetch', 'insert', 'update', 'delete'] as const;

/** performance_schema timers are picoseconds: whole nanoseconds, exact before they become a double. */
export function picosToNanos(value: unknown): number | null {
  if (value === null || value === undefined || value === '') return null;
  return Number(big(value) / 1000n);
}

function addIoWaits(
  batch: Pick<MetricBatch, 'add'>,
  row: Row,
  definitions: { count: MetricDefinition; time: MetricDefinition },
  attributes: PointAttributes,
): void {
  for (const operation of IO_OPERATIONS) {
    const at = { ...attributes, operation };
    batch.add(definitions.count, num(row[`count_${operation}`]), at);
    batch.add(definitions.time, picosToNanos(row[`sum_timer_${operation}`]), at);
  }
}

const IO_COLUMNS = IO_OPERATIONS.map(
  (op) => `COUNT_${op.toUpperCase()} AS count_${op}, SUM_TIMER_${op.toUpperCase()} AS sum_timer_${op}`,
).join(', ');

/** Tables with the most row I/O wait time (performance_schema; nothing when it is off). */
const tableIo: MysqlMetricFamily = {
  name: 'table_io',
  cadence: 'slow',
  async collect({ session, server, batch, topTables }) {
    if (!server.performanceSchema) return;
    const rows = await session.query(
      `SELECT OBJECT_SCHEMA AS object_schema, OBJECT_NAME AS object_name, ${IO_COLUMNS}
         FROM performance_schema.table_io_waits_summary_by_table
        WHERE OBJECT_TYPE = 'TABLE' AND OBJECT_SCHEMA NOT IN ${SYSTEM_SCHEMAS} AND COUNT_STAR > 0
        ORDER BY SUM_TIMER_WAIT DESC, OBJECT_SCHEMA, OBJECT_NAME
        LIMIT ?`,
      [topTables],
    );
    for (const row of rows) {
      addIoWaits(
        batch,
        row,
        { count: MY.tableIoWaitCount, time: MY.tableIoWaitTime },
        { [SCHEMA]: text(row.object_schema), [TABLE]: text(row.object_name) },
      );
    }
  },
};

/** Indexes (and index-less access, as index NONE) with the most row I/O wait time. */
const indexIo: MysqlMetricFamily = {
  name: 'index_io',
  cadence: 'slow',
  async collect({ session, server, batch, topTables }) {
    if (!server.performanceSchema) return;
    const rows = await session.query(
      `SELECT OBJECT_SCHEMA AS object_schema, OBJECT_NAME AS object_name,
              COALESCE(INDEX_NAME, 'NONE') AS index_name, ${IO_COLUMNS}
         FROM performance_schema.table_io_waits_summary_by_index_usage
        WHERE OBJECT_TYPE = 'TABLE' AND OBJECT_SCHEMA NOT IN ${SYSTEM_SCHEMAS} AND COUNT_STAR > 0
        ORDER BY SUM_TIMER_WAIT DESC, OBJECT_SCHEMA, OBJECT_NAME, INDEX_NAME
        LIMIT ?`,
      [topTables],
    );
    for (const row of rows) {
      addIoWaits(
        batch,
        row,
        { count: MY.indexIoWaitCount, time: MY.indexIoWaitTime },
        { [SCHEMA]: text(row.object_schema), [TABLE]: text(row.object_name), [INDEX]: text(row.index_name) },
      );
    }
  },
};

export const MYSQL_METRIC_FAMILIES: readonly MysqlMetricFamily[] = [
  status,
  sessions,
  innodb,
  variables,
  replication,
  tables,
  tableIo,
  indexIo,
];
