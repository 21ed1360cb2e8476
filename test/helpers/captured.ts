import type { IncomingMessage } from '../../src/bus/bus.js';
import type { MemoryBus } from '../../src/bus/memory.js';
import {
  activitySnapshot,
  rawQueryRecord,
  type ActivitySnapshot,
  type QuerySampleRecord,
  type QueryStatsRecord,
  type RawQueryRecord,
} from '../../src/bus/raw-records.js';
import { TOPICS, type Topic } from '../../src/bus/topics.js';
import { metricPointsOf, type MetricPoints } from './metric-points.js';

/** Every message the collector published, by topic, as a real consumer group of the bus sees it. */
export class Captured {
  readonly messages = new Map<Topic, IncomingMessage[]>();

  static async on(bus: MemoryBus): Promise<Captured> {
    const captured = new Captured();
    const topics = [
      TOPICS.otelMetrics,
      TOPICS.rawQueries,
      TOPICS.rawActivity,
      TOPICS.rawEntities,
      TOPICS.rawLogs,
    ];
    for (const topic of topics) {
      await bus.consume(
        { group: 'test', topic, maxBatchMessages: 100, maxBatchBytes: 64 << 20, maxWaitMs: 0 },
        (batch) => {
          captured.messages.set(topic, [...(captured.messages.get(topic) ?? []), ...batch]);
          return Promise.resolve();
        },
      );
    }
    return captured;
  }

  clear(): void {
    this.messages.clear();
  }

  json(topic: Topic): unknown[] {
    return (this.messages.get(topic) ?? []).map(
      (m) => JSON.parse(new TextDecoder().decode(m.value)) as unknown,
    );
  }

  queryStats(): QueryStatsRecord[] {
    return this.rawQueries().filter((r): r is QueryStatsRecord => r.type === 'query_stats');
  }

  querySamples(): QuerySampleRecord[] {
    return this.rawQueries().filter((r): r is QuerySampleRecord => r.type === 'query_sample');
  }

  private rawQueries(): RawQueryRecord[] {
    return this.json(TOPICS.rawQueries).map((r) => rawQueryRecord.parse(r));
  }

  snapshots(): ActivitySnapshot[] {
    return this.json(TOPICS.rawActivity).map((r) => activitySnapshot.parse(r));
  }

  /** Metric name → points (value and attributes) of every OTLP request published. */
  metricPoints(): MetricPoints {
    return metricPointsOf((this.messages.get(TOPICS.otelMetrics) ?? []).map((m) => m.value));
  }
}
