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
import { PostgresSession, type ServerInfo } from './session.js';
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
  private warnedNoStatements = false;
  private lastLogError: string | undefined;
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
      if (kind === 'metrics') await this.publishUp(atNs, 0, undefined).catch(() => undefined);
      this.reportBreaker();
      return;
    }
    const started = performance.now();
    try {
      const server = await this.session.serverInfo();
      if (kind === 'metrics') await this.collectMetrics(server, atNs);
      else await this.collectStatements(server, atNs);
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
      if (kind === 'metrics') await this.publishUp(atNs, 0, undefined).catch(() => undefined);
    } finally {
      const seconds = (performance.now() - started) / 1000;
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
  }

  private async collectMetrics(server: ServerInfo, atNs: bigint): Promise<void> {
    const batch = await this.metricFamilies('fast', server, atNs);
    batch.add(PG.up, 1);
    await this.deps.publisher.publishMetrics(
      this.target.entityId,
      batch.toRequest(this.resource(server), SCOPE, VERSION),
    );
    const snapshot = await sampleActivity(this.session, this.target.entityId, atNs);
    await this.deps.publisher.publishJson(TOPICS.rawActivity, this.target.entityId, [snapshot]);
    if (this.deps.logSource !== undefined) await this.collectLogs(this.deps.logSource);
  }

  /** A log that cannot be read (permissions, a missing grant) must not stop the metrics: it is reported apart. */
  private async collectLogs(source: ServerLogSource): Promise<void> {
    let records;
    try {
      records = await source.read(this.session);
    } catch (error) {
      this.deps.metrics.collectorErrors.inc({ target: this.target.name, cycle: 'logs' });
      const message = errorMessage(error);
      if (message !== this.lastLogError) {
        this.deps.logger.warn(
          { target: this.target.name, source: this.target.logs.source, err: message },
          'cannot read the PostgreSQL server log: check logs.source and, for `sql`, the grants of `sightline setup-sql postgres`',
        );
      }
      this.lastLogError = message;
      return;
    }
    this.lastLogError = undefined;
    await this.deps.publisher.publishJson(TOPICS.rawLogs, this.target.entityId, records);
  }

  private async metricFamilies(
    cadence: 'fast' | 'slow',
    server: ServerInfo,
    atNs: bigint,
  ): Promise<MetricBatch> {
    const batch = new MetricBatch(atNs, msToNs(server.startedAt.getTime()));
    for (const family of METRIC_FAMILIES) {
      if (family.cadence !== cadence) continue;
      await family.collect({ session: this.session, server, batch, topTables: this.target.topTables });
    }
    return batch;
  }

  private async collectStatements(server: ServerInfo, atNs: bigint): Promise<void> {
    const entities = await discoverEntities(this.session, server, this.target, atNs);
    await this.deps.publisher.publishJson(TOPICS.rawEntities, this.target.entityId, entities);
    const slow = await this.metricFamilies('slow', server, atNs);
    await this.deps.publisher.publishMetrics(
      this.target.entityId,
      slow.toRequest(this.resource(server), SCOPE, VERSION),
    );
    if (server.statementsExtension === null) {
      if (!this.warnedNoStatements) {
        this.warnedNoStatements = true;
        this.deps.logger.warn(
          { target: this.target.name, database: server.database },
          'pg_stat_statements is not installed in this database: no query analytics. ' +
            'Run the statements from `sightline setup-sql postgres` as a superuser.',
        );
      }
      return;
    }
    const records = await this.statements.collect(this.session, server, atNs);
    await this.deps.publisher.publishJson(TOPICS.rawQueries, this.target.entityId, records);
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
