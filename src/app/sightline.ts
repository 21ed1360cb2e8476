import { isAbsolute, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildOpsApp } from '../api/ops-app.js';
import { buildApiApp } from '../api/api-app.js';
import { TopicThroughputSampler, type TopicCounters } from '../api/topic-throughput.js';
import { ApiKeyAuthenticator } from '../auth/authenticator.js';
import { bootstrapAccess } from '../auth/bootstrap.js';
import { SessionManager } from '../auth/sessions.js';
import { LoginLimiter } from '../auth/login-limiter.js';
import type { Bus } from '../bus/bus.js';
import { KafkaBus } from '../bus/kafka.js';
import { MemoryBus } from '../bus/memory.js';
import { TOPICS } from '../bus/topics.js';
import { KafkaGroupLag } from '../bus/kafka-group-lag.js';
import { buildCollectors, planCollectors } from '../collect/collectors.js';
import type { Config } from '../config/schema.js';
import { SightlineError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { SelfMetrics } from '../core/telemetry.js';
import { nowNs } from '../core/time.js';
import { buildGatewayApp } from '../ingest/gateway-app.js';
import { PROCESSOR_GROUP, ProcessorRole } from '../process/processor.js';
import { loadLimitBaseline, type UsageSource } from '../process/stages/limit.js';
import { redactStageReady } from '../process/stages/redact.js';
import { createStageChain } from '../process/stages/registry.js';
import { UsageRecorder, type UsageSink } from '../process/stages/usage.js';
import type { ControlStore, Org } from '../store/control-store.js';
import { DuckDBControlStore } from '../store/duckdb/control-store.js';
import { DuckDBDatabase } from '../store/duckdb/database.js';
import { RetentionJob } from '../store/duckdb/retention.js';
import { DuckDBRollupSteps } from '../store/duckdb/rollups.js';
import { RollupJob, type RollupSteps } from '../store/rollup-job.js';
import { DuckDBStore } from '../store/duckdb/telemetry-store.js';
import { DuckDBUsageStore } from '../store/duckdb/usage-store.js';
import { ClickhouseDatabase } from '../store/clickhouse/database.js';
import { runMigrations as runClickhouseMigrations } from '../store/clickhouse/migrations.js';
import { dropExpiredPartitions } from '../store/clickhouse/retention.js';
import { ClickhouseRollupSteps } from '../store/clickhouse/rollups.js';
import { ClickhouseStore } from '../store/clickhouse/telemetry-store.js';
import { ClickhouseUsageStore } from '../store/clickhouse/usage-store.js';
import { PeriodicRunner } from '../store/maintenance.js';
import type { Store, UsageReader } from '../store/store.js';
import { PostgresControlStore } from '../store/postgres/control-store.js';
import { checkDeployment, usesDuckDB } from './deployment.js';

/** How often usage per org, day and signal is added to usage_daily. */
const USAGE_FLUSH_MS = 10_000;

export interface RunningSightline {
  roles: readonly string[];
  /** Where the store and embedded control plane live; undefined when this process opens no DuckDB file. */
  databasePath?: string;
  busDescription: string;
  /** Present when this process runs the gateway role. */
  ingestUrl?: string;
  /** Present when this process runs the api role. */
  apiUrl?: string;
  /** Present when it does not: /healthz, /readyz and /metrics on the API port. */
  opsUrl?: string;
  /** The default org, when this process answers to keys or collects. */
  org?: Org;
  /** The database servers being watched, by target name. */
  collectors: string[];
  /** The API key created on first start, if one was; it is not stored anywhere readable. */
  generatedKey?: string;
  /** The first owner, when created now with a generated password: the one time it can be shown. */
  generatedUser?: { email: string; password: string };
  /** Stops intake, stores what was accepted, closes what was opened. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * Starts the roles of `config.roles` in this process: by default all of them on the in-memory
 * bus and the DuckDB file (the embedded shape); with Kafka and a PostgreSQL control plane, any
 * subset, so roles can run as separate processes (docs/scale-out.md). Stopping runs the
 * start-up in reverse, so nothing acknowledged is left behind.
 */
export async function startSightline(config: Config, logger: Logger): Promise<RunningSightline> {
  checkDeployment(config);
  const roles = new Set(config.roles);
  const cleanup: Array<() => Promise<void>> = [];
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
    const databasePath = duckdbPath(config);
    const database = usesDuckDB(config) ? await openDuckDB(config, databasePath, logger) : undefined;
    if (database !== undefined) cleanup.push(() => database.close());
    // Before anything listens or a key is shown: a target's config error must stop start-up cleanly.
    const collectorPlan = roles.has('collector') ? await planCollectors(config.collect) : undefined;
    const control = await openControl(config, database, logger, cleanup);

    const metrics = new SelfMetrics();
    const bus = createBus(config, logger);
    await bus.start();
    metrics.observeQueues(() => bus.stats());

    const storage =
      roles.has('processor') || roles.has('api')
        ? await openStorage(config, database, metrics, logger, cleanup)
        : undefined;
    const store = storage?.store;

    if (roles.has('processor')) {
      if (storage === undefined) throw new Error('the processor role needs the store');
      await startProcessor(config, { storage, bus, metrics, logger }, cleanup);
    }
    cleanup.push(() => bus.shutdown());

    let stopping = false;
    // Ready while not stopping and the bus takes publishes (Kafka answering, for the roles that publish or consume).
    const readiness = (): { ready: boolean; reason?: string } => {
      if (stopping) return { ready: false, reason: 'shutting down' };
      const health = bus.health();
      return health.ok
        ? { ready: true }
        : { ready: false, reason: health.reason ?? 'the bus is unavailable' };
    };
    const authenticator = new ApiKeyAuthenticator(control);

    let apiUrl: string | undefined;
    if (roles.has('api')) {
      if (storage === undefined || store === undefined) throw new Error('the api role needs the store');
      // The bus's lag and committed counters, sampled for GET /api/v1/pipeline's rates.
      const throughput = new TopicThroughputSampler(
        await lagSource(config, roles, bus, logger, cleanup),
        Object.values(TOPICS),
      );
      throughput.start();
      cleanup.push(() => throughput.shutdown());
      const api = buildApiApp({
        usage: storage.usage,
        throughput,
        authenticator,
        control,
        sessions: new SessionManager(control, { ttlMs: config.auth.sessionTtlHours * 3_600_000 }),
        loginLimiter: new LoginLimiter({
          maxFailuresPerEmail: config.auth.login.maxFailuresPerEmail,
          maxFailuresPerIp: config.auth.login.maxFailuresPerIp,
          windowMs: config.auth.login.windowSeconds * 1000,
        }),
        retention: config.store.retention,
        storeType: config.store.type,
        store,
        metrics,
        logger: logger.child({ component: 'api' }),
        readiness,
        queryLimits: {
          timeoutMs: config.api.query.timeoutSeconds * 1000,
          maxRangeMs: config.api.query.maxRangeDays * 86_400_000,
          maxSamples: config.api.query.maxSamples,
          maxSeries: config.api.query.maxSeries,
        },
      });
      cleanup.push(() => api.close());
      apiUrl = await listen(api, config.host, config.api.port, '--port');
    }

    let opsUrl: string | undefined;
    if (!roles.has('api')) {
      const ops = buildOpsApp({
        authenticator,
        metrics,
        logger: logger.child({ component: 'ops' }),
        readiness,
      });
      cleanup.push(() => ops.close());
      opsUrl = await listen(ops, config.host, config.api.port, '--port');
    }

    let ingestUrl: string | undefined;
    if (roles.has('gateway')) {
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
        readiness,
      });
      cleanup.push(async () => {
        stopping = true;
        // Stop accepting, then drain the bus: requests still waiting on it are answered when it
        // has stored their records, or with 503 once its drain timeout is up, so a client that
        // never gives up cannot hold the shutdown open.
        const closed = gateway.close();
        await bus.shutdown();
        await closed;
      });
      ingestUrl = await listen(gateway, config.host, config.ingest.port, '--ingest-port');
    } else {
      cleanup.push(async () => {
        stopping = true;
      });
    }

    // Only once the ports are ours: a start that fails must not use up the one showing of a new key.
    const access =
      control === undefined
        ? undefined
        : await bootstrapAccess(control, {
            key: config.auth.bootstrapKey,
            email: config.auth.bootstrapEmail,
            password: config.auth.bootstrapPassword,
          });

    let collectorNames: string[] = [];
    if (collectorPlan !== undefined && access !== undefined) {
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
      collectorNames = collectors.map((collector) => collector.name);
    }

    let stopped: Promise<void> | undefined;
    return {
      roles: config.roles,
      ...(database === undefined ? {} : { databasePath }),
      busDescription:
        config.bus.type === 'kafka' ? `Kafka at ${config.bus.kafka.brokers.join(', ')}` : 'in-memory bus',
      ...(ingestUrl === undefined ? {} : { ingestUrl }),
      ...(apiUrl === undefined ? {} : { apiUrl }),
      ...(opsUrl === undefined ? {} : { opsUrl }),
      ...(access === undefined ? {} : { org: access.org }),
      collectors: collectorNames,
      ...(access?.generatedKey === undefined ? {} : { generatedKey: access.generatedKey }),
      ...(access?.generatedUser === undefined ? {} : { generatedUser: access.generatedUser }),
      shutdown: () => (stopped ??= stopAll()),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function duckdbPath(config: Config): string {
  const file = config.store.duckdb.file;
  return isAbsolute(file) ? file : resolve(resolve(config.dataDir), file);
}

async function openDuckDB(config: Config, path: string, logger: Logger): Promise<DuckDBDatabase> {
  const database = await DuckDBDatabase.open(
    {
      path,
      memoryLimit: config.store.duckdb.memoryLimit,
      checkpointThreshold: config.store.duckdb.checkpointThreshold,
      threads: config.store.duckdb.threads,
      queryTimeoutMs: config.api.query.timeoutSeconds * 1000,
    },
    logger,
  );
  try {
    await database.migrate();
  } catch (error) {
    await database.close();
    throw error;
  }
  return database;
}

/** The control plane: every process answers to API keys (a process without the api role on its ops port). */
async function openControl(
  config: Config,
  database: DuckDBDatabase | undefined,
  logger: Logger,
  cleanup: Array<() => Promise<void>>,
): Promise<ControlStore> {
  if (config.control.type === 'duckdb') {
    if (database === undefined) throw new Error('the embedded control plane needs the DuckDB file');
    return new DuckDBControlStore(database);
  }
  const control = new PostgresControlStore(
    {
      connection: config.control.postgres.url ?? '',
      schema: config.control.postgres.schema,
      retryAfterSeconds: config.ingest.retryAfterSeconds,
    },
    logger.child({ component: 'control' }),
  );
  cleanup.push(() => control.shutdown());
  await control.start();
  return control;
}

/**
 * Where GET /api/v1/pipeline reads each topic's lag: the bus of a process that runs the
 * processor consumes every topic and knows it; an api process without it on Kafka asks the
 * brokers for the processor groups' committed offsets.
 */
async function lagSource(
  config: Config,
  roles: ReadonlySet<string>,
  bus: Bus,
  logger: Logger,
  cleanup: Array<() => Promise<void>>,
): Promise<() => readonly TopicCounters[]> {
  if (config.bus.type !== 'kafka' || roles.has('processor')) return () => bus.stats();
  const groupLag = new KafkaGroupLag(
    {
      brokers: config.bus.kafka.brokers,
      clientId: `${config.bus.kafka.clientId}-${config.roles.join('-')}`,
      group: PROCESSOR_GROUP,
      topics: Object.values(TOPICS),
    },
    logger.child({ component: 'bus' }),
  );
  cleanup.push(() => groupLag.shutdown());
  await groupLag.start();
  return () => groupLag.stats();
}

function createBus(config: Config, logger: Logger): Bus {
  const busLogger = logger.child({ component: 'bus' });
  if (config.bus.type === 'kafka') {
    const kafka = config.bus.kafka;
    return new KafkaBus(
      {
        brokers: kafka.brokers,
        clientId: `${kafka.clientId}-${config.roles.join('-')}`,
        partitions: kafka.partitions,
        replicationFactor: kafka.replicationFactor,
        publishTimeoutMs: kafka.publishTimeoutSeconds * 1000,
        retryAfterSeconds: config.ingest.retryAfterSeconds,
        drainTimeoutMs: kafka.drainTimeoutSeconds * 1000,
        sessionTimeoutMs: kafka.sessionTimeoutSeconds * 1000,
        // One OTLP request is one message: the largest the gateway accepts, plus its headers.
        maxMessageBytes: config.ingest.maxBodyBytes + 1024 * 1024,
      },
      busLogger,
    );
  }
  return new MemoryBus(
    {
      maxQueueBytes: config.bus.memory.maxQueueBytes,
      maxQueueMessages: config.bus.memory.maxQueueMessages,
      retryAfterSeconds: config.ingest.retryAfterSeconds,
    },
    busLogger,
  );
}

/** The store and what the processor keeps beside it: usage per org and day, maintenance jobs. */
interface Storage {
  store: Store;
  usage: UsageSink & UsageSource & UsageReader;
  /** Rollups and retention, started with the processor and stopped after it drained. */
  maintenance: ReadonlyArray<{ start(): Promise<void> | void; shutdown(): Promise<void> }>;
}

async function openStorage(
  config: Config,
  database: DuckDBDatabase | undefined,
  metrics: SelfMetrics,
  logger: Logger,
  cleanup: Array<() => Promise<void>>,
): Promise<Storage> {
  if (config.store.type === 'clickhouse') return openClickhouse(config, metrics, logger, cleanup);
  if (database === undefined) throw new Error('the DuckDB store needs its file');
  const store = new DuckDBStore(database);
  await store.start();
  return {
    store,
    usage: new DuckDBUsageStore(database),
    maintenance: [
      rollupJob(config, new DuckDBRollupSteps(database), metrics, logger),
      new RetentionJob(config.store.retention, {
        database,
        logger: logger.child({ component: 'retention' }),
        onReport: (report) => metrics.observeRetention(report),
        onError: () => metrics.maintenanceErrors.inc({ job: 'retention' }),
      }),
    ],
  };
}

function rollupJob(config: Config, steps: RollupSteps, metrics: SelfMetrics, logger: Logger): RollupJob {
  return new RollupJob(config.store.retention.rollups, {
    steps,
    logger: logger.child({ component: 'rollups' }),
    onReport: (report) => metrics.observeRollups(report),
    onError: () => metrics.maintenanceErrors.inc({ job: 'rollups' }),
  });
}

/**
 * ClickHouse: migrated on start by whichever process gets there first (the DDL is idempotent),
 * retention by dropping whole days. Every processor runs the rollup job; they write the same rows.
 */
async function openClickhouse(
  config: Config,
  metrics: SelfMetrics,
  logger: Logger,
  cleanup: Array<() => Promise<void>>,
): Promise<Storage> {
  const { clickhouse } = config.store;
  const database = new ClickhouseDatabase({
    url: clickhouse.url,
    database: clickhouse.database,
    username: clickhouse.username,
    ...(clickhouse.password === undefined ? {} : { password: clickhouse.password }),
    requestTimeoutMs: clickhouse.requestTimeoutSeconds * 1000,
  });
  cleanup.push(() => database.close());
  const report = await runClickhouseMigrations(database);
  if (report.applied.length > 0) logger.info({ applied: report.applied }, 'applied ClickHouse migrations');
  const store = new ClickhouseStore(database);
  await store.start();
  return {
    store,
    usage: new ClickhouseUsageStore(database),
    maintenance: [
      rollupJob(config, new ClickhouseRollupSteps(database), metrics, logger),
      new PeriodicRunner(
        {
          name: 'retention',
          intervalMs: config.store.retention.intervalSeconds * 1000,
          firstDelayMs: 5_000,
          finalPass: false,
          logger: logger.child({ component: 'retention' }),
        },
        (now) => dropExpiredPartitions(database, config.store.retention.days, now),
      ),
    ],
  };
}

interface ProcessorDeps {
  storage: Storage;
  bus: Bus;
  metrics: SelfMetrics;
  logger: Logger;
}

/**
 * The processor role and the store's maintenance jobs. Registered for stopping in reverse: the
 * processor drains the bus into the store, usage is flushed, the rollups' last pass summarises
 * everything stored, all before the database closes.
 */
async function startProcessor(
  config: Config,
  deps: ProcessorDeps,
  cleanup: Array<() => Promise<void>>,
): Promise<void> {
  const { storage, bus, metrics, logger } = deps;
  const { store, usage: usageStore } = storage;
  for (const job of [...storage.maintenance].reverse()) cleanup.push(() => job.shutdown());
  for (const job of storage.maintenance) await job.start();
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
  cleanup.push(
    () => store.shutdown(),
    () => usage.shutdown(),
    () => processor.shutdown(),
  );
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
