import type { Bus } from '../bus/bus.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import type { SelfMetrics } from '../core/telemetry.js';
import type { Collector } from './collector.js';
import { PostgresCollector } from './postgres/collector.js';
import { createLogSource } from './postgres/log-source.js';
import { loadSqlParser } from './postgres/sql-shape.js';
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
}

export async function planCollectors(config: Config['collect']): Promise<CollectorPlan> {
  const postgres = targetsOf(config.postgres);
  if (postgres.length > 0) await loadSqlParser();
  return { config, postgres };
}

/** Every collector of the plan; none started yet. */
export function buildCollectors(plan: CollectorPlan, deps: CollectorDeps): Collector[] {
  if (plan.postgres.length === 0) return [];
  const settings = plan.config.postgres;
  const publisher = new CollectorPublisher(deps.bus, {
    orgId: deps.orgId,
    attempts: 5,
    firstBackoffMs: 200,
    ...(deps.signal === undefined ? {} : { signal: deps.signal }),
  });
  return plan.postgres.map((target) => {
    // Each message of a collector names its target itself.
    const logger = deps.logger.child({ component: 'collector' });
    const logSource = createLogSource(target, logger);
    return new PostgresCollector(target, {
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
      ...(logSource === undefined ? {} : { logSource }),
    });
  });
}
