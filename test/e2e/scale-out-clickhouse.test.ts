import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLICKHOUSE_INSTALL_HINT,
  clickhouseAvailable,
  startClickhouse,
  type ClickhouseInstance,
} from '../harness/clickhouse.js';
import { KAFKA_INSTALL_HINT, kafkaAvailable, startKafka, type KafkaInstance } from '../harness/kafka.js';
import { logsRequestBody, post } from '../harness/otlp-requests.js';
import {
  POSTGRES_INSTALL_HINT,
  postgresAvailable,
  startPostgres,
  type PostgresInstance,
} from '../harness/postgres.js';
import { scaleOutConfigYaml } from '../harness/scale-out-services.js';
import { requireService } from '../harness/service-missing.js';
import { newDataDir, startSightlineProcess, testKey, type SightlineProcess } from '../harness/sightline.js';

/**
 * Three processes, nothing shared but the network: a gateway, a processor and an API, on a real
 * Kafka, ClickHouse (Debian's 18.16) and PostgreSQL. What the gateway acknowledged is queryable
 * from the API process, once, through `kill -9` of the processor while it works through a backlog
 * (ClickHouse keeps one copy of a replayed record by its id).
 */

const available =
  requireService('Kafka', kafkaAvailable(), KAFKA_INSTALL_HINT) &&
  requireService('PostgreSQL', postgresAvailable(), POSTGRES_INSTALL_HINT) &&
  requireService('ClickHouse', clickhouseAvailable(), CLICKHOUSE_INSTALL_HINT);

describe.skipIf(!available)('scale-out on Kafka and ClickHouse: gateway, processor and api apart', () => {
  let kafka: KafkaInstance;
  let postgres: PostgresInstance;
  let clickhouse: ClickhouseInstance;
  let configDir: string | undefined;
  let configFile: string;
  const key = testKey();
  type Name = 'gateway' | 'processor' | 'processor2' | 'api';
  const processes: Record<Name, SightlineProcess | undefined> = {
    gateway: undefined,
    processor: undefined,
    processor2: undefined,
    api: undefined,
  };
  const start = async (name: Name) =>
    (processes[name] = await startSightlineProcess({
      key,
      dataDir: newDataDir(),
      args: ['--config', configFile, '--role', name === 'processor2' ? 'processor' : name],
    }));

  beforeAll(async () => {
    [kafka, postgres, clickhouse] = await Promise.all([startKafka(), startPostgres(), startClickhouse()]);
    configDir = mkdtempSync(join(tmpdir(), 'sightline-scale-out-ch-'));
    configFile = join(configDir, 'sightline.yaml');
    writeFileSync(
      configFile,
      scaleOutConfigYaml({
        kafkaBootstrap: kafka.bootstrap,
        postgresUrl: postgres.url,
        clickhouseUrl: clickhouse.url,
        partitions: 2,
        sessionTimeoutSeconds: 6,
      }),
    );
    await Promise.all([start('gateway'), start('processor'), start('api')]);
  }, 180_000);

  afterAll(async () => {
    for (const process of Object.values(processes)) {
      if (process === undefined) continue;
      await process.stop('SIGKILL');
      process.cleanup();
    }
    await Promise.all([kafka?.stop(), postgres?.stop(), clickhouse?.stop()]);
    if (configDir !== undefined) rmSync(configDir, { recursive: true, force: true });
  }, 60_000);

  let next = 0;
  const acknowledged: number[] = [];

  async function sendMany(requests: number, size: number): Promise<void> {
    let index = 0;
    const worker = async (): Promise<void> => {
      while (index < requests) {
        index++;
        const first = next;
        next += size;
        const bodies = Array.from({ length: size }, (_, i) => `ch canary ${first + i}`);
        const response = await post(
          `${processes.gateway?.ingestUrl ?? ''}/v1/logs`,
          logsRequestBody(bodies, 'ch-canary'),
          { 'content-type': 'application/x-protobuf', authorization: `Bearer ${key}` },
        );
        if (response.status === 200) for (let i = 0; i < size; i++) acknowledged.push(first + i);
      }
    };
    await Promise.all([worker(), worker(), worker()]);
  }

  async function logCount(): Promise<number> {
    const response = await fetch(`${processes.api?.apiUrl ?? ''}/api/v1/stats`, {
      headers: { authorization: `Bearer ${key}` },
    });
    return ((await response.json()) as { logs: number }).logs;
  }

  /** Every acknowledged number stored once, read page by page from the API process. */
  async function expectStoredOnce(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await logCount()) < acknowledged.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const counts = new Map<number, number>();
    let cursor: string | null = null;
    const from = Date.now() - 3_600_000;
    do {
      const response = await fetch(`${processes.api?.apiUrl ?? ''}/api/v1/logs/search`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          query: 'service:ch-canary',
          limit: 10_000,
          ...(cursor === null ? { from } : { cursor }),
        }),
      });
      expect(response.status).toBe(200);
      const page = (await response.json()) as { data: Array<{ body: string }>; nextCursor: string | null };
      for (const log of page.data) {
        const n = Number(/ch canary (\d+)/.exec(log.body)?.[1]);
        counts.set(n, (counts.get(n) ?? 0) + 1);
      }
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(
      [...counts].filter(([, n]) => n > 1),
      'stored more than once',
    ).toEqual([]);
    expect(
      acknowledged.filter((n) => counts.get(n) !== 1),
      'acknowledged but not stored',
    ).toEqual([]);
  }

  it('stores what the gateway acknowledged, and the API process reads it from ClickHouse', async () => {
    await sendMany(10, 20);
    expect(acknowledged).toHaveLength(200);
    await expectStoredOnce(60_000);
    expect(processes.processor?.apiUrl).toBe('');
    expect(processes.processor?.ingestUrl).toBe('');
  });

  it('shows on the API process the processors’ lag and rate per topic, read from the brokers', async () => {
    type Pipeline = {
      topics: Array<{
        topic: string;
        lag: { messages: number; bytes: number | null } | null;
        messagesPerSecond: number | null;
      }>;
      note: string | null;
    };
    const read = async (): Promise<Pipeline> =>
      (await (
        await fetch(`${processes.api?.apiUrl ?? ''}/api/v1/pipeline`, {
          headers: { authorization: `Bearer ${key}` },
        })
      ).json()) as Pipeline;
    // The API process consumes nothing: without the brokers' offsets it would have no lag at all.
    let pipeline = await read();
    const deadline = Date.now() + 20_000;
    while (
      pipeline.topics.find((t) => t.topic === 'otel-logs')?.lag?.messages !== 0 &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      pipeline = await read();
    }
    expect(pipeline.note).toBeNull();
    for (const topic of pipeline.topics) {
      expect(topic.lag, topic.topic).not.toBeNull();
      expect(topic.lag?.bytes, topic.topic).toBeNull();
    }
    expect(pipeline.topics.find((t) => t.topic === 'otel-logs')).toMatchObject({ lag: { messages: 0 } });
    expect(pipeline.topics.find((t) => t.topic === 'otel-logs')?.messagesPerSecond).not.toBeNull();
  });

  it('loses nothing and stores nothing twice when the processor is killed -9 with a backlog', async () => {
    const before = await logCount();
    await sendMany(100, 50);
    expect(acknowledged.length).toBe(5200);
    let now = before;
    while (now === before) now = await logCount();
    expect(now - before, 'the backlog was worked through before the kill').toBeLessThan(5000);
    await processes.processor?.stop('SIGKILL');
    await start('processor');
    await expectStoredOnce(120_000);
  }, 240_000);

  it('shares the partitions between two processors, and one takes over when the other is killed', async () => {
    await start('processor2');
    await sendMany(20, 50);
    await processes.processor?.stop('SIGKILL');
    processes.processor = undefined;
    await sendMany(20, 50);
    await expectStoredOnce(120_000);
  }, 240_000);

  it('keeps what it acknowledged while ClickHouse is down and stores it once it is back', async () => {
    await clickhouse.kill();
    const before = acknowledged.length;
    await sendMany(10, 50);
    // The gateway still acknowledges (Kafka has the records); the processor cannot write, so its
    // batches fail and wait in Kafka, uncommitted; the API says the store is unavailable.
    expect(acknowledged.length - before).toBe(500);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const during = await fetch(`${processes.api?.apiUrl ?? ''}/api/v1/stats`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(during.status).toBe(503);
    expect(during.headers.get('retry-after')).not.toBeNull();
    await clickhouse.restart();
    await expectStoredOnce(120_000);
  }, 240_000);
});
