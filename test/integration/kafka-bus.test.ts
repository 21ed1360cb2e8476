import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin, ConfigResourceTypes, Producer } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { IncomingMessage, OutgoingMessage } from '../../src/bus/bus.js';
import { KafkaBus, type KafkaBusOptions } from '../../src/bus/kafka.js';
import { HEADERS, TOPICS, type Topic } from '../../src/bus/topics.js';
import { isSightlineError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { KAFKA_INSTALL_HINT, kafkaAvailable, startKafka, type KafkaInstance } from '../harness/kafka.js';
import { requireService } from '../harness/service-missing.js';

const available = requireService('Kafka', kafkaAvailable(), KAFKA_INSTALL_HINT);

const BATCH = { maxBatchMessages: 100, maxBatchBytes: 1024 * 1024, maxWaitMs: 20 };

describe.skipIf(!available)('KafkaBus against a real broker', () => {
  let kafka: KafkaInstance;
  const buses: KafkaBus[] = [];

  beforeAll(async () => {
    kafka = await startKafka();
    console.info(`[kafka harness] broker ready in ${kafka.startMs} ms at ${kafka.bootstrap}`);
  });

  afterAll(async () => {
    for (const bus of buses) await bus.shutdown();
    await kafka?.stop();
  });

  async function newBus(options: Partial<KafkaBusOptions> = {}): Promise<KafkaBus> {
    const bus = new KafkaBus(
      {
        brokers: [kafka.bootstrap],
        clientId: 'sightline-test',
        publishTimeoutMs: 5000,
        sessionTimeoutMs: 3000,
        drainTimeoutMs: 5000,
        statsIntervalMs: 500,
        ...options,
      },
      silentLogger(),
    );
    buses.push(bus);
    await bus.start();
    return bus;
  }

  function messages(run: string, count: number, from = 0): OutgoingMessage[] {
    return Array.from({ length: count }, (_, i) => ({
      key: `entity-${(from + i) % 7}`,
      value: new TextEncoder().encode(`${run}:${from + i}`),
      headers: {
        [HEADERS.orgId]: 'org-1',
        [HEADERS.contentType]: 'application/json',
        [HEADERS.schemaVersion]: '1',
        [HEADERS.receivedAt]: '2026-01-01T00:00:00.000Z',
        'x-run': run,
      },
    }));
  }

  /** Values of this run's messages, for tests that share a topic with earlier tests. */
  const ofRun = (run: string, batch: readonly IncomingMessage[]): string[] =>
    batch.filter((m) => m.headers['x-run'] === run).map((m) => new TextDecoder().decode(m.value));

  async function until(condition: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(25);
    }
  }

  it('creates the topics, then round-trips keys, values and headers through a consumer group', async () => {
    const bus = await newBus();
    const run = randomUUID();
    const received: IncomingMessage[] = [];
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const consumer = await bus.consume(
      { group: `g-${run}`, topic: TOPICS.rawLogs, ...BATCH },
      async (batch) => {
        await gate;
        received.push(...batch.filter((m) => m.headers['x-run'] === run));
      },
    );
    await bus.publish(TOPICS.rawLogs, messages(run, 20));
    // stats() is the group's lag (refreshed every statsIntervalMs): 20 while the handler waits, then 0.
    const pending = (): number | undefined =>
      bus.stats().find((s) => s.topic === TOPICS.rawLogs)?.pendingMessages;
    await until(() => pending() === 20, 10_000, 'a lag of 20');
    expect(bus.stats().find((s) => s.topic === TOPICS.rawLogs)?.pendingBytes).toBeGreaterThan(0);
    open();
    await until(() => received.length >= 20, 20_000, '20 messages');
    await until(() => pending() === 0, 10_000, 'the lag to reach 0');
    // A new group's committed offsets count the 20 messages (and any of earlier runs on the topic).
    expect(bus.stats().find((s) => s.topic === TOPICS.rawLogs)?.committedMessages).toBeGreaterThanOrEqual(20);
    await consumer.close();

    expect(received).toHaveLength(20);
    const byValue = new Map(received.map((m) => [new TextDecoder().decode(m.value), m]));
    for (let i = 0; i < 20; i++) {
      const m = byValue.get(`${run}:${i}`);
      expect(m?.key).toBe(`entity-${i % 7}`);
      expect(m?.topic).toBe(TOPICS.rawLogs);
      expect(typeof m?.offset).toBe('bigint');
      expect(m?.headers).toEqual({
        'org-id': 'org-1',
        'content-type': 'application/json',
        'schema-version': '1',
        'received-at': '2026-01-01T00:00:00.000Z',
        'x-run': run,
      });
    }
  });

  it('delivers every message of concurrent publishes, each acknowledged only once stored by Kafka', async () => {
    const bus = await newBus();
    const run = randomUUID();
    const received: string[] = [];
    const consumer = await bus.consume(
      { group: `g-${run}`, topic: TOPICS.rawQueries, ...BATCH },
      async (batch) => {
        received.push(...ofRun(run, batch));
      },
    );
    // As many requests at once as a busy gateway has: one message each, and some of five.
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        bus.publish(TOPICS.rawQueries, i % 4 === 0 ? messages(run, 5, 1000 + i * 10) : messages(run, 1, i)),
      ),
    );
    await until(() => received.length >= 80, 20_000, '80 messages');
    await sleep(500);
    await consumer.close();
    expect(new Set(received).size).toBe(80);
    expect(received).toHaveLength(80);
  });

  it('delivers a batch again when the handler rejects, and commits only once it resolved', async () => {
    const bus = await newBus();
    const run = randomUUID();
    const group = `g-${run}`;
    const attempts: string[][] = [];
    const consumer = await bus.consume({ group, topic: TOPICS.rawRum, ...BATCH }, async (batch) => {
      const mine = ofRun(run, batch);
      if (mine.length === 0) return;
      attempts.push(mine);
      if (attempts.length === 1) throw new Error('store down');
    });
    await bus.publish(TOPICS.rawRum, messages(run, 5));
    await until(() => attempts.length >= 2, 20_000, 'the redelivery');
    expect(attempts[1]).toEqual(attempts[0]);
    await consumer.close();

    // Committed: a new member of the same group gets nothing of this run again.
    const again: string[] = [];
    const next = await bus.consume({ group, topic: TOPICS.rawRum, ...BATCH }, async (batch) => {
      again.push(...ofRun(run, batch));
    });
    await bus.publish(TOPICS.rawRum, messages(`${run}-after`, 1));
    await sleep(1500);
    await next.close();
    expect(again).toEqual([]);
  });

  it('hands a batch whose handler never finished to the next member of the group', async () => {
    const bus = await newBus({ drainTimeoutMs: 500 });
    const run = randomUUID();
    const group = `g-${run}`;
    let seen = 0;
    const stuck = await bus.consume({ group, topic: TOPICS.rawActivity, ...BATCH }, async (batch) => {
      seen += ofRun(run, batch).length;
      if (seen > 0) await new Promise<never>(() => {}); // the process "dies" inside the handler
    });
    await bus.publish(TOPICS.rawActivity, messages(run, 10));
    await until(() => seen >= 10, 20_000, 'the first delivery');
    await stuck.close(); // gives up after drainTimeoutMs, without committing

    const redelivered: string[] = [];
    const next = await bus.consume({ group, topic: TOPICS.rawActivity, ...BATCH }, async (batch) => {
      redelivered.push(...ofRun(run, batch));
    });
    await until(() => redelivered.length >= 10, 20_000, 'the redelivery');
    await next.close();
    expect(new Set(redelivered)).toEqual(new Set(Array.from({ length: 10 }, (_, i) => `${run}:${i}`)));
  });

  it('shares partitions between two members and loses nothing when one leaves', async () => {
    const bus = await newBus();
    const run = randomUUID();
    const group = `g-${run}`;
    const byMember: [Set<string>, Set<string>] = [new Set(), new Set()];
    const member = (index: 0 | 1) => async (batch: readonly IncomingMessage[]) => {
      for (const value of ofRun(run, batch)) byMember[index].add(value);
    };
    const first = await bus.consume({ group, topic: TOPICS.otelLogs, ...BATCH }, member(0));
    const second = await bus.consume({ group, topic: TOPICS.otelLogs, ...BATCH }, member(1));
    const all = (): Set<string> => new Set([...byMember[0], ...byMember[1]]);
    // Publish until both members got some: the second join rebalances the group.
    let sent = 0;
    for (let round = 0; round < 40 && !(byMember[0].size > 0 && byMember[1].size > 0); round++) {
      await bus.publish(TOPICS.otelLogs, messages(run, 30, sent));
      sent += 30;
      await sleep(250);
    }
    expect(byMember[0].size).toBeGreaterThan(0);
    expect(byMember[1].size).toBeGreaterThan(0);

    await first.close();
    await bus.publish(TOPICS.otelLogs, messages(run, 60, sent));
    sent += 60;
    await until(() => all().size >= sent, 30_000, `all ${sent} messages`);
    await second.close();
    expect(all().size).toBe(sent);
  });

  it('loses nothing when a member joins while the other works through a backlog', async () => {
    const bus = await newBus();
    const run = randomUUID();
    const group = `g-${run}`;
    const total = 3000;
    for (let from = 0; from < total; from += 300)
      await bus.publish(TOPICS.rawEntities, messages(run, 300, from));
    const seen = new Set<string>();
    // Slow members, so the rebalance lands while both still have messages buffered and in flight.
    const member = async (batch: readonly IncomingMessage[]) => {
      for (const value of ofRun(run, batch)) seen.add(value);
      await sleep(40);
    };
    const first = await bus.consume({ group, topic: TOPICS.rawEntities, ...BATCH }, member);
    await until(() => seen.size >= 200, 30_000, 'the first member to start on the backlog');
    const second = await bus.consume({ group, topic: TOPICS.rawEntities, ...BATCH }, member);
    try {
      await until(() => seen.size >= total, 60_000, `all ${total} messages (${seen.size} so far)`);
    } finally {
      await first.close();
      await second.close();
    }
    expect(seen.size).toBe(total);
  }, 150_000);

  it('rejects publishes retryably while the broker is down and delivers everything acknowledged after a restart', async () => {
    const bus = await newBus({ publishTimeoutMs: 3000 });
    const run = randomUUID();
    const received = new Set<string>();
    const consumer = await bus.consume(
      { group: `g-${run}`, topic: TOPICS.otelMetrics, ...BATCH },
      async (batch) => {
        for (const value of ofRun(run, batch)) received.add(value);
      },
    );
    await bus.publish(TOPICS.otelMetrics, messages(run, 10, 0));
    await until(() => received.size >= 10, 20_000, 'the first 10');

    await kafka.kill();
    const started = Date.now();
    const outcome = await bus.publish(TOPICS.otelMetrics, messages(run, 5, 100)).then(
      () => 'resolved',
      (error: unknown) => error,
    );
    const tookMs = Date.now() - started;
    expect(isSightlineError(outcome)).toBe(true);
    if (!isSightlineError(outcome)) return;
    expect(outcome.retryable).toBe(true);
    expect(outcome.status).toBe(503);
    expect(outcome.retryAfterSeconds).toBeGreaterThan(0);
    expect(tookMs).toBeLessThan(3000 + 1500);

    await kafka.restart();
    // Acknowledged after the restart, by a publish that may need a few tries while the client reconnects.
    let acknowledged = false;
    for (let attempt = 0; attempt < 10 && !acknowledged; attempt++) {
      acknowledged = await bus.publish(TOPICS.otelMetrics, messages(run, 10, 10)).then(
        () => true,
        () => false,
      );
    }
    expect(acknowledged).toBe(true);
    await until(() => received.size >= 20, 40_000, 'the 10 published after the restart');
    await consumer.close();
    for (let i = 0; i < 20; i++) expect(received.has(`${run}:${i}`)).toBe(true);
  });

  /** Resolves to true when acknowledged, to the error when refused. */
  const outcome = (published: Promise<void>): Promise<unknown> =>
    published.then(
      () => true,
      (error: unknown) => error,
    );

  it('acknowledges and delivers every large message of a burst: no produce request outgrows a record batch', async () => {
    // 40 messages of 300 KB queued at once: one produce request with all of them would put
    // several into one partition's batch, larger than the topic's max.message.bytes (1 MiB).
    const bus = await newBus();
    const run = randomUUID();
    const received = new Set<string>();
    const consumer = await bus.consume(
      { group: `g-${run}`, topic: TOPICS.rawRum, ...BATCH },
      async (batch) => {
        for (const message of batch)
          if (message.headers['x-run'] === run)
            received.add(new TextDecoder().decode(message.value.subarray(0, 60)).trim());
      },
    );
    onTestFinished(() => consumer.close());
    const large = (n: number): OutgoingMessage[] =>
      messages(run, 1, n).map((m) => ({
        ...m,
        value: new TextEncoder().encode(`${run}:${n}`.padEnd(300_000)),
      }));
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, n) => outcome(bus.publish(TOPICS.rawRum, large(n)))),
    );
    expect(outcomes.filter((o) => o !== true)).toEqual([]);
    await until(() => received.size >= 40, 30_000, 'the 40 large messages');
    for (let n = 0; n < 40; n++) expect(received.has(`${run}:${n}`)).toBe(true);
  });

  it('refuses a message larger than the topic accepts with 413, and goes on with the next', async () => {
    const bus = await newBus();
    const run = randomUUID();
    const tooLarge = messages(run, 1, 0).map((m) => ({ ...m, value: new Uint8Array(2 * 1024 * 1024) }));
    const refused = await outcome(bus.publish(TOPICS.rawRum, tooLarge));
    expect(isSightlineError(refused) && refused.code).toBe('SL_ERR_BODY_TOO_LARGE');
    expect(isSightlineError(refused) && refused.status).toBe(413);
    expect(isSightlineError(refused) && refused.message).toMatch(/max\.message\.bytes/);
    expect(await outcome(bus.publish(TOPICS.rawRum, messages(run, 1, 1)))).toBe(true);
    expect(bus.health().ok).toBe(true);
  });

  it('never acknowledges a publish the broker dropped as a duplicate after a request was written in part', async () => {
    // A topic's limit lowered behind the bus's back makes one partition of a request fail while
    // the others are written. The client then does not advance those partitions' sequence
    // numbers; a next send with the same shape would be answered as a duplicate and dropped.
    const bus = await newBus();
    const run = randomUUID();
    const received = new Set<string>();
    const consumer = await bus.consume(
      { group: `g-${run}`, topic: TOPICS.otelTraces, ...BATCH },
      async (batch) => {
        for (const value of ofRun(run, batch)) received.add(value.trim());
      },
    );
    onTestFinished(() => consumer.close());
    const admin = new Admin({ clientId: 'sightline-test-admin', bootstrapBrokers: [kafka.bootstrap] });
    const limitTraces = (bytes: number) =>
      admin.alterConfigs({
        resources: [
          {
            resourceType: ConfigResourceTypes.TOPIC,
            resourceName: TOPICS.otelTraces,
            configs: [{ name: 'max.message.bytes', value: String(bytes) }],
          },
        ],
      });
    await limitTraces(100_000);
    onTestFinished(async () => {
      await limitTraces(1_048_588);
      await admin.close();
    });
    const small = (from: number): OutgoingMessage[] =>
      messages(run, 6, from).map((m, i) => ({ ...m, key: `spread-${i}` }));
    const tooLargeNow = messages(run, 1, 99).map((m) => ({
      ...m,
      key: 'large',
      value: new TextEncoder().encode(`${run}:99`.padEnd(200_000)),
    }));

    // The first publish occupies the sender, so the next two go out together in one request.
    const [, partly, written] = await Promise.all([
      outcome(bus.publish(TOPICS.otelTraces, messages(run, 1, 50))),
      outcome(bus.publish(TOPICS.otelTraces, tooLargeNow)),
      outcome(bus.publish(TOPICS.otelTraces, small(0))),
    ]);
    expect(partly).not.toBe(true);
    expect(written).not.toBe(true);
    // The brokers answered, with a refusal: readiness says so instead of "does not answer".
    expect(bus.health()).toEqual({
      ok: false,
      reason: expect.stringContaining('refused the last publish') as unknown,
    });

    expect(await outcome(bus.publish(TOPICS.otelTraces, small(10)))).toBe(true);
    await until(
      () => [10, 11, 12, 13, 14, 15].every((n) => received.has(`${run}:${n}`)),
      20_000,
      'the six acknowledged after the partial failure',
    );
  });

  it('consumes a message a plain Kafka client produced on raw-queries', async () => {
    const bus = await newBus();
    const run = randomUUID();
    const received: IncomingMessage[] = [];
    const consumer = await bus.consume(
      { group: `g-${run}`, topic: TOPICS.rawQueries, ...BATCH },
      async (batch) => {
        received.push(...batch.filter((m) => m.headers['x-run'] === run));
      },
    );
    const producer = new Producer({ clientId: 'plain-client', bootstrapBrokers: [kafka.bootstrap] });
    try {
      await producer.send({
        messages: [
          {
            topic: TOPICS.rawQueries,
            key: Buffer.from('pg-main'),
            value: Buffer.from('{"fingerprint":"abc","calls":3}'),
            // Without serializers the client sends header names as they are: Buffers.
            headers: new Map([
              [Buffer.from('org-id'), Buffer.from('org-9')],
              [Buffer.from('x-run'), Buffer.from(run)],
            ]),
          },
        ],
      });
    } finally {
      await producer.close();
    }
    await until(() => received.length >= 1, 20_000, 'the plain message');
    await consumer.close();
    expect(received[0]?.key).toBe('pg-main');
    expect(new TextDecoder().decode(received[0]?.value)).toBe('{"fingerprint":"abc","calls":3}');
    expect(received[0]?.headers[HEADERS.orgId]).toBe('org-9');
    expect(received[0]?.topic satisfies Topic | undefined).toBe('raw-queries');
  });
  it('lets a process exit as soon as its consumers closed, not after the drain timeout', async () => {
    // A process of its own: whatever timer close() leaves running keeps it alive. With a drain
    // timeout of two minutes, a leaked one outlasts the test's timeout.
    const script = `
      import { KafkaBus } from ${JSON.stringify(pathToFileURL(resolve('dist/src/bus/kafka.js')).href)};
      import { silentLogger } from ${JSON.stringify(pathToFileURL(resolve('dist/src/core/logger.js')).href)};
      const bus = new KafkaBus({ brokers: [${JSON.stringify(kafka.bootstrap)}], clientId: 'exit-test',
        sessionTimeoutMs: 3000, drainTimeoutMs: 120000 }, silentLogger());
      await bus.start();
      const consumer = await bus.consume({ group: 'exiting', topic: 'raw-logs', maxBatchMessages: 10,
        maxBatchBytes: 65536, maxWaitMs: 20 }, async () => {});
      await new Promise((done) => setTimeout(done, 500));
      await consumer.close();
      await bus.shutdown();
      process.stdout.write('closed');`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((done) => child.once('exit', done));
    expect(out).toBe('closed');
    expect(code).toBe(0);
  });
});
