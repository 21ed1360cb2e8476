import { setTimeout as sleep } from 'node:timers/promises';
import { SightlineError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type {
  BatchHandler,
  Bus,
  BusHealth,
  Consumer,
  ConsumerOptions,
  IncomingMessage,
  OutgoingMessage,
  TopicStats,
} from './bus.js';
import type { Topic } from './topics.js';

export interface MemoryBusOptions {
  /** Per topic, across groups: bytes published and not yet committed by every group. */
  maxQueueBytes: number;
  maxQueueMessages: number;
  /** What the full-bus error tells clients to wait. */
  retryAfterSeconds: number;
  /** How long shutdown waits for consumers to commit what is queued. */
  drainTimeoutMs?: number;
}

/** One publish call: resolves when every message in it was committed by every group. */
class Ticket {
  private remaining: number;
  readonly done: Promise<void>;
  private resolve!: () => void;
  private reject!: (error: Error) => void;

  constructor(messages: number) {
    this.remaining = messages;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  messageDone(): void {
    this.remaining--;
    if (this.remaining === 0) this.resolve();
  }

  fail(error: Error): void {
    this.reject(error);
  }
}

/** One message, shared by the queues of every group. */
class Delivery {
  constructor(
    readonly message: IncomingMessage,
    readonly bytes: number,
    readonly enqueuedAt: number,
    readonly ticket: Ticket,
    private groupsLeft: number,
    private readonly onDone: (delivery: Delivery) => void,
  ) {}

  commit(): void {
    this.groupsLeft--;
    if (this.groupsLeft === 0) {
      this.onDone(this);
      this.ticket.messageDone();
    }
  }
}

class TopicState {
  readonly groups = new Map<string, GroupConsumer>();
  nextOffset = 0n;
  pendingMessages = 0;
  pendingBytes = 0;
  committedMessages = 0;
  constructor(readonly topic: Topic) {}
}

class GroupConsumer implements Consumer {
  readonly queue: Delivery[] = [];
  private wake: (() => void) | undefined;
  private lingering: AbortController | undefined;
  private closed = false;
  private readonly loop: Promise<void>;
  private readonly abort = new AbortController();

  constructor(
    private readonly options: ConsumerOptions,
    private readonly handler: BatchHandler,
    private readonly logger: Logger,
    private readonly onClose: () => void,
  ) {
    this.loop = this.run();
  }

  enqueue(delivery: Delivery): void {
    this.queue.push(delivery);
    this.notify();
    if (this.lingering !== undefined && this.batchIsFull()) this.lingering.abort();
  }

  private batchIsFull(): boolean {
    const { maxBatchMessages, maxBatchBytes } = this.options;
    if (this.queue.length >= maxBatchMessages) return true;
    let bytes = 0;
    for (const delivery of this.queue) {
      bytes += delivery.bytes;
      if (bytes >= maxBatchBytes) return true;
    }
    return false;
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.abort.abort();
      this.notify();
    }
    await this.loop;
    this.onClose();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      if (this.queue.length === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      await this.linger();
      if (this.closed) break;
      const batch = this.takeBatch();
      try {
        await this.handler(batch.map((delivery) => delivery.message));
        failures = 0;
        this.queue.splice(0, batch.length);
        for (const delivery of batch) delivery.commit();
      } catch (error) {
        failures++;
        const delayMs = backoffMs(failures);
        this.logger.warn(
          {
            group: this.options.group,
            topic: this.options.topic,
            messages: batch.length,
            retryInMs: delayMs,
            err: errorMessage(error),
          },
          'batch failed; it will be delivered again',
        );
        await this.sleep(delayMs);
      }
    }
  }

  /** Waits until the batch is full or its oldest message has waited maxWaitMs. */
  private async linger(): Promise<void> {
    const oldest = this.queue[0];
    if (oldest === undefined || this.batchIsFull()) return;
    const waitMs = oldest.enqueuedAt + this.options.maxWaitMs - Date.now();
    if (waitMs <= 0) return;
    // Ended early by enqueue() when the batch fills, or by close().
    this.lingering = new AbortController();
    await this.sleep(waitMs, AbortSignal.any([this.lingering.signal, this.abort.signal]));
    this.lingering = undefined;
  }

  private takeBatch(): Delivery[] {
    const { maxBatchMessages, maxBatchBytes } = this.options;
    const batch: Delivery[] = [];
    let bytes = 0;
    for (const delivery of this.queue) {
      if (batch.length >= maxBatchMessages) break;
      if (batch.length > 0 && bytes + delivery.bytes > maxBatchBytes) break;
      batch.push(delivery);
      bytes += delivery.bytes;
    }
    return batch;
  }

  /** Sleeps until `ms` pass or `signal` aborts (close() by default); the caller rechecks its state either way. */
  private async sleep(ms: number, signal: AbortSignal = this.abort.signal): Promise<void> {
    try {
      await sleep(ms, undefined, { signal });
    } catch {
      // Aborted: woken early on purpose.
    }
  }
}

function backoffMs(failures: number): number {
  const capped = Math.min(5000, 100 * 2 ** Math.min(failures - 1, 6));
  return Math.round(capped / 2 + (Math.random() * capped) / 2);
}

/**
 * The embedded bus: bounded queues in this process, one per topic and consumer group.
 * Nothing is durable here, which is why a publish resolves only once every group has
 * committed (the store has the data); until then the publisher has acknowledged nothing.
 */
export class MemoryBus implements Bus {
  private readonly topics = new Map<Topic, TopicState>();
  private stopped = false;

  constructor(
    private readonly options: MemoryBusOptions,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {}

  publish(topic: Topic, messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    if (this.stopped) {
      return Promise.reject(
        new SightlineError(
          'SL_ERR_SHUTTING_DOWN',
          'Sightline is shutting down; send again after it restarts',
          {
            retryAfterSeconds: this.options.retryAfterSeconds,
          },
        ),
      );
    }
    const state = this.topic(topic);
    if (state.groups.size === 0) {
      return Promise.reject(new Error(`no consumer group reads topic ${topic}; this is a wiring bug`));
    }
    const bytes = messages.reduce((sum, m) => sum + m.value.byteLength, 0);
    const empty = state.pendingMessages === 0;
    // An empty topic takes any batch, so a single oversized request can never be refused forever.
    if (
      !empty &&
      (state.pendingBytes + bytes > this.options.maxQueueBytes ||
        state.pendingMessages + messages.length > this.options.maxQueueMessages)
    ) {
      return Promise.reject(
        new SightlineError(
          'SL_ERR_BUS_FULL',
          `the ${topic} queue is full (${state.pendingMessages} messages, ${state.pendingBytes} bytes waiting to be stored); retry later`,
          { retryAfterSeconds: this.options.retryAfterSeconds },
        ),
      );
    }
    const ticket = new Ticket(messages.length);
    const now = Date.now();
    const groups = [...state.groups.values()];
    for (const message of messages) {
      const size = message.value.byteLength;
      const incoming: IncomingMessage = { ...message, topic, offset: state.nextOffset++ };
      const delivery = new Delivery(incoming, size, now, ticket, groups.length, (done) => {
        state.pendingMessages--;
        state.pendingBytes -= done.bytes;
        state.committedMessages++;
      });
      state.pendingMessages++;
      state.pendingBytes += size;
      for (const group of groups) group.enqueue(delivery);
    }
    return ticket.done;
  }

  consume(options: ConsumerOptions, handler: BatchHandler): Promise<Consumer> {
    const state = this.topic(options.topic);
    if (state.groups.has(options.group)) {
      return Promise.reject(
        new Error(`group ${options.group} already consumes ${options.topic} on this bus`),
      );
    }
    const consumer = new GroupConsumer(options, handler, this.logger, () =>
      state.groups.delete(options.group),
    );
    state.groups.set(options.group, consumer);
    return Promise.resolve(consumer);
  }

  /** In this process: there whenever the process is. */
  health(): BusHealth {
    return this.stopped ? { ok: false, reason: 'the in-memory bus is stopped' } : { ok: true };
  }

  stats(): TopicStats[] {
    return [...this.topics.values()].map((s) => ({
      topic: s.topic,
      pendingMessages: s.pendingMessages,
      pendingBytes: s.pendingBytes,
      committedMessages: s.committedMessages,
    }));
  }

  /**
   * Waits for queued messages to be committed, then stops every consumer. What is still
   * queued after the drain timeout is failed back to its publishers, who have not
   * acknowledged it to anyone.
   */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    const deadline = Date.now() + (this.options.drainTimeoutMs ?? 30_000);
    while (this.pending() > 0 && Date.now() < deadline) await sleep(10);
    this.stopped = true;
    const left = this.pending();
    if (left > 0)
      this.logger.warn({ messages: left }, 'bus drain timed out; failing the rest back to publishers');
    for (const state of this.topics.values()) {
      for (const group of [...state.groups.values()]) {
        await group.close();
        for (const delivery of group.queue.splice(0)) {
          delivery.ticket.fail(
            new SightlineError(
              'SL_ERR_SHUTTING_DOWN',
              'Sightline stopped before this batch was stored; send it again',
              {
                retryAfterSeconds: this.options.retryAfterSeconds,
              },
            ),
          );
        }
      }
    }
  }

  private pending(): number {
    let total = 0;
    for (const state of this.topics.values()) total += state.pendingMessages;
    return total;
  }

  private topic(topic: Topic): TopicState {
    let state = this.topics.get(topic);
    if (state === undefined) {
      state = new TopicState(topic);
      this.topics.set(topic, state);
    }
    return state;
  }
}
