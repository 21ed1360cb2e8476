import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { KafkaBus } from '../../src/bus/kafka.js';
import { KafkaGroupLag } from '../../src/bus/kafka-group-lag.js';
import { HEADERS, TOPICS } from '../../src/bus/topics.js';
import { silentLogger } from '../../src/core/logger.js';
import { KAFKA_INSTALL_HINT, kafkaAvailable, startKafka, type KafkaInstance } from '../harness/kafka.js';
import { requireService } from '../harness/service-missing.js';

const available = requireService('Kafka', kafkaAvailable(), KAFKA_INSTALL_HINT);

/**
 * What an api process of a scale-out deployment shows as the processors' lag: another
 * process's consumer group, read from a real broker without joining it.
 */
describe.skipIf(!available)('KafkaGroupLag against a real broker', () => {
  let kafka: KafkaInstance;
  let bus: KafkaBus;

  beforeAll(async () => {
    kafka = await startKafka();
    bus = new KafkaBus(
      {
        brokers: [kafka.bootstrap],
        clientId: 'group-lag-test',
        sessionTimeoutMs: 3000,
        drainTimeoutMs: 5000,
      },
      silentLogger(),
    );
    await bus.start();
  }, 60_000);

  afterAll(async () => {
    await bus?.shutdown();
    await kafka?.stop();
  });

  // Were the reader a member, the group would hand it partitions it never reads, and the handler
  // below would not see all eight messages.
  it('follows a group’s lag and committed count as it works through a backlog, and never joins it', async () => {
    const group = `workers-${randomUUID()}`;
    const reader = new KafkaGroupLag(
      {
        brokers: [kafka.bootstrap],
        clientId: 'api',
        group,
        topics: [TOPICS.rawLogs, TOPICS.rawRum],
        intervalMs: 200,
      },
      silentLogger(),
    );
    await reader.start();
    try {
      const message = (i: number) => ({
        key: `k${i}`,
        value: new TextEncoder().encode(`backlog ${i}`),
        headers: { [HEADERS.orgId]: 'org-1' },
      });
      // Before the group exists: everything on the topic is still to do.
      const before = reader.stats().find((s) => s.topic === TOPICS.rawLogs)?.pendingMessages ?? 0;
      await bus.publish(
        TOPICS.rawLogs,
        Array.from({ length: 8 }, (_, i) => message(i)),
      );
      await vi.waitUntil(
        () => reader.stats().find((s) => s.topic === TOPICS.rawLogs)?.pendingMessages === before + 8,
        {
          timeout: 10_000,
        },
      );

      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let handled = 0;
      const consumer = await bus.consume(
        { group, topic: TOPICS.rawLogs, maxBatchMessages: 100, maxBatchBytes: 1 << 20, maxWaitMs: 20 },
        async (batch) => {
          await gate;
          handled += batch.length;
        },
      );
      // The group holds the backlog while its handler waits: nothing committed yet.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(reader.stats().find((s) => s.topic === TOPICS.rawLogs)).toMatchObject({
        pendingMessages: before + 8,
        committedMessages: 0,
        pendingBytes: null,
      });
      release();
      await vi.waitUntil(() => handled >= before + 8, { timeout: 20_000 });
      await vi.waitUntil(
        () => reader.stats().find((s) => s.topic === TOPICS.rawLogs)?.pendingMessages === 0,
        {
          timeout: 10_000,
        },
      );
      expect(reader.stats().find((s) => s.topic === TOPICS.rawLogs)?.committedMessages).toBe(before + 8);
      // A topic the group never consumed: all of it pending, none committed.
      expect(reader.stats().find((s) => s.topic === TOPICS.rawRum)).toMatchObject({ committedMessages: 0 });
      await consumer.close();
    } finally {
      await reader.shutdown();
    }
  });

  it('keeps no figures for brokers it cannot reach, and stops cleanly', async () => {
    const reader = new KafkaGroupLag(
      { brokers: ['127.0.0.1:1'], clientId: 'api', group: 'nobody', topics: [TOPICS.rawLogs] },
      silentLogger(),
    );
    await reader.start();
    expect(reader.stats()).toEqual([]);
    await reader.shutdown();
  });
});
