import { isAbsolute, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApiApp } from '../api/api-app.js';
import { ApiKeyAuthenticator } from '../auth/authenticator.js';
import { bootstrapAccess } from '../auth/bootstrap.js';
import { MemoryBus } from '../bus/memory.js';
import type { Config } from '../config/schema.js';
import { SightlineError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { SelfMetrics } from '../core/telemetry.js';
import { nowNs } from '../core/time.js';
import { buildGatewayApp } from '../ingest/gateway-app.js';
import { buildCollectors, planCollectors } from '../collect/collectors.js';
import { ProcessorRole } from '../process/processor.js';
import { loadLimitBaseline } from '../process/stages/limit.js';
import { redactStageReady } from '../process/stages/redact.js';
import { createStageChain } from '../process/stages/registry.js';
import { UsageRecorder } from '../process/stages/usage.js';
import { DuckDBUsageStore } from '../store/duckdb/usage-store.js';
import type { Org } from '../store/control-store.js';
import { DuckDBControlStore } from '../store/duckdb/control-store.js';
import { DuckDBDatabase } from '../store/duckdb/database.js';
import { RetentionJob } from '../store/duckdb/retention.js';
import { RollupJob } from '../store/duckdb/rollups.js';
import { DuckDBStore } from '../store/duckdb/telemetry-store.js';

/** How often usage per org, day and signal is added to usage_daily. */
const USAGE_FLUSH_MS = 10_000;

export interface RunningSightline {
  dataDir: string;
  databasePath: string;
  ingestUrl: string;
  apiUrl: string;
  org: Org;
  /** The database servers being watched, by target name. */
  collectors: string[];
  /** The API key created on first start, if one was; it is not stored anywhere readable. */
  generatedKey?: string;
  /** Stops intake, stores what was accepted, closes the database. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * The embedded shape: every role in this process on the in-memory bus and the DuckDB
 * file. Stopping runs the start-up in reverse, so nothing acknowledged is left behind.
 */
export async function startSightline(config: Config, logger: Logger): Promise<RunningSightline> {
  const dataDir = resolve(config.dataDir);
  const file = config.store.duckdb.file;
  const databasePath = isAbsolute(file) ? file : resolve(dataDir, file);
  const database = await DuckDBDatabase.open(
    {
      path: databasePath,
      memoryLimit: config.store.duckdb.memoryLimit,
      checkpointThreshold: config.store.duckdb.checkpointThreshold,
      threads: config.store.duckdb.threads,
      queryTimeoutMs: config.api.query.timeoutSeconds * 1000,
    },
    logger,
  );
  const cleanup: Array<() => Promise<void>> = [() => database.close()];
  const stopAll = async (): Promise<void> => {
    for (const step of cleanup.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        logger.error({ err: errorMessage(error) }, 'error while stopping');
      }
    }
  };

  try {
    await database.migrate();
    // Before anything listens or a key is shown: a target's config error must stop start-up cleanly.
    const collectorPlan = await planCollectors(config.collect);
    const control = new DuckDBControlStore(database);

    const metrics = new SelfMetrics();
    const bus = new MemoryBus(
      {
        maxQueueBytes: config.bus.memory.maxQueueBytes,
        maxQueueMessages: config.bus.memory.maxQueueMessages,
        retryAfterSeconds: config.ingest.retryAfterSeconds,
      },
      logger.child({ component: 'bus' }),
    );
    metrics.observeQueues(() => bus.stats());
    const store = new DuckDBStore(database);
    await store.start();
    // Stopped after the processor has drained into the store (cleanup runs in reverse), so the
    // rollups' last pass summarises everything stored; both before the database closes.
    const rollups = new RollupJob(config.store.retention.rollups, {
      database,
      logger: logger.child({ component: 'rollups' }),
      onReport: (report) => metrics.observeRollups(report),
      onError: () => metrics.maintenanceErrors.inc({ job: 'rollups' }),
    });
    const retention = new RetentionJob(config.store.retention, {
      database,
      logger: logger.child({ component: 'retention' }),
      onReport: (report) => metrics.observeRetention(report),
      onError: () => metrics.maintenanceErrors.inc({ job: 'retention' }),
    });
    cleanup.push(
      () => retention.shutdown(),
      () => rollups.shutdown(),
    );
    await rollups.start();
    await retention.start();
    const usageStore = new DuckDBUsageStore(database);
    const usage = new UsageRecorder(
      usageStore,
      { flushIntervalMs: USAGE_FLUSH_MS },
      logger.child({ component: 'usage' }),
    );
    // Today's bytes and recent series per org: a restart must not reset the limits.
    const limitBaseline = await loadLimitBaseline(usageStore, config.processor.stages, nowNs());
    const processor = new ProcessorRole({
      bus,
      store,
      metrics,
      logger: logger.child({ component: 'processor' }),
      batch: config.processor.batch,
      stages: createStageChain(
        config.processor.stages,
        { observe: (stage, seconds) => metrics.stageDuration.observe({ stage }, seconds) },
        {
          sample: { metrics },
          limit: { baseline: limitBaseline, metrics, logger: logger.child({ component: 'limit' }) },
        },
      ),
      usage,
    });
    await usage.start();
    // PostgreSQL's parser, so statements in the first messages lose their literals exactly.
    if (config.processor.stages.some((stage) => stage.type === 'redact' && stage.enabled))
      await redactStageReady();
    await processor.start();
    // Stopped in reverse: processor and bus drain into the store, usage is flushed, then the database closes.
    cleanup.push(
      () => store.shutdown(),
      () => usage.shutdown(),
      () => processor.shutdown(),
      () => bus.shutdown(),
    );

    let stopping = false;
    const authenticator = new ApiKeyAuthenticator(control);
    const api = buildApiApp({
      authenticator,
      store,
      metrics,
      logger: logger.child({ component: 'api' }),
      readiness: () => (stopping ? { ready: false, reason: 'shutting down' } : { ready: true }),
      queryLimits: {
        timeoutMs: config.api.query.timeoutSeconds * 1000,
        maxRangeMs: config.api.query.maxRangeDays * 86_400_000,
        maxSamples: config.api.query.maxSamples,
        maxSeries: config.api.query.maxSeries,
      },
    });
    const gateway = buildGatewayApp({
      authenticator,
      bus,
      metrics,
      logger: logger.child({ component: 'ingest' }),
      limits: {
        maxBodyBytes: config.ingest.maxBodyBytes,
        maxAttributeDepth: config.ingest.maxAttributeDepth,
        ...config.ingest.limits,
      },
      ackTimeoutMs: config.ingest.ackTimeoutSeconds * 1000,
      retryAfterSeconds: config.ingest.retryAfterSeconds,
      rum: config.ingest.rum,
    });
    cleanup.push(() => api.close());
    const apiUrl = await listen(api, config.host, config.api.port, '--port');
    cleanup.push(async () => {
      stopping = true;
      // Stop accepting, then drain the bus: requests still waiting on it are answered when it
      // has stored their records, or with 503 once its drain timeout is up, so a client that
      // never gives up cannot hold the shutdown open.
      const closed = gateway.close();
      await bus.shutdown();
      await closed;
    });
    const ingestUrl = await listen(gateway, config.host, config.ingest.port, '--ingest-port');
    // Only once both ports are ours: a start that fails must not use up the one showing of a new key.
    const access = await bootstrapAccess(control, config.auth.bootstrapKey);

    // Collectors publish as the default org; they stop first, so their last records still reach the store.
    const collectorsStopped = new AbortController();
    const collectors = buildCollectors(collectorPlan, {
      bus,
      orgId: access.org.id,
      metrics,
      logger,
      signal: collectorsStopped.signal,
    });
    cleanup.push(async () => {
      collectorsStopped.abort();
      await Promise.all(collectors.map((collector) => collector.shutdown()));
    });
    for (const collector of collectors) await collector.start();

    let stopped: Promise<void> | undefined;
    return {
      dataDir,
      databasePath,
      ingestUrl,
      apiUrl,
      org: access.org,
      collectors: collectors.map((collector) => collector.name),
      ...(access.generatedKey === undefined ? {} : { generatedKey: access.generatedKey }),
      shutdown: () => (stopped ??= stopAll()),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function listen(app: FastifyInstance, host: string, port: number, flag: string): Promise<string> {
  try {
    await app.listen({ host, port });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE'
        ? `port ${port} on ${host} is already in use (another Sightline, or an OpenTelemetry Collector?); choose another with ${flag}`
        : code === 'EACCES'
          ? `not allowed to listen on port ${port}; use a port above 1023 with ${flag}`
          : code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND'
            ? `${host} is not an address of this machine; choose one with --host`
            : errorMessage(error);
    throw new SightlineError('SL_ERR_LISTEN_FAILED', `cannot listen on ${host}:${port}: ${why}`);
  }
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address !== null ? address.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return `http://${shownHost}:${actualPort}`;
}
