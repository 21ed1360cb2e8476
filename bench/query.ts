import type { DuckDBType } from '@duckdb/node-api';
import { DEFAULT_QUERY_LIMITS } from '../src/query/query-limits.js';
import { parseLogSearchRequest } from '../src/query/log-language/request.js';
import { runRangeQuery } from '../src/query/promql-query.js';
import { StoreSeriesSource } from '../src/query/promql-store-source.js';
import type { DuckDBDatabase } from '../src/store/duckdb/database.js';
import { compileLogQuery, type OrgScope, type Params } from '../src/store/duckdb/log-search-sql.js';
import { DuckDBStore } from '../src/store/duckdb/telemetry-store.js';
import type { OrgId } from '../src/store/rows.js';
import type { Store } from '../src/store/store.js';
import type { Metric } from './metric.js';
import { cpuBetween, machineCpu, peakRssMiB, threadCpu } from './proc.js';
import { prepareQueryData, type QueryData } from './query-data.js';
import { startServer, type RunningServer } from './sightline-server.js';
import { fmt, median, progress, round, sleep } from './report.js';

/**
 * Query latency on DuckDB, from the issue "Query languages and APIs": with a day of logs
 * (10 M records) and of one counter (1 M points), p50/p95 through the HTTP API of
 *   (a) a text search over the last hour      POST /api/v1/logs/search {"query": "deadlock"}
 *   (b) counts per service per minute, 24 h    POST /api/v1/logs/search {"query": "| count by service over 1m"}
 *   (c) a PromQL range query, 24 h at 1 m      POST /api/v1/metrics/query_range sum by (x) (rate(m[5m]))
 * and the same reads run directly on the DuckDB file in this process (before the server opens
 * it: one process per file), so the API's overhead shows as a ratio. "Directly" is the SQL the
 * product compiles for the request, run on a connection and read into row objects for (a) and
 * (b); for (c) the store reads the PromQL engine makes (StoreSeriesSource.select: metric names,
 * series, points), without the engine's evaluation.
 *
 * Requests run one at a time, after a few not measured. Times are relative to the data's "now"
 * (query-data.ts), so a cached data dir answers the same queries on a later run.
 */

export interface QueryBenchOptions {
  logs: number;
  points: number;
  runs: number;
  warmup: number;
  fresh: boolean;
}

/** From the issue: p50 targets, and what the API may add to the store's own time. */
const SEARCH_TARGET_MS = 300;
const COUNT_TARGET_MS = 300;
const PROMQL_TARGET_MS = 500;
const RATIO_TARGET = 1.3;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** How far before `start` the engine reads for `rate(m[5m])`: the range of the selector. */
const RATE_RANGE_MS = 5 * 60_000;
/** Runs of (c) in this process, to split its time between the store reads, the engine and HTTP. */
const ENGINE_RUNS = 5;
/** The most buckets one answer holds: a day of minutes per service is more (docs/log-search.md). */
const COUNT_LIMIT = 10_000;

interface Case {
  name: 'search' | 'count' | 'promql';
  metric: string;
  label: string;
  path: string;
  body: Record<string, unknown>;
  targetMs: number;
  /** Checks an answer and says what it held, for stderr. */
  check: (answer: unknown) => string;
}

interface Timings {
  ms: number[];
  summary: string;
}

interface ApiTimings extends Timings {
  serverCpu: { main: number; other: number };
}

export async function queryLatency(options: QueryBenchOptions): Promise<Metric[]> {
  const data = await prepareQueryData(options);
  const cases = queryCases(data);
  let direct: Map<Case['name'], Timings>;
  let inProcess: Timings | undefined;
  try {
    direct = await measureDirect(data, cases, options);
    inProcess = await measureEngine(data, cases, options);
  } finally {
    // The server opens the same file; DuckDB allows one process per file.
    await data.database.close();
  }

  let server: RunningServer | undefined;
  let api: Map<Case['name'], ApiTimings>;
  let rssMiB: number | undefined;
  try {
    progress(`query: starting sightline on ${data.dataDir}`);
    server = await startServer({ dataDir: data.dataDir, apiKey: data.apiKey });
    api = await measureApi(server, data, cases, options);
    rssMiB = peakRssMiB(server.pid);
    const exitCode = await server.stop();
    server = undefined;
    if (exitCode !== 0) throw new Error(`sightline exited with code ${exitCode} after SIGTERM`);
  } finally {
    server?.kill();
  }

  const metrics: Metric[] = [];
  for (const c of cases) {
    const viaApi = api.get(c.name);
    const store = direct.get(c.name);
    if (viaApi === undefined || store === undefined) continue;
    const apiP50 = percentile(viaApi.ms, 50);
    const directP50 = percentile(store.ms, 50);
    progress(
      `query ${c.label}: API p50 ${fmt(apiP50)} ms, p95 ${fmt(percentile(viaApi.ms, 95))} ms ` +
        `(min ${fmt(Math.min(...viaApi.ms))}, max ${fmt(Math.max(...viaApi.ms))}); ` +
        `direct p50 ${fmt(directP50)} ms, p95 ${fmt(percentile(store.ms, 95))} ms; ratio ${(apiP50 / directP50).toFixed(2)}\n` +
        `  ${viaApi.summary}\n` +
        `  server CPU per request: JS thread ${fmt((1000 * viaApi.serverCpu.main) / viaApi.ms.length)} ms, ` +
        `DuckDB/libuv/V8 threads ${fmt((1000 * viaApi.serverCpu.other) / viaApi.ms.length)} ms\n` +
        `  direct: ${store.summary}`,
    );
    metrics.push(
      { name: `${c.metric}_p50`, value: round(apiP50, 1), unit: 'ms', target: c.targetMs },
      { name: `${c.metric}_p95`, value: round(percentile(viaApi.ms, 95), 1), unit: 'ms' },
      { name: `${c.metric}_direct_p50`, value: round(directP50, 1), unit: 'ms' },
      {
        name: `${c.metric}_api_ratio`,
        value: round(apiP50 / directP50, 2),
        unit: 'ratio',
        target: RATIO_TARGET,
      },
    );
  }
  if (inProcess !== undefined) {
    progress(
      `query promql in this process (parse, store reads, evaluation; no HTTP): p50 ` +
        `${fmt(percentile(inProcess.ms, 50))} ms, p95 ${fmt(percentile(inProcess.ms, 95))} ms; ${inProcess.summary}`,
    );
  }
  if (rssMiB !== undefined) {
    metrics.push({ name: 'query_server_peak_rss', value: round(rssMiB, 1), unit: 'MiB' });
  }
  return metrics;
}

function queryCases(data: QueryData): Case[] {
  const to = data.anchorMs;
  return [
    {
      name: 'search',
      metric: 'query_log_search_1h',
      label: `(a) "${data.rareTerm}" over the last hour`,
      path: '/api/v1/logs/search',
      body: { query: data.rareTerm, from: to - HOUR_MS, to },
      targetMs: SEARCH_TARGET_MS,
      check: (answer) => {
        const { data: rows, nextCursor } = answer as { data?: unknown[]; nextCursor?: unknown };
        if (!Array.isArray(rows) || rows.length === 0)
          throw new Error(`(a) found no records: ${preview(answer)}`);
        return `${rows.length} records${nextCursor === null ? '' : ' and a next page'}`;
      },
    },
    {
      name: 'count',
      metric: 'query_log_count_by_service_1m_24h',
      label: '(b) "| count by service over 1m" over 24 h',
      path: '/api/v1/logs/search',
      body: { query: '| count by service over 1m', from: to - DAY_MS, to, limit: COUNT_LIMIT },
      targetMs: COUNT_TARGET_MS,
      check: (answer) => {
        const { buckets, meta } = answer as { buckets?: unknown[]; meta?: { truncated?: boolean } };
        if (!Array.isArray(buckets) || buckets.length === 0)
          throw new Error(`(b) counted nothing: ${preview(answer)}`);
        return `${buckets.length} buckets${meta?.truncated === true ? ' (truncated at the limit)' : ''}`;
      },
    },
    {
      name: 'promql',
      metric: 'query_promql_range_24h_1m',
      label: '(c) sum by (x) (rate(m[5m])) over 24 h at 1 m',
      path: '/api/v1/metrics/query_range',
      body: { query: 'sum by (x) (rate(m[5m]))', start: (to - DAY_MS) / 1000, end: to / 1000, step: '60' },
      targetMs: PROMQL_TARGET_MS,
      check: (answer) => {
        const result = (answer as { data?: { resultType?: string; result?: Array<{ values?: unknown[] }> } })
          .data;
        if (result?.resultType !== 'matrix' || !Array.isArray(result.result) || result.result.length === 0) {
          throw new Error(`(c) answered no matrix: ${preview(answer)}`);
        }
        const points = result.result.reduce((sum, s) => sum + (s.values?.length ?? 0), 0);
        return `${result.result.length} series, ${points} points`;
      },
    },
  ];
}

/** The same reads in this process, on the file the server will open. */
async function measureDirect(
  data: QueryData,
  cases: readonly Case[],
  options: QueryBenchOptions,
): Promise<Map<Case['name'], Timings>> {
  const out = new Map<Case['name'], Timings>();
  for (const c of cases) {
    const run = c.name === 'promql' ? directPromql(data, c) : directLogQuery(data, c);
    progress(`query ${c.label}: direct, ${options.warmup} warm-up + ${options.runs} runs`);
    // CPU as well as wall time: on a shared machine the CPU per request compares more steadily with the server's.
    let cpuBefore = process.cpuUsage();
    const timings = await timeRuns(options, run, () => (cpuBefore = process.cpuUsage()));
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000 / timings.ms.length;
    out.set(c.name, {
      ...timings,
      summary: `${timings.summary}; CPU per request ${fmt(cpuMs)} ms (all threads)`,
    });
  }
  return out;
}

/** The store's org scope (telemetry-store.ts `orgScoped`): the caller's org is the first condition. */
function orgScope(org: OrgId): OrgScope {
  return (conditions) => ({
    from: `FROM logs WHERE org_id = $org${conditions.map((c) => ` AND ${c}`).join('')}`,
    params: { org },
  });
}

/** The SQL the product compiles for the request body, run and read as the store reads it. */
function directLogQuery(data: QueryData, c: Case): () => Promise<string> {
  const { query } = parseLogSearchRequest(c.body, data.anchorMs);
  const { sql, params, types } = compileLogQuery(orgScope(data.org), query);
  return () => readAll(data.database, sql, params, types);
}

async function readAll(
  database: DuckDBDatabase,
  sql: string,
  params: Params,
  types: Record<string, DuckDBType>,
): Promise<string> {
  const rows = await database.withConnection(async (connection) => {
    const reader = await connection.runAndReadAll(sql, params, types);
    return reader.getRowObjectsJS();
  });
  return `${rows.length} rows`;
}

type Matchers = Parameters<StoreSeriesSource['select']>[0];

/** What the PromQL engine reads from the store for (c): StoreSeriesSource.select over the range and the 5m before. */
function directPromql(data: QueryData, c: Case): () => Promise<string> {
  const startMs = Number(c.body.start) * 1000;
  const endMs = Number(c.body.end) * 1000;
  const matchers: Matchers = [{ name: '__name__', op: '=', value: 'm' }];
  const phases = new PhaseLog();
  const store = timedStore(new DuckDBStore(data.database), phases);
  return async () => {
    phases.nextRun();
    const source = new StoreSeriesSource(store, data.org, DEFAULT_QUERY_LIMITS);
    const series = await source.select(matchers, startMs - RATE_RANGE_MS, endMs);
    const points = series.reduce((sum, s) => sum + s.timestampsMs.length, 0);
    return `${series.length} series, ${points} points; median per run: ${phases.summary()}`;
  };
}

/**
 * The whole range query in this process (parse, store reads, evaluation), for where (c)'s time
 * goes: the difference from the direct reads is the engine, the rest of the API's is HTTP and JSON.
 */
async function measureEngine(
  data: QueryData,
  cases: readonly Case[],
  options: QueryBenchOptions,
): Promise<Timings | undefined> {
  const c = cases.find((x) => x.name === 'promql');
  if (c === undefined) return undefined;
  const phases = new PhaseLog();
  const store = timedStore(new DuckDBStore(data.database), phases);
  // A diagnostic, not a figure: a few runs say where the time goes.
  const runs = { ...options, warmup: Math.min(1, options.warmup), runs: Math.min(ENGINE_RUNS, options.runs) };
  progress(`query ${c.label}: in this process, ${runs.warmup} warm-up + ${runs.runs} runs`);
  return timeRuns(runs, async () => {
    phases.nextRun();
    const result = await runRangeQuery(
      { store, org: data.org, limits: DEFAULT_QUERY_LIMITS, nowMs: data.anchorMs },
      {
        query: String(c.body.query),
        start: String(c.body.start),
        end: String(c.body.end),
        step: String(c.body.step),
      },
    );
    return `${c.check({ data: result })}; median per run: ${phases.summary()}`;
  });
}

const TIMED_READS = new Set<string | symbol>(['listMetricNames', 'listSeries', 'readSeriesPoints']);

/** The store, with the time of each read the engine makes logged in `phases`. */
function timedStore(store: Store, phases: PhaseLog): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || !TIMED_READS.has(property)) return value;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      return async (...args: unknown[]) => {
        const started = performance.now();
        try {
          return await method.apply(target, args);
        } finally {
          phases.add(String(property), performance.now() - started);
        }
      };
    },
  });
}

/** Milliseconds per store read, run by run. */
class PhaseLog {
  private readonly runs: Array<Map<string, number>> = [];

  nextRun(): void {
    this.runs.push(new Map());
  }

  add(name: string, ms: number): void {
    const run = this.runs[this.runs.length - 1];
    run?.set(name, (run.get(name) ?? 0) + ms);
  }

  /** The median of each read over the runs so far (warm-ups included: their reads are as warm by then). */
  summary(): string {
    const names = new Set(this.runs.flatMap((run) => [...run.keys()]));
    return [...names]
      .map((name) => `${name} ${fmt(median(this.runs.map((run) => run.get(name) ?? 0)))} ms`)
      .join(', ');
  }
}

async function measureApi(
  server: RunningServer,
  data: QueryData,
  cases: readonly Case[],
  options: QueryBenchOptions,
): Promise<Map<Case['name'], ApiTimings>> {
  const out = new Map<Case['name'], ApiTimings>();
  // The server's first rollup pass starts with it (rollups.ts); let it finish before timing.
  await sleep(2000);
  for (const c of cases) {
    const url = new URL(c.path, server.apiUrl);
    const send = async (): Promise<string> => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${data.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(c.body),
      });
      const text = await response.text();
      if (response.status !== 200)
        throw new Error(`POST ${c.path} answered ${response.status}: ${text.slice(0, 500)}`);
      return `${c.check(JSON.parse(text))}, ${(text.length / 1024).toFixed(0)} KiB of JSON`;
    };
    progress(`query ${c.label}: API, ${options.warmup} warm-up + ${options.runs} runs`);
    const machineBefore = machineCpu();
    let cpuBefore = threadCpu(server.pid);
    const timings = await timeRuns(options, send, () => (cpuBefore = threadCpu(server.pid)));
    const serverCpu = cpuBetween(cpuBefore, threadCpu(server.pid));
    const machineAfter = machineCpu();
    let summary = timings.summary;
    if (machineBefore !== undefined && machineAfter !== undefined) {
      const busy = machineAfter.total - machineBefore.total - (machineAfter.idle - machineBefore.idle);
      summary += `; machine ${Math.round((100 * busy) / Math.max(1, machineAfter.total - machineBefore.total))}% busy`;
    }
    out.set(c.name, { ...timings, summary, serverCpu });
  }
  return out;
}

/** `warmup` runs, then `runs` timed one after another; the summary is the last run's. */
async function timeRuns(
  options: QueryBenchOptions,
  run: () => Promise<string>,
  afterWarmup?: () => void,
): Promise<Timings> {
  for (let i = 0; i < options.warmup; i++) await run();
  afterWarmup?.();
  const ms: number[] = [];
  let summary = '';
  for (let i = 0; i < options.runs; i++) {
    const started = performance.now();
    summary = await run();
    ms.push(performance.now() - started);
  }
  return { ms, summary };
}

/** Nearest rank: the smallest value with at least p% of the values at or below it. */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? NaN;
}

function preview(answer: unknown): string {
  return JSON.stringify(answer).slice(0, 300);
}
