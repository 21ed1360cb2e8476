import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import Long from 'long';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApiApp } from '../../src/api/api-app.js';
import { displayPrefix, hashApiKey } from '../../src/auth/api-key.js';
import { ApiKeyAuthenticator } from '../../src/auth/authenticator.js';
import type { OutgoingMessage } from '../../src/bus/bus.js';
import { MemoryBus } from '../../src/bus/memory.js';
import { CONTENT_TYPES, HEADERS, SCHEMA_VERSION, TOPICS, type Topic } from '../../src/bus/topics.js';
import { silentLogger } from '../../src/core/logger.js';
import { SelfMetrics } from '../../src/core/telemetry.js';
import { opentelemetry } from '../../src/otlp/generated/otlp.js';
import { ProcessorRole } from '../../src/process/processor.js';
import { createStageChain } from '../../src/process/stages/registry.js';
import { configSchema } from '../../src/config/schema.js';
import type { OrgId } from '../../src/store/rows.js';
import { DuckDBControlStore } from '../../src/store/duckdb/control-store.js';
import { DuckDBDatabase } from '../../src/store/duckdb/database.js';
import { DuckDBStore } from '../../src/store/duckdb/telemetry-store.js';
import {
  activitySnapshotRecord,
  entityRecord,
  queryStatsRecord,
  serverLogRecord,
  sessionSample,
} from '../fixtures/raw-records.js';

const KEY_A = 'sl_orgA_collector_key_0001';
const KEY_B = 'sl_orgB_collector_key_0001';
const MINUTE = 60_000_000_000n;
const NOW = BigInt(Date.now()) * 1_000_000n;
const ago = (minutes: number) => String(NOW - BigInt(Math.round(minutes * 60)) * 1_000_000_000n);
const PLAN = [{ Plan: { 'Node Type': 'Seq Scan', 'Relation Name': 'orders', 'Total Cost': 1234.5 } }];

interface ErrorBody {
  error: { code: string; message: string };
}

/** Records go onto the bus as the collector publishes them; the processor stores them; the API reads them. */
describe('database views over the collector pipeline', () => {
  let dir: string;
  let database: DuckDBDatabase;
  let bus: MemoryBus;
  let processor: ProcessorRole;
  let api: FastifyInstance;
  let store: DuckDBStore;
  const orgs: Record<'a' | 'b', OrgId> = { a: '' as OrgId, b: '' as OrgId };

  function publish(topic: Topic, org: OrgId, values: readonly unknown[]): Promise<void> {
    const headers = {
      [HEADERS.orgId]: org,
      [HEADERS.contentType]: CONTENT_TYPES.json,
      [HEADERS.schemaVersion]: SCHEMA_VERSION,
      [HEADERS.receivedAt]: String(Date.now()),
    };
    const messages: OutgoingMessage[] = values.map((value) => ({
      key: 'pg:main',
      value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
      headers,
    }));
    return bus.publish(topic, messages);
  }

  function get(url: string, key = KEY_A) {
    return api.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
  }

  async function json<T>(url: string, key = KEY_A): Promise<T> {
    const response = await get(url, key);
    expect(response.statusCode, `${url}: ${response.body}`).toBe(200);
    return response.json<T>();
  }

  const queryStats = [
    queryStatsRecord({ intervalEnd: ago(3) }),
    queryStatsRecord({ intervalEnd: ago(2), calls: 20, totalTimeMs: 100 }),
    queryStatsRecord({
      intervalEnd: ago(2),
      database: 'my db',
      fingerprint: 'fp-report',
      query: 'SELECT sum(total) FROM invoices',
      calls: 1,
      totalTimeMs: 400,
      sharedBlksRead: 5000,
    }),
  ];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sightline-collector-api-'));
    const logger = silentLogger();
    database = await DuckDBDatabase.open(
      { path: join(dir, 'db.duckdb'), memoryLimit: '512MB', checkpointThreshold: '64MB' },
      logger,
    );
    await database.migrate();
    const control = new DuckDBControlStore(database);
    for (const [slot, name, key] of [
      ['a', 'org-a', KEY_A],
      ['b', 'org-b', KEY_B],
    ] as const) {
      const org = await control.createOrg(name);
      orgs[slot] = org.id;
      await control.createApiKey({
        orgId: org.id,
        name: 'test',
        prefix: displayPrefix(key),
        keyHash: hashApiKey(key),
      });
    }
    store = new DuckDBStore(database);
    await store.start();
    const metrics = new SelfMetrics({ processMetrics: false });
    bus = new MemoryBus({ maxQueueBytes: 1 << 26, maxQueueMessages: 1000, retryAfterSeconds: 1 }, logger);
    processor = new ProcessorRole({
      stages: createStageChain(configSchema.parse({}).processor.stages),
      bus,
      store,
      metrics,
      logger,
      batch: { maxMessages: 100, maxBytes: 1 << 26, maxWaitMs: 5 },
    });
    await processor.start();
    api = buildApiApp({
      authenticator: new ApiKeyAuthenticator(control),
      control,
      store,
      metrics,
      logger,
      readiness: () => ({ ready: true }),
    });

    await publish(TOPICS.rawEntities, orgs.a, [
      entityRecord({ entityId: 'host:db-1', kind: 'host', name: 'db-1', ts: ago(1) }),
      entityRecord({
        entityId: 'pg:main',
        name: 'main',
        parentId: 'host:db-1',
        ts: ago(1),
        attributes: { 'server.port': 5432, 'setting.max_connections': '100' },
      }),
      entityRecord({
        entityId: 'pg:main:shop',
        kind: 'postgresql.database',
        name: 'shop',
        parentId: 'pg:main',
        ts: ago(1),
      }),
      entityRecord({
        entityId: 'pg:main:my%20db',
        kind: 'postgresql.database',
        name: 'my db',
        parentId: 'pg:main',
        ts: ago(1),
      }),
      entityRecord({ entityId: 'pg:old', name: 'old', ts: ago(30), version: '15.1' }),
    ]);
    // One malformed record in the middle of the batch: it is set aside, the others are stored.
    await publish(TOPICS.rawQueries, orgs.a, [
      queryStats[0],
      { ...queryStats[1], calls: 'twenty' },
      queryStats[1],
      queryStats[2],
    ]);
    await publish(TOPICS.rawLogs, orgs.a, [
      serverLogRecord({
        ts: ago(2),
        level: 'ERROR',
        message: 'duplicate key value violates unique constraint "orders_pkey"',
        database: 'shop',
        user: 'app',
        sqlstate: '23505',
        category: 'error',
        statement: 'INSERT INTO orders VALUES ($1)',
      }),
      serverLogRecord({
        ts: ago(2.5),
        message: 'duration: 1500.000 ms  plan: ...',
        database: 'shop',
        user: 'app',
        category: 'plan',
        durationMs: 1500,
        fingerprint: 'fp-orders',
        statement: 'SELECT * FROM orders WHERE id = $1',
        sample: {
          fingerprint: 'fp-orders',
          query: 'SELECT * FROM orders WHERE id = $1',
          durationMs: 1500,
          plan: JSON.stringify(PLAN),
        },
      }),
    ]);
    await publish(TOPICS.rawActivity, orgs.a, [
      activitySnapshotRecord('pg:main', ago(1), [
        sessionSample({
          pid: 10,
          state: 'idle in transaction',
          waitEventType: 'Client',
          waitEvent: 'ClientRead',
        }),
        sessionSample({
          pid: 11,
          waitEventType: 'Lock',
          waitEvent: 'transactionid',
          blockedBy: [10],
          durationMs: 4000,
        }),
        sessionSample({
          pid: 12,
          database: 'my db',
          fingerprint: 'fp-report',
          query: 'SELECT sum(total) FROM invoices',
        }),
      ]),
    ]);
    await bus.publish(TOPICS.otelMetrics, [
      {
        key: 'pg:main',
        value: backendsMetric([
          ['shop', 4],
          ['my db', 2],
        ]),
        headers: {
          [HEADERS.orgId]: orgs.a,
          [HEADERS.contentType]: CONTENT_TYPES.protobuf,
          [HEADERS.receivedAt]: String(Date.now()),
        },
      },
    ]);
    // Another org watches a server of the same name.
    await publish(TOPICS.rawEntities, orgs.b, [
      entityRecord({ entityId: 'pg:main', ts: ago(1), version: '16.0' }),
    ]);
    await publish(TOPICS.rawQueries, orgs.b, [
      queryStatsRecord({ intervalEnd: ago(2), fingerprint: 'fp-secret', query: 'SELECT secret' }),
    ]);
  });

  afterAll(async () => {
    await api.close();
    await bus.shutdown();
    await processor.shutdown();
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sets the malformed record aside with its reason and stores the rest of its batch', async () => {
    const deadLetters = await database.withConnection(async (connection) =>
      (
        await connection.runAndReadAll('SELECT org_id, source_topic, reason FROM dead_letters')
      ).getRowObjectsJS(),
    );
    expect(deadLetters).toEqual([
      {
        org_id: orgs.a,
        source_topic: 'raw-queries',
        reason: 'not a valid raw-queries record: calls: Invalid input: expected number, received string',
      },
    ]);
    const stats = await json<Record<string, number>>('/api/v1/stats');
    expect(stats).toMatchObject({
      queryStats: 3,
      querySamples: 1,
      sessions: 3,
      entities: 5,
      deadLetters: 1,
      logs: 2,
    });
  });

  it('stores a replayed batch once', async () => {
    await publish(TOPICS.rawQueries, orgs.a, queryStats);
    await publish(TOPICS.rawEntities, orgs.a, [
      entityRecord({ entityId: 'pg:old', name: 'old', ts: ago(30), version: '15.1' }),
    ]);
    // An older sighting with another version does not overwrite what the newest one said.
    await publish(TOPICS.rawEntities, orgs.a, [
      entityRecord({ entityId: 'pg:old', name: 'old', ts: ago(90), version: '14.0' }),
    ]);
    const stats = await json<Record<string, number>>('/api/v1/stats');
    expect(stats).toMatchObject({ queryStats: 3, entities: 5 });
    expect((await json<{ version: string }>('/api/v1/databases/pg:old')).version).toBe('15.1');
  });

  it('lists the instances with their databases, versions and whether they report', async () => {
    const body = await json<{
      data: Array<{
        id: string;
        up: boolean;
        version: string;
        attributes: unknown;
        databases: Array<{ id: string; name: string; up: boolean }>;
      }>;
      meta: { count: number };
    }>('/api/v1/databases');
    expect(body.meta.count).toBe(2);
    expect(body.data.map((i) => [i.id, i.up, i.version])).toEqual([
      ['pg:main', true, '17.2'],
      ['pg:old', false, '15.1'],
    ]);
    expect(body.data[0]?.attributes).toEqual({ 'server.port': 5432, 'setting.max_connections': '100' });
    expect(body.data[0]?.databases.map((d) => [d.id, d.name, d.up])).toEqual([
      ['pg:main:my%20db', 'my db', true],
      ['pg:main:shop', 'shop', true],
    ]);
    const asB = await json<{ data: Array<{ id: string; version: string }> }>('/api/v1/databases', KEY_B);
    expect(asB.data.map((i) => [i.id, i.version])).toEqual([['pg:main', '16.0']]);
  });

  it('shows one instance or one database, and says how to find one that is not known', async () => {
    const instance = await json<{ id: string; firstSeen: string; databases: unknown[] }>(
      '/api/v1/databases/pg:main',
    );
    expect(instance.databases).toHaveLength(2);
    expect(instance.firstSeen).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    const db = await json<{ id: string; name: string; instance: { id: string } }>(
      `/api/v1/databases/${encodeURIComponent('pg:main:my%20db')}`,
    );
    expect(db).toMatchObject({ id: 'pg:main:my%20db', name: 'my db', instance: { id: 'pg:main' } });
    for (const id of ['pg:nope', 'host:db-1']) {
      const response = await get(`/api/v1/databases/${encodeURIComponent(id)}`);
      expect(response.statusCode, id).toBe(404);
      expect(response.json<ErrorBody>().error.message).toMatch(/GET \/api\/v1\/databases lists/);
    }
    expect((await get('/api/v1/databases/pg:old', KEY_B)).statusCode).toBe(404);
  });

  it("lists an entity's metrics and reads one of them, a database's restricted to it", async () => {
    const catalog = await json<{
      metrics: Array<{ name: string; seriesCount: number; series: Array<{ lastValue: number }> }>;
    }>('/api/v1/databases/pg:main/metrics');
    expect(catalog.metrics.map((m) => [m.name, m.seriesCount])).toEqual([['postgresql.backends', 2]]);
    const shop = await json<{ metrics: Array<{ series: Array<{ labels: unknown; lastValue: number }> }> }>(
      '/api/v1/databases/pg:main:shop/metrics',
    );
    expect(shop.metrics[0]?.series).toEqual([
      expect.objectContaining({ labels: { 'postgresql.database.name': 'shop' }, lastValue: 4 }),
    ]);
    const series = await json<{ entityId: string; series: Array<{ points: unknown[] }> }>(
      `/api/v1/databases/${encodeURIComponent('pg:main:my%20db')}/metrics?name=postgresql.backends&step=1m&agg=max`,
    );
    expect(series.entityId).toBe('pg:main:my%20db');
    expect(series.series.map((s) => s.points.map((p) => (p as number[])[1]))).toEqual([[2]]);
    const bad = await get('/api/v1/databases/pg:main/metrics?step=1m');
    expect(bad.statusCode).toBe(400);
    expect(bad.json<ErrorBody>().error.message).toMatch(/add name=<metric>/);
  });

  it('ranks statements with totals and series, for the whole org or one database', async () => {
    const body = await json<{
      order: string;
      limit: number;
      stepMs: number;
      overall: { calls: number; totalTimeMs: number };
      data: Array<{
        fingerprint: string;
        calls: number;
        totalTimeMs: number;
        meanTimeMs: number;
        shareOfTotalTime: number;
        databases: string[];
        series: number[][];
      }>;
    }>('/api/v1/queries');
    expect(body).toMatchObject({
      order: 'total_time',
      limit: 50,
      stepMs: 60_000,
      overall: { calls: 31, totalTimeMs: 550 },
    });
    expect(body.data.map((q) => [q.fingerprint, q.calls, q.totalTimeMs])).toEqual([
      ['fp-report', 1, 400],
      ['fp-orders', 30, 150],
    ]);
    expect(body.data[1]?.meanTimeMs).toBe(5);
    expect(body.data[0]?.shareOfTotalTime).toBeCloseTo(400 / 550);
    expect(body.data[1]?.series.reduce((sum, [, calls]) => sum + (calls ?? 0), 0)).toBe(30);
    const byCalls = await json<{ data: Array<{ fingerprint: string }> }>(
      '/api/v1/queries?order=calls&limit=1',
    );
    expect(byCalls.data.map((q) => q.fingerprint)).toEqual(['fp-orders']);
    const shop = await json<{ entity: string; data: Array<{ fingerprint: string }> }>(
      '/api/v1/queries?entity=pg:main:shop',
    );
    expect(shop).toMatchObject({ entity: 'pg:main:shop', data: [{ fingerprint: 'fp-orders' }] });
    const asB = await json<{ data: Array<{ fingerprint: string }> }>('/api/v1/queries', KEY_B);
    expect(asB.data.map((q) => q.fingerprint)).toEqual(['fp-secret']);
  });

  it('details one statement with its intervals and its sampled plan', async () => {
    const body = await json<{
      query: string;
      totals: { calls: number; cacheHitRatio: number };
      intervals: Array<{ intervalEnd: string; calls: number; database: string }>;
      samples: Array<{ durationMs: number; plan: unknown; source: string }>;
    }>('/api/v1/queries/fp-orders?entity=pg:main');
    expect(body.query).toBe('SELECT * FROM orders WHERE id = $1');
    expect(body.totals).toMatchObject({ calls: 30, cacheHitRatio: 0.9 });
    expect(body.intervals.map((i) => [i.calls, i.database])).toEqual([
      [10, 'shop'],
      [20, 'shop'],
    ]);
    expect(body.samples).toEqual([expect.objectContaining({ durationMs: 1500, plan: PLAN, source: 'plan' })]);
    for (const [url, key] of [
      ['/api/v1/queries/fp-nope', KEY_A],
      ['/api/v1/queries/fp-orders', KEY_B],
    ] as const) {
      const response = await get(url, key);
      expect(response.statusCode, url).toBe(404);
      expect(response.json<ErrorBody>().error.message).toMatch(/no statement with fingerprint .* is stored/);
    }
  });

  it('shows the sessions of a moment with who blocks whom, and where the time went', async () => {
    const body = await json<{
      snapshot: {
        sessionCount: number;
        sessions: Array<{ pid: number }>;
        blocking: Array<{
          pid: number;
          state: string;
          children: Array<{ pid: number; waitEvent: string; durationMs: number }>;
        }>;
      };
      series: Array<{ snapshots: number; waits: Record<string, number>; states: Record<string, number> }>;
    }>('/api/v1/databases/pg:main/activity');
    expect(body.snapshot.sessionCount).toBe(3);
    expect(body.snapshot.blocking).toEqual([
      expect.objectContaining({
        pid: 10,
        state: 'idle in transaction',
        children: [expect.objectContaining({ pid: 11, waitEvent: 'transactionid', durationMs: 4000 })],
      }),
    ]);
    expect(body.series).toEqual([
      expect.objectContaining({
        snapshots: 1,
        waits: { Lock: 1, CPU: 1 },
        states: { active: 2, 'idle in transaction': 1 },
      }),
    ]);
    const myDb = await json<{ snapshot: { sessions: Array<{ pid: number }> } }>(
      `/api/v1/databases/${encodeURIComponent('pg:main:my%20db')}/activity`,
    );
    expect(myDb.snapshot.sessions.map((s) => s.pid)).toEqual([12]);
    const before = await json<{ snapshot: null }>(
      `/api/v1/databases/pg:main/activity?at=${Date.now() - 3_600_000}`,
    );
    expect(before.snapshot).toBeNull();
  });

  it('makes server log lines searchable as logs of the postgresql service', async () => {
    const body = await json<{
      data: Array<{ severity: string; body: string; entityId: string; attributes: Record<string, unknown> }>;
    }>('/api/v1/logs?q=service:postgresql');
    expect(body.data.map((l) => [l.severity, l.entityId])).toEqual([
      ['ERROR', 'pg:main'],
      ['INFO', 'pg:main'],
    ]);
    expect(body.data[0]?.attributes).toMatchObject({
      sqlstate: '23505',
      database: 'shop',
      category: 'error',
    });
  });

  it('answers bad parameters with 400 and unknown entities with 404', async () => {
    const cases: Array<[string, number, RegExp]> = [
      ['/api/v1/queries?order=fast', 400, /order=fast is not supported/],
      ['/api/v1/queries?limit=501', 400, /from 1 to 500/],
      ['/api/v1/queries?entity=a&entity=b', 400, /querystring\/entity must be string/],
      ['/api/v1/queries?entity=pg:nope', 404, /no database or instance "pg:nope" is known/],
      ['/api/v1/databases/pg:main/activity?at=soon', 400, /at="soon" is not a time/],
      ['/api/v1/databases/pg:main/activity?step=1s', 400, /more than 2000 buckets/],
      ['/api/v1/databases/pg:main/activity?from=0', 422, /api\.query\.maxRangeDays/],
    ];
    for (const [url, status, message] of cases) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(status);
      expect(response.json<ErrorBody>().error.message, url).toMatch(message);
    }
  });
});

function backendsMetric(points: ReadonlyArray<[database: string, value: number]>): Buffer {
  const ts = Long.fromString(String(NOW - MINUTE), true);
  return Buffer.from(
    opentelemetry.proto.collector.v1.ExportMetricsServiceRequest.encode({
      resourceMetrics: [
        {
          resource: {
            attributes: [
              { key: 'service.name', value: { stringValue: 'postgresql' } },
              { key: 'sightline.entity.id', value: { stringValue: 'pg:main' } },
            ],
          },
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'postgresql.backends',
                  unit: '{connection}',
                  gauge: {
                    dataPoints: points.map(([db, value]) => ({
                      timeUnixNano: ts,
                      asDouble: value,
                      attributes: [{ key: 'postgresql.database.name', value: { stringValue: db } }],
                    })),
                  },
                },
              ],
            },
          ],
        },
      ],
    }).finish(),
  );
}
