import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Long from 'long';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory.js';
import { HEADERS, TOPICS } from '../../src/bus/topics.js';
import { silentLogger } from '../../src/core/logger.js';
import { SelfMetrics } from '../../src/core/telemetry.js';
import { opentelemetry } from '../../src/otlp/generated/otlp.js';
import { ProcessorRole } from '../../src/process/processor.js';
import { createStageChain } from '../../src/process/stages/registry.js';
import { configSchema } from '../../src/config/schema.js';
import { DuckDBDatabase } from '../../src/store/duckdb/database.js';
import { DuckDBStore } from '../../src/store/duckdb/telemetry-store.js';
import { orgId } from '../../src/store/rows.js';
import {
  activitySnapshotRecord,
  entityRecord,
  queryStatsRecord,
  rumEventRecord,
  serverLogRecord,
  sessionSample,
} from '../fixtures/raw-records.js';
import { logsRequestBody } from '../harness/otlp-requests.js';

/** Now in nanoseconds as the raw records carry it. */
const nowNs = () => String(BigInt(Date.now()) * 1_000_000n);

const ORG = orgId('org_processor');
const headers = {
  [HEADERS.orgId]: ORG,
  [HEADERS.contentType]: 'application/x-protobuf',
  [HEADERS.receivedAt]: String(Date.now()),
};

describe('processor on the in-memory bus and DuckDB', () => {
  let dir: string;
  let database: DuckDBDatabase;
  let store: DuckDBStore;
  let bus: MemoryBus;
  let processor: ProcessorRole;
  const metrics = new SelfMetrics({ processMetrics: false });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sightline-processor-'));
    const logger = silentLogger();
    database = await DuckDBDatabase.open(
      { path: join(dir, 'db.duckdb'), memoryLimit: '256MB', checkpointThreshold: '64MB' },
      logger,
    );
    await database.migrate();
    store = new DuckDBStore(database);
    await store.start();
    bus = new MemoryBus({ maxQueueBytes: 1 << 26, maxQueueMessages: 1000, retryAfterSeconds: 1 }, logger);
    processor = new ProcessorRole({
      stages: createStageChain(configSchema.parse({}).processor.stages),
      bus,
      store,
      metrics,
      logger,
      batch: { maxMessages: 50, maxBytes: 1 << 26, maxWaitMs: 20 },
    });
    await processor.start();
  });

  afterAll(async () => {
    await bus.shutdown();
    await processor.shutdown();
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sets an unreadable message aside with its reason and stores the rest of the batch', async () => {
    await bus.publish(TOPICS.otelLogs, [
      { key: 'a', value: logsRequestBody(['before the bad one'], 'batch'), headers },
      { key: 'b', value: Buffer.from([0xff, 0xff, 0xff]), headers },
      {
        key: 'c',
        value: logsRequestBody(['after the bad one'], 'batch'),
        headers: { ...headers, [HEADERS.orgId]: '' },
      },
      { key: 'd', value: logsRequestBody(['also stored'], 'batch'), headers },
    ]);
    const counts = await store.countRecords(ORG);
    expect(counts.logs).toBe(2);
    const deadLetters = await database.withConnection(async (connection) =>
      (
        await connection.runAndReadAll(
          'SELECT source_topic, reason, octet_length(payload) AS size FROM dead_letters ORDER BY reason',
        )
      ).getRowObjectsJS(),
    );
    expect(deadLetters).toHaveLength(2);
    expect(deadLetters[0]).toMatchObject({ source_topic: 'otel-logs', size: 3n });
    expect(deadLetters[0]?.reason).toMatch(/not a valid OTLP logs protobuf/);
    expect(deadLetters[1]?.reason).toMatch(/no org-id header/);
    const text = await metrics.registry.getSingleMetricAsString('sightline_records_rejected_total');
    expect(text).toContain('sightline_records_rejected_total{signal="logs",reason="dead_letter"} 2');
  });

  it.each([
    {
      topic: TOPICS.rawQueries,
      table: 'queryStats',
      valid: () => queryStatsRecord({ intervalEnd: nowNs() }),
    },
    { topic: TOPICS.rawLogs, table: 'logs', valid: () => serverLogRecord({ ts: nowNs() }) },
    {
      topic: TOPICS.rawActivity,
      table: 'sessions',
      valid: () => activitySnapshotRecord('pg:main', nowNs(), [sessionSample({ pid: 7 })]),
    },
    {
      topic: TOPICS.rawEntities,
      table: 'entities',
      valid: () => entityRecord({ entityId: 'pg:after-poison', ts: nowNs() }),
    },
    { topic: TOPICS.rawRum, table: 'rumEvents', valid: () => rumEventRecord({ ts: nowNs() }) },
  ] as const)(
    'sends undecodable bytes on $topic to the dead-letter topic, and the next message there is stored',
    async ({ topic, table, valid }) => {
      const json = { ...headers, [HEADERS.contentType]: 'application/json' };
      const before = (await store.countRecords(ORG))[table];
      await bus.publish(topic, [
        { key: 'poison', value: Buffer.from([0xc3, 0x28, 0xff, 0x00, 0x7b]), headers: json },
      ]);
      // Nothing loops on the poison message: the next one on the same topic goes through.
      await bus.publish(topic, [{ key: 'next', value: Buffer.from(JSON.stringify(valid())), headers: json }]);
      expect((await store.countRecords(ORG))[table]).toBe(before + 1);
      const reasons = await database.withConnection(async (connection) =>
        (
          await connection.runAndReadAll('SELECT reason FROM dead_letters WHERE source_topic = $topic', {
            topic,
          })
        ).getRowObjectsJS(),
      );
      expect(reasons).toEqual([{ reason: expect.stringMatching(/not UTF-8 JSON/) as unknown }]);
    },
  );

  it('sets aside a message with a time the store cannot hold, and keeps processing', async () => {
    const late = Buffer.from(
      opentelemetry.proto.collector.v1.ExportLogsServiceRequest.encode({
        resourceLogs: [
          {
            scopeLogs: [
              {
                logRecords: [
                  {
                    timeUnixNano: Long.fromString('18446744073709551615', true),
                    body: { stringValue: 'late' },
                  },
                ],
              },
            ],
          },
        ],
      }).finish(),
    );
    const before = (await store.countRecords(ORG)).logs;
    await bus.publish(TOPICS.otelLogs, [{ key: 'late', value: late, headers }]);
    await bus.publish(TOPICS.otelLogs, [
      { key: 'next', value: logsRequestBody(['after the late one'], 'late'), headers },
    ]);
    const reasons = await database.withConnection(async (connection) =>
      (
        await connection.runAndReadAll("SELECT reason FROM dead_letters WHERE reason LIKE '%2262%'")
      ).getRowsJS(),
    );
    expect(reasons).toHaveLength(1);
    expect((await store.countRecords(ORG)).logs).toBe(before + 1);
  });

  it('stores two identical records of one request as two rows', async () => {
    const now = Long.fromString(String(BigInt(Date.now()) * 1_000_000n), true);
    const twice = Buffer.from(
      opentelemetry.proto.collector.v1.ExportLogsServiceRequest.encode({
        resourceLogs: [
          {
            scopeLogs: [
              {
                logRecords: [
                  { timeUnixNano: now, body: { stringValue: 'same line twice' } },
                  { timeUnixNano: now, body: { stringValue: 'same line twice' } },
                ],
              },
            ],
          },
        ],
      }).finish(),
    );
    await bus.publish(TOPICS.otelLogs, [{ key: 'twice', value: twice, headers }]);
    await bus.publish(TOPICS.otelLogs, [{ key: 'twice', value: twice, headers }]);
    const found = await store.searchLogs(ORG, {
      fromNs: 0n,
      toNs: BigInt(Date.now() + 60_000) * 1_000_000n,
      text: ['same line twice'],
      services: [],
      severities: [],
      hosts: [],
      traceIds: [],
      limit: 10,
    });
    expect(found).toHaveLength(2);
  });

  it('stores a replayed message once', async () => {
    const message = { key: 'r', value: logsRequestBody(['replayed'], 'replay'), headers };
    await bus.publish(TOPICS.otelLogs, [message]);
    await bus.publish(TOPICS.otelLogs, [message]);
    const logs = await store.searchLogs(ORG, {
      fromNs: 0n,
      toNs: BigInt(Date.now() + 60_000) * 1_000_000n,
      text: ['replayed'],
      services: [],
      severities: [],
      hosts: [],
      traceIds: [],
      limit: 10,
    });
    expect(logs).toHaveLength(1);
  });

  it('stores browser events with their browser, OS and location, redacted, and without the address', async () => {
    const json = { ...headers, [HEADERS.contentType]: 'application/json' };
    const ts = nowNs();
    const chrome =
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
    const from = { sessionId: 'rum-integration', userAgent: chrome, clientAddress: '8.8.8.8', ts };
    const records = [
      rumEventRecord({ ...from, type: 'page_view', url: 'https://shop.example/cart?step=2' }),
      rumEventRecord({ ...from, type: 'web_vital', name: 'LCP', value: 1830.5 }),
      rumEventRecord({
        ...from,
        type: 'error',
        message: 'no account for alice@example.com',
        errorType: 'TypeError',
        attributes: { component: 'checkout' },
      }),
    ];
    const messages = records.map((record) => ({
      key: record.sessionId,
      value: Buffer.from(JSON.stringify(record)),
      headers: json,
    }));
    await bus.publish(TOPICS.rawRum, messages);
    // A replay (the bus delivering again) is stored once.
    await bus.publish(TOPICS.rawRum, messages);
    const rows = await database.withConnection(async (connection) =>
      (
        await connection.runAndReadAll(
          `SELECT * EXCLUDE (id, ts) FROM rum_events WHERE session_id = 'rum-integration' ORDER BY type`,
        )
      ).getRowObjectsJS(),
    );
    const common = {
      org_id: ORG,
      session_id: 'rum-integration',
      view_id: 'view-1',
      service: 'shop-web',
      release: '1.0.0',
      user_agent: chrome,
      browser_name: 'Chrome',
      browser_version: '126.0.0.0',
      os_name: 'Windows',
      os_version: '10',
      device_type: '',
      country: 'US',
      city: 'Mountain View',
    };
    expect(rows).toEqual([
      expect.objectContaining({
        ...common,
        type: 'error',
        message: 'no account for [REDACTED:email]',
        error_type: 'TypeError',
        attributes: '{"component":"checkout"}',
        value: null,
      }),
      expect.objectContaining({ ...common, type: 'page_view', url_path: '/cart', title: 'Cart' }),
      expect.objectContaining({ ...common, type: 'web_vital', name: 'LCP', value: 1830.5 }),
    ]);
    expect(JSON.stringify(rows)).not.toContain('8.8.8.8');
    const columns = await database.withConnection(async (connection) =>
      (await connection.runAndReadAll('DESCRIBE rum_events')).getRowObjectsJS().map((r) => r.column_name),
    );
    expect(columns).not.toContain('client_address');
  });
});
