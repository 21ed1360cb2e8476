import { Agent, request } from 'node:http';
import { parseArgs, promisify } from 'node:util';
import { gzip, type ZlibOptions } from 'node:zlib';
import { opentelemetry } from '../src/otlp/generated/otlp.js';
import { buildTemplates, instantiate, type RequestTemplate } from './otlp-logs-body.js';

/**
 * Load generator for OTLP/HTTP protobuf logs, run as its own process so that its CPU shows
 * apart from the server's. It keeps `concurrency` requests in flight for warm-up plus
 * duration, then prints one JSON line (LoadResult) on stdout; progress goes to stderr.
 *
 *   node dist/bench/otlp-logs-load.js --url http://127.0.0.1:4318 --key sl_... [--duration 20] ...
 */

export interface LoadOptions {
  url: string;
  key: string;
  durationS: number;
  warmupS: number;
  concurrency: number;
  batchSize: number;
  recordBytes: number;
  templates: number;
  gzipLevel: number;
}

export interface LoadResult {
  options: Omit<LoadOptions, 'key'>;
  /** Every request, warm-up and the tail after the window included: what the store must hold. */
  total: {
    requests: number;
    ackedRequests: number;
    ackedRecords: number;
    /** Records the server refused through OTLP partial success (a benchmark error). */
    rejectedRecords: number;
    failedByStatus: Record<string, number>;
    networkErrors: number;
    bytesSent: number;
    uncompressedBytes: number;
  };
  /** Requests answered within the measured window (after warm-up, before the end). */
  measured: {
    seconds: number;
    ackedRequests: number;
    ackedRecords: number;
    recordsPerSecond: number;
    latencyMs: { p50: number; p90: number; p99: number; max: number };
  };
  /** The generator's own CPU time, to judge how much of the machine it took from the server. */
  clientCpuSeconds: number;
}

const gzipAsync = promisify<Buffer, ZlibOptions, Buffer>(gzip);
const collector = opentelemetry.proto.collector.v1;

type Outcome = { kind: 'acked' } | { kind: 'partial'; rejected: number } | { kind: 'failed'; status: string };

class Tally {
  readonly total: LoadResult['total'] = {
    requests: 0,
    ackedRequests: 0,
    ackedRecords: 0,
    rejectedRecords: 0,
    failedByStatus: {},
    networkErrors: 0,
    bytesSent: 0,
    uncompressedBytes: 0,
  };
  readonly windowLatencies: number[] = [];
  windowAckedRecords = 0;

  constructor(
    private readonly windowStart: number,
    private readonly windowEnd: number,
  ) {}

  add(outcome: Outcome, records: number, sentAt: number, answeredAt: number): void {
    this.total.requests++;
    if (outcome.kind === 'failed') {
      if (outcome.status === 'network') this.total.networkErrors++;
      else this.total.failedByStatus[outcome.status] = (this.total.failedByStatus[outcome.status] ?? 0) + 1;
      return;
    }
    if (outcome.kind === 'partial') {
      this.total.rejectedRecords += outcome.rejected;
      return;
    }
    this.total.ackedRequests++;
    this.total.ackedRecords += records;
    if (answeredAt >= this.windowStart && answeredAt <= this.windowEnd) {
      this.windowLatencies.push(answeredAt - sentAt);
      this.windowAckedRecords += records;
    }
  }
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const cpuBefore = process.cpuUsage();
  progress(`building ${options.templates} request templates of ${options.batchSize} records`);
  const templates = buildTemplates({
    batchSize: options.batchSize,
    recordBytes: options.recordBytes,
    templates: options.templates,
    seed: 1,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const target = new URL('/v1/logs', options.url);
  const start = performance.now();
  const windowStart = start + options.warmupS * 1000;
  const windowEnd = windowStart + options.durationS * 1000;
  const tally = new Tally(windowStart, windowEnd);
  let nextSeq = 0;
  const takeSeq = (): number => {
    const first = nextSeq;
    nextSeq += options.batchSize;
    return first;
  };

  const ticker = setInterval(() => reportProgress(tally, start), 5000);
  try {
    await Promise.all(
      Array.from({ length: options.concurrency }, (_unused, loop) =>
        sendLoop(loop, { options, templates, agent, target, tally, windowEnd, takeSeq }),
      ),
    );
  } finally {
    clearInterval(ticker);
    agent.destroy();
  }
  const cpu = process.cpuUsage(cpuBefore);
  return {
    options: withoutKey(options),
    total: tally.total,
    measured: measured(tally, options.durationS),
    clientCpuSeconds: round((cpu.user + cpu.system) / 1e6, 2),
  };
}

interface LoopContext {
  options: LoadOptions;
  templates: readonly RequestTemplate[];
  agent: Agent;
  target: URL;
  tally: Tally;
  windowEnd: number;
  takeSeq: () => number;
}

async function sendLoop(loop: number, context: LoopContext): Promise<void> {
  const { options, templates, tally } = context;
  for (let n = loop; performance.now() < context.windowEnd; n += options.concurrency) {
    const template = templates[n % templates.length] as RequestTemplate;
    const raw = instantiate(template, context.takeSeq(), BigInt(Date.now()) * 1_000_000n);
    const body = await gzipAsync(raw, { level: options.gzipLevel });
    tally.total.bytesSent += body.length;
    tally.total.uncompressedBytes += raw.length;
    const sentAt = performance.now();
    const outcome = await send(context, body);
    tally.add(outcome, options.batchSize, sentAt, performance.now());
    // A refused request is not retried (its records are simply not acknowledged); the pause keeps a failing server from being hammered.
    if (outcome.kind === 'failed') await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function send(context: LoopContext, body: Buffer): Promise<Outcome> {
  try {
    const response = await post(context, body);
    if (response.status !== 200) return { kind: 'failed', status: String(response.status) };
    const partial = collector.ExportLogsServiceResponse.decode(response.body).partialSuccess;
    const rejected = Number(partial?.rejectedLogRecords ?? 0);
    return rejected > 0 ? { kind: 'partial', rejected } : { kind: 'acked' };
  } catch (error) {
    progress(`request failed: ${error instanceof Error ? error.message : String(error)}`);
    return { kind: 'failed', status: 'network' };
  }
}

function post(context: LoopContext, body: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      context.target,
      {
        method: 'POST',
        agent: context.agent,
        headers: {
          'content-type': 'application/x-protobuf',
          'content-encoding': 'gzip',
          'content-length': body.length,
          authorization: `Bearer ${context.options.key}`,
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
        response.on('error', reject);
      },
    );
    outgoing.setTimeout(60_000, () => outgoing.destroy(new Error('no response within 60 s')));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

function withoutKey({ key: _key, ...rest }: LoadOptions): Omit<LoadOptions, 'key'> {
  return rest;
}

function measured(tally: Tally, seconds: number): LoadResult['measured'] {
  const sorted = Float64Array.from(tally.windowLatencies).sort();
  return {
    seconds,
    ackedRequests: sorted.length,
    ackedRecords: tally.windowAckedRecords,
    recordsPerSecond: Math.round(tally.windowAckedRecords / seconds),
    latencyMs: {
      p50: percentile(sorted, 0.5),
      p90: percentile(sorted, 0.9),
      p99: percentile(sorted, 0.99),
      max: percentile(sorted, 1),
    },
  };
}

/** Nearest-rank percentile; NaN when nothing was measured, which JSON shows as null. */
function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return round(sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN, 1);
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function reportProgress(tally: Tally, start: number): void {
  const elapsedS = (performance.now() - start) / 1000;
  const failed =
    tally.total.networkErrors + Object.values(tally.total.failedByStatus).reduce((sum, n) => sum + n, 0);
  progress(
    `${elapsedS.toFixed(0)} s: ${tally.total.ackedRecords} records acknowledged (${Math.round(tally.total.ackedRecords / elapsedS)}/s overall), ${failed} requests failed`,
  );
}

function progress(message: string): void {
  process.stderr.write(`[load] ${message}\n`);
}

function parseOptions(argv: string[]): LoadOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      key: { type: 'string' },
      duration: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '10' },
      'batch-size': { type: 'string', default: '500' },
      'record-bytes': { type: 'string', default: '1024' },
      templates: { type: 'string', default: '64' },
      'gzip-level': { type: 'string', default: '1' },
    },
  });
  if (values.url === undefined || values.key === undefined) throw new Error('--url and --key are required');
  return {
    url: values.url,
    key: values.key,
    durationS: positive('duration', values.duration),
    warmupS: positive('warmup', values.warmup, 0),
    concurrency: positive('concurrency', values.concurrency),
    batchSize: positive('batch-size', values['batch-size']),
    recordBytes: positive('record-bytes', values['record-bytes'], 64),
    templates: positive('templates', values.templates),
    gzipLevel: positive('gzip-level', values['gzip-level'], 0),
  };
}

function positive(name: string, value: string, min = 1): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min)
    throw new Error(`--${name} must be a number of at least ${min}, got "${value}"`);
  return n;
}

async function main(): Promise<void> {
  const result = await runLoad(parseOptions(process.argv.slice(2)));
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

try {
  await main();
} catch (error) {
  process.stderr.write(`[load] ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
