import type { Bus, OutgoingMessage } from '../bus/bus.js';
import { CONTENT_TYPES, HEADERS, SCHEMA_VERSION, TOPICS, type Topic } from '../bus/topics.js';
import { isSightlineError } from '../core/errors.js';
import { encodeRequest } from '../otlp/codec.js';
import type { MetricsRequest } from '../otlp/types.js';

export interface PublisherOptions {
  orgId: string;
  /** Tries per message set before the error is given to the caller. */
  attempts: number;
  firstBackoffMs: number;
  signal?: AbortSignal;
}

/**
 * How a collector hands its records to the pipeline: JSON records on `raw-*` topics, OTLP
 * metrics on `otel-metrics`, with the headers every message carries. A full bus is retried
 * with exponential backoff and jitter; `publish` resolves once the messages are durable.
 */
export class CollectorPublisher {
  constructor(
    private readonly bus: Bus,
    private readonly options: PublisherOptions,
  ) {}

  publishJson(topic: Topic, key: string, records: readonly object[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    const headers = this.headers(CONTENT_TYPES.json);
    const encoder = new TextEncoder();
    return this.publish(
      topic,
      records.map((record) => ({ key, value: encoder.encode(JSON.stringify(record)), headers })),
    );
  }

  publishMetrics(key: string, request: MetricsRequest): Promise<void> {
    const value = encodeRequest({ signal: 'metrics', message: request });
    return this.publish(TOPICS.otelMetrics, [{ key, value, headers: this.headers(CONTENT_TYPES.protobuf) }]);
  }

  private headers(contentType: string): Record<string, string> {
    return {
      [HEADERS.orgId]: this.options.orgId,
      [HEADERS.contentType]: contentType,
      [HEADERS.schemaVersion]: SCHEMA_VERSION,
      [HEADERS.receivedAt]: String(Date.now()),
    };
  }

  private async publish(topic: Topic, messages: OutgoingMessage[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.bus.publish(topic, messages);
        return;
      } catch (error) {
        const retryable = isSightlineError(error) && error.retryable;
        if (!retryable || attempt >= this.options.attempts || this.options.signal?.aborted === true)
          throw error;
        const backoff = this.options.firstBackoffMs * 2 ** (attempt - 1);
        await sleep(backoff / 2 + Math.random() * backoff, this.options.signal);
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
