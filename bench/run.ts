import { parseArgs } from 'node:util';
import type { Metric } from './metric.js';
import { otlpLogsIngest, type IngestBenchOptions } from './otlp-logs-ingest.js';
import { mysqlCollection, type MysqlBenchOptions } from './mysql-collection.js';
import { pipelineThroughput } from './pipeline.js';
import { scaleOutIngest } from './scale-out.js';
import { postgresCollection, type PostgresBenchOptions } from './postgres-collection.js';
import { queryLatency, type QueryBenchOptions } from './query.js';

/**
 * The benchmark runner (`npm run bench`, which builds first). Prints one JSON object per
 * line on stdout, {"name", "value", "unit"[, "target"]}, for a benchmark tracker to read;
 * progress and diagnostics go to stderr. Exits 1 when a benchmark's result cannot be trusted.
 *
 * Options, as flags (`npm run bench -- --duration 10`) or environment variables:
 *   --only          BENCH_ONLY          comma-separated benchmarks to run: ingest, pipeline, postgres, mysql, query, scale-out
 *                                       (all of them)
 *
 * ingest (otlp-logs-ingest.ts):
 *   --duration      BENCH_DURATION      measured seconds (20), after
 *   --warmup        BENCH_WARMUP        seconds not measured (3)
 *   --concurrency   BENCH_CONCURRENCY   requests in flight (10, as many as an OpenTelemetry Collector's
 *                                       exporter sends at once by default: sending_queue.num_consumers)
 *   --batch-size    BENCH_BATCH_SIZE    log records per request (500)
 *   --record-bytes  BENCH_RECORD_BYTES  body text per record (1024)
 *   --gzip-level    BENCH_GZIP_LEVEL    client compression level (1)
 *   --profile       BENCH_PROFILE=1     CPU-profile the server and print where its time went
 *                   BENCH_SERVER_NODE_FLAGS  extra node flags for the server, e.g. "--max-semi-space-size=64"
 * The server also reads SIGHTLINE_* variables, e.g. SIGHTLINE_STORE__DUCKDB__CHECKPOINT_THRESHOLD=1GB.
 *
 * postgres (postgres-collection.ts):
 *   --pg-tables            BENCH_PG_TABLES            tables with a few rows and an index each (1000)
 *   --pg-statements        BENCH_PG_STATEMENTS        distinct pg_stat_statements entries made (5000)
 *   --pg-pgbench-scale     BENCH_PG_PGBENCH_SCALE     pgbench -i -s (10)
 *   --pg-pgbench-seconds   BENCH_PG_PGBENCH_SECONDS   seconds per pgbench run (8)
 *   --pg-pgbench-pairs     BENCH_PG_PGBENCH_PAIRS     collector off/on pairs of runs, ABBA order (8)
 *   --pg-pgbench-mode      BENCH_PG_PGBENCH_MODE      select-only (pgbench -S) or tpcb (select-only)
 *   --pg-metrics-interval  BENCH_PG_METRICS_INTERVAL  collector metrics interval in seconds while pgbench runs
 *                                                    (15, the product's default; the collector starts with each
 *                                                    "on" run, so every run has a full cycle at its start)
 *   --pg-statements-interval BENCH_PG_STATEMENTS_INTERVAL  collector query-stats interval in seconds (60, the default)
 *                   BENCH_PG_BIN, BENCH_PG_EXPORTER    PostgreSQL bin directory, exporter binary
 *
 * pipeline (pipeline.ts): the ingest benchmark's requests (--batch-size, --record-bytes) with personal data,
 * decoded, normalized and passed through every stage on one core, compared with the ingest benchmark's
 * end-to-end time per record (its figure from this run; without `ingest` in --only, a 10 s ingest run first):
 *   --pipeline-duration    BENCH_PIPELINE_DURATION    measured seconds (10)
 *
 * mysql (mysql-collection.ts, MariaDB from the test harness):
 *   --mysql-tables         BENCH_MYSQL_TABLES         small InnoDB tables with an index each (1000)
 *   --mysql-digests        BENCH_MYSQL_DIGESTS        distinct statement digests made over them (5000)
 *   --mysql-load-seconds   BENCH_MYSQL_LOAD_SECONDS   seconds per point-select load run (8)
 *   --mysql-load-pairs     BENCH_MYSQL_LOAD_PAIRS     collector off/on pairs of runs, ABBA order (4)
 *   --mysql-metrics-interval  BENCH_MYSQL_METRICS_INTERVAL  collector metrics interval in seconds while the
 *                                                    load runs (15, the product's default; the collector starts
 *                                                    with each "on" run, so every run has a full cycle at its start)
 *   --mysql-statements-interval BENCH_MYSQL_STATEMENTS_INTERVAL  collector query-stats interval in seconds (60)
 *                   SIGHTLINE_TEST_MARIADB_BIN         directory of mariadb-install-db and mariadb, as for the tests
 *
 * query (query.ts, data from query-data.ts cached in ~/.cache/sightline-bench): p50/p95 of a log search, a
 * count by service per minute and a PromQL range query through the API, and the same reads straight on DuckDB:
 *   --query-logs           BENCH_QUERY_LOGS           log records over the last 24 h (10000000)
 *   --query-points         BENCH_QUERY_POINTS         points of the counter m, one a minute per series (1000000)
 *   --query-runs           BENCH_QUERY_RUNS           measured runs of each query, one at a time (20)
 *   --query-warmup         BENCH_QUERY_WARMUP         runs of each query not measured (3)
 *   --query-fresh          BENCH_QUERY_FRESH=1        make the data again even if the cached copy is valid
 *
 * scale-out (scale-out.ts): the ingest benchmark's load (--duration, --concurrency, --batch-size, …) through a
 * gateway process on a real Kafka into a processor-and-API process (Kafka and PostgreSQL from the test
 * harness), then the same load on the embedded shape for the ratio:
 *   --scale-out-probes     BENCH_SCALE_OUT_PROBES     single records timed from acknowledgement to searchable (20)
 */

const BENCHMARKS = ['ingest', 'pipeline', 'postgres', 'mysql', 'query', 'scale-out'] as const;
type Benchmark = (typeof BENCHMARKS)[number];

type Values = ReturnType<typeof parse>['values'];

function parse() {
  return parseArgs({
    options: {
      only: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      concurrency: { type: 'string' },
      'batch-size': { type: 'string' },
      'record-bytes': { type: 'string' },
      'gzip-level': { type: 'string' },
      profile: { type: 'boolean' },
      'pg-tables': { type: 'string' },
      'pg-statements': { type: 'string' },
      'pg-pgbench-scale': { type: 'string' },
      'pg-pgbench-seconds': { type: 'string' },
      'pg-pgbench-pairs': { type: 'string' },
      'pg-pgbench-mode': { type: 'string' },
      'pg-metrics-interval': { type: 'string' },
      'pg-statements-interval': { type: 'string' },
      'pipeline-duration': { type: 'string' },
      'mysql-tables': { type: 'string' },
      'mysql-digests': { type: 'string' },
      'mysql-load-seconds': { type: 'string' },
      'mysql-load-pairs': { type: 'string' },
      'mysql-metrics-interval': { type: 'string' },
      'mysql-statements-interval': { type: 'string' },
      'query-logs': { type: 'string' },
      'query-points': { type: 'string' },
      'query-runs': { type: 'string' },
      'query-warmup': { type: 'string' },
      'query-fresh': { type: 'boolean' },
      'scale-out-probes': { type: 'string' },
    },
  });
}

async function main(): Promise<void> {
  const { values } = parse();
  const selected = selectedBenchmarks(values.only ?? process.env.BENCH_ONLY);
  // Options are checked before anything runs, so a typo does not surface after minutes of another benchmark.
  const ingest = ingestOptions(values);
  const pipelineDurationS = numberOption(
    'pipeline-duration',
    values['pipeline-duration'] ?? process.env.BENCH_PIPELINE_DURATION,
    10,
    1,
  );
  /** The ingest figure of this run, which the pipeline benchmark compares itself with. */
  let ingestRecordsPerSecond: number | undefined;
  const runs: Record<Benchmark, () => Promise<Metric[]>> = {
    ingest: async () => {
      const metrics = await otlpLogsIngest(ingest);
      ingestRecordsPerSecond = metrics.find((m) => m.name === 'otlp_logs_ingest_throughput')?.value;
      return metrics;
    },
    pipeline: async () => {
      if (ingestRecordsPerSecond === undefined) {
        process.stderr.write('pipeline: no ingest figure from this run; measuring ingest for 10 s first\n');
        const reference = await otlpLogsIngest({ ...ingest, durationS: 10 });
        ingestRecordsPerSecond = reference.find((m) => m.name === 'otlp_logs_ingest_throughput')?.value;
      }
      if (ingestRecordsPerSecond === undefined) throw new Error('the ingest benchmark gave no throughput');
      return pipelineThroughput({
        durationS: pipelineDurationS,
        batchSize: ingest.batchSize,
        recordBytes: ingest.recordBytes,
        ingestRecordsPerSecond,
      });
    },
    postgres: (
      (options: PostgresBenchOptions) => () =>
        postgresCollection(options)
    )(postgresOptions(values)),
    mysql: (
      (options: MysqlBenchOptions) => () =>
        mysqlCollection(options)
    )(mysqlOptions(values)),
    query: (
      (options: QueryBenchOptions) => () =>
        queryLatency(options)
    )(queryOptions(values)),
    'scale-out': (
      (latencyProbes: number) => () =>
        scaleOutIngest({ ...ingest, latencyProbes })
    )(
      numberOption(
        'scale-out-probes',
        values['scale-out-probes'] ?? process.env.BENCH_SCALE_OUT_PROBES,
        20,
        1,
      ),
    ),
  };
  let failed = false;
  for (const name of selected) {
    try {
      for (const metric of await runs[name]()) process.stdout.write(`${JSON.stringify(metric)}\n`);
    } catch (error) {
      // One benchmark's failure does not hide the others' figures; the exit code still says it failed.
      failed = true;
      process.stderr.write(`bench ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  if (failed) process.exitCode = 1;
}

function selectedBenchmarks(only: string | undefined): Benchmark[] {
  if (only === undefined || only.trim() === '') return [...BENCHMARKS];
  const names = only.split(',').map((name) => name.trim());
  for (const name of names) {
    if (!(BENCHMARKS as readonly string[]).includes(name)) {
      throw new Error(`--only takes ${BENCHMARKS.join(', ')} (comma-separated), got "${name}"`);
    }
  }
  return BENCHMARKS.filter((name) => names.includes(name));
}

function ingestOptions(values: Values): IngestBenchOptions {
  const env = process.env;
  return {
    durationS: numberOption('duration', values.duration ?? env.BENCH_DURATION, 20, 1),
    warmupS: numberOption('warmup', values.warmup ?? env.BENCH_WARMUP, 3, 0),
    concurrency: numberOption('concurrency', values.concurrency ?? env.BENCH_CONCURRENCY, 10, 1),
    batchSize: numberOption('batch-size', values['batch-size'] ?? env.BENCH_BATCH_SIZE, 500, 1),
    recordBytes: numberOption('record-bytes', values['record-bytes'] ?? env.BENCH_RECORD_BYTES, 1024, 64),
    gzipLevel: numberOption('gzip-level', values['gzip-level'] ?? env.BENCH_GZIP_LEVEL, 1, 0),
    profile: values.profile ?? ['1', 'true', 'yes'].includes(env.BENCH_PROFILE ?? ''),
    serverNodeFlags: (env.BENCH_SERVER_NODE_FLAGS ?? '').split(' ').filter((flag) => flag !== ''),
  };
}

function postgresOptions(values: Values): PostgresBenchOptions {
  const env = process.env;
  const mode = values['pg-pgbench-mode'] ?? env.BENCH_PG_PGBENCH_MODE ?? 'select-only';
  if (mode !== 'select-only' && mode !== 'tpcb') {
    throw new Error(`--pg-pgbench-mode must be select-only or tpcb, got "${mode}"`);
  }
  return {
    tables: numberOption('pg-tables', values['pg-tables'] ?? env.BENCH_PG_TABLES, 1000, 1),
    statements: numberOption('pg-statements', values['pg-statements'] ?? env.BENCH_PG_STATEMENTS, 5000, 1),
    pgbenchScale: numberOption(
      'pg-pgbench-scale',
      values['pg-pgbench-scale'] ?? env.BENCH_PG_PGBENCH_SCALE,
      10,
      1,
    ),
    pgbenchSeconds: numberOption(
      'pg-pgbench-seconds',
      values['pg-pgbench-seconds'] ?? env.BENCH_PG_PGBENCH_SECONDS,
      8,
      1,
    ),
    pgbenchPairs: numberOption(
      'pg-pgbench-pairs',
      values['pg-pgbench-pairs'] ?? env.BENCH_PG_PGBENCH_PAIRS,
      8,
      1,
    ),
    pgbenchMode: mode,
    metricsIntervalS: numberOption(
      'pg-metrics-interval',
      values['pg-metrics-interval'] ?? env.BENCH_PG_METRICS_INTERVAL,
      15,
      1,
    ),
    statementsIntervalS: numberOption(
      'pg-statements-interval',
      values['pg-statements-interval'] ?? env.BENCH_PG_STATEMENTS_INTERVAL,
      60,
      1,
    ),
  };
}

function mysqlOptions(values: Values): MysqlBenchOptions {
  const env = process.env;
  return {
    tables: numberOption('mysql-tables', values['mysql-tables'] ?? env.BENCH_MYSQL_TABLES, 1000, 1),
    digests: numberOption('mysql-digests', values['mysql-digests'] ?? env.BENCH_MYSQL_DIGESTS, 5000, 1),
    loadSeconds: numberOption(
      'mysql-load-seconds',
      values['mysql-load-seconds'] ?? env.BENCH_MYSQL_LOAD_SECONDS,
      8,
      1,
    ),
    loadPairs: numberOption(
      'mysql-load-pairs',
      values['mysql-load-pairs'] ?? env.BENCH_MYSQL_LOAD_PAIRS,
      4,
      1,
    ),
    metricsIntervalS: numberOption(
      'mysql-metrics-interval',
      values['mysql-metrics-interval'] ?? env.BENCH_MYSQL_METRICS_INTERVAL,
      15,
      1,
    ),
    statementsIntervalS: numberOption(
      'mysql-statements-interval',
      values['mysql-statements-interval'] ?? env.BENCH_MYSQL_STATEMENTS_INTERVAL,
      60,
      1,
    ),
  };
}

function queryOptions(values: Values): QueryBenchOptions {
  const env = process.env;
  return {
    logs: numberOption('query-logs', values['query-logs'] ?? env.BENCH_QUERY_LOGS, 10_000_000, 1000),
    points: numberOption('query-points', values['query-points'] ?? env.BENCH_QUERY_POINTS, 1_000_000, 1440),
    runs: numberOption('query-runs', values['query-runs'] ?? env.BENCH_QUERY_RUNS, 20, 1),
    warmup: numberOption('query-warmup', values['query-warmup'] ?? env.BENCH_QUERY_WARMUP, 3, 0),
    fresh: values['query-fresh'] ?? ['1', 'true', 'yes'].includes(env.BENCH_QUERY_FRESH ?? ''),
  };
}

function numberOption(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min)
    throw new Error(`--${name} must be a number of at least ${min}, got "${value}"`);
  return n;
}

// Ctrl-C or a kill would end the process without 'exit'; the harness stops its PostgreSQL,
// exporter and MariaDB in an exit hook, so turn the signals into an exit.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

try {
  await main();
} catch (error) {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
