import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { StoreSeriesSource, resolutionFor } from '../../src/query/promql-store-source.js';
import {
  evaluateInstant,
  evaluateRange,
  parsePromql,
  type QueryResult,
} from '../../src/query/promql/index.js';
import { DuckDBDatabase } from '../../src/store/duckdb/database.js';
import { HOUR_NS, MINUTE_NS, RollupJob, floorTo } from '../../src/store/rollup-job.js';
import { DuckDBRollupSteps } from '../../src/store/duckdb/rollups.js';
import { DuckDBStore } from '../../src/store/duckdb/telemetry-store.js';
import type { MetricPointRow } from '../../src/store/rows.js';
import { ORG_A, T0, metricRow } from '../fixtures/rows.js';

const S = 1_000_000_000n;
const H0 = floorTo(T0, HOUR_NS);
const H0_MS = Number(H0 / 1_000_000n);
const HOUR_MS = 3_600_000;
const POINTS = 3 * 360;
const LIMITS = { maxSamples: 1_000_000, maxSeries: 100 };

let dir: string;
let database: DuckDBDatabase;
let store: DuckDBStore;

/** Three hours at 10 s: a gauge (i), a cumulative counter (+10 per point), a delta sum (3 per point). */
function rows(): MetricPointRow[] {
  const out: MetricPointRow[] = [];
  for (let i = 0; i < POINTS; i++) {
    const ts = H0 + BigInt(i) * 10n * S;
    const common = { ts, labels: '{}', temporality: 'cumulative' as const };
    out.push(metricRow({ ...common, id: `g${i}`, seriesId: 'g', name: 'g', kind: 'gauge', value: i }));
    out.push(metricRow({ ...common, id: `c${i}`, seriesId: 'c', name: 'c', kind: 'sum', value: 10 * i }));
    out.push(
      metricRow({
        ...common,
        id: `d${i}`,
        seriesId: 'd',
        name: 'd',
        kind: 'sum',
        temporality: 'delta',
        value: 3,
      }),
    );
  }
  return out;
}

const source = () => new StoreSeriesSource(store, ORG_A, LIMITS);
const valuesOf = (result: QueryResult) =>
  result.resultType === 'matrix' ? result.result.flatMap((s) => s.values.map(([, v]) => Number(v))) : [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sightline-promql-rollups-'));
  database = await DuckDBDatabase.open(
    { path: join(dir, 'rollups.duckdb'), memoryLimit: '512MB', checkpointThreshold: '16MB' },
    silentLogger(),
  );
  await database.migrate();
  store = new DuckDBStore(database);
  await store.start();
  await store.writeMetricPoints(rows());
  // Rollups complete up to 2 h 30 m: the last half hour is read raw.
  const job = new RollupJob(
    { intervalSeconds: 60, latenessSeconds: 600, maxCatchUpSeconds: 86_400 },
    { steps: new DuckDBRollupSteps(database), logger: silentLogger(), now: () => H0 + 150n * MINUTE_NS },
  );
  await job.runOnce(H0 + 150n * MINUTE_NS);
}, 60_000);

afterAll(async () => {
  await database.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('PromQL over rollups', () => {
  it.each([
    [{ stepMs: 0, windowMs: 300_000 }, 'raw'],
    [{ stepMs: 15_000, windowMs: 300_000 }, 'raw'],
    [{ stepMs: 60_000, windowMs: 300_000 }, 'raw'],
    [{ stepMs: 240_000, windowMs: 2 * HOUR_MS }, 'raw'],
    [{ stepMs: 300_000, windowMs: 300_000 }, '1m'],
    [{ stepMs: 300_000, windowMs: 2 * HOUR_MS }, '1m'],
    [{ stepMs: HOUR_MS, windowMs: 300_000 }, '1m'],
    [{ stepMs: HOUR_MS, windowMs: 600_000 }, '5m'],
    [{ stepMs: 5 * HOUR_MS, windowMs: 2 * HOUR_MS }, '1h'],
  ] as const)('picks the rollup for %j: %s', (hints, resolution) => {
    expect(resolutionFor(hints)).toBe(resolution);
  });

  it('reads one point per bucket where rollups are complete and raw points after', async () => {
    const [series] = await source().select(
      [{ name: '__name__', op: '=', value: 'g' }],
      H0_MS,
      H0_MS + 3 * HOUR_MS,
      undefined,
      { stepMs: HOUR_MS, windowMs: 10 * 60_000 },
    );
    const ts = [...(series?.timestampsMs ?? [])];
    const rollupPart = ts.filter((t) => t < H0_MS + 150 * 60_000);
    // 30 five-minute buckets, each standing for its last point (at 4 min 50 s); the raw points
    // after them cut the same way, the bucket at the window's end (still filling then) left out.
    expect(rollupPart).toHaveLength(30);
    expect(rollupPart[0]).toBe(H0_MS + 290_000);
    expect(series?.values[0]).toBe(29);
    expect(ts.slice(30).map((t) => (t - H0_MS) / 1000)).toEqual([9290, 9590, 9890, 10190, 10490, 10790]);
  });

  it('gives the same rates and increases from rollups as from raw points', async () => {
    const at = (expr: string, stepMs: number) =>
      evaluateRange(parsePromql(expr), source(), H0_MS + HOUR_MS, H0_MS + 2 * HOUR_MS + 50 * 60_000, stepMs);
    // The counter grows 1/s, the delta sum 0.3/s, whichever data answers.
    for (const stepMs of [15_000, 5 * 60_000, HOUR_MS]) {
      for (const v of valuesOf(await at('rate(c[10m])', stepMs))) expect(v).toBeCloseTo(1, 9);
      for (const v of valuesOf(await at('rate(d[10m])', stepMs))) expect(v).toBeCloseTo(0.3, 9);
    }
    expect(valuesOf(await at('max_over_time(g[1h])', HOUR_MS))).toEqual([359, 719]);
  });

  it('still answers from rollups once the raw points are gone', async () => {
    await database.withConnection((c) => c.run(`DELETE FROM metric_points WHERE ts < ${H0 + 2n * HOUR_NS}`));
    const range = await evaluateRange(
      parsePromql('rate(c[10m])'),
      source(),
      H0_MS + HOUR_MS,
      H0_MS + 2 * HOUR_MS,
      HOUR_MS,
    );
    expect(valuesOf(range)).toHaveLength(2);
    for (const v of valuesOf(range)) expect(v).toBeCloseTo(1, 9);
    // An instant query reads raw points only: there are none left an hour in.
    const instant = await evaluateInstant(parsePromql('g'), source(), H0_MS + HOUR_MS);
    expect(instant).toEqual({ resultType: 'vector', result: [] });
  });
});
