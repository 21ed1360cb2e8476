import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory.js';
import { serverLogRecord, type ServerLogRecord } from '../../src/bus/raw-records.js';
import { TOPICS } from '../../src/bus/topics.js';
import { PostgresCollector } from '../../src/collect/postgres/collector.js';
import { createLogSource } from '../../src/collect/postgres/log-source.js';
import { postgresSetupSql } from '../../src/collect/postgres/setup-sql.js';
import { loadSqlParser } from '../../src/sql/postgres-shape.js';
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
import { postgresTargetSchema } from '../../src/config/schema.js';

const available = requireService('PostgreSQL 15', postgresAvailable(), POSTGRES_INSTALL_HINT);

describe.skipIf(!available)('PostgreSQL server logs through the collector', () => {
  let postgres: PostgresInstance;
  let bus: MemoryBus;
  let published: ServerLogRecord[];
  const monitorUrl = () => `postgresql://logmon:logmon-pw@${postgres.host}:${postgres.port}/postgres`;

  beforeAll(async () => {
    await loadSqlParser();
    postgres = await startPostgres({
      settings: {
        shared_preload_libraries: 'pg_stat_statements,auto_explain',
        logging_collector: 'on',
        log_destination: 'jsonlog,csvlog',
        log_directory: 'log',
        'auto_explain.log_format': 'json',
      },
    });
    await postgres.psql(postgresSetupSql({ user: 'logmon', password: 'logmon-pw', logsOverSql: true }));
    // The setup SQL chooses jsonlog alone; this test reads both structured formats.
    await postgres.psql(`ALTER SYSTEM SET log_destination = 'jsonlog,csvlog'; SELECT pg_reload_conf();`);
    bus = new MemoryBus(
      { maxQueueBytes: 64 << 20, maxQueueMessages: 1000, retryAfterSeconds: 1 },
      silentLogger(),
    );
    published = [];
    await bus.consume(
      { group: 'test', topic: TOPICS.rawLogs, maxBatchMessages: 1000, maxBatchBytes: 64 << 20, maxWaitMs: 0 },
      (messages) => {
        for (const m of messages)
          published.push(serverLogRecord.parse(JSON.parse(new TextDecoder().decode(m.value))));
        return Promise.resolve();
      },
    );
    for (const topic of [TOPICS.otelMetrics, TOPICS.rawActivity]) {
      await bus.consume(
        { group: 'test', topic, maxBatchMessages: 100, maxBatchBytes: 64 << 20, maxWaitMs: 0 },
        () => Promise.resolve(),
      );
    }
  }, 60_000);

  afterAll(async () => {
    await bus?.shutdown();
    await postgres?.stop();
  });

  function collectorReading(source: string, format: 'auto' | 'csvlog' | 'jsonlog') {
    const target = resolveTarget(
      postgresTargetSchema.parse({
        url: monitorUrl(),
        name: `logs-${format}`,
        metricsIntervalSeconds: 3600,
        queryStatsIntervalSeconds: 3600,
        topTables: 10,
        logs: { source, format, keepLiterals: false },
      }),
    );
    const logSource = createLogSource(target, silentLogger());
    if (logSource === undefined) throw new Error('expected a log source');
    return new PostgresCollector(target, {
      publisher: new CollectorPublisher(bus, { orgId: 'org-test', attempts: 1, firstBackoffMs: 10 }),
      metrics: new SelfMetrics({ processMetrics: false }),
      logger: silentLogger(),
      breaker: { failureThreshold: 3, openMs: 1000, maxOpenMs: 1000 },
      maxBusyShare: 0.5,
      maxStretch: 4,
      logSource,
    });
  }

  /** Slow statements, an error and an auto_explain plan, logged by a superuser session. */
  async function writeSomeLogs(marker: string): Promise<void> {
    const client = new pg.Client({ connectionString: postgres.url, application_name: 'log-writer' });
    await client.connect();
    try {
      await client.query(`SET log_min_duration_statement = 0`);
      await client.query(`SET auto_explain.log_min_duration = 0`);
      await client.query(`SELECT pg_sleep(0.06), 'alice@example.com' AS email, '${marker}' AS marker`);
      await client.query(`SELECT 1 / 0`).catch(() => undefined);
    } finally {
      await client.end();
    }
  }

  async function collectUntil(collector: PostgresCollector, done: () => boolean): Promise<void> {
    for (let attempt = 0; attempt < 40 && !done(); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      await collector.runOnce('metrics');
    }
  }

  for (const [format, source] of [
    ['jsonlog', 'sql'],
    ['csvlog', 'local'],
  ] as const) {
    it(`parses ${format} read ${source === 'sql' ? 'through pg_read_binary_file' : 'from the log directory'}: durations, errors and plans, without literals`, async () => {
      const collector = collectorReading(source === 'sql' ? 'sql' : join(postgres.dataDir, 'log'), format);
      // The first read only finds where the log ends: history is not replayed.
      await collector.runOnce('metrics');
      const marker = `marker-${format}`;
      published = [];
      await writeSomeLogs(marker);
      const mine = () => published.filter((r) => r.application === 'log-writer');
      await collectUntil(
        collector,
        () => mine().some((r) => r.sqlstate === '22012') && mine().some((r) => r.sample !== null),
      );
      await collector.shutdown();

      const records = mine();
      expect(collector.status().lastError).toBeNull();
      const duration = records.find(
        (r) => r.category === 'statement_duration' && r.statement.includes('pg_sleep'),
      );
      expect(duration?.durationMs).toBeGreaterThanOrEqual(60);
      expect(duration).toMatchObject({
        level: 'LOG',
        database: 'postgres',
        user: 'postgres',
        entityId: `pg:logs-${format}`,
      });
      expect(duration?.fingerprint).toMatch(/^[0-9a-f]{16}$/);
      const error = records.find((r) => r.sqlstate === '22012');
      expect(error).toMatchObject({ level: 'ERROR', category: 'error' });
      expect(error?.message).toMatch(/division by zero/);
      const plan = records.find((r) => r.sample !== null && r.sample.query.includes('pg_sleep'));
      expect(plan?.sample?.fingerprint).toBe(duration?.fingerprint);
      expect(JSON.parse(plan?.sample?.plan ?? '{}')).toHaveProperty('Plan');
      // No literal leaves the collector: not in statements, plans or messages.
      expect(JSON.stringify(records)).not.toMatch(/alice@example\.com|marker-/);
    });
  }
});
