import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { spawnKept, stopChild, tail, waitUntilAnswering, type SpawnedChild } from './child-process.js';
import { freePort } from './free-port.js';

/** Where Debian's `prometheus` package (2.42 on bookworm) puts it; overridable for other installs. */
const PROMETHEUS_BIN = process.env.SIGHTLINE_TEST_PROMETHEUS ?? '/usr/bin/prometheus';

export const PROMETHEUS_INSTALL_HINT =
  'run `bash .ci/run` or `apt-get install prometheus` ' +
  `(or set SIGHTLINE_TEST_PROMETHEUS to the binary; looked for ${PROMETHEUS_BIN})`;

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 30_000;

export function prometheusAvailable(): boolean {
  return existsSync(PROMETHEUS_BIN);
}

export interface StartPrometheusOptions {
  /** `global` settings (scrape_interval, evaluation_interval, external_labels…). */
  global?: Record<string, unknown>;
  /** `scrape_configs` entries, as in prometheus.yml. */
  scrapeConfigs?: Record<string, unknown>[];
  /** `remote_write` entries, as in prometheus.yml. */
  remoteWrite?: Record<string, unknown>[];
}

/** One instant-vector or range-vector entry of the HTTP API's `data.result`. */
export interface PrometheusSeries {
  metric: Record<string, string>;
  /** Instant queries: `[unix seconds, "value"]`. */
  value?: [number, string];
  /** Range queries: the same pairs, one per step. */
  values?: Array<[number, string]>;
}

export interface PrometheusData {
  resultType: 'matrix' | 'vector' | 'scalar' | 'string';
  result: PrometheusSeries[];
}

/** A running Prometheus: its URLs, the query API, and a stop that is safe to call twice. */
export interface PrometheusInstance {
  url: string;
  port: number;
  /** Its remote write receiver (`--web.enable-remote-write-receiver`). */
  remoteWriteUrl: string;
  /** GET /api/v1/query: the `data` of the answer. */
  query(expr: string, timeSec?: number): Promise<PrometheusData>;
  /** GET /api/v1/query_range: the `data` of the answer. Times in unix seconds, step in seconds. */
  queryRange(expr: string, start: number, end: number, step: number): Promise<PrometheusData>;
  /** Its log so far (for a failure message). */
  output(): string;
  /** Stops it and removes its config and TSDB. */
  stop(): Promise<void>;
}

/**
 * Runs Prometheus on a free loopback port with a config and TSDB in a temp dir, its remote write
 * receiver on, and resolves once `/-/ready` answers. Scrape jobs and remote_write targets come
 * from the options (a scrape of Sightline's own /metrics, remote write to Sightline, …).
 */
export async function startPrometheus(options: StartPrometheusOptions = {}): Promise<PrometheusInstance> {
  if (!prometheusAvailable()) throw new Error(`prometheus was not found; ${PROMETHEUS_INSTALL_HINT}`);
  const dir = await mkdtemp(join(tmpdir(), 'sightline-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(
    configFile,
    stringify({
      global: options.global ?? {},
      scrape_configs: options.scrapeConfigs ?? [],
      ...(options.remoteWrite === undefined ? {} : { remote_write: options.remoteWrite }),
    }),
  );
  // freePort() releases the port before Prometheus binds it, so another process can win the race.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort(HOST);
    const child = spawnPrometheus(configFile, join(dir, 'data'), port);
    const url = `http://${HOST}:${port}`;
    try {
      await waitUntilAnswering(child, `${url}/-/ready`, READY_TIMEOUT_MS);
    } catch (error) {
      await stopChild(child.process);
      if (attempt === 1 && child.output().includes('address already in use')) continue;
      await rm(dir, { recursive: true, force: true });
      throw new Error(
        `prometheus did not get ready at ${url}: ${errorMessage(error)}\n--- its output ---\n${tail(child.output())}`,
        { cause: error },
      );
    }
    let stopping: Promise<void> | undefined;
    const api = async (path: string, params: Record<string, string>): Promise<PrometheusData> => {
      const response = await fetch(`${url}${path}?${new URLSearchParams(params).toString()}`, {
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await response.json()) as { status: string; data?: PrometheusData; error?: string };
      if (!response.ok || body.status !== 'success' || body.data === undefined)
        throw new Error(`GET ${path} answered ${response.status}: ${body.error ?? JSON.stringify(body)}`);
      return body.data;
    };
    return {
      url,
      port,
      remoteWriteUrl: `${url}/api/v1/write`,
      query: (expr, timeSec) =>
        api('/api/v1/query', { query: expr, ...(timeSec === undefined ? {} : { time: String(timeSec) }) }),
      queryRange: (expr, start, end, step) =>
        api('/api/v1/query_range', {
          query: expr,
          start: String(start),
          end: String(end),
          step: String(step),
        }),
      output: () => child.output(),
      stop: () =>
        (stopping ??= (async () => {
          await stopChild(child.process);
          await rm(dir, { recursive: true, force: true });
        })()),
    };
  }
}

function spawnPrometheus(configFile: string, dataDir: string, port: number): SpawnedChild {
  return spawnKept(PROMETHEUS_BIN, [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${dataDir}`,
    `--web.listen-address=${HOST}:${port}`,
    '--web.enable-remote-write-receiver',
    '--log.level=warn',
  ]);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
