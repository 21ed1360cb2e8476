import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Metric } from './metric.js';
import type { LoadResult } from './otlp-logs-load.js';
import { formatSummary, summarizeProfile } from './profile-summary.js';
import { cpuBetween, machineCpu, peakRssMiB, threadCpu, type MachineCpu } from './proc.js';
import { startServer, type RunningServer } from './sightline-server.js';
import { progress } from './report.js';

/**
 * OTLP/HTTP protobuf logs into `sightline start` on DuckDB. The load generator runs as its own
 * process; the result counts only what the server acknowledged, and is refused unless the
 * store then holds exactly that many records.
 */

export interface IngestBenchOptions {
  durationS: number;
  warmupS: number;
  concurrency: number;
  batchSize: number;
  recordBytes: number;
  gzipLevel: number;
  profile: boolean;
  serverNodeFlags: string[];
}

const LOAD_GENERATOR = fileURLToPath(new URL('./otlp-logs-load.js', import.meta.url));
const API_KEY = 'sl_benchbenchbench0001';
/** From the ingest performance issue: what one node must sustain. */
const THROUGHPUT_TARGET = 20_000;

interface Observed {
  load: LoadResult;
  wallS: number;
  serverCpu: { main: number; other: number };
  machine: MachineUse | undefined;
  stored: number;
  batches: BatchStats | undefined;
  peakRssMiB: number | undefined;
}

export async function otlpLogsIngest(options: IngestBenchOptions): Promise<Metric[]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sightline-bench-'));
  const profileDir = options.profile ? await mkdtemp(join(tmpdir(), 'sightline-bench-profile-')) : undefined;
  let server: RunningServer | undefined;
  try {
    progress(`otlp_logs_ingest: starting sightline on ${dataDir}`);
    server = await startServer({
      dataDir,
      apiKey: API_KEY,
      nodeFlags: options.serverNodeFlags,
      ...(profileDir === undefined ? {} : { cpuProfileDir: profileDir }),
    });
    const observed = await observe(server, options);
    const exitCode = await server.stop();
    server = undefined;
    report(observed);
    if (profileDir !== undefined) await reportProfile(profileDir);
    checkTrustworthy(observed, exitCode);
    return metrics(observed);
  } finally {
    server?.kill();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function observe(server: RunningServer, options: IngestBenchOptions): Promise<Observed> {
  const cpuBefore = threadCpu(server.pid);
  const machineBefore = machineCpu();
  const started = performance.now();
  const load = await runLoadGenerator(server.ingestUrl, options);
  const wallS = (performance.now() - started) / 1000;
  return {
    load,
    wallS,
    serverCpu: cpuBetween(cpuBefore, threadCpu(server.pid)),
    machine: machineUse(machineBefore, machineCpu()),
    stored: await storedLogs(server.apiUrl),
    batches: await logBatchStats(server.apiUrl),
    peakRssMiB: peakRssMiB(server.pid),
  };
}

function metrics({ load, peakRssMiB }: Observed): Metric[] {
  const { recordsPerSecond, latencyMs } = load.measured;
  return [
    {
      name: 'otlp_logs_ingest_throughput',
      value: recordsPerSecond,
      unit: 'records/s',
      target: THROUGHPUT_TARGET,
    },
    { name: 'otlp_logs_ingest_ack_latency_p50', value: latencyMs.p50, unit: 'ms' },
    { name: 'otlp_logs_ingest_ack_latency_p99', value: latencyMs.p99, unit: 'ms' },
    ...(peakRssMiB === undefined
      ? []
      : [{ name: 'otlp_logs_ingest_server_peak_rss', value: Math.round(peakRssMiB * 10) / 10, unit: 'MiB' }]),
  ];
}

export function runLoadGenerator(
  ingestUrl: string,
  options: Pick<
    IngestBenchOptions,
    'durationS' | 'warmupS' | 'concurrency' | 'batchSize' | 'recordBytes' | 'gzipLevel'
  >,
  apiKey: string = API_KEY,
): Promise<LoadResult> {
  const args = [
    ['--url', ingestUrl, '--key', apiKey],
    ['--duration', String(options.durationS), '--warmup', String(options.warmupS)],
    ['--concurrency', String(options.concurrency), '--batch-size', String(options.batchSize)],
    ['--record-bytes', String(options.recordBytes), '--gzip-level', String(options.gzipLevel)],
  ].flat();
  const child = spawn(process.execPath, [LOAD_GENERATOR, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      const last = output.trim().split('\n').pop() ?? '';
      if (code !== 0 || last === '') {
        reject(new Error(`the load generator exited with code ${code} and printed no result`));
        return;
      }
      resolve(JSON.parse(last) as LoadResult);
    });
  });
}

async function storedLogs(apiUrl: string): Promise<number> {
  const response = await fetch(new URL('/api/v1/stats', apiUrl), {
    headers: { authorization: `Bearer ${API_KEY}` },
  });
  if (!response.ok)
    throw new Error(`GET /api/v1/stats answered ${response.status}: ${await response.text()}`);
  const stats = (await response.json()) as { logs?: unknown };
  if (typeof stats.logs !== 'number')
    throw new Error(`GET /api/v1/stats has no logs count: ${JSON.stringify(stats)}`);
  return stats.logs;
}

interface BatchStats {
  batches: number;
  rows: number;
  seconds: number;
}

/** The processor's own account of its store writes (core/telemetry.ts): how long it waits on DuckDB. */
async function logBatchStats(apiUrl: string): Promise<BatchStats | undefined> {
  const response = await fetch(new URL('/metrics', apiUrl), {
    headers: { authorization: `Bearer ${API_KEY}` },
  });
  if (!response.ok) return undefined;
  const text = await response.text();
  const sample = (name: string): number | undefined => {
    const value = new RegExp(`^${name}\\{[^}]*table="logs"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1];
    return value === undefined ? undefined : Number(value);
  };
  const batches = sample('sightline_store_batch_duration_seconds_count');
  const seconds = sample('sightline_store_batch_duration_seconds_sum');
  const rows = sample('sightline_store_batch_rows_sum');
  if (batches === undefined || seconds === undefined || rows === undefined) return undefined;
  return { batches, rows, seconds };
}

interface MachineUse {
  cpus: number;
  busySeconds: number;
  stealSeconds: number;
}

/** The benchmark shares the machine with whatever else runs; this shows how much that was. */
function machineUse(before: MachineCpu | undefined, after: MachineCpu | undefined): MachineUse | undefined {
  if (before === undefined || after === undefined || after.total <= before.total) return undefined;
  const jiffies = (n: number): number => n / 100;
  return {
    cpus: availableParallelism(),
    busySeconds: jiffies(after.total - before.total - (after.idle - before.idle)),
    stealSeconds: jiffies(after.steal - before.steal),
  };
}

/** The gateway answers 200 only once the records are stored (ingest/gateway-app.ts): counts must match. */
function checkTrustworthy({ load, stored }: Observed, exitCode: number | null): void {
  const problems: string[] = [];
  if (stored !== load.total.ackedRecords)
    problems.push(`the store holds ${stored} log records but ${load.total.ackedRecords} were acknowledged`);
  if (load.total.rejectedRecords > 0)
    problems.push(`${load.total.rejectedRecords} records were rejected through partial success`);
  if (load.measured.ackedRequests === 0) problems.push('no request was acknowledged in the measured window');
  if (exitCode !== 0) problems.push(`sightline exited with code ${exitCode} after SIGTERM`);
  if (problems.length > 0) throw new Error(`otlp_logs_ingest is not valid: ${problems.join('; ')}`);
}

function report({ load, wallS, serverCpu, machine, stored, batches }: Observed): void {
  const { total, measured } = load;
  const failed = total.networkErrors + Object.values(total.failedByStatus).reduce((sum, n) => sum + n, 0);
  const serverSeconds = serverCpu.main + serverCpu.other;
  const lines = [
    `otlp_logs_ingest: ${measured.recordsPerSecond} records/s over ${measured.seconds} s ` +
      `(${measured.ackedRequests} requests), ack latency p50 ${measured.latencyMs.p50} ms, ` +
      `p90 ${measured.latencyMs.p90} ms, p99 ${measured.latencyMs.p99} ms, max ${measured.latencyMs.max} ms`,
    `  all requests: ${total.ackedRecords} records acknowledged, ${stored} stored; ${failed} requests failed` +
      (failed > 0 ? ` ${JSON.stringify({ ...total.failedByStatus, network: total.networkErrors })}` : ''),
    `  sent ${mib(total.bytesSent)} MiB gzip, ${mib(total.uncompressedBytes)} MiB protobuf ` +
      `(ratio ${(total.uncompressedBytes / Math.max(1, total.bytesSent)).toFixed(1)})`,
    `  CPU over ${wallS.toFixed(1)} s: server ${serverSeconds.toFixed(1)} s (JS thread ${serverCpu.main.toFixed(1)} s, ` +
      `DuckDB/libuv/V8 threads ${serverCpu.other.toFixed(1)} s), load generator ${load.clientCpuSeconds} s`,
  ];
  if (batches !== undefined && batches.batches > 0) {
    lines.push(
      `  store: ${batches.batches} log batches of ${Math.round(batches.rows / batches.batches)} rows on average, ` +
        `${((1000 * batches.seconds) / batches.batches).toFixed(0)} ms each; writing took ` +
        `${batches.seconds.toFixed(1)} s of the ${wallS.toFixed(1)} s`,
    );
  }
  if (machine !== undefined) {
    const others = Math.max(0, machine.busySeconds - serverSeconds - load.clientCpuSeconds);
    lines.push(
      `  machine: ${machine.cpus} CPUs, ${Math.round((100 * machine.busySeconds) / (wallS * machine.cpus))}% busy; ` +
        `other processes used ${others.toFixed(1)} CPU-s, the hypervisor took ${machine.stealSeconds.toFixed(1)} s`,
    );
    if (others + machine.stealSeconds > 0.1 * wallS * machine.cpus)
      lines.push('  warning: something else used over 10% of the machine; the figures are low');
  }
  if (failed > 0) lines.push('  warning: some requests failed; their records are not counted');
  progress(lines.join('\n'));
}

async function reportProfile(profileDir: string): Promise<void> {
  const files = (await readdir(profileDir)).filter((name) => name.endsWith('.cpuprofile'));
  for (const file of files) {
    const path = join(profileDir, file);
    progress(`server CPU profile ${path}\n${formatSummary(summarizeProfile(path))}`);
  }
  if (files.length === 0) progress(`no CPU profile was written to ${profileDir}`);
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
