import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { DuckDBDatabase } from '../../src/store/duckdb/database.js';
import { DuckDBStore } from '../../src/store/duckdb/telemetry-store.js';
import { DuckDBControlStore } from '../../src/store/duckdb/control-store.js';
import { MIGRATIONS } from '../../src/store/duckdb/migrations.js';
import { ORG_A, ORG_B, T0, logRow, metricRow, spanRow } from '../fixtures/rows.js';

const HOUR = 3_600_000_000_000n;

async function openStore(path: string): Promise<{ database: DuckDBDatabase; store: DuckDBStore }> {
  const database = await DuckDBDatabase.open(
    { path, memoryLimit: '512MB', checkpointThreshold: '16MB' },
    silentLogger(),
  );
  await database.migrate();
  const store = new DuckDBStore(database);
  await store.start();
  return { database, store };
}

describe('DuckDB store', () => {
  let dir: string;
  let database: DuckDBDatabase;
  let store: DuckDBStore;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sightline-store-'));
    ({ database, store } = await openStore(join(dir, 'test.duckdb')));
  });

  afterAll(async () => {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes logs and reads them back newest first with every field', async () => {
    const result = await store.writeLogs([
      logRow({ id: 'a', ts: T0, body: 'first' }),
      logRow({ id: 'b', ts: T0 + 1n, body: 'second', severity: 'ERROR', severityNumber: 17 }),
    ]);
    expect(result).toEqual({ inserted: 2, duplicates: 0 });
    const found = await store.searchLogs(ORG_A, {
      fromNs: T0 - HOUR,
      toNs: T0 + HOUR,
      text: [],
      services: [],
      severities: [],
      hosts: [],
      traceIds: [],
      limit: 10,
    });
    expect(found.map((l) => l.body)).toEqual(['second', 'first']);
    expect(found[0]).toMatchObject({
      id: 'b',
      ts: T0 + 1n,
      severity: 'ERROR',
      severityNumber: 17,
      service: 'checkout',
    });
    expect(JSON.parse(found[0]?.attributes ?? '')).toEqual({ 'order.id': 42 });
  });

  it('stores a retried batch once, including duplicates inside one batch', async () => {
    const batch = [logRow({ id: 'dup-1', ts: T0 + 10n }), logRow({ id: 'dup-2', ts: T0 + 11n })];
    expect(await store.writeLogs(batch)).toEqual({ inserted: 2, duplicates: 0 });
    expect(await store.writeLogs(batch)).toEqual({ inserted: 0, duplicates: 2 });
    expect(
      await store.writeLogs([logRow({ id: 'dup-3', ts: T0 + 12n }), logRow({ id: 'dup-3', ts: T0 + 12n })]),
    ).toEqual({ inserted: 1, duplicates: 1 });
  });

  it('finds duplicates in a batch whose times lie far apart', async () => {
    const batch = [logRow({ id: 'stray', ts: 1n }), logRow({ id: 'recent', ts: T0 + 50n })];
    expect(await store.writeLogs(batch)).toEqual({ inserted: 2, duplicates: 0 });
    expect(await store.writeLogs(batch)).toEqual({ inserted: 0, duplicates: 2 });
  });

  it('filters logs by text, service, severity and time, escaping LIKE wildcards', async () => {
    await store.writeLogs([
      logRow({ id: 'f1', ts: T0 + 100n, body: 'payment 100% declined', service: 'payments' }),
      logRow({ id: 'f2', ts: T0 + 101n, body: 'payment accepted', service: 'payments', severity: 'WARN' }),
      logRow({ id: 'f3', ts: T0 + 2n * HOUR, body: 'payment later', service: 'payments' }),
    ]);
    const base = {
      fromNs: T0,
      toNs: T0 + HOUR,
      text: [] as string[],
      services: [] as string[],
      severities: [] as never[],
      hosts: [] as string[],
      traceIds: [] as string[],
      limit: 100,
    };
    const byText = await store.searchLogs(ORG_A, { ...base, text: ['PAYMENT', '100%'] });
    expect(byText.map((l) => l.id)).toEqual(['f1']);
    const percentOnly = await store.searchLogs(ORG_A, { ...base, text: ['%'] });
    expect(percentOnly.map((l) => l.id)).toEqual(['f1']);
    const bySeverity = await store.searchLogs(ORG_A, {
      ...base,
      services: ['payments'],
      severities: ['WARN'],
    });
    expect(bySeverity.map((l) => l.id)).toEqual(['f2']);
    const limited = await store.searchLogs(ORG_A, { ...base, services: ['payments'], limit: 1 });
    expect(limited.map((l) => l.id)).toEqual(['f2']);
  });

  it("never returns another org's rows", async () => {
    await store.writeLogs([logRow({ id: 'secret', orgId: ORG_B, body: 'org b only', ts: T0 + 200n })]);
    const search = {
      fromNs: T0 - HOUR,
      toNs: T0 + HOUR,
      text: ['org b only'],
      services: [],
      severities: [],
      hosts: [],
      traceIds: [],
      limit: 10,
    };
    expect(await store.searchLogs(ORG_A, search)).toEqual([]);
    expect((await store.searchLogs(ORG_B, search)).map((l) => l.id)).toEqual(['secret']);
    expect((await store.countRecords(ORG_B)).logs).toBe(1);
  });

  it('writes spans and reads a trace in start order', async () => {
    const traceId = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    await store.writeSpans([
      spanRow({
        id: 's2',
        traceId,
        spanId: '2222222222222222',
        parentSpanId: '1111111111111111',
        startTs: T0 + 5n,
      }),
      spanRow({ id: 's1', traceId, spanId: '1111111111111111', startTs: T0, durationNs: 9_000_000n }),
    ]);
    const { spans, truncated } = await store.getTrace(ORG_A, traceId);
    expect(truncated).toBe(false);
    expect(spans.map((s) => s.spanId)).toEqual(['1111111111111111', '2222222222222222']);
    expect(spans[1]).toMatchObject({ parentSpanId: '1111111111111111', kind: 'server', status: 'ok' });
    expect(spans[0]?.durationNs).toBe(9_000_000n);
    expect((await store.getTrace(ORG_B, traceId)).spans).toEqual([]);
  });

  it('writes metric points, including histograms, and returns raw and bucketed series', async () => {
    const minute = 60_000_000_000n;
    await store.writeMetricPoints([
      metricRow({ id: 'm1', ts: T0, value: 10 }),
      metricRow({ id: 'm2', ts: T0 + minute / 2n, value: 20 }),
      metricRow({ id: 'm3', ts: T0 + minute, value: 40 }),
      metricRow({ id: 'm4', ts: T0, seriesId: 'series-2', labels: '{"route":"/cart"}', value: 1 }),
      metricRow({
        id: 'h1',
        ts: T0,
        name: 'http.server.duration',
        kind: 'histogram',
        seriesId: 'hist',
        value: null,
        histCount: 4n,
        histSum: 10,
        histMin: 1,
        histMax: 4,
        bucketBounds: [1, 5],
        bucketCounts: [1n, 3n, 0n],
      }),
    ]);
    const { series: raw, truncated } = await store.queryMetrics(ORG_A, {
      name: 'http.server.requests',
      fromNs: T0 - minute,
      toNs: T0 + 2n * minute,
      aggregation: 'avg',
      maxPoints: 100,
    });
    expect(truncated).toBe(false);
    expect(raw.map((s) => s.seriesId)).toEqual(['series-1', 'series-2']);
    expect(raw[0]?.points.map((p) => p.value)).toEqual([10, 20, 40]);
    const { series: bucketed } = await store.queryMetrics(ORG_A, {
      name: 'http.server.requests',
      fromNs: T0 - minute,
      toNs: T0 + 2n * minute,
      stepNs: minute,
      aggregation: 'max',
      maxPoints: 100,
    });
    const first = bucketed.find((s) => s.seriesId === 'series-1');
    expect(first?.points.map((p) => p.value)).toEqual([20, 40]);
    const { series: histogram } = await store.queryMetrics(ORG_A, {
      name: 'http.server.duration',
      fromNs: T0 - minute,
      toNs: T0 + minute,
      aggregation: 'avg',
      maxPoints: 10,
    });
    expect(histogram[0]?.kind).toBe('histogram');
    expect(histogram[0]?.points[0]).toMatchObject({ value: 2.5, count: 4n, sum: 10 });
  });

  it('says when a metric query was cut at its point limit', async () => {
    const { series, truncated } = await store.queryMetrics(ORG_A, {
      name: 'http.server.requests',
      fromNs: T0 - 60_000_000_000n,
      toNs: T0 + 120_000_000_000n,
      aggregation: 'avg',
      maxPoints: 2,
    });
    expect(truncated).toBe(true);
    expect(series.flatMap((s) => s.points)).toHaveLength(2);
  });

  it('keeps data across close and reopen, and runs each migration once', async () => {
    const path = join(dir, 'reopen.duckdb');
    const first = await openStore(path);
    await first.store.writeLogs([logRow({ id: 'persisted' })]);
    await first.database.close();

    const second = await openStore(path);
    const report = await second.database.migrate();
    expect(report.applied).toEqual([]);
    const versions = await second.database.withConnection(async (c) =>
      (await c.runAndReadAll('SELECT version FROM schema_migrations ORDER BY version')).getRowsJS(),
    );
    expect(versions.map((r) => Number(r[0]))).toEqual(MIGRATIONS.map((m) => m.version));
    expect((await second.store.countRecords(ORG_A)).logs).toBe(1);
    await second.database.close();
  });

  it('creates orgs and finds API keys by hash only', async () => {
    const control = new DuckDBControlStore(database);
    const org = await control.createOrg('acme');
    const key = await control.createApiKey({
      orgId: org.id,
      name: 'ci',
      prefix: 'sl_abc',
      keyHash: 'hash-1',
    });
    expect(key.orgId).toBe(org.id);
    expect((await control.findApiKeyByHash('hash-1'))?.id).toBe(key.id);
    expect(await control.findApiKeyByHash('other')).toBeUndefined();
    expect((await control.listOrgs()).map((o) => o.name)).toContain('acme');
  });
});
