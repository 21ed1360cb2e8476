import type { ServerLogRecord } from '../../bus/raw-records.js';
import { TOPICS } from '../../bus/topics.js';
import { msToNs } from '../../core/time.js';
import { VERSION } from '../../core/version.js';
import { CycleCollector, type CycleCollectorDeps, type Publication } from '../cycle-collector.js';
import { MetricBatch } from '../metric-batch.js';
import { sampleActivity } from './activity.js';
import { discoverEntities } from './entities.js';
import type { ServerLogSource } from './log-source.js';
import { PG } from './metric-definitions.js';
import { METRIC_FAMILIES } from './metric-queries.js';
import { PostgresSession, connectionLost, type ServerInfo } from './session.js';
import { StatementCollector } from './statements.js';
import type { PostgresTarget } from './target.js';

export interface PostgresCollectorDeps extends CycleCollectorDeps {
  logSource?: ServerLogSource;
}

const SCOPE = 'sightline.collector.postgresql';

/**
 * Watches one PostgreSQL server over one read-only connection. Two cycles share it:
 * metrics, sessions and the server log every metrics interval; pg_stat_statements, sizes,
 * per-table statistics and discovery every query-stats interval (see CycleCollector).
 */
export class PostgresCollector extends CycleCollector {
  private readonly session: PostgresSession;
  private readonly statements: StatementCollector;
  private readonly postgres: PostgresTarget;
  private readonly logSource: ServerLogSource | undefined;

  constructor(target: PostgresTarget, deps: PostgresCollectorDeps) {
    super('postgres', 'PostgreSQL', target, deps);
    this.postgres = target;
    this.logSource = deps.logSource;
    this.session = new PostgresSession(target);
    this.statements = new StatementCollector(target.entityId);
  }

  protected sessionCounters(): { queries: number; rows: number } {
    return this.session.counters;
  }

  protected closeSession(): Promise<void> {
    return this.session.close();
  }

  protected connectionLost(error: unknown): boolean {
    return connectionLost(error);
  }

  protected publishDown(atNs: bigint): Promise<void> {
    return this.publishUp(atNs, 0, undefined);
  }

  protected async collectMetrics(atNs: bigint): Promise<Publication[]> {
    const server = await this.session.refreshRecovery();
    const batch = await this.metricFamilies('fast', server, atNs);
    batch.add(PG.up, 1);
    const snapshot = await sampleActivity(this.session, this.target.entityId, atNs);
    const logs = this.logSource === undefined ? [] : await this.collectLogs(this.logSource);
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
    const records = await this.part(
      'logs',
      'cannot read the PostgreSQL server log: check logs.source and, for `sql`, the grants of `sightline setup-sql postgres`',
      () => source.read(this.session),
    );
    return records ?? [];
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
      await this.part(family.name, `could not collect the ${family.name} metrics`, () =>
        family.collect({ session: this.session, server, batch, topTables: this.postgres.topTables }),
      );
    }
    return batch;
  }

  protected async collectStatements(atNs: bigint): Promise<Publication[]> {
    const server = await this.session.serverInfo();
    const entities = await discoverEntities(this.session, server, this.postgres, atNs);
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
    const cycle = await this.part(
      'statements',
      'could not read pg_stat_statements (after an upgrade, run ALTER EXTENSION pg_stat_statements UPDATE)',
      () => this.statements.collect(this.session, server, atNs),
    );
    if (cycle === undefined) return [];
    return [
      async () => {
        await this.deps.publisher.publishJson(TOPICS.rawQueries, this.target.entityId, cycle.records);
        cycle.accept();
      },
    ];
  }

  private resource(server: ServerInfo | undefined): Record<string, string | number> {
    return {
      'sightline.entity.id': this.postgres.entityId,
      'service.name': 'postgresql',
      'db.system': 'postgresql',
      'server.address': this.postgres.host,
      'server.port': this.postgres.port,
      'host.name': this.postgres.host,
      'postgresql.target': this.postgres.name,
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
}
