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
import { logsRequestBody } from '../harness/otlp-requests.js';

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
    expect((await store.countRecords(ORG)).logs).toBe(3);
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
});
