import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { loadLimitBaseline } from '../../src/process/stages/limit.js';
import { UsageRecorder } from '../../src/process/stages/usage.js';
import { emptyBatch } from '../../src/process/stages/processor.js';
import { limitStageSchema } from '../../src/config/stages/limit.js';
import { DuckDBDatabase } from '../../src/store/duckdb/database.js';
import { DuckDBStore } from '../../src/store/duckdb/telemetry-store.js';
import { DuckDBUsageStore } from '../../src/store/duckdb/usage-store.js';
import { ORG_A, ORG_B, T0, logRow, metricRow } from '../fixtures/rows.js';

const DAY_NS = 86_400_000_000_000n;
const HOUR_NS = 3_600_000_000_000n;

describe('DuckDB usage store', () => {
  let dir: string;
  let path: string;
  let database: DuckDBDatabase;
  let usage: DuckDBUsageStore;

  const open = async (): Promise<void> => {
    database = await DuckDBDatabase.open(
      { path, memoryLimit: '256MB', checkpointThreshold: '16MB' },
      silentLogger(),
    );
    await database.migrate();
    usage = new DuckDBUsageStore(database);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sightline-usage-'));
    path = join(dir, 'usage.duckdb');
    await open();
  });

  afterAll(async () => {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds each flush to the day row of its org and signal', async () => {
    await usage.addUsage([
      { orgId: ORG_A, day: '2024-05-01', signal: 'logs', records: 10, bytes: 1000 },
      { orgId: ORG_A, day: '2024-05-01', signal: 'metrics', records: 3, bytes: 300 },
      { orgId: ORG_B, day: '2024-05-01', signal: 'logs', records: 1, bytes: 50 },
    ]);
    await usage.addUsage([
      { orgId: ORG_A, day: '2024-05-01', signal: 'logs', records: 5, bytes: 500 },
      // The same key twice in one flush is summed, not refused.
      { orgId: ORG_A, day: '2024-05-02', signal: 'logs', records: 1, bytes: 10 },
      { orgId: ORG_A, day: '2024-05-02', signal: 'logs', records: 2, bytes: 20 },
    ]);
    expect(await usage.dayUsage('2024-05-01')).toEqual([
      { orgId: ORG_A, day: '2024-05-01', signal: 'logs', records: 15, bytes: 1500 },
      { orgId: ORG_A, day: '2024-05-01', signal: 'metrics', records: 3, bytes: 300 },
      { orgId: ORG_B, day: '2024-05-01', signal: 'logs', records: 1, bytes: 50 },
    ]);
    expect(await usage.usage(ORG_A, '2024-05-01', '2024-05-02')).toEqual([
      { orgId: ORG_A, day: '2024-05-01', signal: 'logs', records: 15, bytes: 1500 },
      { orgId: ORG_A, day: '2024-05-01', signal: 'metrics', records: 3, bytes: 300 },
      { orgId: ORG_A, day: '2024-05-02', signal: 'logs', records: 3, bytes: 30 },
    ]);
    expect(await usage.usage(ORG_B, '2024-05-02', '2024-05-31')).toEqual([]);
  });

  it('refuses a malformed day and stores nothing of that flush', async () => {
    await expect(
      usage.addUsage([
        { orgId: ORG_B, day: '2024-06-01', signal: 'spans', records: 1, bytes: 1 },
        { orgId: ORG_B, day: 'June 1st', signal: 'spans', records: 1, bytes: 1 },
      ]),
    ).rejects.toThrow(/not YYYY-MM-DD/);
    expect(await usage.dayUsage('2024-06-01')).toEqual([]);
  });

  it('keeps the totals across a close and reopen of the file', async () => {
    await database.close();
    await open();
    expect(await usage.usage(ORG_B, '2024-05-01', '2024-05-01')).toEqual([
      { orgId: ORG_B, day: '2024-05-01', signal: 'logs', records: 1, bytes: 50 },
    ]);
  });

  it('receives what a UsageRecorder counted, at shutdown', async () => {
    const recorder = new UsageRecorder(usage, { flushIntervalMs: 60_000 });
    await recorder.start();
    const now = BigInt(Date.UTC(2024, 6, 1, 12)) * 1_000_000n;
    recorder.record(ORG_A, { ...emptyBatch(), logs: [logRow(), logRow({ id: 'log-2' })] }, now);
    recorder.record(ORG_A, { ...emptyBatch(), metricPoints: [metricRow()] }, now + HOUR_NS);
    await recorder.shutdown();
    const stored = await usage.dayUsage('2024-07-01');
    expect(stored.map(({ signal, records }) => ({ signal, records }))).toEqual([
      { signal: 'logs', records: 2 },
      { signal: 'metrics', records: 1 },
    ]);
    expect(stored.every((row) => row.bytes > 0)).toBe(true);
  });

  it('gives the limit stage the day bytes and the series seen recently, newest first and capped per org', async () => {
    const store = new DuckDBStore(database);
    await store.start();
    await store.writeMetricPoints([
      metricRow({ id: 'p1', seriesId: 'old', ts: T0 - 2n * DAY_NS }),
      metricRow({ id: 'p2', seriesId: 's1', ts: T0 - 3n * HOUR_NS }),
      metricRow({ id: 'p3', seriesId: 's2', ts: T0 - 2n * HOUR_NS }),
      metricRow({ id: 'p4', seriesId: 's2', ts: T0 - HOUR_NS }),
      metricRow({ id: 'p5', seriesId: 's3', ts: T0 - 90n * 60_000_000_000n }),
      metricRow({ id: 'p6', seriesId: 'b1', ts: T0 - HOUR_NS, orgId: ORG_B }),
    ]);
    expect(await usage.activeSeries(T0 - DAY_NS, 2)).toEqual([
      { orgId: ORG_A, seriesId: 's2', lastSeenNs: T0 - HOUR_NS },
      { orgId: ORG_A, seriesId: 's3', lastSeenNs: T0 - 90n * 60_000_000_000n },
      { orgId: ORG_B, seriesId: 'b1', lastSeenNs: T0 - HOUR_NS },
    ]);

    const day = new Date(Number(T0 / 1_000_000n)).toISOString().slice(0, 10);
    await usage.addUsage([
      { orgId: ORG_A, day, signal: 'logs', records: 10, bytes: 700 },
      { orgId: ORG_A, day, signal: 'metrics', records: 2, bytes: 300 },
    ]);
    const stages = [limitStageSchema.parse({ type: 'limit', maxSeries: 2 })];
    const baseline = await loadLimitBaseline(usage, stages, T0);
    expect(baseline.day).toBe(day);
    expect(baseline.bytes.get(ORG_A)).toBe(1000);
    expect(baseline.series.get(ORG_A)?.map(([id]) => id)).toEqual(['s2', 's3']);
    expect(baseline.series.get(ORG_B)?.map(([id]) => id)).toEqual(['b1']);
  });
});
