import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
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
import { requireService } from '../harness/service-missing.js';

const available = requireService('MariaDB', mariadbAvailable(), MARIADB_INSTALL_HINT);

const REPL_USER = 'repl';
const REPL_PASSWORD = 'repl-pw-789';
const ORDERS = 20_000;

interface Point {
  value: number;
  attributes: Record<string, unknown>;
}

interface Cycle {
  points: Map<string, Point[]>;
  /** Family name → what it threw; every family runs even when one fails, as in the collector. */
  errors: Map<string, unknown>;
}

/** Every family once, into one batch, as the collector's fast and slow cycles together would. */
async function collectAll(session: MysqlSession, topTables = 50): Promise<Cycle> {
  const server = await session.serverInfo();
  const batch = new MetricBatch(msToNs(Date.now()), msToNs(server.startedAt.getTime()));
  const errors = new Map<string, unknown>();
  for (const family of MYSQL_METRIC_FAMILIES) {
    try {
      await family.collect({ session, server, batch, topTables });
    } catch (error) {
      errors.set(family.name, error);
    }
  }
  const points = new Map<string, Point[]>();
  const metrics = batch.toRequest({}, 'test', '0').resourceMetrics?.[0]?.scopeMetrics?.[0]?.metrics ?? [];
  for (const metric of metrics) {
    points.set(
      metric.name ?? '',
      (metric.gauge?.dataPoints ?? metric.sum?.dataPoints ?? []).map((p) => ({
        value: p.asDouble ?? NaN,
        attributes: Object.fromEntries(
          (p.attributes ?? []).map((kv): [string, unknown] => [
            kv.key ?? '',
            kv.value?.stringValue ?? kv.value?.boolValue ?? Number(String(kv.value?.intValue)),
          ]),
        ),
      })),
    );
  }
  return { points, errors };
}

function valueOf(cycle: Cycle, name: string, attributes: Record<string, unknown> = {}): number | undefined {
  return cycle.points
    .get(name)
    ?.find((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v))?.value;
}

function sessionFor(server: MariadbInstance): MysqlSession {
  return new MysqlSession(resolveMysqlTarget(mysqlTargetSchema.parse({ url: server.url })));
}

async function waitFor(
  condition: () => Promise<boolean>,
  what: string,
  detail: () => Promise<unknown> = () => Promise.resolve(''),
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(await detail())}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.skipIf(!available)('MySQL metric families against a real MariaDB 10.11 and its replica', () => {
  let primary: MariadbInstance;
  let replica: MariadbInstance;
  let primarySession: MysqlSession;
  let replicaSession: MysqlSession;
  let cycle: Cycle;

  const slaveStatus = async () => (await replica.sql('SHOW ALL SLAVES STATUS'))[0] ?? {};
  const binlogPos = async () => String((await primary.sql('SELECT @@gtid_binlog_pos AS pos'))[0]?.pos);

  beforeAll(async () => {
    // The harness passes --skip-log-bin; a later --log_bin turns the binary log back on.
    // One after the other: two mariadb-install-db at once have collided on their /tmp temporary tables.
    primary = await startMariadb({ settings: { log_bin: 'mysql-bin', server_id: 1 } });
    replica = await startMariadb({ settings: { server_id: 2 } });
    await primary.sql(`
      CREATE USER '${REPL_USER}'@'127.0.0.1' IDENTIFIED BY '${REPL_PASSWORD}';
      GRANT REPLICATION SLAVE ON *.* TO '${REPL_USER}'@'127.0.0.1';`);
    // The replica starts from the primary's position now, as a clone would: what the primary
    // wrote at start-up (its own accounts) stays there.
    await replica.sql(`
      SET GLOBAL gtid_slave_pos = '${await binlogPos()}';
      CHANGE MASTER TO MASTER_HOST = '${primary.host}', MASTER_PORT = ${primary.port},
        MASTER_USER = '${REPL_USER}', MASTER_PASSWORD = '${REPL_PASSWORD}', MASTER_USE_GTID = slave_pos;
      START SLAVE;`);

    await primary.sql('CREATE DATABASE shop');
    // seq_1_to_N (MariaDB's SEQUENCE engine) needs a current database.
    await primary.sql(
      `
      CREATE TABLE shop.orders (
        id INT PRIMARY KEY AUTO_INCREMENT, customer_id INT NOT NULL, amount DECIMAL(10, 2), note VARCHAR(255),
        KEY orders_customer (customer_id));
      CREATE TABLE shop.customers (id INT PRIMARY KEY, name VARCHAR(100));
      CREATE TABLE shop.audit (id INT PRIMARY KEY, what VARCHAR(20));
      INSERT INTO shop.customers SELECT seq, CONCAT('customer ', seq) FROM seq_1_to_100;
      INSERT INTO shop.orders (customer_id, amount, note)
        SELECT seq % 100 + 1, seq * 1.5, REPEAT('x', 200) FROM seq_1_to_${ORDERS};
      UPDATE shop.orders SET amount = amount + 1 WHERE customer_id = 7;
      DELETE FROM shop.orders WHERE customer_id = 9;
      ANALYZE TABLE shop.orders, shop.customers, shop.audit;`,
      'shop',
    );
    await primary.sql(`
      SELECT COUNT(*) FROM shop.orders WHERE customer_id = 3;
      SELECT SUM(amount) FROM shop.orders WHERE note LIKE '%y%';
      SELECT c.name, COUNT(*) FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id GROUP BY c.name;`);

    await waitFor(
      async () => (await slaveStatus()).Gtid_Slave_Pos === (await binlogPos()),
      'the replica to catch up',
      slaveStatus,
    );

    primarySession = sessionFor(primary);
    replicaSession = sessionFor(replica);
    cycle = await collectAll(primarySession);
  });

  afterAll(async () => {
    await primarySession?.close();
    await replicaSession?.close();
    await Promise.all([primary?.stop(), replica?.stop()]);
  });

  it('runs every family without an error', () => {
    expect([...cycle.errors].map(([name, error]) => `${name}: ${String(error)}`)).toEqual([]);
  });

  it('status: counts statements, connections, commands and handler calls', () => {
    expect(valueOf(cycle, 'mysql.uptime')).toBeGreaterThan(0);
    expect(valueOf(cycle, 'mysql.query.client.count')).toBeGreaterThan(5);
    expect(valueOf(cycle, 'mysql.query.count')).toBeGreaterThan(5);
    expect(valueOf(cycle, 'mysql.threads', { kind: 'connected' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(cycle, 'mysql.threads', { kind: 'running' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(cycle, 'mysql.connection.count')).toBeGreaterThanOrEqual(3);
    expect(valueOf(cycle, 'mysql.max_used_connections')).toBeGreaterThanOrEqual(1);
    expect(valueOf(cycle, 'mysql.commands', { command: 'insert_select' })).toBeGreaterThanOrEqual(2);
    expect(valueOf(cycle, 'mysql.commands', { command: 'update' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(cycle, 'mysql.commands', { command: 'select' })).toBeGreaterThanOrEqual(3);
    expect(valueOf(cycle, 'mysql.handlers', { kind: 'write' })).toBeGreaterThanOrEqual(ORDERS);
    expect(valueOf(cycle, 'mysql.handlers', { kind: 'read_rnd_next' })).toBeGreaterThan(0);
    expect(valueOf(cycle, 'mysql.client.network.io', { kind: 'received' })).toBeGreaterThan(0);
    expect(valueOf(cycle, 'mysql.connection.errors', { error: 'aborted' })).toBeGreaterThanOrEqual(0);
    expect(valueOf(cycle, 'mysql.table_open_cache', { status: 'miss' })).toBeGreaterThan(0);
    expect(valueOf(cycle, 'mysql.table_cache.open')).toBeGreaterThan(0);
  });

  it('innodb: buffer pool, row operations and data file I/O', () => {
    const total = valueOf(cycle, 'mysql.buffer_pool.pages', { kind: 'total' }) ?? NaN;
    // The harness starts the server with a 64 MiB buffer pool of 16 KiB pages.
    expect(total * (valueOf(cycle, 'mysql.page_size') ?? NaN)).toBeGreaterThan(32 << 20);
    expect(valueOf(cycle, 'mysql.page_size')).toBe(16384);
    const data = valueOf(cycle, 'mysql.buffer_pool.pages', { kind: 'data' }) ?? NaN;
    const free = valueOf(cycle, 'mysql.buffer_pool.pages', { kind: 'free' }) ?? NaN;
    expect(data).toBeGreaterThan(0);
    expect(data + free).toBeLessThanOrEqual(total);
    const dirty = valueOf(cycle, 'mysql.buffer_pool.data_pages', { status: 'dirty' }) ?? NaN;
    const clean = valueOf(cycle, 'mysql.buffer_pool.data_pages', { status: 'clean' }) ?? NaN;
    expect(dirty + clean).toBe(data);
    expect(valueOf(cycle, 'mysql.buffer_pool.usage', { status: 'clean' })).toBeGreaterThan(0);
    expect(valueOf(cycle, 'mysql.buffer_pool.operations', { operation: 'read_requests' })).toBeGreaterThan(
      valueOf(cycle, 'mysql.buffer_pool.operations', { operation: 'reads' }) ?? Infinity,
    );
    // MariaDB 10.11 has no Innodb_rows_*: the server's row counters stand in.
    expect(valueOf(cycle, 'mysql.row_operations', { operation: 'inserted' })).toBeGreaterThanOrEqual(ORDERS);
    expect(valueOf(cycle, 'mysql.row_operations', { operation: 'updated' })).toBeGreaterThanOrEqual(
      ORDERS / 100,
    );
    expect(valueOf(cycle, 'mysql.row_operations', { operation: 'deleted' })).toBeGreaterThanOrEqual(
      ORDERS / 100,
    );
    expect(valueOf(cycle, 'mysql.row_operations', { operation: 'read' })).toBeGreaterThan(ORDERS);
    expect(valueOf(cycle, 'mysql.page_operations', { operation: 'created' })).toBeGreaterThan(0);
    expect(valueOf(cycle, 'mysql.log_operations', { operation: 'write_requests' })).toBeGreaterThan(0);
    expect(valueOf(cycle, 'mysql.redo_log.written')).toBeGreaterThan(ORDERS * 200);
    expect(valueOf(cycle, 'mysql.operations', { operation: 'reads' })).toBeGreaterThan(0);
    expect(valueOf(cycle, 'mysql.pending_operations', { operation: 'writes' })).toBeGreaterThanOrEqual(0);
    expect(valueOf(cycle, 'mysql.row_locks', { kind: 'waits' })).toBe(0);
    expect(valueOf(cycle, 'mysql.row_lock.current_waits')).toBe(0);
    expect(valueOf(cycle, 'mysql.innodb.history_list_length')).toBeGreaterThanOrEqual(0);
  });

  it('sessions: by command and state, the longest statement, the oldest transaction and lock waits', async () => {
    const holder = await primary.connect('shop');
    const waiter = await primary.connect('shop');
    try {
      await holder.query('BEGIN');
      await holder.query('UPDATE customers SET name = name WHERE id = 1');
      const blocked = waiter.query('UPDATE customers SET name = name WHERE id = 1').catch(() => undefined);
      await vi.waitUntil(
        async () =>
          (await primary.sql("SELECT 1 FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'"))
            .length > 0,
        { timeout: 10_000, interval: 150 },
      );
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const now = await collectAll(primarySession);
      expect(valueOf(now, 'mysql.sessions', { command: 'Sleep' })).toBeGreaterThanOrEqual(1);
      expect(valueOf(now, 'mysql.sessions', { command: 'Query', state: 'Updating' })).toBe(1);
      expect(valueOf(now, 'mysql.sessions.blocked')).toBe(1);
      expect(valueOf(now, 'mysql.query.longest_duration')).toBeGreaterThanOrEqual(1);
      expect(valueOf(now, 'mysql.transaction.longest_duration')).toBeGreaterThanOrEqual(1);
      await holder.query('COMMIT');
      await blocked;
    } finally {
      await holder.end();
      await waiter.end();
    }
  });

  it('variables: the limits the server runs with', async () => {
    const [settings] = await primary.sql('SELECT @@max_connections AS mc, @@table_open_cache AS toc');
    expect(valueOf(cycle, 'mysql.connection.max')).toBe(Number(settings?.mc));
    expect(valueOf(cycle, 'mysql.table_cache.limit')).toBe(Number(settings?.toc));
    expect(valueOf(cycle, 'mysql.buffer_pool.limit')).toBe(64 << 20);
  });

  it('replication: nothing on a primary', () => {
    expect([...cycle.points.keys()].filter((name) => name.startsWith('mysql.replica.'))).toEqual([]);
  });

  it('tables: sizes and rows of the largest tables, and how many there are', async () => {
    expect(valueOf(cycle, 'mysql.table.count')).toBe(3);
    const orders = { 'mysql.database.name': 'shop', 'mysql.table.name': 'orders' };
    const data = valueOf(cycle, 'mysql.table.size', { ...orders, kind: 'data' }) ?? NaN;
    // 20,000 rows of some 220 bytes.
    expect(data).toBeGreaterThan(ORDERS * 200);
    expect(valueOf(cycle, 'mysql.table.size', { ...orders, kind: 'index' })).toBeGreaterThan(0);
    const rows = valueOf(cycle, 'mysql.table.rows', orders) ?? NaN;
    expect(Math.abs(rows - ORDERS * 0.99) / ORDERS).toBeLessThan(0.2);
    expect(valueOf(cycle, 'mysql.table.average_row_length', orders)).toBeGreaterThan(200);
    expect(
      valueOf(cycle, 'mysql.table.rows', { 'mysql.database.name': 'shop', 'mysql.table.name': 'customers' }),
    ).toBeGreaterThan(0);

    // Only the largest topTables are reported one by one; the count still says 3.
    const top = await collectAll(primarySession, 1);
    expect(top.points.get('mysql.table.rows')?.map((p) => p.attributes['mysql.table.name'])).toEqual([
      'orders',
    ]);
    expect(valueOf(top, 'mysql.table.count')).toBe(3);
  });

  it('table_io: row I/O counts and wait time per table from performance_schema', () => {
    const orders = { 'mysql.database.name': 'shop', 'mysql.table.name': 'orders' };
    expect(valueOf(cycle, 'mysql.table.io.wait.count', { ...orders, operation: 'insert' })).toBe(ORDERS);
    expect(valueOf(cycle, 'mysql.table.io.wait.count', { ...orders, operation: 'delete' })).toBe(
      ORDERS / 100,
    );
    expect(valueOf(cycle, 'mysql.table.io.wait.count', { ...orders, operation: 'fetch' })).toBeGreaterThan(
      ORDERS,
    );
    const insertNs = valueOf(cycle, 'mysql.table.io.wait.time', { ...orders, operation: 'insert' }) ?? NaN;
    // Nanoseconds: 20,000 inserts take more than a microsecond and less than a minute.
    expect(insertNs).toBeGreaterThan(1_000);
    expect(insertNs).toBeLessThan(60e9);
    expect(Number.isInteger(insertNs)).toBe(true);
  });

  it('index_io: row I/O through each index, and through none', () => {
    const orders = { 'mysql.database.name': 'shop', 'mysql.table.name': 'orders' };
    expect(
      valueOf(cycle, 'mysql.index.io.wait.count', {
        ...orders,
        'mysql.index.name': 'orders_customer',
        operation: 'fetch',
      }),
    ).toBeGreaterThan(0);
    expect(
      valueOf(cycle, 'mysql.index.io.wait.count', {
        ...orders,
        'mysql.index.name': 'NONE',
        operation: 'fetch',
      }),
    ).toBeGreaterThan(0);
    expect(
      valueOf(cycle, 'mysql.index.io.wait.time', {
        ...orders,
        'mysql.index.name': 'orders_customer',
        operation: 'fetch',
      }),
    ).toBeGreaterThan(0);
  });

  it('replication on the replica: threads running, no delay, no GTID gap', async () => {
    const replicaCycle = await collectAll(replicaSession);
    expect(replicaCycle.errors.size).toBe(0);
    const channel = { channel: '' };
    expect(valueOf(replicaCycle, 'mysql.replica.io_running', channel)).toBe(1);
    expect(valueOf(replicaCycle, 'mysql.replica.sql_running', channel)).toBe(1);
    expect(valueOf(replicaCycle, 'mysql.replica.time_behind_source', channel)).toBeGreaterThanOrEqual(0);
    expect(valueOf(replicaCycle, 'mysql.replica.sql_delay', channel)).toBe(0);
    expect(valueOf(replicaCycle, 'mysql.replica.gtid.gap', channel)).toBe(0);
    // The replica has the primary's tables too.
    expect(valueOf(replicaCycle, 'mysql.table.count')).toBe(3);
  });

  it('replication on the replica: a stopped applier shows as a GTID gap of what it received', async () => {
    await replica.sql('STOP SLAVE SQL_THREAD');
    try {
      for (const id of [1, 2, 3]) await primary.sql(`INSERT INTO shop.audit VALUES (${id}, 'late')`);
      const target = await binlogPos();
      await waitFor(
        async () => (await slaveStatus()).Gtid_IO_Pos === target,
        'the replica to receive',
        slaveStatus,
      );
      const stopped = await collectAll(replicaSession);
      expect(valueOf(stopped, 'mysql.replica.io_running')).toBe(1);
      expect(valueOf(stopped, 'mysql.replica.sql_running')).toBe(0);
      // Seconds_Behind_Master is NULL with the SQL thread stopped: no point rather than a guess.
      expect(valueOf(stopped, 'mysql.replica.time_behind_source')).toBeUndefined();
      expect(valueOf(stopped, 'mysql.replica.gtid.gap')).toBe(3);
    } finally {
      await replica.sql('START SLAVE SQL_THREAD');
    }
    await waitFor(
      async () => (await slaveStatus()).Gtid_Slave_Pos === (await binlogPos()),
      'the replica to apply',
    );
    const resumed = await collectAll(replicaSession);
    expect(valueOf(resumed, 'mysql.replica.sql_running')).toBe(1);
    expect(valueOf(resumed, 'mysql.replica.gtid.gap')).toBe(0);
  });
});
