import type { Bus } from '../bus/bus.js';
import type { Config, PostgresTargetConfig } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import type { SelfMetrics } from '../core/telemetry.js';
import type { Collector } from './collector.js';
import { PostgresCollector } from './postgres/collector.js';
import { createLogSource } from './postgres/log-source.js';
import { loadSqlParser } from './postgres/sql-shape.js';
import { targetsOf } from './postgres/target.js';
import { CollectorPublisher } from './publisher.js';

export interface CollectorDeps {
  bus: Bus;
  orgId: string;
  metrics: SelfMetrics;
  logger: Logger;
  signal?: AbortSignal;
}

/** The defaults of a target given only as a URL (`--postgres`). */
function quickTarget(url: string): PostgresTargetConfig {
  return {
    url,
    metricsIntervalSeconds: 15,
    queryStatsIntervalSeconds: 60,
    statementTimeoutMs: 5000,
    lockTimeoutMs: 1000,
    topTables: 200,
    logs: { source: 'auto', format: 'auto', keepLiterals: false },
  };
}

/** Every collector the config asks for; none started yet. */
export async function buildCollectors(config: Config['collect'], deps: CollectorDeps): Promise<Collector[]> {
  const postgres = config.postgres;
  const targets = targetsOf(postgres, quickTarget);
  if (targets.length === 0) return [];
  await loadSqlParser();
  const publisher = new CollectorPublisher(deps.bus, {
    orgId: deps.orgId,
    attempts: 5,
    firstBackoffMs: 200,
    ...(deps.signal === undefined ? {} : { signal: deps.signal }),
  });
  return targets.map((target) => {
    const logger = deps.logger.child({ component: 'collector', target: target.name });
    const logSource = createLogSource(target, logger);
    return new PostgresCollector(target, {
      publisher,
      metrics: deps.metrics,
      logger,
      breaker: {
        failureThreshold: postgres.breaker.failureThreshold,
        openMs: postgres.breaker.openSeconds * 1000,
        maxOpenMs: postgres.breaker.maxOpenSeconds * 1000,
      },
      maxBusyShare: postgres.maxBusyShare,
      maxStretch: postgres.maxStretch,
      ...(logSource === undefined ? {} : { logSource }),
    });
  });
}
