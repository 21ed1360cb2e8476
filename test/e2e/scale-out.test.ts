import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KAFKA_INSTALL_HINT, kafkaAvailable, startKafka, type KafkaInstance } from '../harness/kafka.js';
import { logsRequestBody, post } from '../harness/otlp-requests.js';
import {
  POSTGRES_INSTALL_HINT,
  postgresAvailable,
  startPostgres,
  type PostgresInstance,
} from '../harness/postgres.js';
import { requireService } from '../harness/service-missing.js';
import { newDataDir, startSightlineProcess, testKey, type SightlineProcess } from '../harness/sightline.js';

/**
 * The scale-out shape on one machine: a real Kafka broker and PostgreSQL (orgs and keys), a
 * gateway process (`--role gateway`) and a processor-and-API process (`--role processor,api`,
 * with the DuckDB file). Numbered records go through the gateway; whatever it acknowledged must
 * end up stored exactly once, through `kill -9` of either process and an outage of Kafka.
 */

const available =
  requireService('Kafka', kafkaAvailable(), KAFKA_INSTALL_HINT) &&
  requireService('PostgreSQL', postgresAvailable(), POSTGRES_INSTALL_HINT);

const SERVICE = 'canary';

describe.skipIf(!available)('scale-out: gateway and processor as separate processes on Kafka', () => {
  let kafka: KafkaInstance;
  let postgres: PostgresInstance;
  let configDir: string;
  let configFile: string;
  const key = testKey();
  const backendDir = newDataDir();
  let gateway: SightlineProcess | undefined;
  let backend: SightlineProcess | undefined;

  const startGateway = async () =>
    (gateway = await startSightlineProcess({
      key,
      dataDir: newDataDir(),
      args: ['--config', configFile, '--role', 'gateway'],
    }));
  const startBackend = async () =>
    (backend = await startSightlineProcess({
      key,
      dataDir: backendDir,
      args: ['--config', configFile, '--role', 'processor,api'],
    }));

  beforeAll(async () => {
    [kafka, postgres] = await Promise.all([startKafka(), startPostgres()]);
    configDir = mkdtempSync(join(tmpdir(), 'sightline-scale-out-'));
    configFile = join(configDir, 'sightline.yaml');
    writeFileSync(
      configFile,
      [
        'bus:',
        '  type: kafka',
        '  kafka:',
        `    brokers: ["${kafka.bootstrap}"]`,
        '    partitions: 2',
        '    publishTimeoutSeconds: 3',
        '    sessionTimeoutSeconds: 6',
        '    drainTimeoutSeconds: 5',
        'control:',
        '  type: postgres',
        '  postgres:',
        `    url: "${postgres.url}"`,
        'ingest:',
        '  ackTimeoutSeconds: 5',
        '',
      ].join('\n'),
    );
    // Together, as a deployment starts: both bootstrap the same org and key on one control plane.
    await Promise.all([startGateway(), startBackend()]);
  }, 180_000);

  afterAll(async () => {
    for (const process of [gateway, backend]) {
      if (process === undefined) continue;
      await process.stop('SIGKILL');
      process.cleanup();
    }
    await Promise.all([kafka?.stop(), postgres?.stop()]);
    rmSync(configDir, { recursive: true, force: true });
  }, 60_000);

  /** One request of `count` numbered records; true when the gateway acknowledged it (2xx). */
  async function send(first: number, count: number): Promise<boolean> {
    if (gateway === undefined) return false;
    const bodies = Array.from({ length: count }, (_, i) => `canary record ${first + i}`);
    try {
      const response = await post(`${gateway.ingestUrl}/v1/logs`, logsRequestBody(bodies, SERVICE), {
        'content-type': 'application/x-protobuf',
        authorization: `Bearer ${key}`,
      });
      return response.status >= 200 && response.status < 300;
    } catch {
      return false;
    }
  }

  async function logCount(): Promise<number> {
    const response = await fetch(`${backend?.apiUrl ?? ''}/api/v1/stats`, {
      headers: { authorization: `Bearer ${key}` },
    });
    return ((await response.json()) as { logs: number }).logs;
  }

  /** How many times each canary number is stored, read from the api process. */
  async function stored(): Promise<Map<number, number>> {
    const counts = new Map<number, number>();
    const from = Date.now() - 3_600_000;
    let cursor: string | null = null;
    do {
      const response = await fetch(`${backend?.apiUrl ?? ''}/api/v1/logs/search`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          query: `service:${SERVICE}`,
          limit: 10_000,
          // The next pages send the cursor alone: it carries the range the first page resolved.
          ...(cursor === null ? { from } : { cursor }),
        }),
      });
      if (response.status !== 200)
        throw new Error(`log search answered ${response.status}: ${await response.text()}`);
      const page = (await response.json()) as { data: Array<{ body: string }>; nextCursor: string | null };
      for (const log of page.data) {
        const n = Number(/canary record (\d+)/.exec(log.body)?.[1]);
        counts.set(n, (counts.get(n) ?? 0) + 1);
      }
      cursor = page.nextCursor;
    } while (cursor !== null);
    return counts;
  }

  async function waitForStored(numbers: readonly number[], timeoutMs = 60_000): Promise<Map<number, number>> {
    const deadline = Date.now() + timeoutMs;
    let counts = new Map<number, number>();
    let lastError = '';
    while (Date.now() < deadline) {
      counts = await stored().catch((error: unknown) => {
        lastError = String(error);
        return new Map<number, number>();
      });
      if (numbers.every((n) => counts.has(n))) return counts;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const missing = numbers.filter((n) => !counts.has(n));
    throw new Error(
      `${missing.length} acknowledged records never stored, e.g. ${missing.slice(0, 5).join(', ')}${lastError === '' ? '' : `; the last read failed: ${lastError}`}`,
    );
  }

  let next = 0;
  const acknowledged: number[] = [];

  /** Sends `requests` requests of `size` records, `inFlight` at a time, noting what was acknowledged. */
  async function sendMany(requests: number, size: number, inFlight: number, during?: () => Promise<void>) {
    const starts = Array.from({ length: requests }, () => {
      const first = next;
      next += size;
      return first;
    });
    let index = 0;
    const worker = async (): Promise<void> => {
      while (index < starts.length) {
        const first = starts[index++] as number;
        if (await send(first, size)) {
          for (let i = 0; i < size; i++) acknowledged.push(first + i);
        }
      }
    };
    await Promise.all([...Array.from({ length: inFlight }, worker), during?.()]);
  }

  function expectExactlyOnce(counts: Map<number, number>): void {
    const twice = [...counts].filter(([, n]) => n > 1).map(([number]) => number);
    expect(twice, 'records stored more than once').toEqual([]);
    for (const n of acknowledged) expect(counts.get(n), `record ${n}`).toBe(1);
  }

  it('stores what the gateway process acknowledged, readable from the api process', async () => {
    await sendMany(10, 20, 2);
    expect(acknowledged).toHaveLength(200);
    expectExactlyOnce(await waitForStored(acknowledged));
  });

  it('answers /readyz on both processes, and the gateway process has no query API', async () => {
    expect((await fetch(`${gateway?.ingestUrl ?? ''}/readyz`)).status).toBe(200);
    expect((await fetch(`${backend?.apiUrl ?? ''}/readyz`)).status).toBe(200);
    expect(gateway?.apiUrl).toBe('');
    expect(backend?.ingestUrl).toBe('');
  });

  it('stores every request it acknowledged when senders push large requests as fast as they can', async () => {
    // Requests of ~450 KB from 8 senders: the gateway's produce requests then carry several
    // of them per partition, more than one record batch may hold (1 MiB by default).
    const bodies = Array.from({ length: 500 }, (_, i) => `burst record ${i} ${'x'.repeat(900)}`);
    const ack = new Set<string>();
    let refused = 0;
    let sent = 0;
    const sender = async (): Promise<void> => {
      while (sent < 240) {
        const service = `burst-${sent++}`;
        const response = await post(`${gateway?.ingestUrl ?? ''}/v1/logs`, logsRequestBody(bodies, service), {
          'content-type': 'application/x-protobuf',
          authorization: `Bearer ${key}`,
        });
        if (response.status === 200) ack.add(service);
        else refused++;
      }
    };
    await Promise.all(Array.from({ length: 8 }, sender));
    expect(ack.size, `${refused} of 240 requests refused`).toBeGreaterThan(120);

    const perService = async (): Promise<Map<string, number>> => {
      const response = await fetch(`${backend?.apiUrl ?? ''}/api/v1/logs/search`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ query: '* | count by service', from: Date.now() - 3_600_000, limit: 10_000 }),
      });
      const body = (await response.json()) as {
        buckets?: Array<{ group: { service: string }; count: number }>;
      };
      return new Map((body.buckets ?? []).map((bucket) => [bucket.group.service, Number(bucket.count)]));
    };
    const deadline = Date.now() + 90_000;
    let counts = await perService();
    while ([...ack].some((service) => counts.get(service) !== 500) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      counts = await perService();
    }
    const notStored = [...ack].filter((service) => counts.get(service) !== 500);
    expect(notStored, 'acknowledged requests not stored with all 500 records').toEqual([]);
  }, 180_000);

  it('loses nothing acknowledged when the gateway is killed -9 mid-batch, and stores nothing twice', async () => {
    const before = acknowledged.length;
    // Killed once it has acknowledged some of the requests, with others in flight.
    const killMidway = async (): Promise<void> => {
      while (acknowledged.length < before + 250) await new Promise((resolve) => setTimeout(resolve, 2));
      await gateway?.stop('SIGKILL');
      gateway?.cleanup();
      gateway = undefined;
    };
    await sendMany(400, 25, 4, killMidway);
    const sent = 400 * 25;
    expect(acknowledged.length - before, 'requests acknowledged before the kill').toBeGreaterThanOrEqual(250);
    expect(acknowledged.length - before, 'requests refused by the kill').toBeLessThan(sent);
    await startGateway();
    await sendMany(4, 25, 2);
    expectExactlyOnce(await waitForStored(acknowledged));
  }, 120_000);

  it('loses nothing and stores nothing twice when the processor is killed -9 while it stores', async () => {
    const before = acknowledged.length;
    const storedBefore = await logCount();
    await sendMany(200, 50, 4);
    expect(acknowledged.length - before).toBe(10_000);
    // Killed while it works through the backlog: batches written to DuckDB whose offsets are not
    // yet committed to Kafka are delivered again after the restart and deduplicated by record id.
    let now = storedBefore;
    while (now === storedBefore) now = await logCount();
    expect(now - storedBefore, 'the backlog was not worked through before the kill').toBeLessThan(10_000);
    await backend?.stop('SIGKILL');
    await startBackend();
    expectExactlyOnce(await waitForStored(acknowledged, 90_000));
  }, 180_000);

  it('answers 503 (never 2xx) while Kafka is down, and resumes without loss when it is back', async () => {
    await kafka.kill();
    const outage = await Promise.all([0, 1, 2].map(() => send((next += 10) - 10, 10)));
    expect(outage).toEqual([false, false, false]);
    const response = await post(
      `${gateway?.ingestUrl ?? ''}/v1/logs`,
      logsRequestBody(['during outage'], 'probe'),
      {
        'content-type': 'application/x-protobuf',
        authorization: `Bearer ${key}`,
      },
    );
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBeDefined();
    // Readiness follows: load balancers stop sending here while Kafka is away, and come back.
    const ready = async (): Promise<{ code: number; reason?: string }> => {
      const answer = await fetch(`${gateway?.ingestUrl ?? ''}/readyz`);
      const { reason } = (await answer.json()) as { reason?: string };
      return { code: answer.status, ...(reason === undefined ? {} : { reason }) };
    };
    const down = await ready();
    expect(down.code).toBe(503);
    expect(down.reason).toMatch(/^Kafka at .* does not answer/);
    await kafka.restart();
    const deadline = Date.now() + 30_000;
    while ((await ready()).code !== 200) {
      if (Date.now() > deadline) throw new Error('the gateway did not become ready after Kafka came back');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await sendMany(5, 10, 1);
    // What was refused may still arrive (a producer retry after the 503 is allowed: at least
    // once); what was acknowledged must, once.
    expectExactlyOnce(await waitForStored(acknowledged, 90_000));
  }, 180_000);
});
