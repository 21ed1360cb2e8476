import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { SelfMetrics } from '../core/telemetry.js';
import { nowNs } from '../core/time.js';
import { AdaptiveInterval } from './adaptive-interval.js';
import { CircuitBreaker, type BreakerOptions } from './breaker.js';
import type { Collector, CollectorStatus } from './collector.js';
import type { CollectorPublisher } from './publisher.js';

export interface CycleCollectorDeps {
  publisher: CollectorPublisher;
  metrics: SelfMetrics;
  logger: Logger;
  breaker: BreakerOptions;
  maxBusyShare: number;
  maxStretch: number;
}

/** What every database target has, whatever its engine. */
export interface CycleTarget {
  name: string;
  entityId: string;
  address: string;
  metricsIntervalMs: number;
  queryStatsIntervalMs: number;
}

export type CycleKind = 'metrics' | 'statements';

/** Hands part of a cycle's records to the pipeline, once the server has been read. */
export type Publication = () => Promise<void>;

const BREAKER_VALUE = { closed: 0, half_open: 1, open: 2 } as const;

/**
 * The loop every database collector runs: two cycles on one connection, metrics every metrics
 * interval and query statistics every query-stats interval. Each cycle's cost is measured; slow
 * cycles stretch the interval, and repeated failures open the breaker so a struggling server is
 * left alone. Records are published only after the server has been read, and a full or stopping
 * bus never counts against the server. Engines provide what a cycle reads.
 */
export abstract class CycleCollector implements Collector {
  readonly name: string;
  private readonly breaker: CircuitBreaker;
  private readonly intervals: Record<CycleKind, AdaptiveInterval>;
  private readonly timers = new Map<CycleKind, NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private stopped = false;
  private lastSuccessAt: number | null = null;
  private lastError: string | null = null;
  /** The last message logged per kind of problem, so a lasting one is logged once. */
  private readonly lastWarnings = new Map<string, string>();
  private countedQueries = 0;
  private countedRows = 0;

  protected constructor(
    /** `postgres`, `mysql`: names the collector `<kind>/<target>`. */
    kind: string,
    /** `PostgreSQL`, `MySQL`: how messages name the engine. */
    private readonly engine: string,
    protected readonly target: CycleTarget,
    protected readonly deps: CycleCollectorDeps,
  ) {
    this.name = `${kind}/${target.name}`;
    this.breaker = new CircuitBreaker(deps.breaker);
    const adaptive = (baseMs: number) =>
      new AdaptiveInterval({ baseMs, maxBusyShare: deps.maxBusyShare, maxStretch: deps.maxStretch });
    this.intervals = {
      metrics: adaptive(target.metricsIntervalMs),
      statements: adaptive(target.queryStatsIntervalMs),
    };
  }

  /** Reads the metrics cycle (metrics, sessions, logs) from the server; publishing comes after. */
  protected abstract collectMetrics(atNs: bigint): Promise<Publication[]>;
  /** Reads the query-statistics cycle (statements, sizes, discovery). */
  protected abstract collectStatements(atNs: bigint): Promise<Publication[]>;
  /** Publishes `up = 0` for a cycle that could not reach the server. */
  protected abstract publishDown(atNs: bigint): Promise<void>;
  /** Queries and rows the engine's session has run so far. */
  protected abstract sessionCounters(): { queries: number; rows: number };
  protected abstract closeSession(): Promise<void>;
  /** Whether an error means the session is gone, rather than one statement failing. */
  protected abstract connectionLost(error: unknown): boolean;

  start(): Promise<void> {
    if (this.timers.size > 0) return Promise.resolve();
    this.stopped = false;
    // Statements first: its first run is the baseline the next interval's deltas start from.
    this.schedule('statements', 0);
    this.schedule('metrics', 0);
    return Promise.resolve();
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
    await this.closeSession();
  }

  status(): CollectorStatus {
    return {
      target: this.target.name,
      entityId: this.target.entityId,
      breaker: this.breaker.current,
      lastSuccessAt: this.lastSuccessAt,
      lastError: this.lastError,
    };
  }

  /** Runs one cycle now (tests and the benchmark drive the collector this way). */
  async runOnce(kind: CycleKind): Promise<void> {
    await this.cycle(kind);
  }

  private schedule(kind: CycleKind, delayMs: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      const run = this.cycle(kind).finally(() => {
        this.running.delete(run);
        this.schedule(kind, this.intervals[kind].intervalMs);
      });
      this.running.add(run);
    }, delayMs);
    timer.unref();
    this.timers.set(kind, timer);
  }

  private async cycle(kind: CycleKind): Promise<void> {
    const labels = { target: this.target.name, cycle: kind };
    const atNs = nowNs();
    if (!this.breaker.allow()) {
      this.reportBreaker();
      if (kind === 'metrics') await this.publish([() => this.publishDown(atNs)]);
      return;
    }
    let publications: Publication[] = [];
    const started = performance.now();
    try {
      publications =
        kind === 'metrics' ? await this.collectMetrics(atNs) : await this.collectStatements(atNs);
      const wasOpen = this.breaker.current !== 'closed';
      this.breaker.succeeded();
      if (wasOpen)
        this.deps.logger.info({ target: this.target.name }, `${this.engine} reachable again: collecting`);
      this.lastSuccessAt = Date.now();
      this.lastError = null;
    } catch (error) {
      const before = this.breaker.current;
      this.breaker.failed();
      this.lastError = errorMessage(error);
      this.deps.metrics.collectorErrors.inc(labels);
      const after = this.breaker.current;
      const log = {
        target: this.target.name,
        address: this.target.address,
        cycle: kind,
        err: this.lastError,
      };
      if (after === 'open' && before !== 'open') {
        this.deps.logger.warn(
          { ...log, retryInSeconds: Math.round(((this.breaker.retryAt ?? Date.now()) - Date.now()) / 1000) },
          `${this.engine} target failing: circuit breaker open, leaving the server alone for a while`,
        );
      } else {
        this.deps.logger.warn(log, `${this.engine} collection cycle failed`);
      }
      if (kind === 'metrics') publications = [() => this.publishDown(atNs)];
    } finally {
      // Only the time spent on the server counts against the interval, not the pipeline's.
      this.observeCycle(kind, (performance.now() - started) / 1000);
    }
    await this.publish(publications);
  }

  private observeCycle(kind: CycleKind, seconds: number): void {
    const labels = { target: this.target.name, cycle: kind };
    this.deps.metrics.collectorCycleDuration.observe(labels, seconds);
    const interval = this.intervals[kind];
    const wasStretched = interval.stretched;
    interval.observe(seconds * 1000);
    this.deps.metrics.collectorInterval.set(labels, interval.intervalMs / 1000);
    this.deps.metrics.collectorIntervalStretched.set(labels, interval.stretched ? 1 : 0);
    if (interval.stretched && !wasStretched) {
      this.deps.logger.warn(
        { ...labels, cycleSeconds: seconds, intervalSeconds: interval.intervalMs / 1000 },
        'collection cycle is slow for its interval: stretching the interval to protect the server',
      );
    }
    this.reportBreaker();
    this.reportSessionCounters();
  }

  /**
   * Hands a cycle's records to the pipeline. A full or stopping bus is the pipeline's trouble,
   * not the database's: it is counted and logged, and never opens the breaker.
   */
  private async publish(publications: readonly Publication[]): Promise<void> {
    for (const publication of publications) {
      try {
        await publication();
      } catch (error) {
        this.deps.metrics.collectorErrors.inc({ target: this.target.name, cycle: 'publish' });
        this.warnOnce('publish', errorMessage(error), 'could not hand collected records to the pipeline');
      }
    }
  }

  /**
   * Runs one part of a cycle. A part that fails without the connection being lost (a missing
   * grant, a view a managed service hides) is counted and logged once, and the rest of the cycle
   * goes on with `undefined` for it; a lost connection fails the cycle.
   */
  protected async part<T>(name: string, what: string, run: () => Promise<T>): Promise<T | undefined> {
    try {
      const result = await run();
      // Works again: its next failure is logged again.
      this.lastWarnings.delete(name);
      return result;
    } catch (error) {
      if (this.connectionLost(error)) throw error;
      this.partFailed(name, error, what);
      return undefined;
    }
  }

  /** Counts and logs (once) a part that failed; the cycle goes on. */
  protected partFailed(part: string, error: unknown, what: string): void {
    this.deps.metrics.collectorErrors.inc({ target: this.target.name, cycle: part });
    this.warnOnce(part, errorMessage(error), what);
  }

  /** Logs a problem when it first appears or changes, not on every cycle it lasts. */
  protected warnOnce(topic: string, message: string, what: string): void {
    if (this.lastWarnings.get(topic) === message) return;
    this.lastWarnings.set(topic, message);
    this.deps.logger.warn({ target: this.target.name, topic, err: message }, what);
  }

  private reportBreaker(): void {
    this.deps.metrics.collectorBreakerState.set(
      { target: this.target.name },
      BREAKER_VALUE[this.breaker.current],
    );
  }

  private reportSessionCounters(): void {
    const { queries, rows } = this.sessionCounters();
    const target = { target: this.target.name };
    this.deps.metrics.collectorQueries.inc(target, queries - this.countedQueries);
    this.deps.metrics.collectorRows.inc(target, rows - this.countedRows);
    this.countedQueries = queries;
    this.countedRows = rows;
  }
}
