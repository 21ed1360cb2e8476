import type { Component } from '../core/component.js';
import type { Topic } from './topics.js';

export type MessageHeaders = Readonly<Record<string, string>>;

export interface OutgoingMessage {
  key: string;
  value: Uint8Array;
  headers: MessageHeaders;
}

export interface IncomingMessage extends OutgoingMessage {
  topic: Topic;
  offset: bigint;
}

export interface ConsumerOptions {
  /** Consumer group: every group sees every message once; a message is done when every group committed it. */
  group: string;
  topic: Topic;
  maxBatchMessages: number;
  maxBatchBytes: number;
  /** How long the oldest waiting message may wait for a batch to fill. */
  maxWaitMs: number;
}

/**
 * Processes one batch. Resolving commits every message of the batch; rejecting leaves them
 * uncommitted, and the same messages are delivered again after a backoff. A handler that
 * cannot process one message sends it to the dead-letter topic and resolves.
 */
export type BatchHandler = (messages: readonly IncomingMessage[]) => Promise<void>;

export interface Consumer {
  close(): Promise<void>;
}

export interface TopicStats {
  topic: Topic;
  /** Published and not yet committed by every group. */
  pendingMessages: number;
  pendingBytes: number;
  /**
   * Messages committed by every group, a counter that only grows (its rate is the topic's
   * throughput): since start for the in-memory bus, the committed offsets summed over
   * partitions for Kafka.
   */
  committedMessages: number;
}

/** Whether the bus can take publishes now; `reason` says what is wrong when it cannot. */
export interface BusHealth {
  ok: boolean;
  reason?: string;
}

/**
 * A message bus with Kafka's semantics: topics, keys, headers, consumer groups and commit
 * after processing. `publish` resolves only when the messages are durable: for Kafka when
 * the brokers acknowledged them, for the in-memory bus when every consumer group committed
 * them. A bus that is full rejects with a retryable error instead of growing.
 */
export interface Bus extends Component {
  publish(topic: Topic, messages: readonly OutgoingMessage[]): Promise<void>;
  consume(options: ConsumerOptions, handler: BatchHandler): Promise<Consumer>;
  stats(): TopicStats[];
  /** For `/readyz`: recent enough to route traffic by, never a wait on the network. */
  health(): BusHealth;
}
