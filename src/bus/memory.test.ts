import { describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.js';
import { SightlineError } from '../core/errors.js';
import type { IncomingMessage, OutgoingMessage } from './bus.js';
import { MemoryBus } from './memory.js';

const options = { maxQueueBytes: 1000, maxQueueMessages: 10, retryAfterSeconds: 3, drainTimeoutMs: 2000 };
const consumerOptions = {
  group: 'g',
  topic: 'otel-logs' as const,
  maxBatchMessages: 100,
  maxBatchBytes: 10_000,
  maxWaitMs: 0,
};

function message(text: string): OutgoingMessage {
  return { key: 'k', value: new TextEncoder().encode(text), headers: { 'org-id': 'o' } };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('MemoryBus', () => {
  it('resolves a publish only after the consumer committed it', async () => {
    const bus = new MemoryBus(options, silentLogger());
    const gate = deferred();
    const seen: string[] = [];
    await bus.consume(consumerOptions, async (batch) => {
      await gate.promise;
      seen.push(...batch.map((m) => new TextDecoder().decode(m.value)));
    });
    let acknowledged = false;
    const publish = bus.publish('otel-logs', [message('a')]).then(() => (acknowledged = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(acknowledged).toBe(false);
    gate.resolve();
    await publish;
    expect(acknowledged).toBe(true);
    expect(seen).toEqual(['a']);
    await bus.shutdown();
  });

  it('waits for every consumer group before acknowledging', async () => {
    const bus = new MemoryBus(options, silentLogger());
    const slow = deferred();
    await bus.consume({ ...consumerOptions, group: 'fast' }, async () => {});
    await bus.consume({ ...consumerOptions, group: 'slow' }, () => slow.promise);
    let acknowledged = false;
    const publish = bus.publish('otel-logs', [message('x')]).then(() => (acknowledged = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(acknowledged).toBe(false);
    slow.resolve();
    await publish;
    await bus.shutdown();
  });

  it('answers a retryable error when the topic is full instead of growing', async () => {
    const bus = new MemoryBus(options, silentLogger());
    const gate = deferred();
    await bus.consume(consumerOptions, () => gate.promise);
    const first = bus.publish('otel-logs', [message('x'.repeat(600))]);
    const refused = bus.publish('otel-logs', [message('y'.repeat(600))]);
    await expect(refused).rejects.toMatchObject({
      code: 'SL_ERR_BUS_FULL',
      status: 503,
      retryAfterSeconds: 3,
    });
    expect(bus.stats()).toEqual([
      { topic: 'otel-logs', pendingMessages: 1, pendingBytes: 600, committedMessages: 0 },
    ]);
    gate.resolve();
    await first;
    expect(bus.stats()[0]).toMatchObject({ pendingBytes: 0, committedMessages: 1 });
    await bus.shutdown();
  });

  it('delivers a failed batch again and acknowledges once it succeeds', async () => {
    const bus = new MemoryBus(options, silentLogger());
    let attempts = 0;
    await bus.consume(consumerOptions, async () => {
      attempts++;
      if (attempts < 3) throw new Error('store down');
    });
    await bus.publish('otel-logs', [message('a')]);
    expect(attempts).toBe(3);
    await bus.shutdown();
  });

  it('batches messages that wait together, within the batch limits', async () => {
    const bus = new MemoryBus(options, silentLogger());
    const batches: IncomingMessage[][] = [];
    await bus.consume({ ...consumerOptions, maxBatchMessages: 3, maxWaitMs: 30 }, async (batch) => {
      batches.push([...batch]);
    });
    await Promise.all(['1', '2', '3', '4', '5'].map((t) => bus.publish('otel-logs', [message(t)])));
    expect(batches.map((b) => b.length)).toEqual([3, 2]);
    expect(batches.flat().map((m) => m.offset)).toEqual([0n, 1n, 2n, 3n, 4n]);
    await bus.shutdown();
  });

  it('hands a consumer one batch at a time', async () => {
    const bus = new MemoryBus(options, silentLogger());
    const first = deferred();
    const seen: string[] = [];
    await bus.consume({ ...consumerOptions, maxBatchMessages: 1 }, async (batch) => {
      const text = new TextDecoder().decode(batch[0]?.value);
      seen.push(text);
      if (text === 'a') await first.promise;
    });
    const a = bus.publish('otel-logs', [message('a')]);
    const b = bus.publish('otel-logs', [message('b')]);
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual(['a']);
    first.resolve();
    await Promise.all([a, b]);
    expect(seen).toEqual(['a', 'b']);
    await bus.shutdown();
  });

  it('delivers a batch as soon as it is full instead of lingering', { timeout: 5_000 }, async () => {
    const bus = new MemoryBus(options, silentLogger());
    const batches: number[] = [];
    await bus.consume({ ...consumerOptions, maxBatchMessages: 2, maxWaitMs: 600_000 }, async (batch) => {
      batches.push(batch.length);
    });
    const first = bus.publish('otel-logs', [message('1')]);
    // Let the consumer start lingering on the first message before the second arrives.
    await new Promise((r) => setTimeout(r, 20));
    await Promise.all([first, bus.publish('otel-logs', [message('2')])]);
    expect(batches).toEqual([2]);
    await bus.shutdown();
  });

  it('drains on shutdown, then refuses new messages with a retryable error', async () => {
    const bus = new MemoryBus(options, silentLogger());
    const stored: string[] = [];
    await bus.consume({ ...consumerOptions, maxWaitMs: 50 }, async (batch) => {
      stored.push(...batch.map((m) => new TextDecoder().decode(m.value)));
    });
    const pending = bus.publish('otel-logs', [message('last')]);
    await bus.shutdown();
    await pending;
    expect(stored).toEqual(['last']);
    const late = bus.publish('otel-logs', [message('late')]);
    await expect(late).rejects.toBeInstanceOf(SightlineError);
    await expect(late).rejects.toMatchObject({ code: 'SL_ERR_SHUTTING_DOWN' });
  });

  it('fails what it could not drain back to the publisher', async () => {
    const bus = new MemoryBus({ ...options, drainTimeoutMs: 50 }, silentLogger());
    await bus.consume(consumerOptions, () => Promise.reject(new Error('store down')));
    const pending = bus.publish('otel-logs', [message('stuck')]);
    await bus.shutdown();
    await expect(pending).rejects.toMatchObject({ code: 'SL_ERR_SHUTTING_DOWN' });
  });
});
