/**
 * One topic as the bus reports it (src/bus/bus.ts TopicStats, or src/bus/kafka-group-lag.ts for
 * another process's group, which knows no bytes; the api does not import the bus).
 */
export interface TopicCounters {
  topic: string;
  pendingMessages: number;
  pendingBytes: number | null;
  /** Only grows: messages every consumer group committed. */
  committedMessages: number;
}

export interface TopicThroughput {
  topic: string;
  /** Published and not yet committed by every group; null when this process consumes no such topic. */
  lag: { messages: number; bytes: number | null } | null;
  /** Committed per second over the window; null until two samples span time, or without a lag figure. */
  messagesPerSecond: number | null;
}

export interface ThroughputOptions {
  /** How often the counters are sampled. */
  intervalMs: number;
  /** The rate is taken over this much time (the oldest sample kept is at most this old). */
  windowMs: number;
  now?: () => number;
}

export const DEFAULT_THROUGHPUT: ThroughputOptions = { intervalMs: 5_000, windowMs: 60_000 };

interface Sample {
  atMs: number;
  committed: ReadonlyMap<string, number>;
}

/**
 * Throughput per topic from the bus's committed counters: a sample every `intervalMs`, and the
 * rate between the oldest sample inside the window and a reading taken when asked. In-process
 * and bounded (window / interval samples); a process restart starts it over.
 */
export class TopicThroughputSampler {
  private readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(
    private readonly read: () => readonly TopicCounters[],
    /** Every topic of the bus, listed even when this process does not consume it. */
    private readonly topics: readonly string[],
    private readonly options: ThroughputOptions = DEFAULT_THROUGHPUT,
  ) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.options.intervalMs);
    this.timer.unref();
  }

  shutdown(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    return Promise.resolve();
  }

  /** Records the counters now; older samples than the window needs are let go. */
  sample(): void {
    const atMs = this.now();
    this.samples.push({ atMs, committed: committedOf(this.read()) });
    // Keep the newest sample at or before the window's start, so the rate spans the whole window.
    while (this.samples.length > 1 && (this.samples[1]?.atMs ?? atMs) <= atMs - this.options.windowMs)
      this.samples.shift();
  }

  /**
   * Every topic with its current lag and its rate from the oldest sample kept (one window old,
   * a little more or, after start, less) up to now; `windowSeconds` is the time the rates span.
   */
  current(): { windowSeconds: number | null; topics: TopicThroughput[] } {
    const nowMs = this.now();
    const stats = new Map(this.read().map((s) => [s.topic, s]));
    const oldest = this.samples[0];
    const seconds = oldest === undefined ? 0 : (nowMs - oldest.atMs) / 1000;
    const topics = this.topics.map((topic): TopicThroughput => {
      const now = stats.get(topic);
      if (now === undefined) return { topic, lag: null, messagesPerSecond: null };
      const then = oldest?.committed.get(topic);
      const rate =
        then === undefined || seconds <= 0 || now.committedMessages < then
          ? null
          : (now.committedMessages - then) / seconds;
      return {
        topic,
        lag: { messages: now.pendingMessages, bytes: now.pendingBytes },
        messagesPerSecond: rate,
      };
    });
    return { windowSeconds: seconds > 0 ? seconds : null, topics };
  }
}

function committedOf(stats: readonly TopicCounters[]): Map<string, number> {
  return new Map(stats.map((s) => [s.topic, s.committedMessages]));
}
