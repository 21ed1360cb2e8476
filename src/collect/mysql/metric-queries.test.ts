import { describe, expect, it } from 'vitest';
import { MetricBatch } from '../metric-batch.js';
import { MY } from './metric-definitions.js';
import {
  MYSQL_METRIC_FAMILIES,
  flushedAtNs,
  mariadbGtidGap,
  mysqlGtidGap,
  parseMysqlGtidSet,
  picosToNanos,
  type MysqlMetricFamily,
} from './metric-queries.js';
import type { MysqlServerInfo, MysqlSession, Row } from './session.js';

/**
 * SHOW GLOBAL STATUS of a MariaDB 10.11.19 (Debian 12) after a few statements, as mysql2 returns
 * it: every value a string. A subset of its 560 rows, with some the collector ignores.
 */
const MARIADB_STATUS = `
Aborted_clients	0
Aborted_connects	0
Aborted_connects_preauth	0
Bytes_received	3160
Bytes_sent	65908
Com_begin	0
Com_commit	0
Com_delete	1
Com_insert	2
Com_rollback	0
Com_select	12
Com_show_status	4
Com_stmt_execute	0
Com_stmt_prepare	0
Com_update	1
Connection_errors_accept	0
Connection_errors_internal	0
Connection_errors_max_connections	0
Connection_errors_peer_address	0
Connection_errors_select	0
Connection_errors_tcpwrap	0
Connections	11
Created_tmp_disk_tables	0
Created_tmp_files	4
Created_tmp_tables	8
Handler_commit	19
Handler_delete	1
Handler_icp_attempts	0
Handler_read_key	9
Handler_read_rnd_next	2836
Handler_update	2
Handler_write	4
Innodb_buffer_pool_pages_data	305
Innodb_buffer_pool_bytes_data	4997120
Innodb_buffer_pool_pages_dirty	28
Innodb_buffer_pool_bytes_dirty	458752
Innodb_buffer_pool_pages_flushed	0
Innodb_buffer_pool_pages_free	7807
Innodb_buffer_pool_pages_misc	0
Innodb_buffer_pool_pages_total	8112
Innodb_buffer_pool_read_ahead_rnd	0
Innodb_buffer_pool_read_ahead	0
Innodb_buffer_pool_read_ahead_evicted	0
Innodb_buffer_pool_read_requests	1932
Innodb_buffer_pool_reads	170
Innodb_buffer_pool_wait_free	0
Innodb_buffer_pool_write_requests	167
Innodb_checkpoint_age	5994
Innodb_data_fsyncs	14
Innodb_data_pending_fsyncs	0
Innodb_data_pending_reads	0
Innodb_data_pending_writes	0
Innodb_data_read	2785280
Innodb_data_reads	179
Innodb_data_writes	0
Innodb_data_written	0
Innodb_dblwr_pages_written	0
Innodb_dblwr_writes	0
Innodb_deadlocks	0
Innodb_history_list_length	0
Innodb_ibuf_size	8710193676289
Innodb_log_waits	0
Innodb_log_write_requests	90
Innodb_log_writes	12
Innodb_os_log_written	5994
Innodb_page_size	16384
Innodb_pages_created	135
Innodb_pages_read	170
Innodb_pages_written	0
Innodb_row_lock_current_waits	0
Innodb_row_lock_time	0
Innodb_row_lock_waits	0
Max_used_connections	2
Memory_used	445481608
Open_tables	17
Opened_files	88
Opened_table_definitions	24
Opened_tables	23
Queries	43
Questions	43
Rows_read	1027
Select_full_join	0
Select_full_range_join	0
Select_range	0
Select_range_check	0
Select_scan	11
Slow_queries	0
Sort_merge_passes	0
Sort_priority_queue_sorts	0
Sort_range	0
Sort_rows	0
Sort_scan	0
Table_locks_immediate	32
Table_locks_waited	0
Table_open_cache_hits	14
Table_open_cache_misses	23
Table_open_cache_overflows	0
Threads_cached	0
Threads_connected	2
Threads_created	2
Threads_running	2
Uptime	200
Uptime_since_flush_status	200`;

function statusRows(table: string, overrides: Record<string, string> = {}): Row[] {
  const rows = new Map<string, string>();
  for (const line of table.trim().split('\n')) {
    const [name, value] = line.split('\t');
    if (name !== undefined) rows.set(name, value ?? '');
  }
  for (const [name, value] of Object.entries(overrides)) rows.set(name, value);
  return [...rows].map(([Variable_name, Value]) => ({ Variable_name, Value }));
}

/**
 * One row of SHOW ALL SLAVES STATUS of a MariaDB 10.11.19 replica (MASTER_USE_GTID=slave_pos),
 * exactly as mysql2 returned it.
 */
const MARIADB_SLAVE_ROW: Row = {
  Connection_name: '',
  Slave_SQL_State: 'Slave has read all relay log; waiting for more updates',
  Slave_IO_State: 'Waiting for master to send event',
  Master_Host: '127.0.0.1',
  Master_User: 'repl',
  Master_Port: 33061,
  Connect_Retry: 60,
  Master_Log_File: 'mysql-bin.000001',
  Read_Master_Log_Pos: '1616',
  Relay_Log_File: 'p2-relay-bin.000002',
  Relay_Log_Pos: '1915',
  Relay_Master_Log_File: 'mysql-bin.000001',
  Slave_IO_Running: 'Yes',
  Slave_SQL_Running: 'Yes',
  Replicate_Do_DB: '',
  Replicate_Ignore_DB: '',
  Replicate_Do_Table: '',
  Replicate_Ignore_Table: '',
  Replicate_Wild_Do_Table: '',
  Replicate_Wild_Ignore_Table: '',
  Last_Errno: 0,
  Last_Error: '',
  Skip_Counter: 0,
  Exec_Master_Log_Pos: '1616',
  Relay_Log_Space: '2221',
  Until_Condition: 'None',
  Until_Log_File: '',
  Until_Log_Pos: '0',
  Master_SSL_Allowed: 'No',
  Master_SSL_CA_File: '',
  Master_SSL_CA_Path: '',
  Master_SSL_Cert: '',
  Master_SSL_Cipher: '',
  Master_SSL_Key: '',
  Seconds_Behind_Master: '0',
  Master_SSL_Verify_Server_Cert: 'No',
  Last_IO_Errno: 0,
  Last_IO_Error: '',
  Last_SQL_Errno: 0,
  Last_SQL_Error: '',
  Replicate_Ignore_Server_Ids: '',
  Master_Server_Id: 1,
  Master_SSL_Crl: '',
  Master_SSL_Crlpath: '',
  Using_Gtid: 'Slave_Pos',
  Gtid_IO_Pos: '0-1-8',
  Replicate_Do_Domain_Ids: '',
  Replicate_Ignore_Domain_Ids: '',
  Parallel_Mode: 'optimistic',
  SQL_Delay: 0,
  SQL_Remaining_Delay: null,
  Slave_SQL_Running_State: 'Slave has read all relay log; waiting for more updates',
  Slave_DDL_Groups: '4',
  Slave_Non_Transactional_Groups: '0',
  Slave_Transactional_Groups: '4',
  Replicate_Rewrite_DB: '',
  Retried_transactions: 0,
  Max_relay_log_size: '1073741824',
  Executed_log_entries: 27,
  Slave_received_heartbeats: 5,
  Slave_heartbeat_period: 30,
  Gtid_Slave_Pos: '0-1-8',
};

/** SHOW REPLICA STATUS of MySQL 8.0.22+, column names as the MySQL 8.0 reference manual lists them. */
const MYSQL8_REPLICA_ROW: Row = {
  Replica_IO_State: 'Waiting for source to send event',
  Source_Host: 'source.example',
  Source_User: 'repl',
  Source_Port: 3306,
  Connect_Retry: 60,
  Source_Log_File: 'binlog.000012',
  Read_Source_Log_Pos: '4711',
  Relay_Log_File: 'replica-relay-bin.000003',
  Relay_Log_Pos: '900',
  Relay_Source_Log_File: 'binlog.000012',
  Replica_IO_Running: 'Yes',
  Replica_SQL_Running: 'Yes',
  Last_Errno: 0,
  Last_Error: '',
  Skip_Counter: 0,
  Exec_Source_Log_Pos: '4500',
  Relay_Log_Space: '1500',
  Until_Condition: 'None',
  Seconds_Behind_Source: '7',
  Last_IO_Errno: 0,
  Last_IO_Error: '',
  Last_SQL_Errno: 0,
  Last_SQL_Error: '',
  Source_Server_Id: 1,
  Source_UUID: '3e11fa47-71ca-11e1-9e33-c80aa9429562',
  SQL_Delay: 3600,
  SQL_Remaining_Delay: null,
  Replica_SQL_Running_State: 'Replica has read all relay log; waiting for more updates',
  Retrieved_Gtid_Set: '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-120,\nb5d2a3f1-0000-11e1-9e33-c80aa9429562:1-5',
  Executed_Gtid_Set:
    '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-100:105,\nb5d2a3f1-0000-11e1-9e33-c80aa9429562:1-5,\n' +
    'c0ffee00-0000-11e1-9e33-c80aa9429562:1-1000',
  Auto_Position: 1,
  Channel_Name: '',
  Source_TLS_Version: '',
};

interface FakeServer {
  session: MysqlSession;
  statements: string[];
  values: unknown[][];
}

/** Answers each statement from `answer`; records what the families send. */
function fakeSession(answer: (sql: string) => Row[] | Error): FakeServer {
  const statements: string[] = [];
  const values: unknown[][] = [];
  const session = {
    query: (sql: string, params: readonly unknown[] = []) => {
      const flat = sql.replace(/\s+/g, ' ').trim();
      statements.push(flat);
      values.push([...params]);
      const result = answer(flat);
      return result instanceof Error ? Promise.reject(result) : Promise.resolve(result);
    },
  } as unknown as MysqlSession;
  return { session, statements, values };
}

/** Emulates SHOW GLOBAL STATUS with the WHERE the families use. */
function statusAnswer(rows: Row[]): (sql: string) => Row[] {
  return (sql) => {
    const name = (r: Row) => String(r.Variable_name);
    if (sql.includes("NOT LIKE 'Innodb%'")) return rows.filter((r) => !name(r).startsWith('Innodb'));
    const listed = [...(/IN \((.*)\)/.exec(sql)?.[1] ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1]);
    return rows.filter((r) => name(r).startsWith('Innodb') || listed.includes(name(r)));
  };
}

const STARTED_AT = new Date('2026-01-01T00:00:00Z');
const STARTED_NS = BigInt(STARTED_AT.getTime()) * 1_000_000n;

function server(overrides: Partial<MysqlServerInfo> = {}): MysqlServerInfo {
  return {
    flavor: 'mariadb',
    version: '10.11.19-MariaDB-0+deb12u1',
    versionNumber: 101119,
    startedAt: STARTED_AT,
    performanceSchema: true,
    readOnly: false,
    hostname: 'db1',
    dataDir: '/var/lib/mysql/',
    ...overrides,
  };
}

interface Point {
  value: number;
  attributes: Record<string, unknown>;
  startNs: bigint | undefined;
}

function pointsOf(batch: MetricBatch): Map<string, Point[]> {
  const out = new Map<string, Point[]>();
  const metrics = batch.toRequest({}, 'test', '0').resourceMetrics?.[0]?.scopeMetrics?.[0]?.metrics ?? [];
  for (const metric of metrics) {
    const points = (metric.gauge?.dataPoints ?? metric.sum?.dataPoints ?? []).map((p) => ({
      value: p.asDouble ?? NaN,
      attributes: Object.fromEntries(
        (p.attributes ?? []).map((kv): [string, unknown] => [
          kv.key ?? '',
          kv.value?.stringValue ??
            kv.value?.boolValue ??
            Number(String(kv.value?.intValue ?? kv.value?.doubleValue)),
        ]),
      ),
      startNs:
        p.startTimeUnixNano === undefined || p.startTimeUnixNano === null
          ? undefined
          : BigInt(String(p.startTimeUnixNano)),
    }));
    out.set(metric.name ?? '', points);
  }
  return out;
}

function family(name: string): MysqlMetricFamily {
  const found = MYSQL_METRIC_FAMILIES.find((f) => f.name === name);
  if (found === undefined) throw new Error(`no family ${name}`);
  return found;
}

async function collect(
  name: string,
  answer: (sql: string) => Row[] | Error,
  info: MysqlServerInfo = server(),
  topTables = 10,
): Promise<{ points: Map<string, Point[]>; fake: FakeServer }> {
  const fake = fakeSession(answer);
  const batch = new MetricBatch(STARTED_NS + 300n * 1_000_000_000n, STARTED_NS);
  await family(name).collect({ session: fake.session, server: info, batch, topTables });
  return { points: pointsOf(batch), fake };
}

function valueOf(
  points: Map<string, Point[]>,
  name: string,
  attributes: Record<string, unknown> = {},
): number | undefined {
  return points.get(name)?.find((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v))
    ?.value;
}

describe('status family', () => {
  it('maps SHOW GLOBAL STATUS of MariaDB to the mysqlreceiver names and attributes', async () => {
    const { points, fake } = await collect('status', statusAnswer(statusRows(MARIADB_STATUS)));
    expect(fake.statements).toEqual(["SHOW GLOBAL STATUS WHERE Variable_name NOT LIKE 'Innodb%'"]);
    expect(valueOf(points, 'mysql.uptime')).toBe(200);
    expect(valueOf(points, 'mysql.threads', { kind: 'connected' })).toBe(2);
    expect(valueOf(points, 'mysql.threads', { kind: 'created' })).toBe(2);
    expect(valueOf(points, 'mysql.connection.count')).toBe(11);
    expect(valueOf(points, 'mysql.max_used_connections')).toBe(2);
    expect(valueOf(points, 'mysql.query.client.count')).toBe(43);
    expect(valueOf(points, 'mysql.query.count')).toBe(43);
    expect(valueOf(points, 'mysql.query.slow.count')).toBe(0);
    expect(valueOf(points, 'mysql.commands', { command: 'select' })).toBe(12);
    expect(valueOf(points, 'mysql.commands', { command: 'insert' })).toBe(2);
    expect(valueOf(points, 'mysql.client.network.io', { kind: 'received' })).toBe(3160);
    expect(valueOf(points, 'mysql.client.network.io', { kind: 'sent' })).toBe(65908);
    expect(valueOf(points, 'mysql.handlers', { kind: 'read_rnd_next' })).toBe(2836);
    expect(valueOf(points, 'mysql.joins', { kind: 'scan' })).toBe(11);
    expect(valueOf(points, 'mysql.tmp_resources', { resource: 'tables' })).toBe(8);
    expect(valueOf(points, 'mysql.locks', { kind: 'immediate' })).toBe(32);
    expect(valueOf(points, 'mysql.opened_resources', { kind: 'table' })).toBe(23);
    expect(valueOf(points, 'mysql.table_open_cache', { status: 'miss' })).toBe(23);
    expect(valueOf(points, 'mysql.table_cache.open')).toBe(17);
    expect(valueOf(points, 'mysql.connection.errors', { error: 'aborted_clients' })).toBe(0);
    expect(valueOf(points, 'mysql.prepared_statements', { command: 'execute' })).toBe(0);
    // InnoDB variables are the innodb family's: none is read here.
    expect([...points.keys()].filter((name) => name.startsWith('mysql.buffer_pool'))).toEqual([]);
  });

  it('skips what the server does not have instead of sending zeros', async () => {
    const { points } = await collect('status', statusAnswer(statusRows(MARIADB_STATUS)));
    // Locked_connects is MySQL 8.0.19+; Com_load and Handler_read_last are not in the sample.
    expect(valueOf(points, 'mysql.connection.errors', { error: 'locked' })).toBeUndefined();
    expect(valueOf(points, 'mysql.commands', { command: 'load' })).toBeUndefined();
    expect(valueOf(points, 'mysql.handlers', { kind: 'read_last' })).toBeUndefined();
    // Only the listed commands the sample has, each once, in the list's order.
    expect(points.get('mysql.commands')?.map((p) => p.attributes.command)).toEqual([
      'select',
      'insert',
      'update',
      'delete',
      'begin',
      'commit',
      'rollback',
    ]);
  });

  it('starts status counters at the last FLUSH STATUS, and Uptime at the server start', async () => {
    const rows = statusRows(MARIADB_STATUS, { Uptime: '1000', Uptime_since_flush_status: '400' });
    const { points } = await collect('status', statusAnswer(rows));
    const flushed = STARTED_NS + 600n * 1_000_000_000n;
    expect(points.get('mysql.uptime')?.[0]?.startNs).toBe(STARTED_NS);
    expect(points.get('mysql.query.client.count')?.[0]?.startNs).toBe(flushed);
    expect(points.get('mysql.handlers')?.every((p) => p.startNs === flushed)).toBe(true);

    const unflushed = await collect('status', statusAnswer(statusRows(MARIADB_STATUS)));
    expect(unflushed.points.get('mysql.query.client.count')?.[0]?.startNs).toBe(STARTED_NS);
  });

  it('takes a second between Uptime and Uptime_since_flush_status for rounding, not a flush', () => {
    expect(flushedAtNs({ startedAt: STARTED_AT }, 500, 499)).toBeUndefined();
    expect(flushedAtNs({ startedAt: STARTED_AT }, 500, 500)).toBeUndefined();
    expect(flushedAtNs({ startedAt: STARTED_AT }, 500, null)).toBeUndefined();
    expect(flushedAtNs({ startedAt: STARTED_AT }, 500, 100)).toBe(STARTED_NS + 400n * 1_000_000_000n);
  });
});

describe('innodb family', () => {
  it('maps the buffer pool, rows, locks, log and data file counters', async () => {
    const { points, fake } = await collect('innodb', statusAnswer(statusRows(MARIADB_STATUS)));
    expect(fake.statements[0]).toMatch(
      /^SHOW GLOBAL STATUS WHERE Variable_name LIKE 'Innodb%' OR Variable_name IN \(/,
    );
    expect(valueOf(points, 'mysql.buffer_pool.pages', { kind: 'data' })).toBe(305);
    expect(valueOf(points, 'mysql.buffer_pool.pages', { kind: 'free' })).toBe(7807);
    expect(valueOf(points, 'mysql.buffer_pool.pages', { kind: 'misc' })).toBe(0);
    expect(valueOf(points, 'mysql.buffer_pool.pages', { kind: 'total' })).toBe(8112);
    expect(valueOf(points, 'mysql.buffer_pool.data_pages', { status: 'dirty' })).toBe(28);
    expect(valueOf(points, 'mysql.buffer_pool.data_pages', { status: 'clean' })).toBe(277);
    expect(valueOf(points, 'mysql.buffer_pool.usage', { status: 'dirty' })).toBe(458752);
    expect(valueOf(points, 'mysql.buffer_pool.usage', { status: 'clean' })).toBe(4997120 - 458752);
    expect(valueOf(points, 'mysql.buffer_pool.operations', { operation: 'read_requests' })).toBe(1932);
    expect(valueOf(points, 'mysql.buffer_pool.operations', { operation: 'reads' })).toBe(170);
    expect(valueOf(points, 'mysql.page_size')).toBe(16384);
    expect(valueOf(points, 'mysql.page_operations', { operation: 'created' })).toBe(135);
    expect(valueOf(points, 'mysql.row_locks', { kind: 'waits' })).toBe(0);
    expect(valueOf(points, 'mysql.row_lock.current_waits')).toBe(0);
    expect(valueOf(points, 'mysql.log_operations', { operation: 'write_requests' })).toBe(90);
    expect(valueOf(points, 'mysql.redo_log.written')).toBe(5994);
    expect(valueOf(points, 'mysql.operations', { operation: 'fsyncs' })).toBe(14);
    expect(valueOf(points, 'mysql.operations', { operation: 'reads' })).toBe(179);
    expect(valueOf(points, 'mysql.pending_operations', { operation: 'reads' })).toBe(0);
    expect(valueOf(points, 'mysql.data.io', { kind: 'read' })).toBe(2785280);
    expect(valueOf(points, 'mysql.double_writes', { kind: 'writes' })).toBe(0);
    expect(valueOf(points, 'mysql.deadlocks')).toBe(0);
    // MariaDB has no Innodb_os_log_fsyncs: no point rather than a zero.
    expect(valueOf(points, 'mysql.log_operations', { operation: 'fsyncs' })).toBeUndefined();
    // InnoDB keeps these since start-up, whatever FLUSH STATUS does.
    expect(points.get('mysql.operations')?.every((p) => p.startNs === STARTED_NS)).toBe(true);
  });

  it('counts rows with the server counters where InnoDB has none (MariaDB 10.11)', async () => {
    const rows = statusRows(MARIADB_STATUS, { Uptime: '1000', Uptime_since_flush_status: '400' });
    const { points } = await collect('innodb', statusAnswer(rows));
    expect(valueOf(points, 'mysql.row_operations', { operation: 'read' })).toBe(1027);
    expect(valueOf(points, 'mysql.row_operations', { operation: 'inserted' })).toBe(4);
    expect(valueOf(points, 'mysql.row_operations', { operation: 'updated' })).toBe(2);
    expect(valueOf(points, 'mysql.row_operations', { operation: 'deleted' })).toBe(1);
    // Those are status counters: FLUSH STATUS restarts them.
    expect(points.get('mysql.row_operations')?.[0]?.startNs).toBe(STARTED_NS + 600n * 1_000_000_000n);
  });

  it('counts rows with Innodb_rows_* where the server has them (MySQL)', async () => {
    const rows = statusRows(MARIADB_STATUS, {
      Innodb_rows_read: '5000',
      Innodb_rows_inserted: '300',
      Innodb_rows_updated: '20',
      Innodb_rows_deleted: '1',
    });
    const { points } = await collect(
      'innodb',
      statusAnswer(rows),
      server({ flavor: 'mysql', versionNumber: 80040 }),
    );
    expect(valueOf(points, 'mysql.row_operations', { operation: 'read' })).toBe(5000);
    expect(valueOf(points, 'mysql.row_operations', { operation: 'inserted' })).toBe(300);
    expect(points.get('mysql.row_operations')?.length).toBe(4);
    expect(points.get('mysql.row_operations')?.[0]?.startNs).toBe(STARTED_NS);
  });

  it('drops the underflowed misc page count some MySQL versions report', async () => {
    const rows = statusRows(MARIADB_STATUS, {
      Innodb_buffer_pool_pages_misc: '18446744073709551596',
      Innodb_os_log_fsyncs: '41',
    });
    const { points } = await collect(
      'innodb',
      statusAnswer(rows),
      server({ flavor: 'mysql', versionNumber: 80040 }),
    );
    expect(valueOf(points, 'mysql.buffer_pool.pages', { kind: 'misc' })).toBeUndefined();
    expect(valueOf(points, 'mysql.buffer_pool.pages', { kind: 'total' })).toBe(8112);
    expect(valueOf(points, 'mysql.log_operations', { operation: 'fsyncs' })).toBe(41);
  });
});

describe('variables family', () => {
  it('reads max_connections, the buffer pool size and the table cache size', async () => {
    const { points } = await collect('variables', () => [
      { Variable_name: 'innodb_buffer_pool_size', Value: '67108864' },
      { Variable_name: 'max_connections', Value: '151' },
      { Variable_name: 'table_open_cache', Value: '2000' },
    ]);
    expect(valueOf(points, 'mysql.connection.max')).toBe(151);
    expect(valueOf(points, 'mysql.buffer_pool.limit')).toBe(67108864);
    expect(valueOf(points, 'mysql.table_cache.limit')).toBe(2000);
  });
});

describe('replication family', () => {
  it('reads every MariaDB connection with SHOW ALL SLAVES STATUS', async () => {
    const named = {
      ...MARIADB_SLAVE_ROW,
      Connection_name: 'east',
      Slave_IO_Running: 'Connecting',
      Slave_SQL_Running: 'Yes',
      Seconds_Behind_Master: null,
      Gtid_IO_Pos: '0-1-12,1-2-40',
      Gtid_Slave_Pos: '0-1-8,1-2-35',
    };
    const { points, fake } = await collect('replication', () => [MARIADB_SLAVE_ROW, named]);
    expect(fake.statements).toEqual(['SHOW ALL SLAVES STATUS']);
    expect(valueOf(points, 'mysql.replica.io_running', { channel: '' })).toBe(1);
    expect(valueOf(points, 'mysql.replica.sql_running', { channel: '' })).toBe(1);
    expect(valueOf(points, 'mysql.replica.time_behind_source', { channel: '' })).toBe(0);
    expect(valueOf(points, 'mysql.replica.sql_delay', { channel: '' })).toBe(0);
    expect(valueOf(points, 'mysql.replica.gtid.gap', { channel: '' })).toBe(0);
    // A connecting receiver is not running; an unknown delay is no point rather than 0.
    expect(valueOf(points, 'mysql.replica.io_running', { channel: 'east' })).toBe(0);
    expect(valueOf(points, 'mysql.replica.time_behind_source', { channel: 'east' })).toBeUndefined();
    expect(valueOf(points, 'mysql.replica.gtid.gap', { channel: 'east' })).toBe(4 + 5);
  });

  it('sends no GTID gap for a MariaDB connection that replicates by file and position', async () => {
    const row = { ...MARIADB_SLAVE_ROW, Using_Gtid: 'No', Gtid_IO_Pos: '' };
    const { points } = await collect('replication', () => [row]);
    expect(points.get('mysql.replica.gtid.gap')).toBeUndefined();
    expect(valueOf(points, 'mysql.replica.io_running')).toBe(1);
  });

  it('reads the slave position globally where SHOW ALL SLAVES STATUS has no Gtid_Slave_Pos column', async () => {
    const row: Row = { ...MARIADB_SLAVE_ROW, Gtid_IO_Pos: '0-1-20' };
    delete row.Gtid_Slave_Pos;
    const { points, fake } = await collect('replication', (sql) =>
      sql.startsWith('SELECT @@GLOBAL.gtid_slave_pos') ? [{ pos: '0-1-17' }] : [row],
    );
    expect(fake.statements[1]).toBe('SELECT @@GLOBAL.gtid_slave_pos AS pos');
    expect(valueOf(points, 'mysql.replica.gtid.gap')).toBe(3);
  });

  it('uses SHOW REPLICA STATUS and its Replica_/Source_ columns from MySQL 8.0.22', async () => {
    const { points, fake } = await collect(
      'replication',
      () => [
        MYSQL8_REPLICA_ROW,
        { ...MYSQL8_REPLICA_ROW, Channel_Name: 'analytics', Replica_SQL_Running: 'No' },
      ],
      server({ flavor: 'mysql', version: '8.0.40', versionNumber: 80040 }),
    );
    expect(fake.statements).toEqual(['SHOW REPLICA STATUS']);
    expect(valueOf(points, 'mysql.replica.time_behind_source', { channel: '' })).toBe(7);
    expect(valueOf(points, 'mysql.replica.sql_delay', { channel: '' })).toBe(3600);
    expect(valueOf(points, 'mysql.replica.io_running', { channel: '' })).toBe(1);
    expect(valueOf(points, 'mysql.replica.sql_running', { channel: 'analytics' })).toBe(0);
    // 101-104 and 106-120 of the first source are retrieved but not executed.
    expect(valueOf(points, 'mysql.replica.gtid.gap', { channel: '' })).toBe(19);
  });

  it('uses SHOW SLAVE STATUS and its Slave_/Master_ columns before MySQL 8.0.22', async () => {
    const row: Row = {
      Slave_IO_Running: 'Yes',
      Slave_SQL_Running: 'Yes',
      Seconds_Behind_Master: '2',
      SQL_Delay: 0,
      Retrieved_Gtid_Set: '',
      Executed_Gtid_Set: '',
      Channel_Name: '',
    };
    const { points, fake } = await collect(
      'replication',
      () => [row],
      server({ flavor: 'mysql', version: '5.7.44-log', versionNumber: 50744 }),
    );
    expect(fake.statements).toEqual(['SHOW SLAVE STATUS']);
    expect(valueOf(points, 'mysql.replica.time_behind_source')).toBe(2);
    // Without GTIDs both sets are empty: no gap to report.
    expect(points.get('mysql.replica.gtid.gap')).toBeUndefined();
  });

  it('emits nothing on a server that is no replica', async () => {
    const { points } = await collect('replication', () => []);
    expect(points.size).toBe(0);
  });

  it('lets a missing privilege surface', async () => {
    const denied = Object.assign(
      new Error(
        'Access denied; you need (at least one of) the SUPER, SLAVE MONITOR privilege(s) for this operation',
      ),
      { errno: 1227, sqlState: '42000', code: 'ER_SPECIFIC_ACCESS_DENIED_ERROR' },
    );
    await expect(collect('replication', () => denied)).rejects.toThrow(/SLAVE MONITOR/);
  });
});

describe('GTID gaps', () => {
  it('counts MySQL transactions retrieved but not executed, source by source', () => {
    expect(mysqlGtidGap('aaaa:1-10', 'aaaa:1-10')).toBe(0);
    expect(mysqlGtidGap('aaaa:1-10', 'aaaa:1-7')).toBe(3);
    expect(mysqlGtidGap('aaaa:5-10', 'aaaa:1-6:9')).toBe(3);
    expect(mysqlGtidGap('aaaa:1-10,\nbbbb:1-2', 'AAAA:1-10')).toBe(2);
    // Executed holds more than this channel retrieved (a backup, other channels): no negative gap.
    expect(mysqlGtidGap('', 'aaaa:1-1000')).toBe(0);
    expect(mysqlGtidGap('', '')).toBeNull();
  });

  it('reads tagged MySQL 8.3+ GTIDs as separate sequences of their source', () => {
    expect(parseMysqlGtidSet('aaaa:1-3:tag1:1-2:5')).toEqual(
      new Map([
        ['aaaa', [[1, 3]]],
        [
          'aaaa:tag1',
          [
            [1, 2],
            [5, 5],
          ],
        ],
      ]),
    );
    expect(mysqlGtidGap('aaaa:1-3:tag1:1-5', 'aaaa:1-3:tag1:1-2')).toBe(3);
  });

  it('compares MariaDB sequence numbers domain by domain', () => {
    expect(mariadbGtidGap('0-1-8', '0-1-8')).toBe(0);
    expect(mariadbGtidGap('0-1-12,1-2-40', '0-1-8,1-2-35')).toBe(9);
    // The server id may differ after a failover; a domain's sequence numbers keep counting.
    expect(mariadbGtidGap('0-2-15', '0-1-10')).toBe(5);
    // Applied ahead of what this connection received (another connection, a restore): 0, not negative.
    expect(mariadbGtidGap('0-1-5', '0-1-9')).toBe(0);
    expect(mariadbGtidGap('3-1-4', '')).toBe(4);
    expect(mariadbGtidGap('', '0-1-5')).toBe(0);
  });
});

describe('tables family', () => {
  it('reports the largest topTables tables and counts all of them', async () => {
    const { points, fake } = await collect(
      'tables',
      (sql) =>
        sql.startsWith('SELECT COUNT(*)')
          ? [{ n: '293' }]
          : [
              {
                table_schema: 'app',
                table_name: 'orders',
                data_length: '1589248',
                index_length: '344064',
                table_rows: '10240',
                avg_row_length: '155',
              },
              {
                table_schema: 'app',
                table_name: 't',
                data_length: '16384',
                index_length: '0',
                table_rows: '2',
                avg_row_length: '8192',
              },
            ],
      server(),
      25,
    );
    expect(fake.statements[0]).toMatch(
      /FROM information_schema\.TABLES WHERE .*TABLE_SCHEMA NOT IN \('mysql', 'information_schema', 'performance_schema', 'sys'\)/,
    );
    expect(fake.statements[1]).toMatch(/ORDER BY .*DATA_LENGTH.*INDEX_LENGTH.* DESC.* LIMIT \?$/);
    expect(fake.values[1]).toEqual([25]);
    expect(valueOf(points, 'mysql.table.count')).toBe(293);
    expect(
      valueOf(points, 'mysql.table.size', {
        'mysql.database.name': 'app',
        'mysql.table.name': 'orders',
        kind: 'data',
      }),
    ).toBe(1589248);
    expect(
      valueOf(points, 'mysql.table.size', {
        'mysql.database.name': 'app',
        'mysql.table.name': 'orders',
        kind: 'index',
      }),
    ).toBe(344064);
    expect(
      valueOf(points, 'mysql.table.rows', { 'mysql.database.name': 'app', 'mysql.table.name': 't' }),
    ).toBe(2);
    expect(
      valueOf(points, 'mysql.table.average_row_length', {
        'mysql.database.name': 'app',
        'mysql.table.name': 'orders',
      }),
    ).toBe(155);
  });
});

describe('table and index I/O families', () => {
  const tableIoRow: Row = {
    object_schema: 'app',
    object_name: 't',
    count_fetch: '4',
    sum_timer_fetch: '54914860',
    count_insert: '1',
    sum_timer_insert: '123456789012345678',
    count_update: '0',
    sum_timer_update: '0',
    count_delete: null,
    sum_timer_delete: null,
  };

  it('converts picosecond timers to whole nanoseconds exactly', () => {
    expect(picosToNanos('54914860')).toBe(54914);
    // 1.2e17 ps is beyond a double's exact integers; the division is done on the exact value first.
    expect(picosToNanos('123456789012345678')).toBe(123456789012345);
    expect(picosToNanos(null)).toBeNull();
    expect(picosToNanos('0')).toBe(0);
  });

  it('maps table_io_waits_summary_by_table rows, bounded by topTables', async () => {
    const { points, fake } = await collect('table_io', () => [tableIoRow], server(), 7);
    expect(fake.statements[0]).toContain('FROM performance_schema.table_io_waits_summary_by_table');
    expect(fake.statements[0]).toMatch(/ORDER BY SUM_TIMER_WAIT DESC.* LIMIT \?$/);
    expect(fake.values[0]).toEqual([7]);
    const at = { 'mysql.database.name': 'app', 'mysql.table.name': 't' };
    expect(valueOf(points, 'mysql.table.io.wait.count', { ...at, operation: 'fetch' })).toBe(4);
    expect(valueOf(points, 'mysql.table.io.wait.time', { ...at, operation: 'fetch' })).toBe(54914);
    expect(valueOf(points, 'mysql.table.io.wait.time', { ...at, operation: 'insert' })).toBe(123456789012345);
    // A NULL column is no point, not a zero.
    expect(valueOf(points, 'mysql.table.io.wait.count', { ...at, operation: 'delete' })).toBeUndefined();
  });

  it('maps index rows with their index name (NONE for I/O that used no index)', async () => {
    const { points, fake } = await collect('index_io', () => [
      { ...tableIoRow, index_name: 'PRIMARY' },
      { ...tableIoRow, index_name: 'NONE', count_fetch: '9' },
    ]);
    expect(fake.statements[0]).toContain("COALESCE(INDEX_NAME, 'NONE')");
    expect(fake.statements[0]).toContain('FROM performance_schema.table_io_waits_summary_by_index_usage');
    expect(
      valueOf(points, 'mysql.index.io.wait.count', {
        'mysql.table.name': 't',
        'mysql.index.name': 'PRIMARY',
        operation: 'fetch',
      }),
    ).toBe(4);
    expect(
      valueOf(points, 'mysql.index.io.wait.count', {
        'mysql.table.name': 't',
        'mysql.index.name': 'NONE',
        operation: 'fetch',
      }),
    ).toBe(9);
    expect(
      valueOf(points, 'mysql.index.io.wait.time', { 'mysql.index.name': 'PRIMARY', operation: 'fetch' }),
    ).toBe(54914);
  });

  it('sends no query when performance_schema is off', async () => {
    for (const name of ['table_io', 'index_io']) {
      const { points, fake } = await collect(name, () => [tableIoRow], server({ performanceSchema: false }));
      expect(fake.statements).toEqual([]);
      expect(points.size).toBe(0);
    }
  });
});

describe('metric definitions', () => {
  it('define every name a family emits, once, under mysql.', async () => {
    const defined = Object.values(MY).map((d) => d.name);
    expect(new Set(defined).size).toBe(defined.length);
    expect(defined.every((name) => name.startsWith('mysql.'))).toBe(true);
    const emitted = new Set<string>();
    const replica = { ...MARIADB_SLAVE_ROW };
    for (const f of MYSQL_METRIC_FAMILIES) {
      const { points } = await collect(f.name, (sql) => {
        if (sql.startsWith('SHOW GLOBAL STATUS')) return statusAnswer(statusRows(MARIADB_STATUS))(sql);
        if (sql.startsWith('SHOW GLOBAL VARIABLES'))
          return [{ Variable_name: 'max_connections', Value: '151' }];
        if (sql.startsWith('SHOW ALL SLAVES')) return [replica];
        if (sql.startsWith('SELECT COUNT(*)')) return [{ n: '1' }];
        if (sql.includes('information_schema.TABLES'))
          return [
            {
              table_schema: 'a',
              table_name: 'b',
              data_length: '1',
              index_length: '1',
              table_rows: '1',
              avg_row_length: '1',
            },
          ];
        return [
          {
            object_schema: 'a',
            object_name: 'b',
            index_name: 'PRIMARY',
            count_fetch: '1',
            sum_timer_fetch: '1000',
          },
        ];
      });
      for (const name of points.keys()) emitted.add(name);
    }
    expect([...emitted].filter((name) => !defined.includes(name))).toEqual([]);
    // Counters are sums: monotonic and cumulative, as the mysqlreceiver declares them.
    expect(MY.rowOperations.counter).toBe(true);
    expect(MY.threads.counter).toBeUndefined();
  });
});
