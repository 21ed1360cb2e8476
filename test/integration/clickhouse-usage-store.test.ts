import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limitStageSchema } from '../../src/config/stages/limit.js';
import { loadLimitBaseline } from '../../src/process/stages/limit.js';
import { emptyBatch } from '../../src/process/stages/processor.js';
import { UsageRecorder } from '../../src/process/stages/usage.js';
import type { ClickhouseDatabase } from '../../src/store/clickhouse/database.js';
import { rawSql } from '../../src/store/clickhouse/sql.js';
import { ClickhouseStore } from '../../src/store/clickhouse/telemetry-store.js';
import { ClickhouseUsageStore } from '../../src/store/clickhouse/usage-store.js';
import { orgId } from '../../src/store/rows.js';
import { ORG_A, ORG_B, T0, logRow, metricRow } from '../fixtures/rows.js';
import { CLICKHOUSE_INSTALL_HINT, clickhouseAvailable } from '../harness/clickhouse.js';
import { startClickhouseStores, type ClickhouseStores } from '../helpers/clickhouse-stores.js';
import { requireService } from '../harness/service-missing.js';

/* The cases of usage-store.test.ts (DuckDB) on ClickHouse's SummingMergeTree usage_daily. */

const available = requireService('ClickHouse', clickhouseAvailable(), CLICKHOUSE_INSTALL_HINT);

const DAY_NS = 86_400_000_000_000n;
const HOUR_NS = 3_600_000_000_000n;

const HOSTILE = [
  "'; DROP TABLE usage_daily; --",
  "\\'; DROP TABLE usage_daily; --",
  "x' OR 1=1 OR 'a'='a",
  'back\\slash \\x41 \\n \\\\ \\',
  Array.from({ length: 32 }, (_, code) => String.fromCharCode(code)).join('') + '\u007f',
  'zażółć gęślą jaźń — 日本語 — 🚀',
  "') FORMAT TabSeparated\nSELECT 1",
];

describe.skipIf(!available)('ClickHouse usage store', () => {
  let clickhouse: ClickhouseStores;
  let database: ClickhouseDatabase;
  let usage: ClickhouseUsageStore;

  beforeAll(async () => {
    clickhouse = await startClickhouseStores();
    ({ database } = await clickhouse.openStore());
    usage = new ClickhouseUsageStore(database);
  });

  afterAll(async () => {
    await clickhouse?.stop();
  });

  it('adds each flush to the day row of its org and signal, before and after merges', async () => {
    await database.run(rawSql('SYSTEM STOP MERGES usage_daily'));
    try {
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
    } finally {
      await database.run(rawSql('SYSTEM START MERGES usage_daily'));
    }
    const expectDay = async (): Promise<void> => {
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
    };
    await expectDay();
    await database.run(rawSql('OPTIMIZE TABLE usage_daily FINAL'));
    await expectDay();
  });

  it('refuses a malformed day and stores nothing of that flush', async () => {
    for (const day of ['June 1st', '2024-02-30', '2024-6-1', "2024-06-01' OR '1'='1"]) {
      await expect(
        usage.addUsage([
          { orgId: ORG_B, day: '2024-06-01', signal: 'spans', records: 1, bytes: 1 },
          { orgId: ORG_B, day, signal: 'spans', records: 1, bytes: 1 },
        ]),
      ).rejects.toThrow(/not YYYY-MM-DD/);
      await expect(usage.dayUsage(day)).rejects.toThrow(/not YYYY-MM-DD/);
      await expect(usage.usage(ORG_B, day, '2024-06-30')).rejects.toThrow(/not YYYY-MM-DD/);
    }
    expect(await usage.dayUsage('2024-06-01')).toEqual([]);
  });

  it('keeps the totals across a server restart', async () => {
    await clickhouse.ch.restart();
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
    const store = new ClickhouseStore(database);
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
    expect(await usage.activeSeries(T0 - DAY_NS, 0)).toEqual([]);

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

  it('stores hostile orgs and signals as data and scopes reads by them', async () => {
    await usage.addUsage(
      HOSTILE.map((text) => ({ orgId: orgId(text), day: '2024-08-01', signal: text, records: 1, bytes: 2 })),
    );
    for (const text of HOSTILE) {
      expect(await usage.usage(orgId(text), '2024-08-01', '2024-08-01')).toEqual([
        { orgId: text, day: '2024-08-01', signal: text, records: 1, bytes: 2 },
      ]);
    }
    expect(await usage.dayUsage('2024-08-01')).toHaveLength(HOSTILE.length);
    // org_a's own rows are still there and alone in its scope.
    expect((await usage.usage(ORG_A, '2024-05-01', '2024-05-01')).map((r) => r.signal)).toEqual([
      'logs',
      'metrics',
    ]);
  });
});
