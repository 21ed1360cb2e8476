import { describe, expect, it } from 'vitest';
import { logsRequestBody } from '../../test/harness/otlp-requests.js';
import { MemoryBus } from '../bus/memory.js';
import { HEADERS, TOPICS } from '../bus/topics.js';
import { silentLogger } from '../core/logger.js';
import { SelfMetrics } from '../core/telemetry.js';
import type { DeadLetterRow, LogRow } from '../store/rows.js';
import type { Store, WriteResult } from '../store/store.js';
import { ProcessorRole } from './processor.js';
import { createStageChain } from './stages/registry.js';
import { configSchema } from '../config/schema.js';

/** Only the writes matter here; the store's reads are not part of the processor. */
class ScriptedStore {
  readonly logs: LogRow[] = [];
  readonly deadLetters: DeadLetterRow[] = [];
  writes = 0;
  constructor(private readonly refuse: (rows: readonly LogRow[]) => boolean) {}

  async writeLogs(rows: readonly LogRow[]): Promise<WriteResult> {
    this.writes++;
    if (this.refuse(rows)) throw new Error('Conversion Error: the store refused the batch');
    this.logs.push(...rows);
    return { inserted: rows.length, duplicates: 0 };
  }

  async writeDeadLetters(rows: readonly DeadLetterRow[]): Promise<WriteResult> {
    this.deadLetters.push(...rows);
    return { inserted: rows.length, duplicates: 0 };
  }
}

async function processorWith(store: ScriptedStore) {
  const logger = silentLogger();
  const bus = new MemoryBus(
    { maxQueueBytes: 1 << 24, maxQueueMessages: 100, retryAfterSeconds: 1, drainTimeoutMs: 300 },
    logger,
  );
  const processor = new ProcessorRole({
    stages: createStageChain(configSchema.parse({}).processor.stages),
    bus,
    store: store as unknown as Store,
    metrics: new SelfMetrics({ processMetrics: false }),
    logger,
    batch: { maxMessages: 10, maxBytes: 1 << 24, maxWaitMs: 30 },
  });
  await processor.start();
  return { bus, processor };
}

const headers = { [HEADERS.orgId]: 'org', [HEADERS.receivedAt]: String(Date.now()) };

describe('Processor when the store refuses part of a batch', () => {
  it('stores the other messages and sets the refused one aside with the reason', async () => {
    const store = new ScriptedStore((rows) => rows.some((r) => r.body === 'poison'));
    const { bus, processor } = await processorWith(store);
    await bus.publish(TOPICS.otelLogs, [
      { key: 'a', value: logsRequestBody(['first']), headers },
      { key: 'b', value: logsRequestBody(['poison']), headers },
      { key: 'c', value: logsRequestBody(['third']), headers },
    ]);
    expect(store.logs.map((r) => r.body).sort()).toEqual(['first', 'third']);
    expect(store.deadLetters).toHaveLength(1);
    expect(store.deadLetters[0]?.reason).toBe(
      'the store refused it: Conversion Error: the store refused the batch',
    );
    await bus.shutdown();
    await processor.shutdown();
  });

  it('retries the whole batch, setting nothing aside, when the store refuses every message', async () => {
    let failing = true;
    const store = new ScriptedStore(() => failing);
    const { bus, processor } = await processorWith(store);
    const published = bus.publish(TOPICS.otelLogs, [
      { key: 'a', value: logsRequestBody(['one']), headers },
      { key: 'b', value: logsRequestBody(['two']), headers },
    ]);
    await new Promise((r) => setTimeout(r, 150));
    expect(store.writes).toBeGreaterThanOrEqual(3);
    failing = false;
    await published;
    expect(store.logs.map((r) => r.body).sort()).toEqual(['one', 'two']);
    expect(store.deadLetters).toEqual([]);
    await bus.shutdown();
    await processor.shutdown();
  });
});
