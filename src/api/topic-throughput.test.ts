import { describe, expect, it } from 'vitest';
import { TopicThroughputSampler, type TopicCounters } from './topic-throughput.js';

function setup(): {
  sampler: TopicThroughputSampler;
  set: (topic: string, committed: number, pending?: number) => void;
  advance: (ms: number) => void;
} {
  let nowMs = 1_000_000;
  const counters = new Map<string, TopicCounters>();
  const sampler = new TopicThroughputSampler(
    () => [...counters.values()],
    ['otel-logs', 'dead-letter', 'raw-queries'],
    { intervalMs: 5_000, windowMs: 60_000, now: () => nowMs },
  );
  return {
    sampler,
    set: (topic, committed, pending = 0) =>
      counters.set(topic, {
        topic,
        pendingMessages: pending,
        pendingBytes: pending * 100,
        committedMessages: committed,
      }),
    advance: (ms) => {
      nowMs += ms;
    },
  };
}

describe('TopicThroughputSampler', () => {
  it('has no rate before time has passed since the first sample', () => {
    const { sampler, set } = setup();
    set('otel-logs', 10, 2);
    sampler.sample();
    expect(sampler.current()).toEqual({
      windowSeconds: null,
      topics: [
        { topic: 'otel-logs', lag: { messages: 2, bytes: 200 }, messagesPerSecond: null },
        { topic: 'dead-letter', lag: null, messagesPerSecond: null },
        { topic: 'raw-queries', lag: null, messagesPerSecond: null },
      ],
    });
  });

  it('gives the committed rate over the last window, letting older samples go', () => {
    const { sampler, set, advance } = setup();
    set('otel-logs', 0);
    sampler.sample();
    // 10 messages a second for two minutes, then 2 a second for one minute.
    for (let second = 5; second <= 180; second += 5) {
      advance(5_000);
      set('otel-logs', second <= 120 ? second * 10 : 1200 + (second - 120) * 2);
      sampler.sample();
    }
    const { windowSeconds, topics } = sampler.current();
    expect(windowSeconds).toBe(60);
    expect(topics[0]?.messagesPerSecond).toBeCloseTo(2, 5);
  });

  it('answers a rate between samples, from the oldest kept sample to a fresh reading', () => {
    const { sampler, set, advance } = setup();
    set('otel-logs', 100);
    sampler.sample();
    advance(2_000);
    set('otel-logs', 130, 5);
    const { windowSeconds, topics } = sampler.current();
    expect(windowSeconds).toBe(2);
    expect(topics[0]).toEqual({
      topic: 'otel-logs',
      lag: { messages: 5, bytes: 500 },
      messagesPerSecond: 15,
    });
  });

  it('has no rate for a topic that appeared after the oldest sample or whose counter went back', () => {
    const { sampler, set, advance } = setup();
    set('otel-logs', 50);
    sampler.sample();
    advance(10_000);
    set('otel-logs', 20);
    set('dead-letter', 4);
    const rates = sampler.current().topics.map((t) => t.messagesPerSecond);
    expect(rates).toEqual([null, null, null]);
  });
});
