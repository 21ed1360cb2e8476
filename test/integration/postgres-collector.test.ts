import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryBus } from '../../src/bus/memory.js';
import { entityRecord } from '../../src/bus/raw-records.js';
import { TOPICS } from '../../src/bus/topics.js';
import { PostgresCollector } from '../../src/collect/postgres/collector.js';
import { postgresSetupSql } from '../../src/collect/postgres/setup-sql.js';
import { loadSqlParser, sqlShape } from '../../src/sql/postgres-shape.js';
import { resolveTarget } from '../../src/collect/postgres/target.js';
import { CollectorPublisher } from '../../src/collect/publisher.js';
import { silentLogger } from '../../src/core/logger.js';
import { SelfMetrics } from '../../src/core/telemetry.js';
import {
  POSTGRES_INSTALL_HINT,
  postgresAvailable,
  startPostgres,
  type PostgresInstance,
} from '../harness/postgres.js';
import { requireService } from '../harness/service-missing.js';
import { Captured } from '../helpers/captured.js';
import { postgresTargetSchema } from '../../src/config/schema.js';

const available = requireService('PostgreSQL 15', postgresAvailable(), POSTGRES_INSTALL_HINT);
const MONITOR = 'sightline_monitor';
const MONITOR_PASSWORD = 'monitor-pw-123';

describe.skipIf(!available)('PostgreSQL collector against a real PostgreSQL 15', () => {
  let postgres: PostgresInstance;
  let bus: MemoryBus;
  let captured: Captured;
  let metrics: SelfMetrics;
  let admin: pg.Client;

  const monitorUrl = () =>
    `postgresql://${MONITOR}:${MONITOR_PASSWORD}@${postgres.host}:${postgres.port}/postgres`;

  function collectorFor(options: { breakerOpenMs?: number; server?: PostgresInstance; name?: string } = {}) {
    const server = options.server ?? postgres;
    const target = resolveTarget(
      postgresTargetSchema.parse({
        url: `postgresql://${MONITOR}:${MONITOR_PASSWORD}@${server.host}:${server.port}/postgres`,
        name: options.name ?? 'main',
        metricsIntervalSeconds: 3600,
        queryStatsIntervalSeconds: 3600,
        topTables: 50,
        logs: { source: 'off' },
      }),
    );
    return new PostgresCollector(target, {
      publisher: new CollectorPublisher(bus, { orgId: 'org-test', attempts: 1, firstBackoffMs: 10 }),
      metrics,
      logger: silentLogger(),
      breaker: { failureThreshold: 1, openMs: options.breakerOpenMs ?? 50, maxOpenMs: 100 },
      maxBusyShare: 0.5,
      maxStretch: 4,
    });
  }

  beforeAll(async () => {
    await loadSqlParser();
    postgres = await startPostgres();
    // The setup SQL exactly as `sightline setup-sql postgres` prints it.
    await postgres.psql(postgresSetupSql({ user: MONITOR, password: MONITOR_PASSWORD, logsOverSql: true }));
    admin = await adminClient(postgres.url);
    await admin.query(`CREATE TABLE items (id int PRIMARY KEY, name text, price numeric)`);
    await admin.query(`INSERT INTO items SELECT g, 'item ' || g, g * 1.5 FROM generate_series(1, 1000) g`);
    await admin.query(`CREATE INDEX items_name_idx ON items (name)`);
    await admin.query('SELECT pg_stat_force_next_flush()');
    await admin.query(`ANALYZE items`);
    bus = new MemoryBus(
      { maxQueueBytes: 64 << 20, maxQueueMessages: 1000, retryAfterSeconds: 1 },
      silentLogger(),
    );
    captured = await Captured.on(bus);
    metrics = new SelfMetrics({ processMetrics: false });
  }, 60_000);

  afterAll(async () => {
    await admin?.end();
    await bus?.shutdown();
    await postgres?.stop();
  });

  it('connects as the setup-sql role, which cannot write even when it tries', async () => {
    const plain = new pg.Client({ connectionString: monitorUrl() });
    await plain.connect();
    try {
      await expect(plain.query('CREATE TABLE sightline_should_not_exist (id int)')).rejects.toThrow(
        /read-only transaction/,
      );
      await expect(
        plain.query('BEGIN READ WRITE; INSERT INTO items VALUES (5000, $$x$$, 1)'),
      ).rejects.toThrow(/permission denied/);
    } finally {
      await plain.end();
    }
    const target = resolveTarget(
      postgresTargetSchema.parse({
        url: monitorUrl(),
        statementTimeoutMs: 1234,
        lockTimeoutMs: 567,
        topTables: 10,
        logs: { source: 'off' },
      }),
    );
    const session = new pg.Client(target.connection);
    await session.connect();
    try {
      const { rows } = await session.query<Record<string, string>>(
        `SELECT current_setting('default_transaction_read_only') AS ro, current_setting('statement_timeout') AS st,
                current_setting('lock_timeout') AS lt, current_setting('application_name') AS app`,
      );
      expect(rows[0]).toEqual({ ro: 'on', st: '1234ms', lt: '567ms', app: 'sightline' });
    } finally {
      await session.end();
    }
  });

  it('publishes every metric family with plausible values', async () => {
    captured.clear();
    const collector = collectorFor();
    await admin.query('SELECT count(*) FROM items WHERE price > 10');
    // PostgreSQL 15 flushes a backend's statistics lazily; this makes the scan visible now.
    await admin.query('SELECT pg_stat_force_next_flush()');
    await collector.runOnce('metrics');
    const fast = new Set(captured.metricPoints().keys());
    await collector.runOnce('statements');
    await collector.shutdown();
    // Sizes and per-table statistics come with the slower query-stats cycle, not every metrics interval.
    expect(fast.has('postgresql.commits')).toBe(true);
    expect(fast.has('postgresql.db_size')).toBe(false);
    expect(fast.has('postgresql.table.size')).toBe(false);
    const points = captured.metricPoints();
    const value = (name: string, match: Record<string, unknown> = {}) =>
      points.get(name)?.find((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))?.value;

    expect(value('postgresql.up')).toBe(1);
    expect(value('postgresql.connection.max')).toBe(100);
    expect(value('postgresql.commits', { 'postgresql.database.name': 'postgres' })).toBeGreaterThan(0);
    expect(value('postgresql.blks_hit', { 'postgresql.database.name': 'postgres' })).toBeGreaterThan(0);
    expect(value('postgresql.db_size', { 'postgresql.database.name': 'postgres' })).toBeGreaterThan(
      1_000_000,
    );
    expect(value('postgresql.sessions', { state: 'idle' })).toBeGreaterThanOrEqual(1);
    expect(
      value('postgresql.database.wraparound_remaining', { 'postgresql.database.name': 'postgres' }),
    ).toBeGreaterThan(2_000_000_000);
    expect(value('postgresql.rows', { 'postgresql.table.name': 'items', state: 'live' })).toBe(1000);
    expect(value('postgresql.sequential_scans', { 'postgresql.table.name': 'items' })).toBeGreaterThanOrEqual(
      1,
    );
    expect(value('postgresql.table.size', { 'postgresql.table.name': 'items' })).toBeGreaterThan(8192);
    expect(value('postgresql.index.size', { 'postgresql.index.name': 'items_name_idx' })).toBeGreaterThan(0);
    expect(
      value('postgresql.index.unused', { 'postgresql.database.name': 'postgres' }),
    ).toBeGreaterThanOrEqual(1);
    expect(value('postgresql.wal.generated')).toBeGreaterThan(0);
    expect(value('postgresql.bgwriter.buffers.allocated')).toBeGreaterThan(0);
    for (const family of [
      'postgresql.backends',
      'postgresql.sessions.waiting',
      'postgresql.sessions.blocked',
      'postgresql.query.longest_duration',
      'postgresql.idle_in_transaction.longest_duration',
      'postgresql.transaction.oldest_duration',
      'postgresql.rollbacks',
      'postgresql.blks_read',
      'postgresql.tup_returned',
      'postgresql.tup_fetched',
      'postgresql.tup_inserted',
      'postgresql.tup_updated',
      'postgresql.tup_deleted',
      'postgresql.deadlocks',
      'postgresql.temp_files',
      'postgresql.temp.io',
      'postgresql.conflicts',
      'postgresql.database.count',
      'postgresql.bgwriter.checkpoint.count',
      'postgresql.bgwriter.duration',
      'postgresql.bgwriter.buffers.writes',
      'postgresql.bgwriter.maxwritten',
      'postgresql.wal.records',
      'postgresql.database.xid_age',
      'postgresql.database.locks',
      'postgresql.table.count',
      'postgresql.table.index_scans',
      'postgresql.operations',
      'postgresql.table.vacuum.count',
      'postgresql.table.analyze.age',
      'postgresql.index.scans',
      'postgresql.blk_read_time',
      'postgresql.blk_write_time',
      'postgresql.database.sessions',
      'postgresql.database.session_time',
      'postgresql.table.seq_tup_read',
      'postgresql.table.idx_tup_fetch',
      'postgresql.table.modified_since_analyze',
      'postgresql.table.analyze.count',
      'postgresql.blocks_read',
    ]) {
      expect(points.has(family), family).toBe(true);
    }
  });

  it('reads per-table statistics equal to what pg_stat_user_tables and pg_statio_user_tables show', async () => {
    await admin.query(`SELECT count(*) FROM items WHERE name = 'item 7'`);
    await admin.query(`UPDATE items SET price = price WHERE id < 20`);
    await admin.query('SELECT pg_stat_force_next_flush()');
    captured.clear();
    const collector = collectorFor();
    await collector.runOnce('statements');
    await collector.shutdown();
    const { rows } = await admin.query<Record<string, string | null>>(
      `SELECT s.seq_scan, s.seq_tup_read, s.idx_scan, s.idx_tup_fetch, s.n_live_tup, s.n_dead_tup,
              s.n_mod_since_analyze, s.n_tup_upd, s.n_tup_hot_upd, io.heap_blks_read, io.heap_blks_hit,
              io.idx_blks_read, io.idx_blks_hit, io.toast_blks_hit, io.tidx_blks_hit
         FROM pg_stat_user_tables s JOIN pg_statio_user_tables io USING (relid) WHERE s.relname = 'items'`,
    );
    const expected = rows[0];
    if (expected === undefined) throw new Error('no statistics for items');
    const points = captured.metricPoints();
    const of = (name: string, match: Record<string, unknown> = {}) =>
      points
        .get(name)
        ?.find(
          (p) =>
            p.attributes['postgresql.table.name'] === 'items' &&
            Object.entries(match).every(([k, v]) => p.attributes[k] === v),
        )?.value;
    const asNumber = (value: string | null | undefined) =>
      value === null || value === undefined ? 0 : Number(value);
    expect({
      seq_scan: of('postgresql.sequential_scans'),
      seq_tup_read: of('postgresql.table.seq_tup_read'),
      idx_scan: of('postgresql.table.index_scans'),
      idx_tup_fetch: of('postgresql.table.idx_tup_fetch'),
      n_live_tup: of('postgresql.rows', { state: 'live' }),
      n_dead_tup: of('postgresql.rows', { state: 'dead' }),
      n_mod_since_analyze: of('postgresql.table.modified_since_analyze'),
      n_tup_upd: of('postgresql.operations', { operation: 'upd' }),
      n_tup_hot_upd: of('postgresql.operations', { operation: 'hot_upd' }),
      heap_blks_read: of('postgresql.blocks_read', { source: 'heap_read' }),
      heap_blks_hit: of('postgresql.blocks_read', { source: 'heap_hit' }),
      idx_blks_read: of('postgresql.blocks_read', { source: 'idx_read' }),
      idx_blks_hit: of('postgresql.blocks_read', { source: 'idx_hit' }),
      toast_blks_hit: of('postgresql.blocks_read', { source: 'toast_hit' }),
      tidx_blks_hit: of('postgresql.blocks_read', { source: 'tidx_hit' }),
    }).toEqual(Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, asNumber(v)])));
    expect(of('postgresql.table.index_scans')).toBeGreaterThan(0);
  });

  it('counts a statement run exactly N times as N calls, with one fingerprint and no literals', async () => {
    captured.clear();
    const collector = collectorFor();
    await collector.runOnce('statements');
    for (let i = 0; i < 37; i++)
      await admin.query(`SELECT name FROM items WHERE id = ${i + 1} AND name <> 'secret-${i}'`);
    await collector.runOnce('statements');
    await collector.shutdown();
    const shape = sqlShape(`SELECT name FROM items WHERE id = 1 AND name <> 'x'`);
    const matching = captured.queryStats().filter((r) => r.fingerprint === shape.fingerprint);
    expect(matching).toHaveLength(1);
    expect(matching[0]).toMatchObject({
      calls: 37,
      database: 'postgres',
      user: 'postgres',
      entityId: 'pg:main',
    });
    expect(matching[0]?.query).not.toMatch(/secret|\b37\b/);
    expect(matching[0]?.query).toMatch(/\$1/);
    expect(BigInt(matching[0]?.intervalEnd ?? 0)).toBeGreaterThan(BigInt(matching[0]?.intervalStart ?? 0));
    const entities = captured.json(TOPICS.rawEntities).map((e) => entityRecord.parse(e));
    expect(entities.map((e) => [e.kind, e.entityId])).toEqual(
      expect.arrayContaining([
        ['postgresql.instance', 'pg:main'],
        ['postgresql.database', 'pg:main:postgres'],
        ['host', 'host:127.0.0.1'],
      ]),
    );
    const instance = entities.find((e) => e.kind === 'postgresql.instance');
    expect(instance?.version).toMatch(/^15\./);
    expect(instance?.attributes['setting.max_connections']).toBe('100');
  });

  it('gives no negative or doubled numbers across pg_stat_statements_reset()', async () => {
    captured.clear();
    const collector = collectorFor();
    await collector.runOnce('statements');
    for (let i = 0; i < 10; i++) await admin.query(`SELECT price FROM items WHERE id = ${i + 1}`);
    await admin.query('SELECT pg_stat_statements_reset()');
    for (let i = 0; i < 4; i++) await admin.query(`SELECT price FROM items WHERE id = ${i + 100}`);
    await collector.runOnce('statements');
    for (let i = 0; i < 3; i++) await admin.query(`SELECT price FROM items WHERE id = ${i + 200}`);
    await collector.runOnce('statements');
    await collector.shutdown();
    const fingerprint = sqlShape('SELECT price FROM items WHERE id = 1').fingerprint;
    const calls = captured
      .queryStats()
      .filter((r) => r.fingerprint === fingerprint)
      .map((r) => r.calls);
    // The 10 calls before the reset are gone with it; after it, 4 then 3, each counted once.
    expect(calls).toEqual([4, 3]);
    for (const record of captured.queryStats()) {
      expect(record.calls).toBeGreaterThan(0);
      expect(record.totalTimeMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('counts calls across a server restart once (pg_stat_statements keeps its entries)', async () => {
    captured.clear();
    const collector = collectorFor({ breakerOpenMs: 20 });
    await collector.runOnce('statements');
    for (let i = 0; i < 5; i++) await admin.query(`SELECT name, price FROM items WHERE id = ${i + 1}`);
    await collector.runOnce('statements');
    await postgres.restart();
    await admin.end().catch(() => undefined);
    admin = await adminClient(postgres.url);
    await admin.query(`SELECT name, price FROM items WHERE id = 77`);
    for (let attempt = 0; attempt < 20; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 30));
      await collector.runOnce('statements');
      if (collector.status().lastError === null) break;
    }
    await collector.shutdown();
    const fingerprint = sqlShape('SELECT name, price FROM items WHERE id = 1').fingerprint;
    const calls = captured
      .queryStats()
      .filter((r) => r.fingerprint === fingerprint)
      .map((r) => r.calls);
    expect(calls).toEqual([5, 1]);
  });

  it('shows a lock conflict as a blocking tree with both statements', async () => {
    captured.clear();
    const holder = new pg.Client({ connectionString: postgres.url, application_name: 'holder' });
    const waiter = new pg.Client({ connectionString: postgres.url, application_name: 'waiter' });
    await holder.connect();
    await waiter.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`UPDATE items SET price = 1 WHERE id = 42`);
      const waiting = waiter.query(`UPDATE items SET price = 2 WHERE id = 42`);
      const waiterPid = await pidOf(admin, 'waiter');
      await vi.waitUntil(
        async () => {
          const { rows } = await admin.query(
            `SELECT 1 FROM pg_stat_activity WHERE application_name = 'waiter' AND wait_event_type = 'Lock'`,
          );
          return rows.length > 0;
        },
        { timeout: 5000, interval: 50 },
      );
      const collector = collectorFor();
      await collector.runOnce('metrics');
      await collector.shutdown();
      await holder.query('COMMIT');
      await waiting;

      const sessions = captured.snapshots().flatMap((s) => s.sessions);
      const blocked = sessions.find((s) => s.pid === waiterPid);
      expect(blocked).toMatchObject({ waitEventType: 'Lock', application: 'waiter' });
      expect(blocked?.query).toMatch(/UPDATE items SET price = \$1 WHERE id = \$2/i);
      const blocker = sessions.find((s) => s.pid === blocked?.blockedBy[0]);
      expect(blocker).toMatchObject({ application: 'holder', state: 'idle in transaction' });
      expect(blocker?.query).toMatch(/UPDATE items SET price = \$1 WHERE id = \$2/i);
      const points = captured.metricPoints();
      expect(points.get('postgresql.sessions.blocked')?.[0]?.value).toBe(1);
    } finally {
      await holder.end();
      await waiter.end();
    }
  });

  it('measures replication per replica and per slot on the primary, and replay delay on the replica', async () => {
    const replica = await startPostgres({ replicaOf: { instance: postgres, slot: 'standby_slot' } });
    try {
      await admin.query(`SELECT pg_create_physical_replication_slot('idle_slot', true)`);
      await admin.query(`UPDATE items SET price = price + 1`);
      await vi.waitUntil(
        async () => {
          const { rows } = await admin.query<{ n: string }>(
            `SELECT count(*) AS n FROM pg_stat_replication WHERE replay_lsn = pg_current_wal_lsn()`,
          );
          return rows[0]?.n === '1';
        },
        { timeout: 15_000, interval: 50 },
      );

      captured.clear();
      const onPrimary = collectorFor();
      await onPrimary.runOnce('metrics');
      await onPrimary.shutdown();
      const primary = captured.metricPoints();
      const delay = primary.get('postgresql.replication.data_delay');
      expect(delay).toHaveLength(1);
      expect(delay?.[0]?.value).toBeGreaterThanOrEqual(0);
      expect(String(delay?.[0]?.attributes.replication_client)).toMatch(/@127\.0\.0\.1$/);
      expect(
        primary
          .get('postgresql.wal.lag')
          ?.map((p) => p.attributes.operation)
          .sort(),
      ).toEqual(['flush', 'replay', 'write']);
      const slots = primary.get('postgresql.replication_slot.active') ?? [];
      expect(Object.fromEntries(slots.map((p) => [p.attributes.slot_name, p.value]))).toEqual({
        standby_slot: 1,
        idle_slot: 0,
      });
      const retained = primary.get('postgresql.replication_slot.retained_wal') ?? [];
      expect(retained.find((p) => p.attributes.slot_name === 'idle_slot')?.value).toBeGreaterThan(0);

      captured.clear();
      const onReplica = collectorFor({ server: replica, name: 'replica' });
      await onReplica.runOnce('metrics');
      await onReplica.shutdown();
      expect(onReplica.status().lastError).toBeNull();
      const standby = captured.metricPoints();
      expect(standby.get('postgresql.replication.replay_delay')?.[0]?.value).toBeGreaterThanOrEqual(0);
      expect(standby.has('postgresql.wal.generated')).toBe(false);
      expect(standby.get('postgresql.up')?.[0]?.value).toBe(1);
    } finally {
      await replica.stop();
      await admin.query(`SELECT pg_drop_replication_slot('idle_slot')`).catch(() => undefined);
    }
  });

  it('opens the breaker when PostgreSQL stops and closes it when it is back, without crashing', async () => {
    captured.clear();
    const collector = collectorFor({ breakerOpenMs: 50 });
    await collector.runOnce('metrics');
    expect(collector.status().breaker).toBe('closed');
    await postgres.pause();
    try {
      await collector.runOnce('metrics');
      expect(collector.status().breaker).toBe('open');
      expect(collector.status().lastError).toMatch(/ECONNREFUSED|terminat|connect/i);
      const ups = captured
        .metricPoints()
        .get('postgresql.up')
        ?.map((p) => p.value);
      expect(ups?.at(-1)).toBe(0);
    } finally {
      await postgres.resume();
      await admin.end().catch(() => undefined);
      admin = await adminClient(postgres.url);
    }
    await new Promise((resolve) => setTimeout(resolve, 60));
    await collector.runOnce('metrics');
    await collector.shutdown();
    expect(collector.status().breaker).toBe('closed');
    const ups = captured
      .metricPoints()
      .get('postgresql.up')
      ?.map((p) => p.value);
    expect(ups?.at(-1)).toBe(1);
    const breakerGauge = await metrics.collectorBreakerState.get();
    expect(breakerGauge.values.find((v) => v.labels.target === 'main')?.value).toBe(0);
  });
});

async function adminClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  // The breaker test stops the server under this connection: that must not crash the test process.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

async function pidOf(admin: pg.Client, application: string): Promise<number> {
  const { rows } = await admin.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE application_name = $1`,
    [application],
  );
  const pid = rows[0]?.pid;
  if (pid === undefined) throw new Error(`no session with application_name ${application}`);
  return pid;
}
