import { z } from 'zod';
import { LOG_LEVELS } from '../core/logger.js';
import { ingestLimitsSchema } from './ingest-limits.js';
import { retentionSchema } from './retention.js';
import { dedupeStageSchema } from './stages/dedupe.js';
import { enrichStageSchema } from './stages/enrich.js';
import { limitStageSchema } from './stages/limit.js';
import { redactStageSchema } from './stages/redact.js';
import { sampleStageSchema } from './stages/sample.js';

const port = z.int().min(0).max(65535);
const positiveInt = z.int().positive();
const duckdbSize = z
  .string()
  .regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'must be a size such as 512MB or 2GB');

/**
 * Sightline's configuration. Every key has a default, so an empty file (or none) is valid;
 * unknown keys are errors, so a typo cannot silently fall back to a default.
 */
const seconds = z.number().positive();

const secretFields = {
  /** Prefer passwordEnv or passwordFile: a password in a config file is easy to leak. */
  password: z.string().optional(),
  passwordEnv: z.string().min(1).optional(),
  passwordFile: z.string().min(1).optional(),
};
const targetName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1 to 64 letters, digits, ".", "_" or "-"')
  .optional();
const MYSQL_URL = /^(mysql|mariadb):\/\//;
const mysqlUrl = z.string().regex(MYSQL_URL, 'must be a mysql:// (or mariadb://) connection string');

/** What every database target must say: where the server is, and its password in one place at most. */
function checkTarget(
  target: { url?: string | undefined; host?: string | undefined } & {
    [K in keyof typeof secretFields]?: string | undefined;
  },
  context: z.RefinementCtx,
): void {
  if (target.url === undefined && target.host === undefined)
    context.addIssue({ code: 'custom', message: 'needs a url or a host' });
  if ([target.password, target.passwordEnv, target.passwordFile].filter((p) => p !== undefined).length > 1)
    context.addIssue({
      code: 'custom',
      message: 'give at most one of password, passwordEnv and passwordFile',
    });
}

/** One watched PostgreSQL server: a connection string, or the same thing as separate fields. */
export const postgresTargetSchema = z
  .strictObject({
    /** Names the target in entity ids, metrics and logs; defaults to host-port. */
    name: targetName,
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// connection string')
      .optional(),
    host: z.string().min(1).optional(),
    port: port.optional(),
    database: z.string().min(1).optional(),
    user: z.string().min(1).optional(),
    ...secretFields,
    metricsIntervalSeconds: seconds.default(15),
    queryStatsIntervalSeconds: seconds.default(60),
    statementTimeoutMs: positiveInt.default(5000),
    lockTimeoutMs: positiveInt.default(1000),
    /** Tables and indexes reported one by one, the largest first; the rest only count. */
    topTables: positiveInt.max(10_000).default(200),
    logs: z
      .strictObject({
        /**
         * Where to read the server log: `auto` (over SQL when the role may and the logging collector
         * runs), `sql` (pg_read_binary_file), a file or directory on this host, or `off`.
         */
        source: z.string().min(1).default('auto'),
        format: z.enum(['auto', 'csvlog', 'jsonlog', 'stderr']).default('auto'),
        /** log_line_prefix of stderr logs when it is none of the common forms. */
        linePrefix: z.string().optional(),
        /** Store statements from the log with their literals (off: literals are removed before they leave the collector). */
        keepLiterals: z.boolean().default(false),
      })
      .prefault({}),
  })
  .superRefine(checkTarget);

export type PostgresTargetConfig = z.infer<typeof postgresTargetSchema>;

/** One watched MySQL or MariaDB server: a connection string, or the same thing as separate fields. */
export const mysqlTargetSchema = z
  .strictObject({
    /** Names the target in entity ids, metrics and logs; defaults to host-port. */
    name: targetName,
    url: mysqlUrl.optional(),
    host: z.string().min(1).optional(),
    port: port.optional(),
    user: z.string().min(1).optional(),
    ...secretFields,
    metricsIntervalSeconds: seconds.default(15),
    queryStatsIntervalSeconds: seconds.default(60),
    /** Longest a collector statement may run (max_execution_time / max_statement_time). */
    statementTimeoutMs: positiveInt.default(5000),
    /** How long a collector statement waits for a metadata or row lock before giving up. */
    lockWaitTimeoutSeconds: positiveInt.max(3600).default(2),
    /** Tables reported one by one (sizes, I/O waits), the largest or busiest first; the rest only count. */
    topTables: positiveInt.max(10_000).default(200),
    /** Most statement digests kept between cycles; performance_schema itself keeps at most its digests_size. */
    maxDigests: positiveInt.max(100_000).default(10_000),
    explain: z
      .strictObject({
        /**
         * EXPLAIN FORMAT=JSON of one sampled statement of each slow digest. Off by default: it runs
         * statements' plans on the server (SELECTs only, read-only session) and needs statement history.
         */
        enabled: z.boolean().default(false),
        /** A digest is slow when its mean time in the interval is at least this. */
        minMeanMs: z.number().nonnegative().default(500),
        /** Most EXPLAINs per query-stats cycle. */
        maxPerCycle: z.int().min(1).max(100).default(5),
      })
      .prefault({}),
    logs: z
      .strictObject({
        /** `auto` (performance_schema.error_log on MySQL 8, else @@log_error when readable here), `sql`, a file, or `off`. */
        errorLog: z.string().min(1).default('auto'),
        /** `auto` (@@slow_query_log_file when the slow log is on and readable here), a file, or `off`. */
        slowLog: z.string().min(1).default('auto'),
        /** Store statements from the slow log with their literals (off: removed before they leave the collector). */
        keepLiterals: z.boolean().default(false),
      })
      .prefault({}),
  })
  .superRefine(checkTarget);

export type MysqlTargetConfig = z.infer<typeof mysqlTargetSchema>;

/** How collectors protect the servers they watch: shared by every engine. */
const cycleProtection = {
  /** A cycle may take this share of its interval before the interval stretches. */
  maxBusyShare: z.number().gt(0).max(1).default(0.5),
  /** The interval never stretches beyond its configured value times this. */
  maxStretch: z.number().min(1).max(100).default(8),
  breaker: z
    .strictObject({
      failureThreshold: positiveInt.default(3),
      openSeconds: seconds.default(30),
      maxOpenSeconds: seconds.default(300),
    })
    .prefault({}),
};

/** One stage of `processor.stages`. */
export const stageConfigSchema = z.discriminatedUnion('type', [
  enrichStageSchema,
  redactStageSchema,
  dedupeStageSchema,
  sampleStageSchema,
  limitStageSchema,
]);
export type StageConfig = z.infer<typeof stageConfigSchema>;

/**
 * The pipeline when the config names none: every stage with its defaults, sampling off (it
 * drops records, which a user must ask for).
 */
const DEFAULT_STAGES = [
  { type: 'enrich' },
  { type: 'redact' },
  { type: 'dedupe' },
  { type: 'sample', enabled: false },
  { type: 'limit' },
] as const;

/** What one process may run (`sightline start --role`); every one of them by default. */
export const ROLES = ['gateway', 'processor', 'collector', 'api'] as const;
export type Role = (typeof ROLES)[number];

export const configSchema = z.strictObject({
  roles: z
    .array(z.enum(ROLES))
    .min(1, 'name at least one role')
    .default(() => [...ROLES]),
  dataDir: z.string().min(1).default('./data'),
  host: z.string().min(1).default('127.0.0.1'),
  log: z
    .strictObject({
      level: z.enum(LOG_LEVELS).default('info'),
    })
    .prefault({}),
  ingest: z
    .strictObject({
      port: port.default(4318),
      /** Largest request body, counted after decompression (OTLP bodies are usually gzip). */
      maxBodyBytes: positiveInt.default(20 * 1024 * 1024),
      /** Deepest nesting of an attribute value (kvlist/array inside kvlist/array ...). */
      maxAttributeDepth: z.int().min(1).max(64).default(16),
      /** What `Retry-After` says when the pipeline is full. */
      retryAfterSeconds: positiveInt.default(2),
      /** How long a request may wait for its records to be stored before it is answered 503. */
      ackTimeoutSeconds: positiveInt.default(30),
      limits: ingestLimitsSchema.prefault({}),
      /** Browser events (`POST /v1/rum`). */
      rum: z
        .strictObject({
          /**
           * Take a browser's address (for its country and city; the address itself is never
           * stored) from the first X-Forwarded-For entry instead of the socket. Only behind a
           * reverse proxy that sets the header: otherwise any client can claim any address.
           */
          trustProxy: z.boolean().default(false),
        })
        .prefault({}),
    })
    .prefault({}),
  api: z
    .strictObject({
      port: port.default(3000),
      /** What one query may cost; beyond it the query is refused or stopped with a clear error. */
      query: z
        .strictObject({
          timeoutSeconds: z.int().min(1).max(3600).default(30),
          /** Widest time range of one query. */
          maxRangeDays: z.number().positive().max(3660).default(32),
          /** Points one metrics query may read (Prometheus' --query.max-samples). */
          maxSamples: positiveInt.default(50_000_000),
          /** Series one metrics selector may match. */
          maxSeries: positiveInt.default(100_000),
        })
        .prefault({}),
    })
    .prefault({}),
  auth: z
    .strictObject({
      /** A fixed API key for the default org, for scripts and tests (`sl_` + 16 or more characters). */
      bootstrapKey: z
        .string()
        .regex(
          /^sl_[A-Za-z0-9_-]{16,128}$/,
          'must start with "sl_" followed by 16 to 128 letters, digits, "_" or "-"',
        )
        .optional(),
      /** The first owner's email, created on first start (with a printed password) or with bootstrapPassword. */
      bootstrapEmail: z
        .string()
        .regex(/^[^\s@]+@[^\s@]+$/, 'must be an email address (name@host)')
        .default('admin@localhost'),
      /** A fixed password for that owner, for scripts and tests: registered whenever the user does not exist. */
      bootstrapPassword: z.string().min(12, 'must be at least 12 characters long').max(1024).optional(),
      /** How long a sign-in to the web UI lasts. */
      sessionTtlHours: z.number().positive().max(8760).default(12),
      /**
       * Failed sign-ins before POST /api/v1/auth/login answers 429 (src/auth/login-limiter.ts).
       * Counted in each API process's memory: in scale-out each process counts its own.
       */
      login: z
        .strictObject({
          maxFailuresPerEmail: positiveInt.max(1000).default(5),
          maxFailuresPerIp: positiveInt.max(100_000).default(20),
          windowSeconds: positiveInt.max(86_400).default(900),
        })
        .prefault({}),
    })
    .prefault({}),
  bus: z
    .strictObject({
      type: z.enum(['memory', 'kafka']).default('memory'),
      memory: z
        .strictObject({
          /**
           * Per topic: bytes published and not yet committed by every consumer group. The decoded
           * requests are held beside them, so memory use is a few times this at most.
           */
          maxQueueBytes: positiveInt.default(128 * 1024 * 1024),
          /** Per topic: messages published and not yet committed by every consumer group. */
          maxQueueMessages: positiveInt.default(10_000),
        })
        .prefault({}),
      kafka: z
        .strictObject({
          /** `host:port` of brokers to bootstrap from; required with `type: kafka`. */
          brokers: z.array(z.string().regex(/^[^\s:]+:\d+$/, 'must be host:port')).default([]),
          clientId: z.string().min(1).default('sightline'),
          /** Of the topics Sightline creates when they are missing; existing topics keep theirs. */
          partitions: positiveInt.default(3),
          replicationFactor: positiveInt.default(1),
          /** How long a publish waits for the brokers before the gateway answers 503. */
          publishTimeoutSeconds: positiveInt.default(10),
          /** How long a stopping consumer waits for its batch in flight. */
          drainTimeoutSeconds: positiveInt.default(30),
          /** How soon the group notices a processor that died. */
          sessionTimeoutSeconds: positiveInt.default(10),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Orgs and API keys: in the DuckDB file, or in PostgreSQL where every process can reach them. */
  control: z
    .strictObject({
      type: z.enum(['duckdb', 'postgres']).default('duckdb'),
      postgres: z
        .strictObject({
          /** Required with `type: postgres`; prefer SIGHTLINE_CONTROL__POSTGRES__URL for the password. */
          url: z
            .string()
            .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// connection string')
            .optional(),
          schema: z
            .string()
            .regex(/^[a-z_][a-z0-9_]*$/, 'must be a lower-case SQL identifier')
            .default('sightline'),
        })
        .prefault({}),
    })
    .prefault({}),
  store: z
    .strictObject({
      type: z.enum(['duckdb', 'clickhouse']).default('duckdb'),
      duckdb: z
        .strictObject({
          /** The database file, relative to dataDir unless absolute. */
          file: z.string().min(1).default('sightline.duckdb'),
          memoryLimit: duckdbSize.default('1GB'),
          /** WAL size that triggers a checkpoint; larger means fewer pauses but longer recovery. */
          checkpointThreshold: duckdbSize.default('256MB'),
          threads: positiveInt.optional(),
        })
        .prefault({}),
      /** ClickHouse 18.16 or later (src/store/clickhouse/README.md), for processors and APIs in separate processes. */
      clickhouse: z
        .strictObject({
          /** Its HTTP interface. */
          url: z
            .string()
            .regex(/^https?:\/\//, 'must be the HTTP interface, e.g. http://clickhouse:8123')
            .default('http://127.0.0.1:8123'),
          database: z.string().min(1).default('default'),
          username: z.string().min(1).default('default'),
          /** Prefer SIGHTLINE_STORE__CLICKHOUSE__PASSWORD: a password in a file is easy to leak. */
          password: z.string().optional(),
          requestTimeoutSeconds: positiveInt.default(30),
        })
        .prefault({}),
      retention: retentionSchema.prefault({}),
    })
    .prefault({}),
  collect: z
    .strictObject({
      postgres: z
        .strictObject({
          targets: z.array(postgresTargetSchema).default([]),
          /** Quick path (`sightline start --postgres URL`): connection strings with every other setting at its default. */
          urls: z
            .array(z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// connection string'))
            .default([]),
          ...cycleProtection,
        })
        .prefault({}),
      mysql: z
        .strictObject({
          targets: z.array(mysqlTargetSchema).default([]),
          /** Quick path (`sightline start --mysql URL`): connection strings with every other setting at its default. */
          urls: z.array(mysqlUrl).default([]),
          ...cycleProtection,
        })
        .prefault({}),
    })
    .prefault({}),
  processor: z
    .strictObject({
      batch: z
        .strictObject({
          /** Most bus messages (each one OTLP request) written to the store in one transaction. */
          maxMessages: positiveInt.default(200),
          maxBytes: positiveInt.default(64 * 1024 * 1024),
          /** How long the first message of a batch may wait for others to join it. */
          maxWaitMs: z.int().min(0).max(60_000).default(20),
        })
        .prefault({}),
      /** The stages every record passes between the bus and the store, in this order. */
      stages: z
        .array(stageConfigSchema)
        .default(() => DEFAULT_STAGES.map((stage) => stageConfigSchema.parse(stage))),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
