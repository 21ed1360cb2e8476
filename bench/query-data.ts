import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BIGINT, VARCHAR, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { bootstrapAccess } from '../src/auth/bootstrap.js';
import { configSchema } from '../src/config/schema.js';
import { SightlineError, errorMessage } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { DuckDBControlStore } from '../src/store/duckdb/control-store.js';
import { DuckDBDatabase } from '../src/store/duckdb/database.js';
import { MIGRATIONS } from '../src/store/duckdb/migrations.js';
import { MINUTE_NS, RollupJob } from '../src/store/rollup-job.js';
import { DuckDBRollupSteps } from '../src/store/duckdb/rollups.js';
import { orgId, type OrgId } from '../src/store/rows.js';
import { progress } from './report.js';

/**
 * The query benchmark's data: a data dir as `sightline start` leaves it after a day of logs and
 * one counter, built in-process with the product's own open, migrate, org bootstrap and rollup
 * job, and bulk-inserted with `INSERT … SELECT … FROM range(…)` (10 M records through the OTLP
 * gateway would take longer than the whole benchmark may). Rows are inserted in time order, as
 * ingest stores them, so DuckDB's per-row-group min/max on `ts` prunes as it would in production.
 *
 * Cached under ~/.cache/sightline-bench, keyed by the schema version, this generator's version
 * and the sizes; a cached dir that does not open, migrate or hold the expected rows is made again.
 * Times are relative to the data's `anchorMs` (its "now"), so a cached dir answers the same
 * queries the same way on a later run.
 */

export interface QueryDataOptions {
  logs: number;
  points: number;
  /** Make the data again even if a cached copy is valid. */
  fresh: boolean;
}

export interface QueryData {
  dataDir: string;
  /** The data's "now": the newest record is just before it. */
  anchorMs: number;
  org: OrgId;
  apiKey: string;
  logs: number;
  points: number;
  series: number;
  /** The body term of the text search: about one record in RARE_EVERY has it. */
  rareTerm: string;
  /** Open on `dataDir`; the caller closes it before starting a server on the same dir. */
  database: DuckDBDatabase;
}

/** Bump when the generated rows change, so cached data dirs of the old shape are not reused. */
const GENERATOR_VERSION = 1;
const API_KEY = 'sl_benchquerybench0001';
const RARE_TERM = 'deadlock';
/** The last hour of 10 M records over a day holds ~417,000; 1 in 2,000 is ~200 matches, two pages. */
const RARE_EVERY = 2000;
const DAY_NS = 86_400_000_000_000n;
/** One point per series per minute over the day. */
const POINTS_PER_SERIES = 1440;
const LOG_CHUNK = 1_000_000;
/** Older than this and the server's retention (7 days by default) would start deleting the cached rows. */
const MAX_CACHE_AGE_MS = 5 * 86_400_000;

interface Meta {
  anchorMs: number;
  org: string;
  apiKey: string;
  logs: number;
  points: number;
  series: number;
  rareTerm: string;
}

export async function prepareQueryData(options: QueryDataOptions): Promise<QueryData> {
  const schemaVersion = Math.max(...MIGRATIONS.map((m) => m.version));
  const cacheRoot = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sightline-bench');
  const dataDir = join(
    cacheRoot,
    `query-schema${schemaVersion}-gen${GENERATOR_VERSION}-${options.logs}logs-${options.points}points`,
  );
  if (!options.fresh) {
    const cached = await openCached(dataDir, options);
    if (cached !== undefined) return cached;
  }
  await rm(dataDir, { recursive: true, force: true });
  // Made beside the cache and renamed into place when complete: an interrupted run leaves no half-made cache.
  const building = `${dataDir}.building-${process.pid}`;
  await rm(building, { recursive: true, force: true });
  await mkdir(building, { recursive: true });
  try {
    const meta = await generate(building, options);
    await writeFile(join(building, 'bench-meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    await rename(building, dataDir);
  } catch (error) {
    await rm(building, { recursive: true, force: true });
    throw error;
  }
  const made = await openCached(dataDir, options);
  if (made === undefined) throw new Error(`the data just generated in ${dataDir} does not check out`);
  return made;
}

function databaseOptions(dataDir: string) {
  const duckdb = configSchema.parse({}).store.duckdb;
  return {
    path: join(dataDir, duckdb.file),
    memoryLimit: duckdb.memoryLimit,
    checkpointThreshold: duckdb.checkpointThreshold,
  };
}

/** The cached dir, opened and checked, or undefined when it must be made (again). */
async function openCached(dataDir: string, options: QueryDataOptions): Promise<QueryData | undefined> {
  let meta: Meta;
  try {
    meta = JSON.parse(await readFile(join(dataDir, 'bench-meta.json'), 'utf8')) as Meta;
  } catch {
    return undefined;
  }
  const ageMs = Date.now() - meta.anchorMs;
  if (ageMs > MAX_CACHE_AGE_MS) {
    progress(`query: the cached data is ${(ageMs / 86_400_000).toFixed(1)} days old; making it again`);
    return undefined;
  }
  let database: DuckDBDatabase | undefined;
  try {
    database = await DuckDBDatabase.open(databaseOptions(dataDir), silentLogger());
    await database.migrate();
    const org = orgId(meta.org);
    const counts = await database.withConnection(async (connection) => {
      const reader = await connection.runAndReadAll(
        `SELECT (SELECT count(*) FROM logs WHERE org_id = $org) AS logs,
                (SELECT count(*) FROM metric_points WHERE org_id = $org AND name = 'm') AS points`,
        { org },
      );
      const row = reader.getRowObjectsJS()[0] ?? {};
      return { logs: Number(row.logs), points: Number(row.points) };
    });
    if (counts.logs !== meta.logs || counts.points !== meta.points) {
      throw new Error(
        `it holds ${counts.logs} logs and ${counts.points} points, not ${meta.logs} and ${meta.points}`,
      );
    }
    if (meta.logs !== options.logs || meta.points < options.points) throw new Error('its sizes differ');
    progress(
      `query: reusing ${dataDir} (${meta.logs} logs, ${meta.points} points in ${meta.series} series, ` +
        `made ${((Date.now() - meta.anchorMs) / 60_000).toFixed(0)} min ago)`,
    );
    return { dataDir, ...meta, org, database };
  } catch (error) {
    await database?.close();
    // Another process holding the file is not a broken cache; deleting it from under that process would be.
    if (error instanceof SightlineError && error.code === 'SL_ERR_DATA_DIR_LOCKED') throw error;
    progress(`query: the cached data in ${dataDir} is unusable (${errorMessage(error)}); making it again`);
    return undefined;
  }
}

async function generate(dataDir: string, options: QueryDataOptions): Promise<Meta> {
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
  const anchorMs = Date.now();
  const anchorNs = BigInt(anchorMs) * 1_000_000n;
  const startNs = anchorNs - DAY_NS;
  const series = Math.ceil(options.points / POINTS_PER_SERIES);
  const points = series * POINTS_PER_SERIES;
  progress(
    `query: generating ${options.logs} logs and ${points} points (${series} series) over 24 h in ${dataDir}`,
  );
  const database = await DuckDBDatabase.open(databaseOptions(dataDir), silentLogger());
  try {
    await database.migrate();
    // The default org and its key, as `sightline start --bootstrap-key` makes them (the server finds the key by its hash).
    const { org } = await bootstrapAccess(new DuckDBControlStore(database), API_KEY);
    await database.withConnection(async (connection) => {
      const run = (
        sql: string,
        params: Record<string, DuckDBValue> = {},
        types: Record<string, DuckDBType> = {},
      ) => connection.run(sql, params, types);
      await run(PHRASES_SQL);
      await run(`SET VARIABLE bench_phrases = (SELECT list(p ORDER BY k) FROM bench_phrases)`);
      const stepNs = DAY_NS / BigInt(options.logs);
      for (let lo = 0; lo < options.logs; lo += LOG_CHUNK) {
        const hi = Math.min(options.logs, lo + LOG_CHUNK);
        await run(
          LOGS_SQL,
          { lo: BigInt(lo), hi: BigInt(hi), startNs, stepNs, org: org.id },
          { lo: BIGINT, hi: BIGINT, startNs: BIGINT, stepNs: BIGINT, org: VARCHAR },
        );
        progress(`query: ${hi} of ${options.logs} logs (${elapsed()})`);
      }
      await run(
        POINTS_SQL,
        { rows: BigInt(points), series: BigInt(series), startNs, org: org.id },
        { rows: BIGINT, series: BIGINT, startNs: BIGINT, org: VARCHAR },
      );
      progress(`query: ${points} metric points (${elapsed()})`);
      await run('DROP TABLE bench_phrases');
      await run('RESET VARIABLE bench_phrases');
    });
    // The rollups the server would have made while the data arrived, so its first pass is a normal one.
    const rollups = new RollupJob(configSchema.parse({}).store.retention.rollups, {
      steps: new DuckDBRollupSteps(database),
      logger: silentLogger(),
    });
    const completeTo = anchorNs - (anchorNs % MINUTE_NS);
    for (let pass = 0; pass < 4; pass++) {
      const report = await rollups.runOnce(anchorNs);
      if (report.toNs > completeTo) break;
    }
    progress(`query: rollups made (${elapsed()}); checkpointing`);
    await database.close();
    progress(`query: data ready in ${elapsed()}`);
    return {
      anchorMs,
      org: org.id,
      apiKey: API_KEY,
      logs: options.logs,
      points,
      series,
      rareTerm: RARE_TERM,
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}

/** A SQL list literal of fixed strings (this file's constants, none with a quote). */
function list(values: readonly string[]): string {
  return `[${values.map((v) => `'${v}'`).join(', ')}]`;
}

/** 1-based element `hash(i, salt) % n` of a list: a deterministic pseudo-random pick per row. */
function pick(values: readonly string[], salt: number): string {
  return `${list(values)}[(hash(i, ${salt}) % ${values.length})::INTEGER + 1]`;
}

const SERVICES = [
  'checkout',
  'cart',
  'payments',
  'orders',
  'inventory',
  'shipping',
  'users',
  'auth',
  'search',
  'catalog',
  'recommendations',
  'notifications',
  'email',
  'gateway',
  'billing',
  'pricing',
  'reviews',
  'media',
  'ads',
  'fraud',
];

/** Words of the record bodies; none contains RARE_TERM. */
const VOCABULARY = (
  'request response completed started finished processing handler worker queue message batch ' +
  'order cart item product customer account session token user client server upstream downstream ' +
  'cache hit miss lookup refresh evicted expired stale key value shard partition replica primary ' +
  'connection pool acquired released opened closed reset retry retries attempt backoff latency ' +
  'slow fast took elapsed duration bytes rows records entries written read flushed committed ' +
  'transaction rollback query statement index scan sorted joined payload header body status code ' +
  'http grpc json protobuf gzip tls handshake certificate dns resolved address port socket stream ' +
  'event published consumed offset lag topic subscriber producer consumer scheduler cron job task ' +
  'feature flag enabled disabled config reloaded version build deploy rollout canary region zone ' +
  'eu-west-1 us-east-1 ap-south-1 tenant org plan quota limit exceeded throttled allowed denied ' +
  'permission role admin guest login logout password email notification sent delivered bounced ' +
  'invoice payment charged refunded authorized captured declined currency EUR USD GBP amount total ' +
  'discount coupon applied shipping carrier label tracking warehouse stock reserved released ' +
  'image thumbnail resized uploaded stored bucket object checksum mismatch validated invalid ' +
  'missing field parsed serialized encoded decoded compressed memory heap gc pause cpu thread ' +
  'goroutine pid signal shutdown graceful healthy unhealthy probe ready alive'
).split(' ');

/** 4,096 phrases of 3 to 6 words; a body is a prefix, an id and three or four of them. */
const PHRASES_SQL = `CREATE TEMP TABLE bench_phrases AS
  SELECT k::INTEGER AS k,
    array_to_string(list_transform(range((3 + hash(k, 0) % 4)::BIGINT), w -> ${list(VOCABULARY)}[(hash(k, w + 1) % ${VOCABULARY.length})::INTEGER + 1]), ' ') AS p
  FROM range(4096) t(k)`;

const PREFIXES: Record<string, readonly string[]> = {
  DEBUG: ['cache lookup', 'sql executed', 'feature flag evaluated', 'span exported', 'config value read'],
  INFO: [
    'request completed',
    'order placed',
    'user signed in',
    'payment authorized',
    'job finished',
    'message consumed',
    'cache refreshed',
    'item added to cart',
  ],
  WARN: [
    'slow response from upstream',
    'retrying request',
    'connection pool nearly exhausted',
    'rate limited',
  ],
  ERROR: [
    'request failed',
    'upstream returned 503',
    'failed to charge card',
    'database timeout',
    'unhandled exception',
  ],
  FATAL: ['out of memory, exiting', 'cannot reach the database, exiting'],
};

const ROUTES = [
  '/api/orders',
  '/api/orders/{id}',
  '/api/cart',
  '/api/products',
  '/api/users/{id}',
  '/healthz',
  '/api/search',
];
const FUNCTIONS = ['process', 'handle', 'flush', 'reconcile', 'sync', 'poll', 'dispatch'];

/**
 * Rows lo..hi of the day, in time order. Severities about 12% DEBUG, 72% INFO, 10% WARN, 5.5%
 * ERROR, 0.5% FATAL; services skewed (the busiest logs ~22%, the quietest ~1%); 60% of records
 * carry HTTP attributes, 70% a trace id; bodies 100–200 bytes.
 */
const LOGS_SQL = `INSERT INTO logs (id, ts, observed_ts, org_id, service, host, entity_id, severity, severity_number,
    severity_text, body, trace_id, span_id, event_name, scope_name, attributes, resource)
WITH r AS (
  SELECT i,
    $startNs + i * $stepNs + (hash(i, 1) % $stepNs::UBIGINT)::BIGINT AS ts,
    (floor(${SERVICES.length} * pow((hash(i, 2) % 1000000) / 1000000.0, 2)))::INTEGER AS svc,
    hash(i, 3) % 1000 AS sev_draw,
    hash(i, 4) % 100 AS attr_draw,
    hash(i, 5) % 100 AS trace_draw
  FROM range($lo, $hi) t(i)
), s AS (
  SELECT *,
    ${list(SERVICES)}[svc + 1] AS service,
    CASE WHEN sev_draw < 120 THEN 'DEBUG' WHEN sev_draw < 840 THEN 'INFO' WHEN sev_draw < 940 THEN 'WARN'
         WHEN sev_draw < 995 THEN 'ERROR' ELSE 'FATAL' END AS severity
  FROM r
), h AS (
  SELECT *, service || '-' || substr(md5(service), 1, 9) || '-' || substr(md5(service || (hash(i, 6) % 3)), 1, 5) AS host
  FROM s
)
SELECT
  substr(replace(replace(to_base64(unhex(md5(i::VARCHAR || 'id'))), '+', '-'), '/', '_'), 1, 22),
  ts,
  ts + (hash(i, 7) % 50000000)::BIGINT,
  $org,
  service,
  host,
  'service/' || service,
  severity,
  CASE severity WHEN 'DEBUG' THEN 5 WHEN 'INFO' THEN 9 WHEN 'WARN' THEN 13 WHEN 'ERROR' THEN 17 ELSE 21 END,
  severity,
  CASE severity
    WHEN 'DEBUG' THEN ${pick(PREFIXES.DEBUG ?? [], 8)}
    WHEN 'INFO' THEN ${pick(PREFIXES.INFO ?? [], 8)}
    WHEN 'WARN' THEN ${pick(PREFIXES.WARN ?? [], 8)}
    WHEN 'ERROR' THEN ${pick(PREFIXES.ERROR ?? [], 8)}
    ELSE ${pick(PREFIXES.FATAL ?? [], 8)} END
    || ' id=' || (hash(i, 9) % 10000000)
    || CASE WHEN hash(i, 10) % ${RARE_EVERY} = 0 THEN ' ${RARE_TERM} detected on' ELSE '' END
    || ' ' || getvariable('bench_phrases')[(hash(i, 11) % 4096)::INTEGER + 1]
    || ' ' || getvariable('bench_phrases')[(hash(i, 12) % 4096)::INTEGER + 1]
    || ' ' || getvariable('bench_phrases')[(hash(i, 13) % 4096)::INTEGER + 1]
    || CASE WHEN hash(i, 21) % 2 = 0 THEN ' ' || getvariable('bench_phrases')[(hash(i, 22) % 4096)::INTEGER + 1]
            ELSE '' END,
  CASE WHEN trace_draw < 70 THEN md5(i::VARCHAR || 't') ELSE '' END,
  CASE WHEN trace_draw < 70 THEN substr(md5(i::VARCHAR || 's'), 1, 16) ELSE '' END,
  '',
  ${list(['io.opentelemetry.logback-appender-1.0', 'opentelemetry.sdk._logs', 'pino'])}[svc % 3 + 1],
  CASE WHEN attr_draw < 60 THEN
    '{"http.method":"' || ${pick(['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'], 14)}
    || '","http.route":"' || ${pick(ROUTES, 15)}
    || '","http.status_code":' || CASE severity WHEN 'ERROR' THEN 500 + hash(i, 16) % 4 WHEN 'WARN' THEN 429
                                      ELSE 200 END
    || ',"duration_ms":' || (hash(i, 17) % 900 + 3)
    || ',"user.id":"u' || (hash(i, 18) % 50000) || '"}'
  ELSE
    '{"thread.name":"worker-' || (hash(i, 19) % 16) || '","code.function":"' || ${pick(FUNCTIONS, 20)} || '"}'
  END,
  '{"service.name":"' || service || '","service.version":"2.' || (svc % 7) || '.0","host.name":"' || host
    || '","k8s.namespace.name":"prod","k8s.pod.name":"' || host || '"}'
FROM h`;

/**
 * One cumulative monotonic counter \`m\` (say, requests served): \`series\` series with labels x (10
 * values) and pod, one point a minute each at a per-series offset (scrapes are not aligned),
 * in time order. Each series counts at its own rate; about one in 97 restarts at minute 900
 * (the value drops, start_ts moves), as a pod restart does.
 */
const POINTS_SQL = `INSERT INTO metric_points (id, ts, start_ts, org_id, entity_id, service, host, series_id, name, kind,
    unit, temporality, monotonic, value, labels, resource, scope_name)
WITH p AS (
  SELECT j // $series AS m, j % $series AS s FROM range(0, $rows) t(j)
), q AS (
  SELECT m, s,
    '{"pod":"p' || (s // 10) || '","x":"x' || (s % 10) || '"}' AS labels,
    'node-' || ((s // 10) % 12) AS host,
    (1 + hash(s, 0) % 50)::BIGINT AS rate,
    s % 97 = 5 AND m >= 900 AS restarted,
    $startNs + m * 60000000000 + (s * 7919 % 60000) * 1000000 AS ts
  FROM p
), k AS (
  SELECT *, substr(replace(replace(to_base64(unhex(md5('m' || labels || host))), '+', '-'), '/', '_'), 1, 22) AS series_id
  FROM q
)
SELECT
  substr(replace(replace(to_base64(unhex(md5(series_id || ts::VARCHAR))), '+', '-'), '/', '_'), 1, 22),
  ts,
  CASE WHEN restarted THEN $startNs + 900 * 60000000000 ELSE $startNs - 3600000000000 END,
  $org,
  'service/api',
  'api',
  host,
  series_id,
  'm',
  'sum',
  '{request}',
  'cumulative',
  true,
  ((CASE WHEN restarted THEN m - 900 ELSE m END) * rate * 60 + floor(5 * sin(m / 3.0)) + 5)::DOUBLE,
  labels,
  '{"service.name":"api","host.name":"' || host || '"}',
  'bench'
FROM k`;
