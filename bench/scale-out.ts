import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logsRequestBody, post } from '../test/harness/otlp-requests.js';
import { startClickhouse, type ClickhouseInstance } from '../test/harness/clickhouse.js';
import { startKafka, type KafkaInstance } from '../test/harness/kafka.js';
import { startPostgres, type PostgresInstance } from '../test/harness/postgres.js';
import { scaleOutConfigYaml } from '../test/harness/scale-out-services.js';
import type { Metric } from './metric.js';
import { runLoadGenerator, type IngestBenchOptions } from './otlp-logs-ingest.js';
import { fmt, progress, round, sleep } from './report.js';
import { startServer, type RunningServer } from './sightline-server.js';

/**
 * The ingest benchmark's load in the scale-out shape on this one machine: a gateway process and
 * a processor-and-API process (DuckDB) on a real Kafka broker, orgs and keys in PostgreSQL, both
 * from the test harness. Reports records/s acknowledged by the gateway (Kafka acknowledged them;
 * the store has them once the processor caught up, which is checked), the latency from an
 * acknowledgement to the record being found by a search, and the ratio to the embedded shape
 * (in-memory bus, every role in one process) measured the same way in this run.
 *
 * Processor scaling runs on ClickHouse, which every processor can write (DuckDB opens its file in
 * one process): the gateway builds up a backlog on Kafka with no processor running, then one
 * processor (later two, in one consumer group, on a new backlog) drains it; the rate is records
 * stored per second from the first stored record to the last.
 */

export type ScaleOutBenchOptions = Pick<
  IngestBenchOptions,
  'durationS' | 'warmupS' | 'concurrency' | 'batchSize' | 'recordBytes' | 'gzipLevel'
> & {
  /** Single-record requests sent after the load, each timed from acknowledgement to searchable. */
  latencyProbes: number;
};

const API_KEY = 'sl_benchscaleout00000001';
/** How long the processor may take to store what the gateway acknowledged, after the load. */
const CATCH_UP_TIMEOUT_MS = 120_000;
/** How long processors may take to drain a backlog built with none running. */
const DRAIN_TIMEOUT_MS = 300_000;

interface ShapeResult {
  recordsPerSecond: number;
  ackP50: number;
  ackP99: number;
  acked: number;
  catchUpS: number;
  visible: number[];
}

export async function scaleOutIngest(options: ScaleOutBenchOptions): Promise<Metric[]> {
  progress('scale_out: starting Kafka, PostgreSQL and ClickHouse from the test harness');
  const [kafka, postgres, clickhouse] = await Promise.all([startKafka(), startPostgres(), startClickhouse()]);
  const dirs: string[] = [];
  const servers: RunningServer[] = [];
  try {
    const configDir = await mkdtemp(join(tmpdir(), 'sightline-bench-scale-out-'));
    dirs.push(configDir);
    const config = join(configDir, 'sightline.yaml');
    await writeFile(config, scaleOutConfig(kafka, postgres));
    const clickhouseConfig = join(configDir, 'sightline-clickhouse.yaml');
    await writeFile(clickhouseConfig, scaleOutConfig(kafka, postgres, clickhouse));
    const backendDir = await mkdtemp(join(tmpdir(), 'sightline-bench-backend-'));
    const gatewayDir = await mkdtemp(join(tmpdir(), 'sightline-bench-gateway-'));
    dirs.push(backendDir, gatewayDir);
    const [backend, gateway] = await Promise.all([
      startServer({
        dataDir: backendDir,
        apiKey: API_KEY,
        args: ['--config', config, '--role', 'processor,api'],
      }),
      startServer({ dataDir: gatewayDir, apiKey: API_KEY, args: ['--config', config, '--role', 'gateway'] }),
    ]);
    servers.push(backend, gateway);
    const scaleOut = await measureShape('scale-out (Kafka)', gateway.ingestUrl, backend.apiUrl, options);

    const embeddedDir = await mkdtemp(join(tmpdir(), 'sightline-bench-embedded-'));
    dirs.push(embeddedDir);
    const embedded = await startServer({ dataDir: embeddedDir, apiKey: API_KEY });
    servers.push(embedded);
    const inMemory = await measureShape(
      'embedded (in-memory bus)',
      embedded.ingestUrl,
      embedded.apiUrl,
      options,
    );

    await embedded.stop();
    await backend.stop();
    await gateway.stop();
    const scaling = await processorScaling(clickhouseConfig, clickhouse, options, servers, dirs);

    const ratio = scaleOut.recordsPerSecond / inMemory.recordsPerSecond;
    progress(
      `scale_out: ${fmt(scaleOut.recordsPerSecond)} records/s through Kafka vs ${fmt(inMemory.recordsPerSecond)} embedded (ratio ${ratio.toFixed(2)}); ` +
        `ack → searchable p50 ${fmt(percentile(scaleOut.visible, 50))} ms, p99 ${fmt(percentile(scaleOut.visible, 99))} ms ` +
        `(embedded: p50 ${fmt(percentile(inMemory.visible, 50))} ms)`,
    );
    return [
      {
        name: 'scale_out_ingest_throughput',
        value: Math.round(scaleOut.recordsPerSecond),
        unit: 'records/s',
      },
      { name: 'scale_out_ingest_ack_latency_p50', value: scaleOut.ackP50, unit: 'ms' },
      { name: 'scale_out_ingest_ack_latency_p99', value: scaleOut.ackP99, unit: 'ms' },
      { name: 'scale_out_processor_catch_up', value: round(scaleOut.catchUpS, 1), unit: 's' },
      {
        name: 'scale_out_ack_to_searchable_p50',
        value: round(percentile(scaleOut.visible, 50), 1),
        unit: 'ms',
      },
      {
        name: 'scale_out_ack_to_searchable_p99',
        value: round(percentile(scaleOut.visible, 99), 1),
        unit: 'ms',
      },
      { name: 'scale_out_vs_in_memory_ratio', value: round(ratio, 2), unit: 'ratio' },
      {
        name: 'scale_out_clickhouse_1_processor_drain',
        value: Math.round(scaling.one),
        unit: 'records/s',
      },
      {
        name: 'scale_out_clickhouse_2_processors_drain',
        value: Math.round(scaling.two),
        unit: 'records/s',
      },
      {
        name: 'scale_out_processor_scaling_1_to_2',
        value: round(scaling.two / scaling.one, 2),
        unit: 'ratio',
      },
    ];
  } finally {
    for (const server of servers.reverse()) await server.stop().catch(() => server.kill());
    await Promise.all([kafka.stop(), postgres.stop(), clickhouse.stop()]);
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  }
}

function scaleOutConfig(
  kafka: KafkaInstance,
  postgres: PostgresInstance,
  clickhouse?: ClickhouseInstance,
): string {
  // Partitions for two processors to share; the DuckDB shape's single processor reads them all.
  return scaleOutConfigYaml({
    kafkaBootstrap: kafka.bootstrap,
    postgresUrl: postgres.url,
    partitions: 4,
    ...(clickhouse === undefined ? {} : { clickhouseUrl: clickhouse.url }),
  });
}

/**
 * Records/s one processor and then two store from a backlog on Kafka, on ClickHouse. The gateway
 * and an API process stay up; processors start once the backlog is there and stop after it.
 */
async function processorScaling(
  config: string,
  clickhouse: ClickhouseInstance,
  options: ScaleOutBenchOptions,
  servers: RunningServer[],
  dirs: string[],
): Promise<{ one: number; two: number }> {
  const start = async (role: string): Promise<RunningServer> => {
    const dataDir = await mkdtemp(join(tmpdir(), `sightline-bench-${role}-`));
    dirs.push(dataDir);
    // A processor joining a group whose member is busy with a backlog waits for the rebalance.
    const server = await startServer(
      { dataDir, apiKey: API_KEY, args: ['--config', config, '--role', role] },
      120_000,
    );
    servers.push(server);
    return server;
  };
  // The first process migrates ClickHouse. Stored rows are counted in ClickHouse directly, without
  // FINAL: the API's exact count (FINAL over a growing table) every 100 ms would take the CPU the
  // processors are measured on. A replayed record would count twice here; none is replayed.
  const firstProcessor = await start('processor');
  await firstProcessor.stop();
  const gateway = await start('gateway');
  const storedRows = async (): Promise<number> =>
    Number((await clickhouse.query('SELECT count() FROM logs FORMAT TabSeparated')).trim());
  const drain = async (processors: number): Promise<number> => {
    const before = await storedRows();
    progress(`scale_out: ClickHouse: a ${options.durationS} s backlog for ${processors} processor(s)`);
    const load = await runLoadGenerator(gateway.ingestUrl, { ...options, warmupS: 0 }, API_KEY);
    reportFailures(`ClickHouse backlog for ${processors}`, load.total);
    const target = before + load.total.ackedRecords;
    const running = await Promise.all(Array.from({ length: processors }, () => start('processor')));
    let first: { at: number; stored: number } | undefined;
    const began = performance.now();
    for (;;) {
      const stored = await storedRows();
      const now = performance.now();
      if (first === undefined && stored > before) first = { at: now, stored };
      // At least: a refused request's records may have reached Kafka too (see measureShape).
      if (stored >= target) {
        const rate =
          first === undefined || now === first.at ? NaN : (stored - first.stored) / ((now - first.at) / 1000);
        progress(
          `scale_out: ClickHouse: ${processors} processor(s) stored ${fmt(load.total.ackedRecords)} records at ${fmt(rate)} records/s`,
        );
        for (const processor of running) await processor.stop();
        return rate;
      }
      if (now - began > DRAIN_TIMEOUT_MS) {
        for (const processor of running) {
          const metrics = await fetch(new URL('/metrics', processor.opsUrl), {
            headers: { authorization: `Bearer ${API_KEY}` },
          }).then((r) => r.text());
          progress(
            `scale_out: processor ${processor.pid}: ${metrics
              .split('\n')
              .filter((line) =>
                /^sightline_bus_queue_depth|^sightline_records_(stored|duplicate)_total|^sightline_batch/.test(
                  line,
                ),
              )
              .join('; ')}`,
          );
        }
        throw new Error(
          `ClickHouse: ${processors} processor(s) stored ${stored - before} of ${load.total.ackedRecords}`,
        );
      }
      await sleep(250);
    }
  };
  const one = await drain(1);
  const two = await drain(2);
  await gateway.stop();
  return { one, two };
}

async function measureShape(
  label: string,
  ingestUrl: string,
  apiUrl: string,
  options: ScaleOutBenchOptions,
): Promise<ShapeResult> {
  progress(`scale_out: ${label}: load for ${options.durationS} s after ${options.warmupS} s warm-up`);
  const load = await runLoadGenerator(ingestUrl, options, API_KEY);
  reportFailures(label, load.total);
  const acked = load.total.ackedRecords;
  const caughtUp = performance.now();
  let stored = 0;
  while (stored < acked) {
    if (performance.now() - caughtUp > CATCH_UP_TIMEOUT_MS) {
      throw new Error(
        `${label}: ${acked} records acknowledged, ${stored} stored after ${CATCH_UP_TIMEOUT_MS} ms`,
      );
    }
    await sleep(200);
    stored = await storedLogs(apiUrl);
  }
  // A request refused with 503 after its publish timed out may still reach Kafka (the bus says
  // so: the client sends it again and the store keeps one copy), so up to its records may be
  // stored beyond those acknowledged; fewer than acknowledged would be a loss.
  const refused =
    Object.values(load.total.failedByStatus).reduce((sum, n) => sum + n, 0) + load.total.networkErrors;
  if (stored > acked + refused * options.batchSize) {
    throw new Error(`${label}: ${acked} records acknowledged but ${stored} stored`);
  }
  const catchUpS = (performance.now() - caughtUp) / 1000;
  const visible: number[] = [];
  for (let i = 0; i < options.latencyProbes; i++)
    visible.push(await probe(ingestUrl, apiUrl, `${label}-${i}`));
  progress(
    `scale_out: ${label}: ${fmt(load.measured.recordsPerSecond)} records/s acknowledged, ack p50 ${fmt(load.measured.latencyMs.p50)} ms, ` +
      `p99 ${fmt(load.measured.latencyMs.p99)} ms; all ${acked} stored ${catchUpS.toFixed(1)} s after the load`,
  );
  return {
    recordsPerSecond: load.measured.recordsPerSecond,
    ackP50: load.measured.latencyMs.p50,
    ackP99: load.measured.latencyMs.p99,
    acked,
    catchUpS,
    visible,
  };
}

/** One record: ms from the gateway's acknowledgement until a search finds it. */
async function probe(ingestUrl: string, apiUrl: string, tag: string): Promise<number> {
  const token = `probe${tag.replace(/[^a-z0-9]/gi, '')}x${Date.now()}`;
  const response = await post(`${ingestUrl}/v1/logs`, logsRequestBody([token], 'probe'), {
    'content-type': 'application/x-protobuf',
    authorization: `Bearer ${API_KEY}`,
  });
  if (response.status !== 200) throw new Error(`probe ${tag}: the gateway answered ${response.status}`);
  const acked = performance.now();
  for (;;) {
    const search = await fetch(new URL('/api/v1/logs/search', apiUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: token, limit: 1 }),
    });
    const body = (await search.json()) as { data?: unknown[] };
    if ((body.data?.length ?? 0) > 0) return performance.now() - acked;
    if (performance.now() - acked > 30_000) throw new Error(`probe ${tag}: not searchable after 30 s`);
    await sleep(5);
  }
}

async function storedLogs(apiUrl: string): Promise<number> {
  const response = await fetch(new URL('/api/v1/stats', apiUrl), {
    headers: { authorization: `Bearer ${API_KEY}` },
  });
  return ((await response.json()) as { logs: number }).logs;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** Requests the gateway refused, by status: a refused request's records are not counted as acknowledged. */
function reportFailures(
  label: string,
  total: { failedByStatus: Record<string, number>; networkErrors: number },
): void {
  const failed = {
    ...total.failedByStatus,
    ...(total.networkErrors > 0 ? { network: total.networkErrors } : {}),
  };
  if (Object.keys(failed).length > 0)
    progress(`scale_out: ${label}: requests refused ${JSON.stringify(failed)}`);
}
