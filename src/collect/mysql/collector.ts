import type { ServerLogRecord } from '../../bus/raw-records.js';
import { TOPICS } from '../../bus/topics.js';
import { msToNs } from '../../core/time.js';
import { VERSION } from '../../core/version.js';
import { CycleCollector, type CycleCollectorDeps, type Publication } from '../cycle-collector.js';
import { MetricBatch } from '../metric-batch.js';
import { sampleMysqlActivity } from './activity.js';
import { discoverMysqlEntities } from './entities.js';
import type { MysqlLogSource } from './log-source.js';
import { MY } from './metric-definitions.js';
import { MYSQL_METRIC_FAMILIES } from './metric-queries.js';
import { MysqlSession, connectionLost, type MysqlServerInfo } from './session.js';
import { MysqlStatementCollector } from './statements.js';
import type { MysqlTarget } from './target.js';

export interface MysqlCollectorDeps extends CycleCollectorDeps {
  logSource?: MysqlLogSource;
}

const SCOPE = 'sightline.collector.mysql';

/**
 * Watches one MySQL or MariaDB server over one read-only connection, in the same two cycles as
 * PostgreSQL (see CycleCollector): status, InnoDB, replication, sessions, lock waits and the
 * logs every metrics interval; statement digests, sizes, per-table I/O and discovery every
 * query-stats interval.
 */
export class MysqlCollector extends CycleCollector {
  private readonly session: MysqlSession;
  private readonly statements: MysqlStatementCollector;
  private readonly mysql: MysqlTarget;
  private readonly logSource: MysqlLogSource | undefined;

  constructor(target: MysqlTarget, deps: MysqlCollectorDeps) {
    super('mysql', 'MySQL', target, deps);
    this.mysql = target;
    this.logSource = deps.logSource;
    this.session = new MysqlSession(target);
    this.statements = new MysqlStatementCollector(target);
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
    const batch = new MetricBatch(atNs, atNs);
    batch.add(MY.up, 0);
    return this.deps.publisher.publishMetrics(
      this.target.entityId,
      batch.toRequest(this.resource(undefined), SCOPE, VERSION),
    );
  }

  protected async collectMetrics(atNs: bigint): Promise<Publication[]> {
    const server = await this.session.serverInfo();
    const batch = await this.metricFamilies('fast', server, atNs);
    batch.add(MY.up, 1);
    const snapshot = await this.part('activity', 'could not sample the sessions and lock waits', () =>
      sampleMysqlActivity(this.session, server, this.target.entityId, atNs),
    );
    const logs = this.logSource === undefined ? [] : await this.collectLogs(this.logSource);
    return [
      () =>
        this.deps.publisher.publishMetrics(
          this.target.entityId,
          batch.toRequest(this.resource(server), SCOPE, VERSION),
        ),
      () =>
        this.deps.publisher.publishJson(
          TOPICS.rawActivity,
          this.target.entityId,
          snapshot === undefined ? [] : [snapshot],
        ),
      () => this.deps.publisher.publishJson(TOPICS.rawLogs, this.target.entityId, logs),
    ];
  }

  protected async collectStatements(atNs: bigint): Promise<Publication[]> {
    const server = await this.session.serverInfo();
    const entities = await discoverMysqlEntities(this.session, server, this.mysql, atNs);
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

  private async collectQueryStats(server: MysqlServerInfo, atNs: bigint): Promise<Publication[]> {
    if (!server.performanceSchema) {
      this.warnOnce(
        'statements',
        'performance_schema is off',
        'performance_schema is off on this server: no query analytics. Start it with ' +
          '--performance-schema=ON (my.cnf: performance_schema = ON); it needs a restart.',
      );
      return [];
    }
    const cycle = await this.part(
      'statements',
      'could not read performance_schema.events_statements_summary_by_digest (check the grants of `sightline setup-sql mysql`)',
      () =>
        this.statements.collect(this.session, server, atNs, (error) => {
          this.partFailed(
            'explain',
            error,
            'could not EXPLAIN a sampled statement: the monitoring user needs SELECT on the tables it reads (see explain in the README)',
          );
        }),
    );
    if (cycle === undefined) return [];
    if (cycle.undigested > 0) {
      this.warnOnce(
        'digests',
        `${cycle.undigested} statements without a digest`,
        'the server could not digest some statements: its digest table is full. Raise ' +
          'performance_schema_digests_size, or TRUNCATE performance_schema.events_statements_summary_by_digest',
      );
    }
    return [
      async () => {
        await this.deps.publisher.publishJson(TOPICS.rawQueries, this.target.entityId, [
          ...cycle.records,
          ...cycle.samples,
        ]);
        cycle.accept();
      },
    ];
  }

  /** A log that cannot be read must not stop the metrics: it is reported apart. */
  private async collectLogs(source: MysqlLogSource): Promise<ServerLogRecord[]> {
    const records = await this.part(
      'logs',
      'cannot read the MySQL error or slow log: check logs.errorLog and logs.slowLog of the target',
      () => source.read((sql) => this.session.query(sql)),
    );
    return records ?? [];
  }

  /**
   * One family that fails (a missing grant, a table a managed service hides) leaves the others
   * to be collected; only a lost connection fails the cycle.
   */
  private async metricFamilies(
    cadence: 'fast' | 'slow',
    server: MysqlServerInfo,
    atNs: bigint,
  ): Promise<MetricBatch> {
    const batch = new MetricBatch(atNs, msToNs(server.startedAt.getTime()));
    for (const family of MYSQL_METRIC_FAMILIES) {
      if (family.cadence !== cadence) continue;
      await this.part(family.name, `could not collect the ${family.name} metrics`, () =>
        family.collect({ session: this.session, server, batch, topTables: this.mysql.topTables }),
      );
    }
    return batch;
  }

  private resource(server: MysqlServerInfo | undefined): Record<string, string | number> {
    return {
      'sightline.entity.id': this.target.entityId,
      'service.name': 'mysql',
      'db.system': server?.flavor ?? 'mysql',
      'server.address': this.mysql.host,
      'server.port': this.mysql.port,
      'host.name': this.mysql.host,
      'mysql.target': this.mysql.name,
      ...(server === undefined ? {} : { 'mysql.version': server.version }),
    };
  }
}
