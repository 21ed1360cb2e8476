import { PG } from '../../src/collect/postgres/metric-definitions.js';
import { MetricBatch, type PointAttributes } from '../../src/collect/metric-batch.js';
import {
  activityToRows,
  entityToRow,
  querySampleToRow,
  queryStatsToRow,
} from '../../src/process/raw-rows.js';
import { metricsToRows, type RowContext } from '../../src/process/otlp-rows.js';
import type { DuckDBDatabase } from '../../src/store/duckdb/database.js';
import { DuckDBRollupSteps } from '../../src/store/duckdb/rollups.js';
import { HOUR_NS, MINUTE_NS, floorTo } from '../../src/store/rollup-job.js';
import { withStoppedStore } from '../helpers/stopped-store.js';

/**
 * 24 hours of one PostgreSQL target as the collector would have stored them (default
 * intervals: metrics every 15 s, statements and per-table statistics every 60 s), written into a
 * stopped `sightline start`'s DuckDB file (test/helpers/stopped-store.ts) with the pipeline's own record-to-row conversions
 * (src/process/raw-rows.ts, otlp-rows.ts), so the server reads them as if collected.
 * The load follows a day curve (quiet at night, a peak in the afternoon).
 */
export const HISTORY_TARGET = { instanceId: 'pg:history', database: 'shop' } as const;

const METRICS_INTERVAL_S = 15;
const STATS_INTERVAL_S = 60;
const DAY_S = 24 * 3600;
const NS = 1_000_000_000n;
const DATABASES = ['shop', 'postgres'];
const TABLES = ['orders', 'order_items', 'customers', 'products', 'payments', 'shipments', 'events', 'carts'];
const STATEMENTS = 40;

export interface HistoryFigures {
  metricPoints: number;
  queryIntervals: number;
  samples: number;
  snapshots: number;
}

/** Seconds as the raw records' nanosecond text. */
function nsText(seconds: number): string {
  return (BigInt(seconds) * NS).toString();
}

/** 0.2 at night to 1.0 in the afternoon, by the hour of `t` (seconds) in UTC. */
function load(t: number): number {
  const hour = (t % DAY_S) / 3600;
  return 0.6 - 0.4 * Math.cos(((hour - 3) / 24) * 2 * Math.PI);
}

/** Deterministic noise in [0, 1): the same history every run. */
function noise(seed: number): number {
  const x = Math.sin(seed * 12.9898) * 43758.5453;
  return x - Math.floor(x);
}

/**
 * The rollups a running server would have computed minute by minute while the history was
 * collected (src/store/rollup-job.ts): hourly steps up to the current minute, so long ranges read
 * them as they would on a server that had been collecting all day.
 */
async function rollUp(database: DuckDBDatabase, fromNs: bigint, nowNs: bigint): Promise<void> {
  const steps = new DuckDBRollupSteps(database);
  const completeTo = floorTo(nowNs, MINUTE_NS);
  for (let from = floorTo(fromNs, HOUR_NS); from <= completeTo; from += HOUR_NS) {
    const to = from + HOUR_NS;
    await steps.step({ from, to, doneTo: to < completeTo ? to : completeTo });
  }
}

export function writePostgresHistory(dataDir: string, endMs: number): Promise<HistoryFigures> {
  return withStoppedStore(dataDir, async ({ database, store, orgId }) => {
    const endS = Math.floor(endMs / 1000 / STATS_INTERVAL_S) * STATS_INTERVAL_S;
    const startS = endS - DAY_S;
    const context = (tS: number): RowContext => ({ orgId, receivedAtNs: BigInt(tS) * NS });
    const figures: HistoryFigures = { metricPoints: 0, queryIntervals: 0, samples: 0, snapshots: 0 };

    const { instanceId } = HISTORY_TARGET;
    await store.upsertEntities([
      entityToRow(
        {
          type: 'entity',
          entityId: instanceId,
          kind: 'postgresql.instance',
          name: 'history',
          parentId: '',
          ts: nsText(endS),
          version: '16.4',
          attributes: {},
        },
        context(endS),
      ),
      ...DATABASES.map((name) =>
        entityToRow(
          {
            type: 'entity',
            entityId: `${instanceId}:${name}`,
            kind: 'postgresql.database',
            name,
            parentId: instanceId,
            ts: nsText(endS),
            version: '',
            attributes: {},
          },
          context(endS),
        ),
      ),
    ]);

    // Counters as running totals since the server started a week before the window.
    const startNs = BigInt(startS - 7 * DAY_S) * NS;
    const totals = new Map<string, number>();
    const grow = (key: string, by: number): number => {
      const next = (totals.get(key) ?? 1_000_000) + by;
      totals.set(key, next);
      return next;
    };
    let pending: Parameters<typeof store.writeMetricPoints>[0][number][] = [];
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      await store.writeMetricPoints(pending);
      figures.metricPoints += pending.length;
      pending = [];
    };
    const resource: PointAttributes = {
      'sightline.entity.id': instanceId,
      'service.name': 'postgresql',
      'host.name': 'history',
    };
    for (let t = startS; t <= endS; t += METRICS_INTERVAL_S) {
      const l = load(t);
      const n = (salt: number) => noise(t * 7 + salt);
      const batch = new MetricBatch(BigInt(t) * NS, startNs);
      batch.add(PG.up, 1);
      const active = Math.round(2 + 10 * l * n(1));
      const states: Record<string, number> = {
        active,
        idle: Math.round(20 + 30 * l),
        'idle in transaction': Math.round(2 * l * n(2)),
        'idle in transaction (aborted)': 0,
        'fastpath function call': 0,
        disabled: 0,
      };
      for (const [state, count] of Object.entries(states)) batch.add(PG.sessionsByState, count, { state });
      batch.add(PG.sessionsByWait, Math.round(active * 0.6), { wait_event_type: 'CPU' });
      batch.add(PG.sessionsByWait, Math.round(active * 0.3), { wait_event_type: 'IO' });
      batch.add(PG.sessionsByWait, Math.round(active * 0.1 * n(3)), { wait_event_type: 'Lock' });
      batch.add(PG.sessionsBlocked, Math.round(active * 0.1 * n(3)));
      batch.add(PG.connectionMax, 200);
      for (const [i, db] of DATABASES.entries()) {
        const share = i === 0 ? 0.9 : 0.1;
        const at = { 'postgresql.database.name': db };
        batch.add(PG.backends, Math.round((states.idle ?? 0) * share + active * share), at);
        const tps = 150 * l * share * (0.8 + 0.4 * n(10 + i));
        batch.add(PG.commits, grow(`commits ${db}`, tps * METRICS_INTERVAL_S), at);
        batch.add(PG.rollbacks, grow(`rollbacks ${db}`, tps * 0.01 * METRICS_INTERVAL_S), at);
        batch.add(PG.blksHit, grow(`hit ${db}`, tps * 80 * METRICS_INTERVAL_S), at);
        batch.add(PG.blksRead, grow(`read ${db}`, tps * (1 + 3 * n(20 + i)) * METRICS_INTERVAL_S), at);
        batch.add(PG.tupReturned, grow(`ret ${db}`, tps * 40 * METRICS_INTERVAL_S), at);
        batch.add(PG.tupInserted, grow(`ins ${db}`, tps * 2 * METRICS_INTERVAL_S), at);
        batch.add(PG.deadlocks, grow(`dl ${db}`, 0), at);
      }
      batch.add(PG.buffersWritten, grow('bw checkpoints', 200 * l * METRICS_INTERVAL_S), {
        source: 'checkpoints',
      });
      batch.add(PG.buffersWritten, grow('bw bgwriter', 50 * l * METRICS_INTERVAL_S), { source: 'bgwriter' });
      batch.add(PG.walGenerated, grow('wal', 400_000 * l * METRICS_INTERVAL_S));
      for (const [mode, base] of [
        ['AccessShareLock', 30],
        ['RowExclusiveLock', 12],
        ['ExclusiveLock', 4],
      ] as const) {
        batch.add(PG.locks, Math.round(base * l * (0.7 + 0.6 * n(30))), { mode, granted: true });
      }
      batch.add(PG.locks, Math.round(2 * l * n(3)), { mode: 'ShareLock', granted: false });
      if (t % STATS_INTERVAL_S === 0) {
        for (const [i, db] of DATABASES.entries())
          batch.add(PG.dbSize, 5e9 / (i + 1) + (t - startS) * 2000, { 'postgresql.database.name': db });
        for (const [i, table] of TABLES.entries()) {
          const at = {
            'postgresql.database.name': 'shop',
            'postgresql.schema.name': 'public',
            'postgresql.table.name': table,
          };
          batch.add(PG.tableSize, 2e9 / (i + 1) + (t - startS) * 500, at);
          batch.add(PG.rows, Math.round(1e7 / (i + 1)), { ...at, state: 'live' });
          // Autovacuum every 4 hours: dead rows and the vacuum age grow and drop.
          const sinceVacuum = (t + i * 1800) % (4 * 3600);
          batch.add(PG.rows, Math.round(sinceVacuum * 3 * l), { ...at, state: 'dead' });
          batch.add(PG.lastVacuumAge, sinceVacuum, at);
          batch.add(PG.lastAnalyzeAge, sinceVacuum / 2, at);
          batch.add(PG.seqScans, grow(`seq ${table}`, i * 2), at);
          batch.add(PG.indexScans, grow(`idx ${table}`, 500 * l), {
            ...at,
            'postgresql.index.name': `${table}_pkey`,
          });
          batch.add(PG.indexSize, 4e8 / (i + 1), { ...at, 'postgresql.index.name': `${table}_pkey` });
        }
        const unused = {
          'postgresql.database.name': 'shop',
          'postgresql.schema.name': 'public',
          'postgresql.table.name': 'orders',
          'postgresql.index.name': 'orders_legacy_status_idx',
        };
        batch.add(PG.indexSize, 3e8, unused);
        batch.add(PG.indexScans, 0, unused);
        batch.add(PG.unusedIndexSize, 3e8, unused);
        batch.add(PG.unusedIndexes, 1, { 'postgresql.database.name': 'shop' });
      }
      pending.push(
        ...metricsToRows(batch.toRequest(resource, 'sightline.collector.postgresql', 'history'), context(t))
          .rows,
      );
      if (pending.length >= 50_000) await flush();
    }
    await flush();
    await rollUp(database, BigInt(startS) * NS, BigInt(endMs) * 1_000_000n);

    // Statements: every 60 s, one interval row per statement that ran.
    const statements = Array.from({ length: STATEMENTS }, (_, i) => ({
      fingerprint: `history${String(i).padStart(4, '0')}`,
      query:
        i === 0
          ? 'SELECT o.id, o.total, c.email FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.status = $1 ORDER BY o.created_at DESC LIMIT $2'
          : i % 3 === 0
            ? `UPDATE ${TABLES[i % TABLES.length]} SET updated_at = now() WHERE id = $1`
            : `SELECT * FROM ${TABLES[i % TABLES.length]} WHERE id = $1 AND tenant_id = $2`,
      callsPerS: 40 / (i + 1),
      meanMs: 0.2 + (i % 7) * 1.5,
    }));
    const statRows = [];
    for (let t = startS + STATS_INTERVAL_S; t <= endS; t += STATS_INTERVAL_S) {
      for (const [i, s] of statements.entries()) {
        const calls = Math.round(s.callsPerS * load(t) * STATS_INTERVAL_S * (0.7 + 0.6 * noise(t + i)));
        if (calls === 0) continue;
        // The first statement slows down after a plan change at the middle of the day.
        const mean = i === 0 && t > startS + DAY_S / 2 ? s.meanMs * 6 : s.meanMs;
        statRows.push(
          queryStatsToRow(
            {
              type: 'query_stats',
              entityId: instanceId,
              database: 'shop',
              user: 'app',
              queryId: String(1000 + i),
              fingerprint: s.fingerprint,
              query: s.query,
              intervalStart: nsText(t - STATS_INTERVAL_S),
              intervalEnd: nsText(t),
              calls,
              totalTimeMs: calls * mean,
              minTimeMs: mean / 4,
              maxTimeMs: mean * 8,
              meanTimeMs: mean,
              rows: calls * (i === 0 ? 20 : 1),
              sharedBlksHit: calls * 40,
              sharedBlksRead: Math.round(calls * noise(t * 3 + i)),
              sharedBlksDirtied: 0,
              sharedBlksWritten: 0,
              tempBlksRead: 0,
              tempBlksWritten: 0,
              walBytes: i % 3 === 0 ? calls * 120 : 0,
              rowsExamined: 0,
              lockTimeMs: 0,
              errors: 0,
              noIndexUsed: 0,
              tmpDiskTables: 0,
            },
            context(t),
          ),
        );
      }
    }
    await store.writeQueryStats(statRows);
    figures.queryIntervals = statRows.length;

    // Plans of the first statement every 30 minutes: an index scan, then a sequential scan.
    const planOf = (seq: boolean) =>
      JSON.stringify({
        Plan: {
          'Node Type': 'Limit',
          Plans: [
            {
              'Node Type': 'Nested Loop',
              'Join Type': 'Inner',
              Plans: [
                seq
                  ? { 'Node Type': 'Seq Scan', 'Relation Name': 'orders', 'Actual Rows': 20 }
                  : {
                      'Node Type': 'Index Scan',
                      'Relation Name': 'orders',
                      'Index Name': 'orders_status_created_idx',
                      'Actual Rows': 20,
                    },
                { 'Node Type': 'Index Scan', 'Relation Name': 'customers', 'Index Name': 'customers_pkey' },
              ],
            },
          ],
        },
      });
    const sampleRows = [];
    for (let t = startS + 900; t <= endS; t += 1800) {
      const seq = t > startS + DAY_S / 2;
      sampleRows.push(
        querySampleToRow(
          {
            type: 'query_sample',
            entityId: instanceId,
            database: 'shop',
            user: 'app',
            ts: nsText(t),
            fingerprint: statements[0]?.fingerprint ?? '',
            query: statements[0]?.query ?? '',
            durationMs: seq ? 40 : 6,
            plan: planOf(seq),
            source: 'plan',
          },
          context(t),
        ),
      );
    }
    await store.writeQuerySamples(sampleRows);
    figures.samples = sampleRows.length;

    // Session snapshots every metrics interval.
    const snapshots = [];
    const sessions = [];
    for (let t = startS; t <= endS; t += METRICS_INTERVAL_S) {
      const active = Math.round(2 + 6 * load(t) * noise(t));
      const rows = activityToRows(
        {
          type: 'activity',
          entityId: instanceId,
          ts: nsText(t),
          sessions: Array.from({ length: active }, (_, i) => ({
            pid: 1000 + i,
            database: 'shop',
            user: 'app',
            application: 'api',
            clientAddr: '10.0.0.5',
            backendType: 'client backend',
            state: 'active',
            waitEventType: i % 3 === 1 ? 'IO' : '',
            waitEvent: i % 3 === 1 ? 'DataFileRead' : '',
            fingerprint: statements[i % STATEMENTS]?.fingerprint ?? '',
            query: statements[i % STATEMENTS]?.query ?? '',
            durationMs: 5 + i,
            xactDurationMs: 5 + i,
            blockedBy: [],
          })),
        },
        context(t),
      );
      snapshots.push(rows.snapshot);
      sessions.push(...rows.sessions);
    }
    await store.writeActivitySnapshots(snapshots);
    await store.writeSessions(sessions);
    figures.snapshots = snapshots.length;
    return figures;
  });
}
