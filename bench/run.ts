import { parseArgs } from 'node:util';
import { otlpLogsIngest, type IngestBenchOptions } from './otlp-logs-ingest.js';

/**
 * The benchmark runner (`npm run bench`, which builds first). Prints one JSON object per
 * line on stdout, {"name", "value", "unit"[, "target"]}, for a benchmark tracker to read;
 * progress and diagnostics go to stderr. Exits 1 when a benchmark's result cannot be trusted.
 *
 * Options, as flags (`npm run bench -- --duration 10`) or environment variables:
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
 */

async function main(): Promise<void> {
  const metrics = await otlpLogsIngest(parseOptions());
  for (const metric of metrics) process.stdout.write(`${JSON.stringify(metric)}\n`);
}

function parseOptions(): IngestBenchOptions {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      concurrency: { type: 'string' },
      'batch-size': { type: 'string' },
      'record-bytes': { type: 'string' },
      'gzip-level': { type: 'string' },
      profile: { type: 'boolean' },
    },
  });
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

function numberOption(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min)
    throw new Error(`--${name} must be a number of at least ${min}, got "${value}"`);
  return n;
}

try {
  await main();
} catch (error) {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
