import type { ServerLogRecord } from '../../bus/raw-records.js';
import { TOPICS } from '../../bus/topics.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { SelfMetrics } from '../../core/telemetry.js';
import { msToNs, nowNs } from '../../core/time.js';
import { VERSION } from '../../core/version.js';
import { AdaptiveInterval } from '../adaptive-interval.js';
import { CircuitBreaker, type BreakerOptions } from '../breaker.js';
import type { Collector, CollectorStatus } from '../collector.js';
import { MetricBatch } from '../metric-batch.js';
import type { CollectorPublisher } from '../publisher.js';
import { sampleActivity } from './activity.js';
import { discoverEntities } from './entities.js';
import type { ServerLogSource } from './log-source.js';
import { PG } from './metric-definitions.js';
import { METRIC_FAMILIES } from './metric-queries.js';
import { PostgresSession, connectionLost, type ServerInfo } from './session.js';
import { StatementCollector } from './statements.js';
import type { PostgresTarget } from './target.js';

export interface PostgresCollectorDeps {
  publisher: CollectorPublisher;
  metrics: SelfMetrics;
  logger: Logger;
  breaker: BreakerOptions;
  maxBusyShare: number;
  maxStretch: number;
  logSource?: ServerLogSource;
}

type CycleKind = 'metrics' | 'statements';

/** Hands part of a cycle's records to the pipeline, once the server has been read. */
type Publication = () => Promise<void>;

const SCOPE = 'sightline.collector.postgresql';
const BREAKER_VALUE = { closed: 0, half_open: 1, open: 2 } as const;

/**
 * Watches one PostgreSQL server over one read-only connection. Two cycles share it:
 * metrics, sessions and the server log every metrics interval; pg_stat_statements, sizes,
 * per-table statistics and discovery every query-stats interval. Each cycle's cost is measured; slow cycles stretch
 * the interval, and repeated failures open the breaker so a struggling server is left alone.
 */
export class PostgresCollector implements Collector {
  readonly name: string;
  private readonly session: PostgresSession;
  private readonly breaker: CircuitBreaker;
  private readonly statements: StatementCollector;
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

  constructor(
    private readonly target: PostgresTarget,
    private readonly deps: PostgresCollectorDeps,
  ) {
    this.name = `postgres/${target.name}`;
    this.session = new PostgresSession(target);
    this.breaker = new CircuitBreaker(deps.breaker);
    this.statements = new StatementCollector(target.entityId);
    const adaptive = (baseMs: number) =>
      new AdaptiveInterval({ baseMs, maxBusyShare: deps.maxBusyShare, maxStretch: deps.maxStretch });
    this.intervals = {
      metrics: adaptive(target.metricsIntervalMs),
      statements: adaptive(target.queryStatsIntervalMs),
    };
  }

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
    await this.session.close();
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
      if (kind === 'metrics') await this.publish([() => this.publishUp(atNs, 0, undefined)]);
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
        this.deps.logger.info({ target: this.target.name }, 'PostgreSQL reachable again: collecting');
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
          'PostgreSQL target failing: circuit breaker open, leaving the server alone for a while',
        );
      } else {
        this.deps.logger.warn(log, 'PostgreSQL collection cycle failed');
      }
      if (kind === 'metrics') publications = [() => this.publishUp(atNs, 0, undefined)];
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

  /** Logs a problem when it first appears or changes, not on every cycle it lasts. */
  private warnOnce(topic: string, message: string, what: string): void {
    if (this.lastWarnings.get(topic) === message) return;
    this.lastWarnings.set(topic, message);
    this.deps.logger.warn({ target: this.target.name, topic, err: message }, what);
  }

  private async collectMetrics(atNs: bigint): Promise<Publication[]> {
    const server = await this.session.refreshRecovery();
    const batch = await this.metricFamilies('fast', server, atNs);
    batch.add(PG.up, 1);
    const snapshot = await sampleActivity(this.session, this.target.entityId, atNs);
    const logs = this.deps.logSource === undefined ? [] : await this.collectLogs(this.deps.logSource);
    return [
      () =>
        this.deps.publisher.publishMetrics(
          this.target.entityId,
          batch.toRequest(this.resource(server), SCOPE, VERSION),
        ),
      () => this.deps.publisher.publishJson(TOPICS.rawActivity, this.target.entityId, [snapshot]),
      () => this.deps.publisher.publishJson(TOPICS.rawLogs, this.target.entityId, logs),
    ];
  }

  /** A log that cannot be read (permissions, a missing grant) must not stop the metrics: it is reported apart. */
  private async collectLogs(source: ServerLogSource): Promise<ServerLogRecord[]> {
    try {
      const records = await source.read(this.session);
      this.lastWarnings.delete('logs');
      return records;
    } catch (error) {
      if (connectionLost(error)) throw error;
      this.deps.metrics.collectorErrors.inc({ target: this.target.name, cycle: 'logs' });
      this.warnOnce(
        'logs',
        errorMessage(error),
        'cannot read the PostgreSQL server log: check logs.source and, for `sql`, the grants of `sightline setup-sql postgres`',
      );
      return [];
    }
  }

  /**
   * One family that fails (a view a managed service hides, a lock on one table) leaves the
   * others to be collected; only a lost connection fails the cycle.
   */
  private async metricFamilies(
    cadence: 'fast' | 'slow',
    server: ServerInfo,
    atNs: bigint,
  ): Promise<MetricBatch> {
    const batch = new MetricBatch(atNs, msToNs(server.startedAt.getTime()));
    for (const family of METRIC_FAMILIES) {
      if (family.cadence !== cadence) continue;
      try {
        await family.collect({ session: this.session, server, batch, topTables: this.target.topTables });
        this.lastWarnings.delete(family.name);
      } catch (error) {
        if (connectionLost(error)) throw error;
        this.deps.metrics.collectorErrors.inc({ target: this.target.name, cycle: family.name });
        this.warnOnce(family.name, errorMessage(error), `could not collect the ${family.name} metrics`);
      }
    }
    return batch;
  }

  private async collectStatements(atNs: bigint): Promise<Publication[]> {
    const server = await this.session.serverInfo();
    const entities = await discoverEntities(this.session, server, this.target, atNs);
    const statements = await this.collectQueryStats(server, atNs);
    const slow = await this.metricFamilies('slow', server, atNs);
    return [
      () => this.deps.publisher.publishJson(TOPICS.rawEntities, this.target.entityId, entities),
      ...statements,
      () =>
        this.deps.publisher.publishMetrics(
          this.target.entityId,
          slow.toRequest(this.resource(server), SCOPE, VERSION),
        ),
    ];
  }

  /** Query statistics first in their cycle: a lock on one table must not hold them up. */
  private async collectQueryStats(server: ServerInfo, atNs: bigint): Promise<Publication[]> {
    if (server.statementsExtension === null) {
      this.warnOnce(
        'statements',
        'pg_stat_statements is not installed',
        `pg_stat_statements is not installed in database ${server.database}: no query analytics. ` +
          'Run the statements from `sightline setup-sql postgres` as a superuser.',
      );
      return [];
    }
    try {
      const { records, accept } = await this.statements.collect(this.session, server, atNs);
      this.lastWarnings.delete('statements');
      return [
        async () => {
          await this.deps.publisher.publishJson(TOPICS.rawQueries, this.target.entityId, records);
          accept();
        },
      ];
    } catch (error) {
      if (connectionLost(error)) throw error;
      this.deps.metrics.collectorErrors.inc({ target: this.target.name, cycle: 'statements' });
      this.warnOnce(
        'statements',
        errorMessage(error),
        'could not read pg_stat_statements (after an upgrade, run ALTER EXTENSION pg_stat_statements UPDATE)',
      );
      return [];
    }
  }

  private resource(server: ServerInfo | undefined): Record<string, string | number> {
    return {
      'sightline.entity.id': this.target.entityId,
      'service.name': 'postgresql',
      'db.system': 'postgresql',
      'server.address': this.target.host,
      'server.port': this.target.port,
      'host.name': this.target.host,
      'postgresql.target': this.target.name,
      ...(server === undefined ? {} : { 'postgresql.version': server.version }),
    };
  }

  private async publishUp(atNs: bigint, value: number, server: ServerInfo | undefined): Promise<void> {
    const batch = new MetricBatch(atNs, atNs);
    batch.add(PG.up, value);
    await this.deps.publisher.publishMetrics(
      this.target.entityId,
      batch.toRequest(this.resource(server), SCOPE, VERSION),
    );
  }

  private reportBreaker(): void {
    this.deps.metrics.collectorBreakerState.set(
      { target: this.target.name },
      BREAKER_VALUE[this.breaker.current],
    );
  }

  private reportSessionCounters(): void {
    const { queries, rows } = this.session.counters;
    const target = { target: this.target.name };
    this.deps.metrics.collectorQueries.inc(target, queries - this.countedQueries);
    this.deps.metrics.collectorRows.inc(target, rows - this.countedRows);
    this.countedQueries = queries;
    this.countedRows = rows;
  }
}
