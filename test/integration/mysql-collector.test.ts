import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryBus } from '../../src/bus/memory.js';
import { entityRecord } from '../../src/bus/raw-records.js';
import { TOPICS } from '../../src/bus/topics.js';
import { MysqlCollector } from '../../src/collect/mysql/collector.js';
import { mysqlSetupSql } from '../../src/collect/mysql/setup-sql.js';
import { mysqlShape } from '../../src/sql/mysql-shape.js';
import { resolveMysqlTarget } from '../../src/collect/mysql/target.js';
import { CollectorPublisher } from '../../src/collect/publisher.js';
import { mysqlTargetSchema, type MysqlTargetConfig } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import { SelfMetrics } from '../../src/core/telemetry.js';
import {
  MARIADB_INSTALL_HINT,
  mariadbAvailable,
  startMariadb,
  type MariadbInstance,
} from '../harness/mariadb.js';
import { requireService } from '../harness/service-missing.js';
import { Captured } from '../helpers/captured.js';

const available = requireService('MariaDB', mariadbAvailable(), MARIADB_INSTALL_HINT);
const MONITOR = 'sightline_monitor';
const MONITOR_PASSWORD = 'monitor-pw-123';

describe.skipIf(!available)('MySQL collector against a real MariaDB', () => {
  let server: MariadbInstance;
  let bus: MemoryBus;
  let captured: Captured;
  let metrics: SelfMetrics;
  let app: mysql.Connection;

  function collectorFor(config: Partial<MysqlTargetConfig> = {}) {
    const target = resolveMysqlTarget(
      mysqlTargetSchema.parse({
        url: `mysql://${MONITOR}:${MONITOR_PASSWORD}@${server.host}:${server.port}/`,
        name: 'main',
        metricsIntervalSeconds: 3600,
        queryStatsIntervalSeconds: 3600,
        logs: { errorLog: 'off', slowLog: 'off' },
        ...config,
      }),
    );
    return new MysqlCollector(target, {
      publisher: new CollectorPublisher(bus, { orgId: 'org-test', attempts: 1, firstBackoffMs: 10 }),
      metrics,
      logger: silentLogger(),
      breaker: { failureThreshold: 1, openMs: 50, maxOpenMs: 100 },
      maxBusyShare: 0.5,
      maxStretch: 4,
    });
  }

  /** Runs a statement cycle and returns its statistics for one shape. */
  async function cycleCalls(collector: MysqlCollector, statement: string): Promise<number[]> {
    captured.clear();
    await collector.runOnce('statements');
    const fingerprint = mysqlShape(statement).fingerprint;
    return captured
      .queryStats()
      .filter((r) => r.fingerprint === fingerprint)
      .map((r) => r.calls);
  }

  beforeAll(async () => {
    // The statement history stays off: the setup SQL switches it on, as it would for a user.
    server = await startMariadb();
    // The setup SQL exactly as `sightline setup-sql mysql` prints it, through the mariadb client.
    await server.cli(
      mysqlSetupSql({
        user: MONITOR,
        password: MONITOR_PASSWORD,
        from: '127.0.0.1',
        explainSchemas: ['shop'],
        slowLog: true,
      }),
    );
    await server.sql(`CREATE DATABASE shop;
      CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(50), price DECIMAL(10,2), email VARCHAR(80)) ENGINE=InnoDB;
      INSERT INTO shop.items SELECT seq, CONCAT('item ', seq), seq * 1.5, CONCAT('user', seq, '@example.com') FROM shop.seq_1_to_1000;`);
    app = await server.connect('shop');
    bus = new MemoryBus(
      { maxQueueBytes: 64 << 20, maxQueueMessages: 1000, retryAfterSeconds: 1 },
      silentLogger(),
    );
    captured = await Captured.on(bus);
    metrics = new SelfMetrics({ processMetrics: false });
  }, 120_000);

  afterAll(async () => {
    await app?.end();
    await bus?.shutdown();
    await server?.stop();
  });

  it('connects as the setup-sql user, which cannot write even when it tries', async () => {
    const collector = collectorFor();
    await collector.runOnce('metrics');
    expect(collector.status()).toMatchObject({ breaker: 'closed', lastError: null });
    const monitor = await import('mysql2/promise').then((m) =>
      m.default.createConnection({
        host: server.host,
        port: server.port,
        user: MONITOR,
        password: MONITOR_PASSWORD,
      }),
    );
    try {
      await expect(monitor.query('CREATE DATABASE sneaky')).rejects.toThrow(/denied/i);
      await expect(monitor.query("INSERT INTO shop.items VALUES (5000, 'x', 1, 'x')")).rejects.toThrow(
        /denied/i,
      );
      await expect(monitor.query('UPDATE shop.items SET price = 0')).rejects.toThrow(/denied/i);
      await expect(
        monitor.query('TRUNCATE performance_schema.events_statements_summary_by_digest'),
      ).rejects.toThrow(/denied/i);
    } finally {
      await monitor.end();
    }
    await collector.shutdown();
  });

  it('publishes metrics with up = 1, the instance and its schemas', async () => {
    const collector = collectorFor();
    captured.clear();
    await collector.runOnce('metrics');
    await collector.runOnce('statements');
    const points = captured.metricPoints();
    expect(points.get('mysql.up')?.[0]?.value).toBe(1);
    for (const name of [
      'mysql.threads',
      'mysql.row_operations',
      'mysql.buffer_pool.pages',
      'mysql.table.size',
    ])
      expect(points.get(name)?.length ?? 0, name).toBeGreaterThan(0);
    const entities = captured.json(TOPICS.rawEntities).map((r) => entityRecord.parse(r));
    expect(entities.find((e) => e.kind === 'mysql.instance')).toMatchObject({
      entityId: 'mysql:main',
      version: expect.stringMatching(/MariaDB/) as unknown,
    });
    expect(entities.filter((e) => e.kind === 'mysql.database').map((e) => e.name)).toContain('shop');
    await collector.shutdown();
  });

  it('counts a statement run exactly 37 times as 37 calls of one digest, without its literals', async () => {
    const collector = collectorFor();
    const statement = 'SELECT name FROM items WHERE id = 17 AND email = ?';
    await cycleCalls(collector, statement);
    for (let i = 0; i < 37; i++)
      await app.query(`SELECT name FROM items WHERE id = ${i + 1} AND email = 'user${i}@example.com'`);
    expect(await cycleCalls(collector, statement)).toEqual([37]);
    const record = captured.queryStats().find((r) => r.fingerprint === mysqlShape(statement).fingerprint);
    expect(record).toMatchObject({ database: 'shop', entityId: 'mysql:main' });
    expect(record?.totalTimeMs).toBeGreaterThan(0);
    const published = JSON.stringify(captured.json(TOPICS.rawQueries));
    expect(published).not.toMatch(/example\.com/);
    // Nothing new: the next interval has no record for it.
    expect(await cycleCalls(collector, statement)).toEqual([]);
    await collector.shutdown();
  });

  it('gives no negative or doubled numbers across a TRUNCATE of the digest table', async () => {
    const collector = collectorFor();
    const statement = 'SELECT price FROM items WHERE id = 1';
    await cycleCalls(collector, statement);
    for (let i = 0; i < 4; i++) await app.query(`SELECT price FROM items WHERE id = ${i}`);
    expect(await cycleCalls(collector, statement)).toEqual([4]);
    for (let i = 0; i < 2; i++) await app.query(`SELECT price FROM items WHERE id = ${i}`);
    await server.sql('TRUNCATE performance_schema.events_statements_summary_by_digest');
    // The two calls before the TRUNCATE are gone with the table; the three after it count once.
    for (let i = 0; i < 3; i++) await app.query(`SELECT price FROM items WHERE id = ${i}`);
    expect(await cycleCalls(collector, statement)).toEqual([3]);
    for (let i = 0; i < 5; i++) await app.query(`SELECT price FROM items WHERE id = ${i}`);
    expect(await cycleCalls(collector, statement)).toEqual([5]);
    await collector.shutdown();
  });

  it('samples executions from the statement history and EXPLAINs slow ones without literals', async () => {
    const collector = collectorFor({ explain: { enabled: true, minMeanMs: 0, maxPerCycle: 5 } });
    const statement = "SELECT id, price FROM items WHERE email = 'someone@example.com' AND price > 10";
    await cycleCalls(collector, statement);
    await app.query("SELECT id, price FROM items WHERE email = 'user7@example.com' AND price > 3");
    expect(await cycleCalls(collector, statement)).toEqual([1]);
    const sample = captured.querySamples().find((s) => s.fingerprint === mysqlShape(statement).fingerprint);
    expect(sample).toMatchObject({ database: 'shop', source: 'explain' });
    expect(sample?.query).not.toMatch(/user7|example/);
    // MariaDB nests tables under query_block.nested_loop, MySQL directly under query_block.table.
    expect(JSON.parse(sample?.plan ?? '')).toMatchObject({ query_block: { select_id: 1 } });
    expect(sample?.plan).toContain('"table_name":"items"');
    expect(sample?.plan).toMatch(/"attached_condition":"[^"]*email = \?/);
    expect(sample?.plan).not.toMatch(/user7|example\.com/);
    // No index on email: the digest says every row was read without one.
    const stats = captured.queryStats().find((r) => r.fingerprint === mysqlShape(statement).fingerprint);
    expect(stats).toMatchObject({ rowsExamined: 1000, noIndexUsed: 1 });
    await collector.shutdown();
  });

  it('shows a lock wait with both sessions', async () => {
    const collector = collectorFor();
    const holder = await server.connect('shop');
    const waiter = await server.connect('shop');
    try {
      await holder.query('BEGIN');
      await holder.query('UPDATE items SET price = price + 1 WHERE id = 42');
      const [[holderId]] = (await holder.query('SELECT CONNECTION_ID() AS id')) as unknown as [
        [{ id: string }],
      ];
      const [[waiterId]] = (await waiter.query('SELECT CONNECTION_ID() AS id')) as unknown as [
        [{ id: string }],
      ];
      const blocked = waiter.query('UPDATE items SET price = price + 2 WHERE id = 42').catch(() => undefined);
      await vi.waitUntil(
        async () => (await server.sql('SELECT * FROM information_schema.INNODB_LOCK_WAITS')).length > 0,
        { timeout: 10_000, interval: 50 },
      );
      captured.clear();
      await collector.runOnce('metrics');
      const [snapshot] = captured.snapshots();
      const waiting = snapshot?.sessions.find((s) => s.pid === Number(waiterId.id));
      const holding = snapshot?.sessions.find((s) => s.pid === Number(holderId.id));
      expect(waiting).toMatchObject({
        state: 'active',
        waitEventType: 'Lock',
        blockedBy: [Number(holderId.id)],
        database: 'shop',
      });
      expect(waiting?.query).toBe(mysqlShape('UPDATE items SET price = price + ? WHERE id = ?').query);
      expect(holding).toMatchObject({ state: 'idle in transaction', blockedBy: [] });
      expect(holding?.xactDurationMs).toBeGreaterThanOrEqual(0);
      await holder.query('COMMIT');
      await blocked;
    } finally {
      await holder.end();
      await waiter.end();
      await collector.shutdown();
    }
  });

  it('opens the breaker when the server stops, publishes up = 0, and counts right after a restart', async () => {
    const collector = collectorFor();
    const statement = 'SELECT name FROM items WHERE id = 3';
    await cycleCalls(collector, statement);
    for (let i = 0; i < 5; i++) await app.query(`SELECT name FROM items WHERE id = ${i}`);
    expect(await cycleCalls(collector, statement)).toEqual([5]);
    await app.end();
    await server.pause();
    captured.clear();
    await collector.runOnce('metrics');
    expect(collector.status().breaker).toBe('open');
    expect(collector.status().lastError).not.toBeNull();
    await collector.runOnce('metrics');
    const ups = captured.metricPoints().get('mysql.up') ?? [];
    expect(ups.map((p) => p.value)).toEqual([0, 0]);
    await server.resume();
    app = await server.connect('shop');
    await app.query('SELECT name FROM items WHERE id = 9');
    await new Promise((resolve) => setTimeout(resolve, 120));
    // After a restart the digest table starts empty: the one call since is counted, once.
    expect(await cycleCalls(collector, statement)).toEqual([1]);
    expect(collector.status().breaker).toBe('closed');
    await collector.shutdown();
  }, 60_000);
});
