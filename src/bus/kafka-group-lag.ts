import { Consumer as KafkaConsumer } from '@platformatic/kafka';
import type { Logger } from '../core/logger.js';
import { kafkaGroupId } from './kafka.js';
import type { Topic } from './topics.js';

export interface KafkaGroupLagOptions {
  brokers: string[];
  clientId: string;
  /** The consumer group whose lag is read (each topic has its own Kafka group: kafkaGroupId). */
  group: string;
  topics: readonly Topic[];
  /** How often the offsets are read. */
  intervalMs?: number;
}

/** One topic's figures for a group this process does not belong to. */
export interface GroupTopicLag {
  topic: Topic;
  /** End offsets minus the group's committed offsets, summed over partitions. */
  pendingMessages: number;
  /** Kafka does not tell the bytes behind an offset, and this reader sees no message. */
  pendingBytes: null;
  /** The group's committed offsets summed over partitions: grows as the group works. */
  committedMessages: number;
}

/**
 * The lag of another process's consumer group, read from the brokers: the topics' end offsets
 * and the group's committed offsets, as `kafka-consumer-groups.sh --describe` shows them. An
 * api process of a scale-out deployment consumes nothing, so its own bus knows no lag; this
 * asks the brokers about the processors' groups. The clients only ask for offsets: a client
 * that never consumes does not join the group, so it cannot cause a rebalance.
 */
export class KafkaGroupLag {
  private readonly clients: Array<{ topic: Topic; client: KafkaConsumer }> = [];
  private readonly figures = new Map<Topic, GroupTopicLag>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly options: KafkaGroupLagOptions,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    if (this.timer !== undefined) return;
    for (const topic of this.options.topics)
      this.clients.push({
        topic,
        client: new KafkaConsumer({
          clientId: `${this.options.clientId}-lag`,
          bootstrapBrokers: this.options.brokers,
          groupId: kafkaGroupId({ group: this.options.group, topic }),
          connectTimeout: 3000,
          timeout: 5000,
          retries: 1,
        }),
      });
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.options.intervalMs ?? 5_000);
    this.timer.unref();
  }

  /** The figures of the last refresh that reached the brokers; topics never read are left out. */
  stats(): GroupTopicLag[] {
    return this.options.topics.flatMap((topic) => {
      const figures = this.figures.get(topic);
      return figures === undefined ? [] : [figures];
    });
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.refreshing;
    await Promise.all(this.clients.splice(0).map(({ client }) => client.close().catch(() => undefined)));
  }

  /** Reads every topic; one that fails keeps its last figures (stats are advisory). */
  refresh(): Promise<void> {
    this.refreshing ??= Promise.all(this.clients.map((entry) => this.read(entry))).then(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async read({ topic, client }: { topic: Topic; client: KafkaConsumer }): Promise<void> {
    try {
      const end = (await client.listOffsets({ topics: [topic] })).get(topic) ?? [];
      const committed =
        (
          await client.listCommittedOffsets({
            topics: [{ topic, partitions: end.map((_, partition) => partition) }],
          })
        ).get(topic) ?? [];
      let lag = 0n;
      let done = 0n;
      end.forEach((offset, partition) => {
        // -1: the group committed nothing on the partition yet; it has everything still to do.
        const from = committed[partition] ?? -1n;
        const at = from < 0n ? 0n : from;
        lag += offset - at;
        done += at;
      });
      this.figures.set(topic, {
        topic,
        pendingMessages: Number(lag),
        pendingBytes: null,
        committedMessages: Number(done),
      });
    } catch (error) {
      this.logger.debug({ topic, err: error }, 'could not read the consumer group offsets');
    }
  }
}
