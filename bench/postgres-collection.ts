import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { MemoryBus } from '../src/bus/memory.js';
import { TOPICS } from '../src/bus/topics.js';
import { buildCollectors, planCollectors } from '../src/collect/collectors.js';
import { PostgresCollector } from '../src/collect/postgres/collector.js';
import { postgresSetupSql } from '../src/collect/postgres/setup-sql.js';
import { configSchema } from '../src/config/schema.js';
import { createLogger } from '../src/core/logger.js';
import { SelfMetrics } from '../src/core/telemetry.js';
import type { Metric } from './metric.js';
import { startPostgresExporter, type PostgresExporterInstance } from '../test/harness/postgres-exporter.js';
import { startPostgres, type PostgresInstance } from '../test/harness/postgres.js';
import { machineCpu, postgresCpuSeconds, processCpuSeconds } from './proc.js';
import { fmt, median, progress, round, sleep } from './report.js';

/**
 * What watching a PostgreSQL costs the watched server. One private PostgreSQL 15 with
 * pg_stat_statements, `tables` small tables (an index each), `statements` distinct statement
 * shapes in pg_stat_statements and a pgbench database; then:
 *  1. one full Sightline collection cycle (metrics + statements), DB-side time from
 *     pg_stat_statements of the collector's own role, and wall time;
 *  2. pgbench TPS with the collector off and on (started with each "on" run, so a full cycle falls in every run), alternated;
 *  3. one prometheus-postgres-exporter scrape of the same server, measured the same way.
 * The collector runs in this process exactly as `sightline start` builds it (buildCollectors),
 * publishing onto an in-memory bus whose consumers discard: the store is not what is measured.
 */

export interface PostgresBenchOptions {
  tables: number;
  statements: number;
  pgbenchScale: number;
  pgbenchSeconds: number;
  /** off/on pairs, in ABBA order so a drift over time does not favour either side. */
  pgbenchPairs: number;
  pgbenchMode: 'select-only' | 'tpcb';
  metricsIntervalS: number;
  statementsIntervalS: number;
}

const MONITOR = 'sightline_bench';
const EXPORTER = 'postgres_exporter_bench';
const PASSWORD = 'bench-only-password';
/** Targets from the PostgreSQL collection issue. */
const CYCLE_TARGET_MS = 1000;
const TPS_DROP_TARGET_PCT = 1;
const WARM_CYCLES = 3;
/** A pgbench run during which other processes took more of the machine than this is run again… */
const NOISY_OTHER_CPU_PCT = 5;
/** …at most this many times. */
const NOISY_RETRIES = 2;
const SETTLE_MS = 500;
const SCRAPES = 3;
const EXAMPLE_QUERIES = '/usr/share/doc/prometheus-postgres-exporter/examples/queries.yaml';

/** Distinct statement shapes per table: different columns and clauses give different queryids. */
const SHAPES: ReadonlyArray<(table: string) => string> = [
  (t) => `SELECT a FROM ${t} WHERE id = 1`,
  (t) => `SELECT b FROM ${t} WHERE id = 2`,
  (t) => `SELECT a, b FROM ${t} WHERE a > 3`,
  (t) => `SELECT count(*) FROM ${t}`,
  (t) => `SELECT max(c) FROM ${t} WHERE b LIKE 'a%'`,
  (t) => `SELECT id, c FROM ${t} ORDER BY c DESC LIMIT 3`,
  (t) => `SELECT sum(a) FROM ${t} WHERE id IN (1, 2, 3)`,
  (t) => `SELECT * FROM ${t} WHERE b = 'x' AND a = 1`,
];

export async function postgresCollection(options: PostgresBenchOptions): Promise<Metric[]> {
  const perTable = Math.ceil(options.statements / options.tables);
  if (perTable > SHAPES.length) {
    throw new Error(
      `--pg-statements ${options.statements} needs ${perTable} shapes per table; at most ${SHAPES.length} (raise --pg-tables)`,
    );
  }
  const started = performance.now();
  progress(`postgres_collection: starting PostgreSQL 15`);
  const server = await startPostgres({
    settings: {
      shared_preload_libraries: 'pg_stat_statements',
      compute_query_id: 'on',
      'pg_stat_statements.max': 10_000,
      'pg_stat_statements.track': 'all',
      shared_buffers: '256MB',
      // Nothing here must survive a crash; without them pgbench measures the disk, not the CPU the collector competes for.
      fsync: 'off',
      synchronous_commit: 'off',
      // No checkpoint in the middle of a measured run.
      max_wal_size: '8GB',
      checkpoint_timeout: '1h',
    },
  });
  const bus = new MemoryBus(
    { maxQueueBytes: 256 << 20, maxQueueMessages: 10_000, retryAfterSeconds: 1 },
    createLogger('warn'),
  );
  let admin: pg.Client | undefined;
  let collector: PostgresCollector | undefined;
  try {
    await prepare(server, options, perTable);
    admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    const entries = Number(
      (await admin.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_statements')).rows[0]?.n,
    );
    progress(`postgres_collection: ${entries} pg_stat_statements entries`);
    if (entries < options.statements) {
      throw new Error(
        `only ${entries} pg_stat_statements entries, fewer than the ${options.statements} asked for`,
      );
    }

    for (const topic of Object.values(TOPICS)) {
      await bus.consume(
        { group: 'bench', topic, maxBatchMessages: 1000, maxBatchBytes: 64 << 20, maxWaitMs: 0 },
        () => Promise.resolve(),
      );
    }
    collector = await buildCollector(server, bus, options);
    const cycles = await measureCycles(collector, admin);
    const exporter = await measureExporter(server, admin);
    const tps = await measureTps(server, collector, admin, options);
    await checkNoEviction(admin);

    progress(`postgres_collection: done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    return [
      { name: 'postgres_pgss_entries', value: entries, unit: 'statements' },
      {
        name: 'postgres_collection_cycle_db_ms',
        value: round(cycles.dbMs),
        unit: 'ms',
        target: CYCLE_TARGET_MS,
      },
      {
        name: 'postgres_collection_cycle_wall_ms',
        value: round(cycles.wallMs),
        unit: 'ms',
        target: CYCLE_TARGET_MS,
      },
      { name: 'postgres_collection_metrics_cycle_db_ms', value: round(cycles.metricsDbMs), unit: 'ms' },
      { name: 'postgres_collection_statements_cycle_db_ms', value: round(cycles.statementsDbMs), unit: 'ms' },
      { name: 'postgres_collection_first_cycle_db_ms', value: round(cycles.firstDbMs), unit: 'ms' },
      { name: 'postgres_collection_first_cycle_wall_ms', value: round(cycles.firstWallMs), unit: 'ms' },
      { name: 'postgres_exporter_scrape_db_ms', value: round(exporter.defaults.dbMs), unit: 'ms' },
      { name: 'postgres_exporter_scrape_wall_ms', value: round(exporter.defaults.wallMs), unit: 'ms' },
      ...(exporter.tables === undefined
        ? []
        : [
            { name: 'postgres_exporter_tables_scrape_db_ms', value: round(exporter.tables.dbMs), unit: 'ms' },
            {
              name: 'postgres_exporter_tables_scrape_wall_ms',
              value: round(exporter.tables.wallMs),
              unit: 'ms',
            },
          ]),
      { name: 'postgres_pgbench_tps_off', value: round(tps.off), unit: 'tps' },
      { name: 'postgres_pgbench_tps_on', value: round(tps.on), unit: 'tps' },
      {
        name: 'postgres_collector_tps_drop_pct',
        value: round(tps.dropPct),
        unit: '%',
        target: TPS_DROP_TARGET_PCT,
      },
      { name: 'postgres_pgbench_tps_off_spread_pct', value: round(tps.offSpreadPct), unit: '%' },
      { name: 'postgres_collector_db_ms_per_s', value: round(tps.collectorDbMsPerS), unit: 'ms/s' },
      {
        // The share of the server's cores the collector's statements occupied: a steadier proxy for the TPS drop.
        name: 'postgres_collector_server_time_pct',
        value: round((tps.collectorDbMsPerS / (1000 * availableParallelism())) * 100),
        unit: '%',
      },
      { name: 'postgres_pgbench_other_cpu_pct', value: round(tps.otherCpuPct), unit: '%' },
      {
        // In steady state at the configured intervals: one metrics cycle per metrics interval and one
        // statements cycle per query-stats interval, from the measured cycle costs.
        name: 'postgres_collector_steady_server_time_pct',
        value: round(
          ((cycles.metricsDbMs / options.metricsIntervalS +
            cycles.statementsDbMs / options.statementsIntervalS) /
            (1000 * availableParallelism())) *
            100,
          3,
        ),
        unit: '%',
      },
    ];
  } finally {
    await collector?.shutdown();
    await bus.shutdown();
    await admin?.end().catch(() => undefined);
    progress('postgres_collection: stopping PostgreSQL and removing its files');
    await server.stop();
  }
}

/** The roles (setup SQL as `sightline setup-sql postgres` prints it), tables, pgbench, statements. */
async function prepare(
  server: PostgresInstance,
  options: PostgresBenchOptions,
  perTable: number,
): Promise<void> {
  progress(
    `postgres_collection: setup SQL, then a restart as it asks (shared_preload_libraries, logging_collector)`,
  );
  await server.psql(postgresSetupSql({ user: MONITOR, password: PASSWORD, logsOverSql: false }));
  // Planning time counts as the server's work too; per role, so pgbench's own sessions are unaffected.
  await server.psql(`
    CREATE ROLE ${EXPORTER} WITH LOGIN PASSWORD '${PASSWORD}';
    GRANT pg_monitor TO ${EXPORTER};
    ALTER ROLE ${MONITOR} SET pg_stat_statements.track_planning = on;
    ALTER ROLE ${EXPORTER} SET pg_stat_statements.track_planning = on;`);
  await server.restart();

  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    // Setup statements are not part of the workload: keep them out of pg_stat_statements.
    await client.query(`SET pg_stat_statements.track = 'none'`);
    progress(`postgres_collection: creating ${options.tables} tables with a few rows and an index each`);
    for (let first = 1; first <= options.tables; first += 50) {
      const ddl: string[] = [];
      for (let i = first; i < first + 50 && i <= options.tables; i++) {
        const t = tableName(i);
        ddl.push(
          `CREATE TABLE ${t} (id int PRIMARY KEY, a int NOT NULL, b text NOT NULL, c timestamptz NOT NULL DEFAULT now())`,
          `INSERT INTO ${t} (id, a, b) SELECT g, g * 7 % 13, md5(g::text) FROM generate_series(1, 5) g`,
          `CREATE INDEX ${t}_a_idx ON ${t} (a)`,
        );
      }
      await client.query(ddl.join(';\n'));
    }
  } finally {
    await client.end();
  }
  progress(`postgres_collection: pgbench -i -s ${options.pgbenchScale}`);
  await server.client('pgbench', ['-i', '-q', '-s', String(options.pgbenchScale), 'postgres']);
  await server.psql('VACUUM ANALYZE;\nCHECKPOINT;\nSELECT pg_stat_statements_reset();');

  progress(`postgres_collection: running ${perTable * options.tables} distinct statements`);
  const app = new pg.Client({ connectionString: server.url });
  await app.connect();
  try {
    const batch: string[] = [];
    for (let i = 1; i <= options.tables; i++) {
      for (const shape of SHAPES.slice(0, perTable)) batch.push(shape(tableName(i)));
      if (batch.length >= 200 || i === options.tables) {
        // One simple-protocol message, many statements: pg_stat_statements records each on its own.
        await app.query(batch.join(';\n'));
        batch.length = 0;
      }
    }
  } finally {
    await app.end();
  }
}

function tableName(i: number): string {
  return `bench_t${String(i).padStart(5, '0')}`;
}

/** As `sightline start` builds it from the config, with the intervals of the options. */
async function buildCollector(
  server: PostgresInstance,
  bus: MemoryBus,
  options: PostgresBenchOptions,
): Promise<PostgresCollector> {
  const config = configSchema.parse({
    collect: {
      postgres: {
        targets: [
          {
            name: 'bench',
            url: `postgresql://${MONITOR}:${PASSWORD}@${server.host}:${server.port}/postgres`,
            metricsIntervalSeconds: options.metricsIntervalS,
            queryStatsIntervalSeconds: options.statementsIntervalS,
          },
        ],
      },
    },
  });
  const [collector] = buildCollectors(await planCollectors(config.collect), {
    bus,
    orgId: 'bench',
    metrics: new SelfMetrics({ processMetrics: false }),
    logger: createLogger('warn'),
  });
  if (!(collector instanceof PostgresCollector))
    throw new Error('buildCollectors made no PostgreSQL collector');
  return collector;
}

interface RoleTime {
  ms: number;
  calls: number;
}

/** Exec + plan time of a role's top-level statements: what the server spent on its behalf. */
async function roleTime(admin: pg.Client, role: string): Promise<RoleTime> {
  const { rows } = await admin.query<{ ms: number; calls: string }>(
    `SELECT coalesce(sum(s.total_exec_time + s.total_plan_time), 0)::float8 AS ms, coalesce(sum(s.calls), 0) AS calls
       FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
      WHERE r.rolname = $1 AND s.toplevel`,
    [role],
  );
  return { ms: rows[0]?.ms ?? 0, calls: Number(rows[0]?.calls ?? 0) };
}

async function roleStatements(
  admin: pg.Client,
  role: string,
): Promise<Map<string, { ms: number; calls: number; query: string }>> {
  const { rows } = await admin.query<{ id: string; ms: number; calls: string; query: string }>(
    `SELECT s.queryid::text AS id, (s.total_exec_time + s.total_plan_time)::float8 AS ms, s.calls, s.query
       FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
      WHERE r.rolname = $1 AND s.toplevel`,
    [role],
  );
  return new Map(rows.map((r) => [r.id, { ms: r.ms, calls: Number(r.calls), query: r.query }]));
}

interface Cycles {
  dbMs: number;
  wallMs: number;
  metricsDbMs: number;
  statementsDbMs: number;
  firstDbMs: number;
  firstWallMs: number;
}

async function measureCycles(collector: PostgresCollector, admin: pg.Client): Promise<Cycles> {
  const one = async () => {
    const t0 = await roleTime(admin, MONITOR);
    const w0 = performance.now();
    await collector.runOnce('metrics');
    const w1 = performance.now();
    const t1 = await roleTime(admin, MONITOR);
    const w2 = performance.now();
    await collector.runOnce('statements');
    const w3 = performance.now();
    const t2 = await roleTime(admin, MONITOR);
    const status = collector.status();
    if (status.lastError !== null) throw new Error(`a collection cycle failed: ${status.lastError}`);
    return {
      metricsDbMs: t1.ms - t0.ms,
      statementsDbMs: t2.ms - t1.ms,
      metricsWallMs: w1 - w0,
      statementsWallMs: w3 - w2,
      statements: t2.calls - t0.calls,
    };
  };
  const first = await one();
  progress(
    `postgres_collection: first cycle (connects, reads every statement text): DB ${fmt(first.metricsDbMs)} + ${fmt(first.statementsDbMs)} ms, ` +
      `wall ${fmt(first.metricsWallMs)} + ${fmt(first.statementsWallMs)} ms (metrics + statements)`,
  );
  const before = await roleStatements(admin, MONITOR);
  const warm = [];
  for (let i = 0; i < WARM_CYCLES; i++) {
    const cycle = await one();
    warm.push(cycle);
    progress(
      `postgres_collection: cycle ${i + 1}: DB ${fmt(cycle.metricsDbMs)} + ${fmt(cycle.statementsDbMs)} ms, ` +
        `wall ${fmt(cycle.metricsWallMs)} + ${fmt(cycle.statementsWallMs)} ms, ${cycle.statements} statements`,
    );
  }
  const after = await roleStatements(admin, MONITOR);
  const costs = [...after]
    .map(([id, now]) => ({
      ...now,
      ms: now.ms - (before.get(id)?.ms ?? 0),
      calls: now.calls - (before.get(id)?.calls ?? 0),
    }))
    .filter((c) => c.calls > 0)
    .sort((a, b) => b.ms - a.ms);
  progress(`postgres_collection: where the server spent the collector's time per cycle (of ${WARM_CYCLES}):`);
  for (const cost of costs.slice(0, 6)) {
    const text = cost.query.replace(/\s+/g, ' ').slice(0, 110);
    progress(
      `  ${fmt(cost.ms / WARM_CYCLES).padStart(7)} ms  ${String(cost.calls / WARM_CYCLES).padStart(3)}×  ${text}`,
    );
  }
  return {
    dbMs: median(warm.map((c) => c.metricsDbMs + c.statementsDbMs)),
    wallMs: median(warm.map((c) => c.metricsWallMs + c.statementsWallMs)),
    metricsDbMs: median(warm.map((c) => c.metricsDbMs)),
    statementsDbMs: median(warm.map((c) => c.statementsDbMs)),
    firstDbMs: first.metricsDbMs + first.statementsDbMs,
    firstWallMs: first.metricsWallMs + first.statementsWallMs,
  };
}

interface Scrape {
  dbMs: number;
  wallMs: number;
}

/**
 * The exporter with its default collectors, then with the per-table queries of the example
 * queries.yaml Debian ships (minus its pg_stat_statements query, whose pre-13 column names fail
 * on 15): the closest it comes to what Sightline's metrics cycle reads.
 */
async function measureExporter(
  server: PostgresInstance,
  admin: pg.Client,
): Promise<{ defaults: Scrape; tables: Scrape | undefined }> {
  const exporterOptions = { postgres: server, user: EXPORTER, password: PASSWORD };
  const defaults = await measureScrapes(
    'default collectors',
    await startPostgresExporter(exporterOptions),
    admin,
  );
  if (!existsSync(EXAMPLE_QUERIES)) {
    progress(`postgres_collection: ${EXAMPLE_QUERIES} not found; no per-table exporter figure`);
    return { defaults, tables: undefined };
  }
  const dir = await mkdtemp(join(tmpdir(), 'sightline-bench-exporter-'));
  try {
    const queries = parseYaml(await readFile(EXAMPLE_QUERIES, 'utf8')) as Record<string, unknown>;
    delete queries.pg_stat_statements;
    const queriesFile = join(dir, 'queries.yaml');
    await writeFile(queriesFile, stringifyYaml(queries));
    const label = `example queries (${Object.keys(queries).join(', ')})`;
    const tables = await measureScrapes(
      label,
      await startPostgresExporter({ ...exporterOptions, queriesFile }),
      admin,
    );
    return { defaults, tables };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function measureScrapes(
  label: string,
  exporter: PostgresExporterInstance,
  admin: pg.Client,
): Promise<Scrape> {
  try {
    // The first scrape connects and reads the server version and settings maps: not measured.
    const warmUp = await exporter.scrape();
    if (!/^pg_up 1$/m.test(warmUp)) throw new Error(`the exporter did not reach PostgreSQL (pg_up is not 1)`);
    const scrapes: Scrape[] = [];
    let series = 0;
    for (let i = 0; i < SCRAPES; i++) {
      const t0 = await roleTime(admin, EXPORTER);
      const w0 = performance.now();
      const text = await exporter.scrape();
      const wallMs = performance.now() - w0;
      const t1 = await roleTime(admin, EXPORTER);
      series = text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
      scrapes.push({ dbMs: t1.ms - t0.ms, wallMs });
    }
    const result = { dbMs: median(scrapes.map((s) => s.dbMs)), wallMs: median(scrapes.map((s) => s.wallMs)) };
    progress(
      `postgres_collection: exporter, ${label}: ${series} series, DB ${fmt(result.dbMs)} ms, wall ${fmt(result.wallMs)} ms per scrape`,
    );
    return result;
  } finally {
    await exporter.stop();
  }
}

interface Tps {
  off: number;
  on: number;
  /** Median over the off/on pairs of (off − on) / off. */
  dropPct: number;
  offSpreadPct: number;
  collectorDbMsPerS: number;
  /** The largest share of the machine's CPU that processes other than ours took during a run. */
  otherCpuPct: number;
}

interface Run {
  tps: number;
  /** Shares of the machine's CPU (all cores) during the run. */
  postgresPct: number;
  oursPct: number;
  otherPct: number;
}

async function measureTps(
  server: PostgresInstance,
  collector: PostgresCollector,
  admin: pg.Client,
  options: PostgresBenchOptions,
): Promise<Tps> {
  const mode = options.pgbenchMode === 'select-only' ? ['-S'] : [];
  // -n: no vacuum before each run (done once in prepare); the same for every run.
  const pgbench = async (seconds: number): Promise<Run> => {
    // Backends of the previous run are reaped a moment after pgbench exits: let that happen first.
    await sleep(SETTLE_MS);
    const postgres0 = postgresCpuSeconds(server.postmasterPid());
    // This process with the children it has reaped: pgbench, once it exits.
    const ours0 = processCpuSeconds('self', true);
    const machine0 = machineCpu();
    const stdout = await server.client(
      'pgbench',
      ['-n', ...mode, ['-c', '4', '-j', '2', '-T', String(seconds)], 'postgres'].flat(),
    );
    const machine1 = machineCpu();
    await sleep(SETTLE_MS);
    const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1];
    if (tps === undefined) throw new Error(`no tps in pgbench's output:\n${stdout}`);
    // Jiffies of all cores: 100 per second per core.
    const total = machine0 && machine1 ? (machine1.total - machine0.total) / 100 : NaN;
    const busy = machine0 && machine1 ? total - (machine1.idle - machine0.idle) / 100 : NaN;
    const postgres = postgresCpuSeconds(server.postmasterPid()) - postgres0;
    const ours = processCpuSeconds('self', true) - ours0;
    return {
      tps: Number(tps),
      postgresPct: (postgres / total) * 100,
      oursPct: (ours / total) * 100,
      otherPct: (Math.max(0, busy - postgres - ours) / total) * 100,
    };
  };
  /** Other processes share these 2 cores: a run they disturbed is run again, and the quietest kept. */
  const quietest = async (seconds: number, label: string): Promise<Run> => {
    let best: Run | undefined;
    for (let attempt = 1; attempt <= 1 + NOISY_RETRIES; attempt++) {
      const run = await pgbench(seconds);
      if (best === undefined || run.otherPct < best.otherPct) best = run;
      if (run.otherPct <= NOISY_OTHER_CPU_PCT) break;
      progress(
        `postgres_collection: ${label}: other processes took ${fmt(run.otherPct)}% of the CPU, running again`,
      );
    }
    return best as Run;
  };
  const describe = (run: Run) =>
    `${fmt(run.tps)} tps; CPU: PostgreSQL ${fmt(run.postgresPct)}%, pgbench + this process ${fmt(run.oursPct)}%, other processes ${fmt(run.otherPct)}%`;
  progress(`postgres_collection: pgbench ${options.pgbenchMode} warm-up (10 s, not counted)`);
  await pgbench(10);

  const off: Run[] = [];
  const on: Run[] = [];
  let collectorDbMs = 0;
  let onSeconds = 0;
  for (let pair = 0; pair < options.pgbenchPairs; pair++) {
    const order = pair % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
    for (const state of order) {
      if (state === 'off') {
        const run = await quietest(options.pgbenchSeconds, 'collector off');
        off.push(run);
        progress(`postgres_collection: collector off: ${describe(run)}`);
        continue;
      }
      const t0 = await roleTime(admin, MONITOR);
      const w0 = performance.now();
      await collector.start();
      let run: Run;
      try {
        run = await quietest(options.pgbenchSeconds, 'collector on');
      } finally {
        await collector.shutdown();
      }
      const seconds = (performance.now() - w0) / 1000;
      const t1 = await roleTime(admin, MONITOR);
      collectorDbMs += t1.ms - t0.ms;
      onSeconds += seconds;
      on.push(run);
      progress(
        `postgres_collection: collector on:  ${describe(run)}; the collector ran ${t1.calls - t0.calls} statements, ` +
          `${fmt((t1.ms - t0.ms) / seconds)} ms/s of server time`,
      );
      if (collector.status().lastError !== null)
        throw new Error(`the collector failed: ${collector.status().lastError}`);
    }
  }
  const offTps = off.map((r) => r.tps);
  const onTps = on.map((r) => r.tps);
  // Adjacent runs share the machine's slow drifts (this VM's speed wanders by ±10% over minutes
  // with no other process running): the median of the pairs' drops cancels most of it.
  const pairDrops = offTps.map((tps, i) => ((tps - (onTps[i] ?? NaN)) / tps) * 100);
  const otherCpuPct = Math.max(...[...off, ...on].map((r) => r.otherPct));
  const collectorDbMsPerS = collectorDbMs / onSeconds;
  progress(
    `postgres_collection: median tps off ${fmt(median(offTps))}, on ${fmt(median(onTps))}; ` +
      `drop per pair ${pairDrops.map(fmt).join(', ')} %, median ${fmt(median(pairDrops))} %; ` +
      `the collector took ${fmt(collectorDbMsPerS)} ms/s of server time (inside the executor, CPU waits included)`,
  );
  if (otherCpuPct > 10) {
    progress(
      `postgres_collection: WARNING other processes took up to ${fmt(otherCpuPct)}% of the machine's CPU during a run: ` +
        'the TPS comparison is noisy; run again on a quiet machine',
    );
  }
  return {
    off: median(offTps),
    on: median(onTps),
    dropPct: median(pairDrops),
    offSpreadPct: ((Math.max(...offTps) - Math.min(...offTps)) / median(offTps)) * 100,
    collectorDbMsPerS,
    otherCpuPct,
  };
}

/** An entry evicted mid-measurement would take its time with it: refuse the figures then. */
async function checkNoEviction(admin: pg.Client): Promise<void> {
  const { rows } = await admin.query<{ dealloc: string }>('SELECT dealloc FROM pg_stat_statements_info');
  if (Number(rows[0]?.dealloc ?? 0) > 0) {
    throw new Error(
      `pg_stat_statements evicted entries (dealloc ${rows[0]?.dealloc}): per-role sums are incomplete; lower --pg-statements`,
    );
  }
}
