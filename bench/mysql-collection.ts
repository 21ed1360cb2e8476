import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import mysql from 'mysql2/promise';
import { MemoryBus } from '../src/bus/memory.js';
import { TOPICS } from '../src/bus/topics.js';
import { buildCollectors, planCollectors } from '../src/collect/collectors.js';
import { MysqlCollector } from '../src/collect/mysql/collector.js';
import { mysqlSetupSql } from '../src/collect/mysql/setup-sql.js';
import { configSchema } from '../src/config/schema.js';
import { createLogger } from '../src/core/logger.js';
import { SelfMetrics } from '../src/core/telemetry.js';
import { startMariadb, type MariadbInstance } from '../test/harness/mariadb.js';
import type { Metric } from './metric.js';
import { machineCpu, processCpuSeconds } from './proc.js';
import { fmt, median, progress, round, sleep } from './report.js';

/**
 * What watching a MySQL-family server costs the watched server. One private MariaDB with
 * performance_schema (digest table of 10,000 rows, statement history on, as the setup SQL asks),
 * `tables` small InnoDB tables and `digests` distinct statement digests over them; then:
 *  1. the first statements cycle (every digest and every digest text read), then warm cycles, each
 *     after the same statements ran again so every digest changed, as on a busy server: wall time
 *     in the collector and server time from performance_schema's per-user statement summary;
 *  2. sysbench-style point-select QPS (a 100,000-row sbtest1, `SELECT c … WHERE id = ?`) with the
 *     collector off and on (started with each "on" run, so a full cycle falls in every run), alternated.
 * The collector runs in this process exactly as `sightline start` builds it (buildCollectors),
 * publishing onto an in-memory bus whose consumers discard: the store is not what is measured.
 * The load runs on a worker thread of this process, so the collector's JavaScript (decoding 5,000
 * digest rows, shaping texts) competes with it for the cores as another process would, but does
 * not stop it the way sharing one event loop would.
 */

export interface MysqlBenchOptions {
  tables: number;
  digests: number;
  loadSeconds: number;
  /** off/on pairs, in ABBA order so a drift over time does not favour either side. */
  loadPairs: number;
  metricsIntervalS: number;
  statementsIntervalS: number;
}

const MONITOR = 'sightline_bench';
const PASSWORD = 'bench-only-password';
const SHAPES_DB = 'bench';
const LOAD_DB = 'sbtest';
/** sysbench's oltp_point_select: one table of LOAD_ROWS rows, LOAD_CONNECTIONS sessions, one in flight each. */
const LOAD_ROWS = 100_000;
const LOAD_CONNECTIONS = 4;
const POINT_SELECT = 'SELECT c FROM sbtest1 WHERE id = ?';
/** Targets from the MySQL collection issue. */
const CYCLE_TARGET_MS = 1000;
const QPS_DROP_TARGET_PCT = 1;
const WARM_CYCLES = 5;
/** A load run during which other processes took more of the machine than this is run again… */
const NOISY_OTHER_CPU_PCT = 5;
/** …at most this many times. */
const NOISY_RETRIES = 2;
const SETTLE_MS = 500;
const WARMUP_SECONDS = 5;
/** Connections that run the shapes. */
const SHAPE_CONNECTIONS = 4;

/**
 * Distinct statement shapes per table: the digest keeps identifiers and drops literals, so each
 * (table, shape) is its own row of events_statements_summary_by_digest.
 */
const SHAPES: ReadonlyArray<(table: string) => string> = [
  (t) => `SELECT a FROM ${t} WHERE id = 1`,
  (t) => `SELECT b FROM ${t} WHERE id = 2`,
  (t) => `SELECT a, b FROM ${t} WHERE a > 3`,
  (t) => `SELECT COUNT(*) FROM ${t}`,
  (t) => `SELECT MAX(c) FROM ${t} WHERE b LIKE 'a%'`,
  (t) => `SELECT id, c FROM ${t} ORDER BY c DESC LIMIT 3`,
  (t) => `SELECT SUM(a) FROM ${t} WHERE id IN (1, 2, 3)`,
  (t) => `SELECT * FROM ${t} WHERE b = 'x' AND a = 1`,
];

export async function mysqlCollection(options: MysqlBenchOptions): Promise<Metric[]> {
  const perTable = Math.ceil(options.digests / options.tables);
  if (perTable > SHAPES.length) {
    throw new Error(
      `--mysql-digests ${options.digests} needs ${perTable} shapes per table; at most ${SHAPES.length} (raise --mysql-tables)`,
    );
  }
  const started = performance.now();
  progress('mysql_collection: starting MariaDB');
  const server = await startMariadb({
    settings: {
      // Room for every digest made here, the load's, the collector's and the bench's own.
      performance_schema_digests_size: Math.max(10_000, options.digests + 2000),
      // Samples come from the statement history; the setup SQL asks for these consumers.
      performance_schema_consumer_events_statements_current: 'ON',
      performance_schema_consumer_events_statements_history_long: 'ON',
      // sbtest1 (~25 MB) and the small tables stay in memory: the load measures CPU, not the disk.
      innodb_buffer_pool_size: '256M',
    },
  });
  const metrics = new SelfMetrics({ processMetrics: false });
  const bus = new MemoryBus(
    // A statements cycle publishes one message per digest (and per sample): 10,000 and more at once.
    { maxQueueBytes: 256 << 20, maxQueueMessages: 100_000, retryAfterSeconds: 1 },
    createLogger('warn'),
  );
  let admin: mysql.Connection | undefined;
  const workload: mysql.Connection[] = [];
  let collector: MysqlCollector | undefined;
  let load: PointSelectLoad | undefined;
  try {
    await prepare(server, options);
    for (let i = 0; i < SHAPE_CONNECTIONS; i++) workload.push(await server.connect(SHAPES_DB));
    const touch = () => runShapes(workload, options, perTable);
    progress(`mysql_collection: making ${options.digests} digests (${perTable} shapes per table)`);
    await touch();

    admin = await server.connect();
    const version = (await rows(admin, 'SELECT VERSION() AS v'))[0]?.v;
    const digests = await countDigests(admin);
    progress(
      `mysql_collection: MariaDB ${String(version)}: ${digests.bench} digests over the bench tables, ` +
        `${digests.total} in the digest table`,
    );
    if (digests.bench < options.digests) {
      throw new Error(
        `only ${digests.bench} digests over the bench tables in performance_schema, fewer than the ${options.digests} asked for`,
      );
    }

    for (const topic of Object.values(TOPICS)) {
      await bus.consume(
        { group: 'bench', topic, maxBatchMessages: 1000, maxBatchBytes: 64 << 20, maxWaitMs: 0 },
        () => Promise.resolve(),
      );
    }
    collector = await buildCollector(server, bus, metrics, options);
    const cycles = await measureCycles(collector, admin, metrics, touch);
    // Closes its session: every "on" run then starts as `sightline start` does, connecting first.
    await collector.shutdown();
    load = await PointSelectLoad.start(server);
    const qps = await measureQps(server, collector, metrics, admin, load, touch, options);
    await checkCollectorErrors(metrics);
    await checkDigestTableFits(admin);

    progress(`mysql_collection: done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    return [
      { name: 'mysql_digests', value: digests.total, unit: 'digests' },
      {
        name: 'mysql_collection_cycle_wall_ms',
        value: round(cycles.full.wallMedian),
        unit: 'ms',
        target: CYCLE_TARGET_MS,
      },
      {
        name: 'mysql_collection_cycle_wall_max_ms',
        value: round(cycles.full.wallMax),
        unit: 'ms',
        target: CYCLE_TARGET_MS,
      },
      { name: 'mysql_collection_metrics_cycle_wall_ms', value: round(cycles.metrics.wallMedian), unit: 'ms' },
      {
        name: 'mysql_collection_metrics_cycle_wall_max_ms',
        value: round(cycles.metrics.wallMax),
        unit: 'ms',
      },
      {
        name: 'mysql_collection_statements_cycle_wall_ms',
        value: round(cycles.statements.wallMedian),
        unit: 'ms',
      },
      {
        name: 'mysql_collection_statements_cycle_wall_max_ms',
        value: round(cycles.statements.wallMax),
        unit: 'ms',
      },
      {
        name: 'mysql_collection_first_statements_cycle_wall_ms',
        value: round(cycles.first.statementsWallMs),
        unit: 'ms',
      },
      {
        name: 'mysql_collection_first_cycle_wall_ms',
        value: round(cycles.first.metricsWallMs + cycles.first.statementsWallMs),
        unit: 'ms',
      },
      {
        name: 'mysql_collection_cycle_db_ms',
        value: round(cycles.full.dbMedian),
        unit: 'ms',
        target: CYCLE_TARGET_MS,
      },
      { name: 'mysql_collection_metrics_cycle_db_ms', value: round(cycles.metrics.dbMedian), unit: 'ms' },
      {
        name: 'mysql_collection_statements_cycle_db_ms',
        value: round(cycles.statements.dbMedian),
        unit: 'ms',
      },
      {
        name: 'mysql_collection_first_cycle_db_ms',
        value: round(cycles.first.metricsDbMs + cycles.first.statementsDbMs),
        unit: 'ms',
      },
      { name: 'mysql_point_select_qps_off', value: round(qps.off), unit: 'qps' },
      { name: 'mysql_point_select_qps_on', value: round(qps.on), unit: 'qps' },
      {
        name: 'mysql_collector_qps_drop_pct',
        value: round(qps.dropPct),
        unit: '%',
        target: QPS_DROP_TARGET_PCT,
      },
      { name: 'mysql_point_select_qps_off_spread_pct', value: round(qps.offSpreadPct), unit: '%' },
      { name: 'mysql_collector_db_ms_per_s', value: round(qps.collectorDbMsPerS), unit: 'ms/s' },
      {
        // The share of the server's cores the collector's statements occupied: a steadier proxy for the QPS drop.
        name: 'mysql_collector_server_time_pct',
        value: round((qps.collectorDbMsPerS / (1000 * availableParallelism())) * 100),
        unit: '%',
      },
      {
        // Client-side: on this machine it competes with the server and the load for the same cores.
        name: 'mysql_collector_client_cpu_ms_per_s',
        value: round(qps.collectorCpuMsPerS),
        unit: 'ms/s',
      },
      { name: 'mysql_point_select_other_cpu_pct', value: round(qps.otherCpuPct), unit: '%' },
      {
        // In steady state at the configured intervals: one metrics cycle per metrics interval and one
        // statements cycle per query-stats interval, from the measured warm cycle costs.
        name: 'mysql_collector_steady_server_time_pct',
        value: round(
          ((cycles.metrics.dbMedian / options.metricsIntervalS +
            cycles.statements.dbMedian / options.statementsIntervalS) /
            (1000 * availableParallelism())) *
            100,
          3,
        ),
        unit: '%',
      },
    ];
  } finally {
    await load?.stop();
    await collector?.shutdown();
    await bus.shutdown();
    await admin?.end().catch(() => undefined);
    for (const connection of workload) await connection.end().catch(() => undefined);
    progress('mysql_collection: stopping MariaDB and removing its files');
    await server.stop();
  }
}

/** The account (setup SQL as `sightline setup-sql mysql` prints it), the small tables, sbtest1. */
async function prepare(server: MariadbInstance, options: MysqlBenchOptions): Promise<void> {
  progress('mysql_collection: setup SQL of `sightline setup-sql mysql`');
  await server.cli(
    mysqlSetupSql({
      user: MONITOR,
      password: PASSWORD,
      from: '127.0.0.1',
      explainSchemas: [],
      slowLog: false,
    }),
  );
  const setup = await server.connect();
  try {
    await setup.query(`CREATE DATABASE ${SHAPES_DB}; CREATE DATABASE ${LOAD_DB}`);
    progress(`mysql_collection: creating ${options.tables} InnoDB tables with 5 rows and an index each`);
    for (let first = 1; first <= options.tables; first += 50) {
      const ddl: string[] = [];
      for (let i = first; i < first + 50 && i <= options.tables; i++) {
        const t = `${SHAPES_DB}.${tableName(i)}`;
        const values = [1, 2, 3, 4, 5].map(
          (g) => `(${g}, ${(g * 7) % 13}, '${randomBytes(8).toString('hex')}')`,
        );
        ddl.push(
          `CREATE TABLE ${t} (id INT PRIMARY KEY, a INT NOT NULL, b VARCHAR(32) NOT NULL,
             c DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP, KEY a_idx (a)) ENGINE=InnoDB`,
          `INSERT INTO ${t} (id, a, b) VALUES ${values.join(', ')}`,
        );
      }
      await setup.query(ddl.join(';\n'));
    }
    progress(`mysql_collection: sbtest1 with ${LOAD_ROWS} rows`);
    await setup.query(
      `CREATE TABLE ${LOAD_DB}.sbtest1 (id INT NOT NULL PRIMARY KEY, k INT NOT NULL DEFAULT 0,
         c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', KEY k_1 (k)) ENGINE=InnoDB`,
    );
    for (let first = 1; first <= LOAD_ROWS; first += 5000) {
      const values: string[] = [];
      for (let id = first; id < first + 5000 && id <= LOAD_ROWS; id++) {
        const k = 1 + Math.floor(Math.random() * LOAD_ROWS);
        values.push(
          `(${id}, ${k}, '${randomBytes(60).toString('hex')}', '${randomBytes(30).toString('hex')}')`,
        );
      }
      await setup.query(`INSERT INTO ${LOAD_DB}.sbtest1 (id, k, c, pad) VALUES ${values.join(', ')}`);
    }
    // The set-up's own statements are not the workload: only the shapes, the load and the collector count.
    await setup.query('TRUNCATE performance_schema.events_statements_summary_by_digest');
  } finally {
    await setup.end();
  }
}

/**
 * Runs every shape once: the first time it makes the digests, later it marks them all as changed.
 * One statement per query: MariaDB digests a multi-statement query's statements with the text that
 * follows them, so each would get a digest of its own every time.
 */
async function runShapes(
  connections: readonly mysql.Connection[],
  options: MysqlBenchOptions,
  perTable: number,
): Promise<void> {
  const statements: string[] = [];
  for (let i = 1; i <= options.tables && statements.length < options.digests; i++) {
    for (const shape of SHAPES.slice(0, perTable)) {
      if (statements.length === options.digests) break;
      statements.push(shape(tableName(i)));
    }
  }
  // Round trips, not the server, set the pace: one at a time on each of a few connections.
  await Promise.all(
    connections.map(async (connection, c) => {
      for (let i = c; i < statements.length; i += connections.length) {
        await connection.query(statements[i] ?? '');
      }
    }),
  );
}

function tableName(i: number): string {
  return `bench_t${String(i).padStart(5, '0')}`;
}

async function countDigests(admin: mysql.Connection): Promise<{ bench: number; total: number }> {
  const [row] = await rows(
    admin,
    `SELECT COUNT(*) AS total, COALESCE(SUM(SCHEMA_NAME = ?), 0) AS bench
       FROM performance_schema.events_statements_summary_by_digest WHERE DIGEST IS NOT NULL`,
    [SHAPES_DB],
  );
  return { bench: Number(row?.bench ?? 0), total: Number(row?.total ?? 0) };
}

/** As `sightline start` builds it from the config, with the intervals of the options. */
async function buildCollector(
  server: MariadbInstance,
  bus: MemoryBus,
  metrics: SelfMetrics,
  options: MysqlBenchOptions,
): Promise<MysqlCollector> {
  const config = configSchema.parse({
    collect: {
      mysql: {
        targets: [
          {
            name: 'bench',
            url: `mysql://${MONITOR}:${PASSWORD}@${server.host}:${server.port}/`,
            metricsIntervalSeconds: options.metricsIntervalS,
            queryStatsIntervalSeconds: options.statementsIntervalS,
            // The logs are files on this host: reading them is not the server's work.
            logs: { errorLog: 'off', slowLog: 'off' },
          },
        ],
      },
    },
  });
  const [collector] = buildCollectors(await planCollectors(config.collect), {
    bus,
    orgId: 'bench',
    metrics,
    logger: createLogger('warn'),
  });
  if (!(collector instanceof MysqlCollector)) throw new Error('buildCollectors made no MySQL collector');
  return collector;
}

interface UserTime {
  ms: number;
  calls: number;
}

/**
 * TIMER_WAIT of every statement the collector's account ran, from the per-user summary, which
 * keeps the figures of sessions that have ended: what the server spent on the collector's behalf.
 */
async function userTime(admin: mysql.Connection): Promise<UserTime> {
  const [row] = await rows(
    admin,
    `SELECT COALESCE(SUM(SUM_TIMER_WAIT), 0) AS ps, COALESCE(SUM(COUNT_STAR), 0) AS calls
       FROM performance_schema.events_statements_summary_by_user_by_event_name WHERE USER = ?`,
    [MONITOR],
  );
  return { ms: Number(row?.ps ?? 0) / 1e9, calls: Number(row?.calls ?? 0) };
}

/** The collector's statements of the statement history, summed by digest text across cycles. */
class CollectorStatements {
  private readonly seen = new Set<string>();
  readonly costs = new Map<string, { ms: number; calls: number }>();

  constructor(private readonly admin: mysql.Connection) {}

  /** Reads the collector's statements not read before; with `count` false only marks them read. */
  async read(count: boolean): Promise<void> {
    const history = await rows(
      this.admin,
      `SELECT h.THREAD_ID AS thread, h.EVENT_ID AS event, h.TIMER_WAIT AS ps,
              COALESCE(h.DIGEST_TEXT, h.SQL_TEXT, h.EVENT_NAME) AS text
         FROM performance_schema.events_statements_history_long h
         JOIN performance_schema.threads t ON t.THREAD_ID = h.THREAD_ID
        WHERE t.PROCESSLIST_USER = ?`,
      [MONITOR],
    );
    for (const row of history) {
      const key = `${String(row.thread)}/${String(row.event)}`;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      if (!count) continue;
      const text = String(row.text).replace(/\s+/g, ' ');
      const cost = this.costs.get(text) ?? { ms: 0, calls: 0 };
      cost.ms += Number(row.ps ?? 0) / 1e9;
      cost.calls += 1;
      this.costs.set(text, cost);
    }
  }
}

interface Cycle {
  metricsWallMs: number;
  statementsWallMs: number;
  metricsDbMs: number;
  statementsDbMs: number;
  statements: number;
  /** As performance_schema counts them for the collector's account. */
  serverStatements: number;
  rows: number;
}

interface Spread {
  wallMedian: number;
  wallMax: number;
  dbMedian: number;
}

interface Cycles {
  first: Cycle;
  metrics: Spread;
  statements: Spread;
  full: Spread;
}

async function measureCycles(
  collector: MysqlCollector,
  admin: mysql.Connection,
  metrics: SelfMetrics,
  touch: () => Promise<void>,
): Promise<Cycles> {
  const one = async (): Promise<Cycle> => {
    const q0 = await counterTotal(metrics.collectorQueries);
    const r0 = await counterTotal(metrics.collectorRows);
    const t0 = await userTime(admin);
    const w0 = performance.now();
    await collector.runOnce('metrics');
    const w1 = performance.now();
    const t1 = await userTime(admin);
    const w2 = performance.now();
    await collector.runOnce('statements');
    const w3 = performance.now();
    const t2 = await userTime(admin);
    const status = collector.status();
    if (status.lastError !== null) throw new Error(`a collection cycle failed: ${status.lastError}`);
    return {
      metricsWallMs: w1 - w0,
      statementsWallMs: w3 - w2,
      metricsDbMs: t1.ms - t0.ms,
      statementsDbMs: t2.ms - t1.ms,
      statements: (await counterTotal(metrics.collectorQueries)) - q0,
      serverStatements: t2.calls - t0.calls,
      rows: (await counterTotal(metrics.collectorRows)) - r0,
    };
  };
  const describe = (cycle: Cycle) =>
    `wall ${fmt(cycle.metricsWallMs)} + ${fmt(cycle.statementsWallMs)} ms, server ${fmt(cycle.metricsDbMs)} + ` +
    `${fmt(cycle.statementsDbMs)} ms (metrics + statements); ${cycle.statements} statements (${cycle.serverStatements} in performance_schema), ` +
    `${cycle.rows} rows read`;

  const history = new CollectorStatements(admin);
  const first = await one();
  progress(`mysql_collection: first cycle (connects, reads every digest and its text): ${describe(first)}`);
  if (first.metricsDbMs + first.statementsDbMs <= 0) {
    throw new Error(
      `performance_schema.events_statements_summary_by_user_by_event_name has no time for ${MONITOR}: server time cannot be measured`,
    );
  }
  await history.read(false);
  const warm: Cycle[] = [];
  for (let i = 0; i < WARM_CYCLES; i++) {
    // Every digest changes between cycles, as on a server whose 5,000 statements all run every minute.
    await touch();
    const cycle = await one();
    await history.read(true);
    warm.push(cycle);
    progress(`mysql_collection: cycle ${i + 1}: ${describe(cycle)}`);
  }
  const costs = [...history.costs].sort(([, a], [, b]) => b.ms - a.ms);
  progress(`mysql_collection: where the server spent the collector's time per cycle (of ${WARM_CYCLES}):`);
  for (const [text, cost] of costs.slice(0, 8)) {
    progress(
      `  ${fmt(cost.ms / WARM_CYCLES).padStart(7)} ms  ${String(cost.calls / WARM_CYCLES).padStart(4)}×  ${text.slice(0, 110)}`,
    );
  }
  const spread = (wall: number[], db: number[]): Spread => ({
    wallMedian: median(wall),
    wallMax: Math.max(...wall),
    dbMedian: median(db),
  });
  return {
    first,
    metrics: spread(
      warm.map((c) => c.metricsWallMs),
      warm.map((c) => c.metricsDbMs),
    ),
    statements: spread(
      warm.map((c) => c.statementsWallMs),
      warm.map((c) => c.statementsDbMs),
    ),
    full: spread(
      warm.map((c) => c.metricsWallMs + c.statementsWallMs),
      warm.map((c) => c.metricsDbMs + c.statementsDbMs),
    ),
  };
}

interface Qps {
  off: number;
  on: number;
  /** Median over the off/on pairs of (off − on) / off. */
  dropPct: number;
  offSpreadPct: number;
  collectorDbMsPerS: number;
  /** CPU of the collector's JavaScript thread per second of the "on" runs: decoding, shaping, publishing. */
  collectorCpuMsPerS: number;
  /** The largest share of the machine's CPU that processes other than ours took during a run. */
  otherCpuPct: number;
}

interface Run {
  qps: number;
  /** Shares of the machine's CPU (all cores) during the run. */
  serverPct: number;
  /** The load's worker thread, this process's JavaScript thread (the collector), and the rest of this process. */
  loadPct: number;
  collectorPct: number;
  restPct: number;
  otherPct: number;
  /** CPU seconds of this process's JavaScript thread: the collector's client-side work. */
  collectorCpuSeconds: number;
  /** With the collector on: its server time during the run and the run's length. */
  collectorDbMs: number;
  collectorStatements: number;
  seconds: number;
}

async function measureQps(
  server: MariadbInstance,
  collector: MysqlCollector,
  metrics: SelfMetrics,
  admin: mysql.Connection,
  load: PointSelectLoad,
  touch: () => Promise<void>,
  options: MysqlBenchOptions,
): Promise<Qps> {
  const serverPid = await readFile(join(server.rootDir, 'mariadb.pid'), 'utf8').then(
    (text) => text.trim(),
    () => undefined,
  );
  if (serverPid === undefined) progress('mysql_collection: no mariadb.pid: the CPU split will be missing');
  const measure = async (seconds: number): Promise<Run> => {
    const server0 = serverPid === undefined ? NaN : processCpuSeconds(serverPid, false);
    // This process: the collector on this thread, the load on its worker thread, libuv's and V8's threads.
    const ours0 = processCpuSeconds('self', false);
    const main0 = processCpuSeconds('thread-self', false);
    const machine0 = machineCpu();
    const result = await load.run(seconds);
    const machine1 = machineCpu();
    if (result.errors > 0) {
      throw new Error(`${result.errors} point selects failed, the first with: ${result.firstError ?? '?'}`);
    }
    // Jiffies of all cores: 100 per second per core.
    const total = machine0 && machine1 ? (machine1.total - machine0.total) / 100 : NaN;
    const busy = machine0 && machine1 ? total - (machine1.idle - machine0.idle) / 100 : NaN;
    const serverCpu = serverPid === undefined ? NaN : processCpuSeconds(serverPid, false) - server0;
    const ours = processCpuSeconds('self', false) - ours0;
    const main = processCpuSeconds('thread-self', false) - main0;
    return {
      qps: result.queries / (result.ms / 1000),
      serverPct: (serverCpu / total) * 100,
      loadPct: (result.cpuSeconds / total) * 100,
      collectorPct: (main / total) * 100,
      restPct: (Math.max(0, ours - main - result.cpuSeconds) / total) * 100,
      otherPct: (Math.max(0, busy - serverCpu - ours) / total) * 100,
      collectorCpuSeconds: main,
      collectorDbMs: 0,
      collectorStatements: 0,
      seconds: result.ms / 1000,
    };
  };
  /** Before every run, off or on: every digest changed, so the "on" run's statements cycle reads them all. */
  const once = async (state: 'off' | 'on'): Promise<Run> => {
    await touch();
    await sleep(SETTLE_MS);
    if (state === 'off') return measure(options.loadSeconds);
    const t0 = await userTime(admin);
    const c0 = await cycleCounts(metrics);
    const w0 = performance.now();
    await collector.start();
    let run: Run;
    try {
      run = await measure(options.loadSeconds);
    } finally {
      await collector.shutdown();
    }
    const seconds = (performance.now() - w0) / 1000;
    // The ended session's figures move to the per-user summary as the server closes it.
    await sleep(SETTLE_MS);
    const t1 = await userTime(admin);
    const status = collector.status();
    if (status.lastError !== null) throw new Error(`the collector failed: ${status.lastError}`);
    const c1 = await cycleCounts(metrics);
    if (c1.metrics <= c0.metrics || c1.statements <= c0.statements) {
      throw new Error('a run with the collector on had no full cycle (metrics and statements) in it');
    }
    return { ...run, collectorDbMs: t1.ms - t0.ms, collectorStatements: t1.calls - t0.calls, seconds };
  };
  /** Other processes share these 2 cores: a run they disturbed is run again, and the quietest kept. */
  const quietest = async (state: 'off' | 'on'): Promise<Run> => {
    let best: Run | undefined;
    for (let attempt = 1; attempt <= 1 + NOISY_RETRIES; attempt++) {
      const run = await once(state);
      if (best === undefined || run.otherPct < best.otherPct) best = run;
      if (!(run.otherPct > NOISY_OTHER_CPU_PCT)) break;
      progress(
        `mysql_collection: collector ${state}: other processes took ${fmt(run.otherPct)}% of the CPU, running again`,
      );
    }
    return best as Run;
  };
  const describe = (run: Run) =>
    `${fmt(run.qps)} qps; CPU: MariaDB ${fmt(run.serverPct)}%, load ${fmt(run.loadPct)}%, ` +
    `collector ${fmt(run.collectorPct)}%, rest of this process ${fmt(run.restPct)}%, other processes ${fmt(run.otherPct)}%`;

  progress(
    `mysql_collection: point selects, ${LOAD_CONNECTIONS} connections, warm-up (${Math.min(WARMUP_SECONDS, options.loadSeconds)} s, not counted)`,
  );
  await measure(Math.min(WARMUP_SECONDS, options.loadSeconds));

  const off: Run[] = [];
  const on: Run[] = [];
  for (let pair = 0; pair < options.loadPairs; pair++) {
    const order = pair % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
    for (const state of order) {
      const run = await quietest(state);
      if (state === 'off') {
        off.push(run);
        progress(`mysql_collection: collector off: ${describe(run)}`);
      } else {
        on.push(run);
        progress(
          `mysql_collection: collector on:  ${describe(run)}; the collector ran ${run.collectorStatements} statements, ` +
            `${fmt(run.collectorDbMs / run.seconds)} ms/s of server time`,
        );
      }
    }
  }
  const offQps = off.map((r) => r.qps);
  const onQps = on.map((r) => r.qps);
  // Adjacent runs share the machine's slow drifts: the median of the pairs' drops cancels most of it.
  const pairDrops = offQps.map((qps, i) => ((qps - (onQps[i] ?? NaN)) / qps) * 100);
  const otherCpuPct = Math.max(...[...off, ...on].map((r) => r.otherPct));
  const onSeconds = on.reduce((sum, r) => sum + r.seconds, 0);
  const collectorDbMsPerS = on.reduce((sum, r) => sum + r.collectorDbMs, 0) / onSeconds;
  const collectorCpuMsPerS = (on.reduce((sum, r) => sum + r.collectorCpuSeconds, 0) * 1000) / onSeconds;
  progress(
    `mysql_collection: median qps off ${fmt(median(offQps))}, on ${fmt(median(onQps))}; ` +
      `drop per pair ${pairDrops.map(fmt).join(', ')} %, median ${fmt(median(pairDrops))} %; ` +
      `the collector took ${fmt(collectorDbMsPerS)} ms/s of server time (statement time, CPU waits included) ` +
      `and ${fmt(collectorCpuMsPerS)} ms/s of CPU in this process`,
  );
  if (otherCpuPct > 10) {
    progress(
      `mysql_collection: WARNING other processes took up to ${fmt(otherCpuPct)}% of the machine's CPU during a run: ` +
        'the QPS comparison is noisy; run again on a quiet machine',
    );
  }
  return {
    off: median(offQps),
    on: median(onQps),
    dropPct: median(pairDrops),
    offSpreadPct: ((Math.max(...offQps) - Math.min(...offQps)) / median(offQps)) * 100,
    collectorDbMsPerS,
    collectorCpuMsPerS,
    otherCpuPct,
  };
}

/** A part of a cycle that failed (a missing grant, a query the server refused) makes the cycle cheaper than it is. */
async function checkCollectorErrors(metrics: SelfMetrics): Promise<void> {
  const failed = (await metrics.collectorErrors.get()).values.filter((v) => v.value > 0);
  if (failed.length > 0) {
    const parts = failed.map((v) => `${String(v.labels.cycle)} ${v.value}×`).join(', ');
    throw new Error(
      `parts of collection cycles failed (${parts}): the figures leave them out; see the log above`,
    );
  }
}

/** A full digest table counts new statements in one row without a digest: per-digest figures would be off. */
async function checkDigestTableFits(admin: mysql.Connection): Promise<void> {
  const [row] = await rows(
    admin,
    `SELECT COALESCE(SUM(COUNT_STAR), 0) AS calls
       FROM performance_schema.events_statements_summary_by_digest WHERE DIGEST IS NULL`,
  );
  if (Number(row?.calls ?? 0) > 0) {
    throw new Error(
      `performance_schema's digest table overflowed (${String(row?.calls)} statements without a digest); lower --mysql-digests`,
    );
  }
}

/** Cycles the collector has run so far, by kind. */
async function cycleCounts(metrics: SelfMetrics): Promise<{ metrics: number; statements: number }> {
  const counts = { metrics: 0, statements: 0 };
  for (const value of (await metrics.collectorCycleDuration.get()).values) {
    if (!value.metricName?.endsWith('_count')) continue;
    if (value.labels.cycle === 'metrics') counts.metrics += value.value;
    if (value.labels.cycle === 'statements') counts.statements += value.value;
  }
  return counts;
}

async function rows(
  connection: mysql.Connection,
  sql: string,
  values: unknown[] = [],
): Promise<Record<string, unknown>[]> {
  const [result] = await connection.query(sql, values);
  return Array.isArray(result) ? (result as Record<string, unknown>[]) : [];
}

async function counterTotal(counter: {
  get(): Promise<{ values: ReadonlyArray<{ value: number }> }>;
}): Promise<number> {
  return (await counter.get()).values.reduce((sum, v) => sum + v.value, 0);
}

// ---- The load: point selects on a worker thread of this process ----

const LOAD_ROLE = 'sightline-bench-mysql-point-select';

interface LoadWorkerData {
  role: typeof LOAD_ROLE;
  host: string;
  port: number;
  user: string;
  password: string;
}

type LoadRequest = { type: 'run'; seconds: number } | { type: 'stop' };

interface LoadResult {
  queries: number;
  errors: number;
  firstError: string | undefined;
  ms: number;
  /** CPU seconds the worker thread used during the run. */
  cpuSeconds: number;
}

type LoadReply = { type: 'ready' } | ({ type: 'result' } & LoadResult) | { type: 'failed'; error: string };

/** sysbench's oltp_point_select: LOAD_CONNECTIONS sessions, one statement in flight each, as fast as they go. */
class PointSelectLoad {
  private constructor(private readonly worker: Worker) {}

  static async start(server: MariadbInstance): Promise<PointSelectLoad> {
    const data: LoadWorkerData = {
      role: LOAD_ROLE,
      host: server.host,
      port: server.port,
      user: server.user,
      password: server.password,
    };
    const load = new PointSelectLoad(new Worker(new URL(import.meta.url), { workerData: data }));
    await load.reply();
    return load;
  }

  async run(seconds: number): Promise<LoadResult> {
    const request: LoadRequest = { type: 'run', seconds };
    this.worker.postMessage(request);
    const reply = await this.reply();
    if (reply.type !== 'result') throw new Error(`the load worker answered ${reply.type} to a run`);
    return reply;
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    const request: LoadRequest = { type: 'stop' };
    this.worker.postMessage(request);
    if ((await Promise.race([exited, sleep(5000).then(() => 'timeout' as const)])) === 'timeout') {
      await this.worker.terminate();
    }
  }

  private reply(): Promise<LoadReply> {
    return new Promise((resolve, reject) => {
      const done = () => {
        this.worker.off('message', onMessage);
        this.worker.off('error', onError);
        this.worker.off('exit', onExit);
      };
      const onMessage = (message: LoadReply) => {
        done();
        if (message.type === 'failed') reject(new Error(`the load worker failed: ${message.error}`));
        else resolve(message);
      };
      const onError = (error: Error) => {
        done();
        reject(error);
      };
      const onExit = (code: number) => {
        done();
        reject(new Error(`the load worker exited with code ${code}`));
      };
      this.worker.on('message', onMessage);
      this.worker.on('error', onError);
      this.worker.on('exit', onExit);
    });
  }
}

async function pointSelectWorker(data: LoadWorkerData, port: MessagePort): Promise<void> {
  const connections = await Promise.all(
    Array.from({ length: LOAD_CONNECTIONS }, () =>
      mysql.createConnection({
        host: data.host,
        port: data.port,
        user: data.user,
        password: data.password,
        database: LOAD_DB,
      }),
    ),
  );
  // A server-side prepared statement per connection, as sysbench uses; mysql2 keeps it for the next execute.
  for (const connection of connections) await connection.execute(POINT_SELECT, [1]);
  port.on('message', (request: LoadRequest) => {
    if (request.type === 'stop') {
      void Promise.allSettled(connections.map((c) => c.end())).then(() => port.close());
      return;
    }
    void pointSelects(connections, request.seconds).then(
      (result) => port.postMessage({ type: 'result', ...result } satisfies LoadReply),
      (error: unknown) => port.postMessage({ type: 'failed', error: messageOf(error) } satisfies LoadReply),
    );
  });
  port.postMessage({ type: 'ready' } satisfies LoadReply);
}

async function pointSelects(connections: readonly mysql.Connection[], seconds: number): Promise<LoadResult> {
  const cpu0 = processCpuSeconds('thread-self', false);
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let queries = 0;
  let errors = 0;
  let firstError: string | undefined;
  await Promise.all(
    connections.map(async (connection) => {
      while (performance.now() < deadline) {
        try {
          await connection.execute(POINT_SELECT, [1 + Math.floor(Math.random() * LOAD_ROWS)]);
          queries += 1;
        } catch (error) {
          // One failure makes the run worthless; the main thread refuses it.
          errors += 1;
          firstError ??= messageOf(error);
          return;
        }
      }
    }),
  );
  const ms = performance.now() - started;
  return { queries, errors, firstError, ms, cpuSeconds: processCpuSeconds('thread-self', false) - cpu0 };
}

function isLoadWorkerData(data: unknown): data is LoadWorkerData {
  return typeof data === 'object' && data !== null && (data as { role?: unknown }).role === LOAD_ROLE;
}

// This module is also the load worker's entry: `new Worker(import.meta.url)` above.
if (!isMainThread && parentPort !== null && isLoadWorkerData(workerData)) {
  const port = parentPort;
  pointSelectWorker(workerData, port).catch((error: unknown) => {
    port.postMessage({ type: 'failed', error: messageOf(error) } satisfies LoadReply);
    port.close();
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
