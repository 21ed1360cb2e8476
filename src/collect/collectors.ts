import type { Bus } from '../bus/bus.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import type { SelfMetrics } from '../core/telemetry.js';
import type { Collector } from './collector.js';
import { MysqlCollector } from './mysql/collector.js';
import { createMysqlLogSource } from './mysql/log-source.js';
import { mysqlTargetsOf, type MysqlTarget } from './mysql/target.js';
import { PostgresCollector } from './postgres/collector.js';
import { createLogSource } from './postgres/log-source.js';
import { loadSqlParser } from '../sql/postgres-shape.js';
import { targetsOf, type PostgresTarget } from './postgres/target.js';
import { CollectorPublisher } from './publisher.js';

export interface CollectorDeps {
  bus: Bus;
  orgId: string;
  metrics: SelfMetrics;
  logger: Logger;
  signal?: AbortSignal;
}

/** What the config asks to watch, resolved and checked: config errors surface here, before anything starts. */
export interface CollectorPlan {
  config: Config['collect'];
  postgres: PostgresTarget[];
  mysql: MysqlTarget[];
}

export async function planCollectors(config: Config['collect']): Promise<CollectorPlan> {
  const postgres = targetsOf(config.postgres);
  const mysql = mysqlTargetsOf(config.mysql);
  if (postgres.length > 0) await loadSqlParser();
  return { config, postgres, mysql };
}

/** Every collector of the plan; none started yet. */
export function buildCollectors(plan: CollectorPlan, deps: CollectorDeps): Collector[] {
  if (plan.postgres.length === 0 && plan.mysql.length === 0) return [];
  const publisher = new CollectorPublisher(deps.bus, {
    orgId: deps.orgId,
    attempts: 5,
    firstBackoffMs: 200,
    ...(deps.signal === undefined ? {} : { signal: deps.signal }),
  });
  // Each message of a collector names its target itself.
  const logger = deps.logger.child({ component: 'collector' });
  const shared = (settings: Config['collect']['postgres'] | Config['collect']['mysql']) => ({
    publisher,
    metrics: deps.metrics,
    logger,
    breaker: {
      failureThreshold: settings.breaker.failureThreshold,
      openMs: settings.breaker.openSeconds * 1000,
      maxOpenMs: settings.breaker.maxOpenSeconds * 1000,
    },
    maxBusyShare: settings.maxBusyShare,
    maxStretch: settings.maxStretch,
  });
  const postgres = plan.postgres.map((target) => {
    const logSource = createLogSource(target, logger);
    return new PostgresCollector(target, {
      ...shared(plan.config.postgres),
      ...(logSource === undefined ? {} : { logSource }),
    });
  });
  const mysql = plan.mysql.map((target) => {
    const logSource = createMysqlLogSource(target, target.logs, logger);
    return new MysqlCollector(target, {
      ...shared(plan.config.mysql),
      ...(logSource === undefined ? {} : { logSource }),
    });
  });
  return [...postgres, ...mysql];
}
