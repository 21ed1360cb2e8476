import { setTimeout as sleep } from 'node:timers/promises';
import {
  Admin,
  ConfigResourceTypes,
  Consumer as KafkaConsumer,
  ProduceAcks,
  Producer,
  type Message,
  type MessagesStream,
} from '@platformatic/kafka';
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
import { TOPICS, type Topic } from './topics.js';

export interface KafkaBusOptions {
  /** `host:port` of one or more brokers to bootstrap from. */
  brokers: string[];
  clientId: string;
  /** Partitions of the topics this bus creates (existing topics are left as they are). */
  partitions?: number;
  replicationFactor?: number;
  /** How long a publish may wait for the brokers' acknowledgement before it fails retryably. */
  publishTimeoutMs?: number;
  /** What a failed publish tells clients to wait. */
  retryAfterSeconds?: number;
  /** How long close() and shutdown() wait for an in-flight batch before leaving without committing it. */
  drainTimeoutMs?: number;
  /** Consumer group session timeout: how soon the group notices a member that died. */
  sessionTimeoutMs?: number;
  /** How often stats() figures are refreshed from the brokers. */
  statsIntervalMs?: number;
  /**
   * `max.message.bytes` of the topics this bus creates: the largest message (one OTLP request)
   * it can publish. Existing topics keep theirs; publish() refuses larger messages with 413.
   */
  maxMessageBytes?: number;
}

type Resolved = Required<KafkaBusOptions>;

/** Kafka's own default of `max.message.bytes` (1 MiB plus the record batch overhead). */
const KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

const DEFAULTS: Omit<Resolved, 'brokers' | 'clientId'> = {
  partitions: 3,
  replicationFactor: 1,
  publishTimeoutMs: 10_000,
  retryAfterSeconds: 5,
  drainTimeoutMs: 30_000,
  sessionTimeoutMs: 10_000,
  statsIntervalMs: 5_000,
  maxMessageBytes: KAFKA_DEFAULT_MAX_MESSAGE_BYTES,
};

/** Room for a record batch's header in a produce request's per-partition batch. */
const BATCH_OVERHEAD_BYTES = 256;

/** The error code of a publish the brokers did not acknowledge: a 503 callers retry. */
const UNAVAILABLE = 'SL_ERR_BUS_UNAVAILABLE';

/**
 * The scale-out bus on Apache Kafka (@platformatic/kafka). `publish` resolves only once every
 * partition leader acknowledged with acks=all from an idempotent producer; a consumer commits
 * a batch's offsets only after its handler resolved, and only for partitions it still owns.
 */
export class KafkaBus implements Bus {
  private readonly options: Resolved;
  private producer: Producer | undefined;
  /** The smallest `max.message.bytes` of the topics: what one record batch may hold. */
  private messageLimit = KAFKA_DEFAULT_MAX_MESSAGE_BYTES;
  private readonly consumers = new Set<GroupConsumer>();
  private started = false;
  private stopped = false;
  private readonly queue: PendingPublish[] = [];
  private sending = false;
  private lastHealth: BusHealth = { ok: true };
  private healthTimer: NodeJS.Timeout | undefined;

  constructor(
    options: KafkaBusOptions,
    private readonly logger: Logger,
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Creates the topics of topics.ts that are missing, then connects the producer. */
  async start(): Promise<void> {
    if (this.started) return;
    const admin = new Admin(this.clientOptions('admin'));
    try {
      const existing = new Set(await admin.listTopics());
      const missing = Object.values(TOPICS).filter((topic) => !existing.has(topic));
      if (missing.length > 0) {
        try {
          await admin.createTopics({
            topics: missing,
            partitions: this.options.partitions,
            replicas: this.options.replicationFactor,
            configs: [{ name: 'max.message.bytes', value: String(this.options.maxMessageBytes) }],
          });
        } catch (error) {
          // Another process may have created them between the list and the create.
          const still = new Set(await admin.listTopics({}));
          if (missing.some((topic) => !still.has(topic))) throw error;
        }
        this.logger.info({ topics: missing, partitions: this.options.partitions }, 'created Kafka topics');
      }
      this.messageLimit = await this.topicMessageLimit(admin);
    } catch (error) {
      throw new SightlineError(
        'SL_ERR_CONFIG_INVALID',
        `could not create the Sightline topics on Kafka at ${this.options.brokers.join(',')}: ${errorMessage(error)}; ` +
          'check bus.kafka.brokers and that the brokers accept CreateTopics from this client',
        { cause: error },
      );
    } finally {
      await admin.close().catch(() => undefined);
    }
    this.producer = this.newProducer();
    this.healthTimer = setInterval(() => void this.probe(), this.options.statsIntervalMs);
    this.healthTimer.unref();
    this.started = true;
  }

  private newProducer(): Producer {
    return new Producer({ ...this.clientOptions('producer'), idempotent: true, acks: ProduceAcks.ALL });
  }

  /**
   * The smallest `max.message.bytes` of the Sightline topics. Topics created elsewhere may
   * allow less than a request the gateway accepts; that is logged with what to change.
   */
  private async topicMessageLimit(admin: Admin): Promise<number> {
    const topics = Object.values(TOPICS);
    let described;
    try {
      described = await admin.describeConfigs({
        resources: topics.map((topic) => ({
          resourceType: ConfigResourceTypes.TOPIC,
          resourceName: topic,
          configurationKeys: ['max.message.bytes'],
        })),
      });
    } catch (error) {
      this.logger.warn(
        { err: errorMessage(error), assumed: KAFKA_DEFAULT_MAX_MESSAGE_BYTES },
        "could not read the topics' max.message.bytes (DescribeConfigs); assuming Kafka's default",
      );
      return KAFKA_DEFAULT_MAX_MESSAGE_BYTES;
    }
    let limit = Number.POSITIVE_INFINITY;
    const smaller: string[] = [];
    for (const { resourceName, configs } of described) {
      const value = Number(configs.find((config) => config.name === 'max.message.bytes')?.value);
      if (!Number.isFinite(value) || value <= 0) continue;
      limit = Math.min(limit, value);
      if (value < this.options.maxMessageBytes) smaller.push(`${resourceName} (${value})`);
    }
    if (smaller.length > 0) {
      this.logger.warn(
        { topics: smaller, wanted: this.options.maxMessageBytes },
        'these topics accept smaller messages than the gateway accepts requests; larger requests are refused with 413. ' +
          `Raise them with: kafka-configs.sh --alter --entity-type topics --entity-name <topic> --add-config max.message.bytes=${this.options.maxMessageBytes}`,
      );
    }
    return Number.isFinite(limit) ? limit : KAFKA_DEFAULT_MAX_MESSAGE_BYTES;
  }

  /**
   * From the last publish or metadata probe (every statsIntervalMs), so `/readyz` turns 503
   * while the brokers are unreachable and 200 again once they answer, with or without traffic.
   */
  health(): BusHealth {
    if (this.stopped) return { ok: false, reason: 'the Kafka bus is stopped' };
    return this.lastHealth;
  }

  private async probe(): Promise<void> {
    const producer = this.producer;
    if (producer === undefined || this.stopped) return;
    const timeout = new AbortController();
    try {
      await Promise.race([
        producer.metadata({ topics: [TOPICS.otelLogs], forceUpdate: true }),
        sleep(this.options.publishTimeoutMs, undefined, { signal: timeout.signal }).then(() => {
          throw new Error(`no answer within ${this.options.publishTimeoutMs} ms`);
        }),
      ]);
      this.lastHealth = { ok: true };
    } catch (error) {
      this.unhealthy(error);
    } finally {
      timeout.abort();
    }
  }

  private unhealthy(error: unknown): void {
    const brokers = this.options.brokers.join(', ');
    this.lastHealth = {
      ok: false,
      reason: brokerRefused(error)
        ? `Kafka at ${brokers} refused the last publish (${errorMessage(error)})`
        : `Kafka at ${brokers} does not answer (${errorMessage(error)})`,
    };
  }

  /**
   * Resolves once the brokers acknowledged every message (acks=all). Publishes are sent one
   * produce request at a time, the ones that arrive meanwhile together in the next: the
   * idempotent producer of @platformatic/kafka 1.x acknowledges concurrent sends while the
   * broker drops all but one of them as duplicate sequence numbers (platformatic/kafka#326),
   * and one request for many callers is the cheaper way anyway.
   */
  async publish(topic: Topic, messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    if (this.stopped || this.producer === undefined) {
      throw new SightlineError(
        'SL_ERR_SHUTTING_DOWN',
        'the Kafka bus is not running; send again after Sightline restarts',
        { retryAfterSeconds: this.options.retryAfterSeconds },
      );
    }
    const pending = new PendingPublish(topic, messages);
    const largest = Math.max(...pending.sizes);
    if (largest + BATCH_OVERHEAD_BYTES > this.messageLimit) {
      throw new SightlineError(
        'SL_ERR_BODY_TOO_LARGE',
        `a message of ${largest} bytes for ${topic} is larger than the topic accepts ` +
          `(max.message.bytes ${this.messageLimit}); send smaller batches, or raise max.message.bytes of ${topic}`,
      );
    }
    this.queue.push(pending);
    void this.sendQueued();
    const timeout = new AbortController();
    try {
      // The client retries on its own; the timeout bounds how long a caller (an HTTP request) waits.
      await Promise.race([
        pending.done,
        sleep(this.options.publishTimeoutMs, undefined, { signal: timeout.signal }).then(() => {
          throw new Error(`no acknowledgement within ${this.options.publishTimeoutMs} ms`);
        }),
      ]);
    } catch (error) {
      // Not sent yet: it never will be. Sent: a late acknowledgement makes a duplicate, which
      // the store removes by record id.
      const queued = this.queue.indexOf(pending);
      if (queued !== -1) this.queue.splice(queued, 1);
      this.unhealthy(error);
      pending.done.catch(() => undefined);
      throw new SightlineError(
        UNAVAILABLE,
        `Kafka did not acknowledge ${messages.length} message(s) for ${topic} (${errorMessage(error)}); nothing was stored, send again later`,
        { retryAfterSeconds: this.options.retryAfterSeconds, cause: error },
      );
    } finally {
      timeout.abort();
    }
  }

  /**
   * Sends what is queued, one produce request at a time, until the queue is empty. A request
   * holds no more bytes than one record batch may, so no partition's batch in it is refused
   * as too large.
   */
  private async sendQueued(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.queue.length > 0 && this.producer !== undefined) {
        const batch = this.nextRequest();
        try {
          await this.producer.send({ messages: batch.flatMap((pending) => pending.records()) });
          this.lastHealth = { ok: true };
          for (const pending of batch) pending.resolve();
        } catch (error) {
          this.unhealthy(error);
          for (const pending of batch) pending.reject(error);
          this.renewProducer();
        }
      }
    } finally {
      this.sending = false;
    }
  }

  private nextRequest(): PendingPublish[] {
    let bytes = BATCH_OVERHEAD_BYTES;
    let count = 0;
    while (count < this.queue.length && count < MAX_PUBLISHES_PER_REQUEST) {
      const next = this.queue[count]?.bytes ?? 0;
      if (count > 0 && bytes + next > this.messageLimit) break;
      bytes += next;
      count++;
    }
    return this.queue.splice(0, count);
  }

  /**
   * After a failed send the producer is replaced, so the next send starts a new producer id.
   * When some partitions of a request were written and another failed, @platformatic/kafka
   * does not advance the sequence numbers of the written ones; its next send to them would
   * reuse those numbers, and the broker would drop it as a duplicate while answering success.
   * The callers of the failed send were refused; what of it was written is stored, and their
   * retry is removed again by record id.
   */
  private renewProducer(): void {
    const failed = this.producer;
    if (failed === undefined || this.stopped) return;
    this.producer = this.newProducer();
    failed.close().catch((error: unknown) => {
      this.logger.warn({ err: errorMessage(error) }, 'closing the failed Kafka producer failed');
    });
  }

  async consume(options: ConsumerOptions, handler: BatchHandler): Promise<Consumer> {
    if (this.stopped) throw new Error('the Kafka bus is shut down; consume() must come before shutdown()');
    const consumer = new GroupConsumer(options, handler, this.options, this.logger, (done) =>
      this.consumers.delete(done),
    );
    this.consumers.add(consumer);
    try {
      await consumer.start();
    } catch (error) {
      await consumer.close();
      throw error;
    }
    return consumer;
  }

  /**
   * Per topic, the consumer lag of the groups this process consumes with (log end offset minus
   * committed offset, summed over partitions). Bytes are an estimate: lag times the mean size of
   * the messages this process received, as Kafka does not report the bytes behind an offset.
   * Refreshed every statsIntervalMs, so the figures may be that old.
   */
  stats(): TopicStats[] {
    const byTopic = new Map<Topic, TopicStats>();
    for (const consumer of this.consumers) {
      const { topic } = consumer.options;
      const entry = byTopic.get(topic) ?? {
        topic,
        pendingMessages: 0,
        pendingBytes: 0,
        committedMessages: 0,
      };
      entry.pendingMessages += consumer.lag;
      entry.committedMessages += consumer.committed;
      entry.pendingBytes += Math.round(consumer.lag * consumer.meanMessageBytes);
      byTopic.set(topic, entry);
    }
    return [...byTopic.values()];
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.healthTimer);
    await Promise.all([...this.consumers].map((consumer) => consumer.close()));
    await this.producer?.close().catch((error: unknown) => {
      this.logger.warn({ err: errorMessage(error) }, 'closing the Kafka producer failed');
    });
  }

  private clientOptions(role: string) {
    return {
      clientId: `${this.options.clientId}-${role}`,
      bootstrapBrokers: this.options.brokers,
      connectTimeout: 3000,
      timeout: Math.min(5000, this.options.publishTimeoutMs),
      retries: 3,
      retryDelay: 250,
    };
  }
}

/** Publishes one produce request carries at most: a bounded request even under a burst. */
const MAX_PUBLISHES_PER_REQUEST = 256;

/** A record's framing in a batch beyond its key, value and headers (varints, deltas): at most this. */
const RECORD_OVERHEAD_BYTES = 32;
const HEADER_OVERHEAD_BYTES = 8;

/** One caller's messages waiting for their produce request. */
class PendingPublish {
  readonly done: Promise<void>;
  /** Per message: its bytes in a record batch, about (key, value, headers and their lengths). */
  readonly sizes: number[];
  /** All messages' sizes. */
  readonly bytes: number;
  resolve: () => void = () => undefined;
  reject: (error: unknown) => void = () => undefined;

  constructor(
    private readonly topic: Topic,
    private readonly messages: readonly OutgoingMessage[],
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.sizes = messages.map(
      (message) =>
        RECORD_OVERHEAD_BYTES +
        Buffer.byteLength(message.key) +
        message.value.byteLength +
        Object.entries(message.headers).reduce(
          (sum, [name, value]) =>
            sum + HEADER_OVERHEAD_BYTES + Buffer.byteLength(name) + Buffer.byteLength(value),
          0,
        ),
    );
    this.bytes = this.sizes.reduce((sum, size) => sum + size, 0);
  }

  records() {
    return this.messages.map((message) => ({
      topic: this.topic,
      key: Buffer.from(message.key),
      value: Buffer.from(message.value.buffer, message.value.byteOffset, message.value.byteLength),
      headers: new Map(
        Object.entries(message.headers).map(([name, value]) => [Buffer.from(name), Buffer.from(value)]),
      ),
    }));
  }
}

interface Buffered {
  message: IncomingMessage;
  partition: number;
  bytes: number;
  receivedAt: number;
}

/**
 * One Sightline consumer: a member of a Kafka consumer group reading one topic. Messages flow
 * from the client's stream into a bounded buffer; batches go to the handler one at a time.
 *
 * Offsets: the stream starts at the group's committed offsets and autocommit is off. After the
 * handler resolves, the next offset of each partition in the batch is committed, for the
 * partitions this member still owns. A rejected batch is kept and handed over again after a
 * backoff (minus partitions lost meanwhile). A rebalance that takes partitions away drops their
 * buffered messages; the new owner starts at the last commit, so a batch in flight during the
 * rebalance may be processed twice — at-least-once, deduplicated at the store by record id.
 */
/**
 * One Kafka consumer group per bus group and topic: members of one Kafka group that subscribe
 * to different topics rebalance together whenever any of them joins or leaves, so a processor
 * with a consumer per topic would stall every topic on each change. The bus contract is per
 * topic anyway: a group sees every message of the topics it consumes once.
 */
export function kafkaGroupId(options: Pick<ConsumerOptions, 'group' | 'topic'>): string {
  return `${options.group}.${options.topic}`;
}

class GroupConsumer implements Consumer {
  private readonly client: KafkaConsumer;
  private stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  private readonly buffer: Buffered[] = [];
  private bufferedBytes = 0;
  /** Per partition, the lowest offset still welcome: below it is a re-fetch of what we hold. */
  private readonly nextOffset = new Map<number, bigint>();
  private owned = new Set<number>();
  private inFlight: Buffered[] = [];
  private closing = false;
  private abandoned = false;
  private readonly wakeUp = new AbortController();
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private streamLoop: Promise<void> | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  lag = 0;
  /** The group's committed offsets summed over partitions, as of the last refresh. */
  committed = 0;
  meanMessageBytes = 0;
  private received = 0;

  constructor(
    readonly options: ConsumerOptions,
    private readonly handler: BatchHandler,
    private readonly bus: Resolved,
    private readonly logger: Logger,
    private readonly onClosed: (consumer: GroupConsumer) => void,
  ) {
    this.client = new KafkaConsumer({
      clientId: `${bus.clientId}-${options.group}`,
      bootstrapBrokers: bus.brokers,
      groupId: kafkaGroupId(options),
      sessionTimeout: bus.sessionTimeoutMs,
      heartbeatInterval: Math.max(100, Math.floor(bus.sessionTimeoutMs / 3)),
      rebalanceTimeout: Math.max(bus.sessionTimeoutMs, 10_000),
      connectTimeout: 3000,
      timeout: 5000,
      retries: 3,
      retryDelay: 250,
    });
    this.client.on('consumer:group:join', (payload) => {
      const assigned = (payload.assignments ?? []).find((a) => a.topic === options.topic);
      this.reassigned(new Set(assigned?.partitions ?? []));
    });
  }

  async start(): Promise<void> {
    await this.openStream();
    this.streamLoop = this.keepStreamOpen();
    this.loop = this.run();
    this.statsTimer = setInterval(() => void this.refreshLag(), this.bus.statsIntervalMs);
    this.statsTimer.unref();
  }

  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      clearInterval(this.statsTimer);
      this.notify();
      // The timer is cancelled once the loop is done: left running it kept the process alive
      // for the whole drain timeout after every clean shutdown.
      const drainTimer = new AbortController();
      const drained = await Promise.race([
        (this.loop ?? Promise.resolve()).then(() => true),
        sleep(this.bus.drainTimeoutMs, false, { signal: drainTimer.signal }).catch(() => false),
      ]);
      drainTimer.abort();
      if (!drained) {
        this.abandoned = true;
        this.logger.warn(
          { group: this.options.group, topic: this.options.topic, messages: this.inFlight.length },
          'a batch was still being handled at close; leaving without committing it',
        );
      }
      this.wakeUp.abort();
      await this.stream?.close().catch(() => undefined);
      await this.streamLoop;
      // Leaving the group hands our partitions over at once instead of after the session timeout.
      await new Promise<void>((resolve, reject) => {
        // force: closes the fetch streams first (the promise overload of close() takes no force).
        this.client.close(true, (error) => (error ? reject(error) : resolve()));
      }).catch((error: unknown) => {
        this.logger.warn(
          { group: this.options.group, err: errorMessage(error) },
          'leaving the Kafka group failed',
        );
      });
      this.onClosed(this);
    }
  }

  private async openStream(): Promise<void> {
    this.stream = await this.client.consume({
      topics: [this.options.topic],
      mode: 'committed',
      // A group without commits starts at the beginning: nothing published is skipped.
      fallbackMode: 'earliest',
      autocommit: false,
      maxWaitTime: Math.max(10, Math.min(this.options.maxWaitMs, 1000)),
      maxBytes: Math.max(this.options.maxBatchBytes, 1024 * 1024),
    });
  }

  /** Pumps the client's stream into the buffer; when the stream fails (broker gone) opens a new one. */
  private async keepStreamOpen(): Promise<void> {
    let failures = 0;
    while (!this.closing) {
      const stream = this.stream;
      if (stream === undefined) {
        try {
          await this.openStream();
          failures = 0;
        } catch (error) {
          failures++;
          this.logger.warn(
            { group: this.options.group, topic: this.options.topic, err: errorMessage(error) },
            'could not join the Kafka group; retrying',
          );
          await this.pause(backoffMs(failures));
        }
        continue;
      }
      try {
        for await (const message of stream) {
          this.accept(message);
          while (this.bufferIsFull() && !this.closing) await this.pause(50);
          if (this.closing) break;
        }
      } catch (error) {
        if (!this.closing) {
          this.logger.warn(
            { group: this.options.group, topic: this.options.topic, err: errorMessage(error) },
            'the Kafka fetch stream failed; reopening it at the committed offsets',
          );
        }
      }
      this.stream = undefined;
      await stream.close().catch(() => undefined);
      if (this.closing) break;
      // The new stream starts at the committed offsets: drop what it will fetch again.
      this.dropBuffered();
      failures++;
      await this.pause(backoffMs(failures));
    }
  }

  private accept(message: Message<Buffer, Buffer, Buffer, Buffer>): void {
    const { partition, offset } = message;
    if (!this.owned.has(partition)) return;
    const next = this.nextOffset.get(partition);
    if (next !== undefined && offset < next) return;
    this.nextOffset.set(partition, offset + 1n);
    const headers: Record<string, string> = {};
    for (const [name, value] of message.headers) headers[name.toString('utf8')] = value.toString('utf8');
    const value = message.value ?? Buffer.alloc(0);
    const bytes = value.byteLength;
    this.buffer.push({
      message: {
        topic: this.options.topic,
        key: message.key?.toString('utf8') ?? '',
        value: new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
        headers,
        offset,
      },
      partition,
      bytes,
      receivedAt: Date.now(),
    });
    this.bufferedBytes += bytes;
    this.received++;
    this.meanMessageBytes += (bytes - this.meanMessageBytes) / this.received;
    this.notify();
  }

  /**
   * A rebalance finished. Messages of partitions another member took are dropped (it starts at
   * their committed offset). Those of partitions this member keeps stay buffered, and so does
   * where each of them got to: the fetch stream may go on from there or fetch again from the
   * committed offset, and `accept` skips what is already here. Dropping them too lost messages:
   * the stream went on after them, and the next batch committed past the gap.
   */
  private reassigned(partitions: Set<number>): void {
    this.owned = partitions;
    const kept = this.buffer.filter((held) => partitions.has(held.partition));
    this.buffer.length = 0;
    this.buffer.push(...kept);
    this.bufferedBytes = kept.reduce((sum, held) => sum + held.bytes, 0);
    for (const partition of [...this.nextOffset.keys()]) {
      if (!partitions.has(partition)) this.nextOffset.delete(partition);
    }
  }

  /**
   * Forgets the buffered messages when the stream is about to re-fetch from the committed
   * offsets. What is in flight is still ours: only messages after it are welcome again.
   */
  private dropBuffered(): void {
    this.buffer.length = 0;
    this.bufferedBytes = 0;
    this.nextOffset.clear();
    for (const held of this.inFlight) {
      if (!this.owned.has(held.partition)) continue;
      const next = held.message.offset + 1n;
      if ((this.nextOffset.get(held.partition) ?? -1n) < next) this.nextOffset.set(held.partition, next);
    }
  }

  private bufferIsFull(): boolean {
    // Two batches' worth: one being handled, one filling.
    return (
      this.buffer.length >= 2 * this.options.maxBatchMessages ||
      this.bufferedBytes >= 2 * this.options.maxBatchBytes
    );
  }

  private batchIsFull(): boolean {
    return (
      this.buffer.length >= this.options.maxBatchMessages || this.bufferedBytes >= this.options.maxBatchBytes
    );
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closing) {
      if (this.inFlight.length === 0) {
        const oldest = this.buffer[0];
        if (oldest === undefined) {
          await new Promise<void>((resolve) => (this.wake = resolve));
          continue;
        }
        const waitMs = oldest.receivedAt + this.options.maxWaitMs - Date.now();
        if (!this.batchIsFull() && waitMs > 0) {
          await this.pause(Math.min(waitMs, 50));
          continue;
        }
        this.inFlight = this.takeBatch();
      }
      // A rebalance may have taken partitions while the batch waited for a retry.
      this.inFlight = this.inFlight.filter((held) => this.owned.has(held.partition));
      if (this.inFlight.length === 0) continue;
      const batch = this.inFlight;
      try {
        await this.handler(batch.map((held) => held.message));
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
        await this.pause(delayMs);
        continue;
      }
      if (this.abandoned) return;
      failures = 0;
      await this.commit(batch);
      this.inFlight = [];
    }
  }

  private takeBatch(): Buffered[] {
    const { maxBatchMessages, maxBatchBytes } = this.options;
    let count = 0;
    let bytes = 0;
    for (const held of this.buffer) {
      if (count >= maxBatchMessages) break;
      if (count > 0 && bytes + held.bytes > maxBatchBytes) break;
      count++;
      bytes += held.bytes;
    }
    this.bufferedBytes -= bytes;
    return this.buffer.splice(0, count);
  }

  /**
   * Commits the offset after the last message of each partition in the batch, for partitions
   * this member still owns; retries while the brokers are unreachable, so a handled batch is not
   * handed over again just because Kafka blinked.
   */
  private async commit(batch: readonly Buffered[]): Promise<void> {
    const next = new Map<number, bigint>();
    for (const held of batch) {
      const offset = held.message.offset + 1n;
      if ((next.get(held.partition) ?? -1n) < offset) next.set(held.partition, offset);
    }
    for (let attempt = 1; ; attempt++) {
      const offsets = [...next]
        .filter(([partition]) => this.owned.has(partition))
        .map(([partition, offset]) => ({ topic: this.options.topic, partition, offset, leaderEpoch: -1 }));
      if (offsets.length === 0) return;
      try {
        await this.client.commit({ offsets });
        return;
      } catch (error) {
        if (this.abandoned || attempt >= 20) {
          this.logger.warn(
            { group: this.options.group, topic: this.options.topic, err: errorMessage(error) },
            'could not commit a handled batch; its messages will be delivered again',
          );
          return;
        }
        await this.pause(backoffMs(attempt));
      }
    }
  }

  private async refreshLag(): Promise<void> {
    try {
      const topic = this.options.topic;
      const end = (await this.client.listOffsets({ topics: [topic] })).get(topic) ?? [];
      const committed = await this.client.listCommittedOffsets({
        topics: [{ topic, partitions: end.map((_, partition) => partition) }],
      });
      const done = committed.get(topic) ?? [];
      let lag = 0n;
      let committedSum = 0n;
      end.forEach((offset, partition) => {
        const from = done[partition] ?? -1n;
        lag += offset - (from < 0n ? 0n : from);
        committedSum += from < 0n ? 0n : from;
      });
      this.lag = Number(lag);
      this.committed = Number(committedSum);
    } catch {
      // Brokers unreachable: keep the last figure; stats are advisory.
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.wakeUp.signal });
    } catch {
      // Aborted by close().
    }
  }
}

function backoffMs(failures: number): number {
  const capped = Math.min(5000, 100 * 2 ** Math.min(failures - 1, 6));
  return Math.round(capped / 2 + (Math.random() * capped) / 2);
}

/** The part of @platformatic/kafka's errors read here: nested errors are searched with `findBy`. */
interface KafkaClientError {
  code?: unknown;
  findBy?: (property: string, value: unknown) => unknown;
}

/**
 * Whether a broker answered with an error (a protocol error such as MESSAGE_TOO_LARGE or
 * NOT_ENOUGH_REPLICAS), as opposed to no answer at all (network, timeouts, ours included).
 */
export function brokerRefused(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, findBy } = error as KafkaClientError;
  if (typeof code !== 'string' || !code.startsWith('PLT_KFK_') || findBy === undefined) return false;
  const find = (value: string): boolean => findBy.call(error, 'code', value) != null;
  return find('PLT_KFK_PROTOCOL') && !find('PLT_KFK_NETWORK') && !find('PLT_KFK_TIMEOUT');
}
