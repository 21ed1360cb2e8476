import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApiApp } from '../../src/api/api-app.js';
import { displayPrefix, hashApiKey } from '../../src/auth/api-key.js';
import { ApiKeyAuthenticator } from '../../src/auth/authenticator.js';
import { MemoryBus } from '../../src/bus/memory.js';
import { silentLogger } from '../../src/core/logger.js';
import { SelfMetrics } from '../../src/core/telemetry.js';
import { buildGatewayApp } from '../../src/ingest/gateway-app.js';
import { ProcessorRole } from '../../src/process/processor.js';
import { createStageChain } from '../../src/process/stages/registry.js';
import { configSchema } from '../../src/config/schema.js';
import { DuckDBControlStore } from '../../src/store/duckdb/control-store.js';
import { DuckDBDatabase } from '../../src/store/duckdb/database.js';
import { DuckDBStore } from '../../src/store/duckdb/telemetry-store.js';
import { logsRequestBody } from '../harness/otlp-requests.js';

const KEY_A = 'sl_orgA_integration_key_0001';
const KEY_B = 'sl_orgB_integration_key_0001';

/** Gateway, bus, processor, store and API wired as `sightline start` wires them, without sockets. */
describe('query API over the real pipeline', () => {
  let dir: string;
  let database: DuckDBDatabase;
  let bus: MemoryBus;
  let processor: ProcessorRole;
  let gateway: FastifyInstance;
  let api: FastifyInstance;
  let ready = true;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sightline-api-'));
    const logger = silentLogger();
    database = await DuckDBDatabase.open(
      { path: join(dir, 'db.duckdb'), memoryLimit: '512MB', checkpointThreshold: '64MB' },
      logger,
    );
    await database.migrate();
    const control = new DuckDBControlStore(database);
    for (const [name, key] of [
      ['org-a', KEY_A],
      ['org-b', KEY_B],
    ] as const) {
      const org = await control.createOrg(name);
      await control.createApiKey({
        orgId: org.id,
        name: 'test',
        prefix: displayPrefix(key),
        keyHash: hashApiKey(key),
      });
    }
    const store = new DuckDBStore(database);
    await store.start();
    const metrics = new SelfMetrics({ processMetrics: false });
    bus = new MemoryBus(
      { maxQueueBytes: 64 * 1024 * 1024, maxQueueMessages: 1000, retryAfterSeconds: 1 },
      logger,
    );
    processor = new ProcessorRole({
      stages: createStageChain(configSchema.parse({}).processor.stages),
      bus,
      store,
      metrics,
      logger,
      batch: { maxMessages: 100, maxBytes: 64 * 1024 * 1024, maxWaitMs: 5 },
    });
    await processor.start();
    const authenticator = new ApiKeyAuthenticator(control);
    gateway = buildGatewayApp({
      authenticator,
      bus,
      metrics,
      logger,
      limits: { maxBodyBytes: 1024 * 1024, maxAttributeDepth: 8 },
      ackTimeoutMs: 5000,
      retryAfterSeconds: 1,
    });
    api = buildApiApp({
      authenticator,
      control,
      store,
      metrics,
      logger,
      readiness: () => (ready ? { ready } : { ready, reason: 'shutting down' }),
    });
  });

  afterAll(async () => {
    await gateway.close();
    await api.close();
    await bus.shutdown();
    await processor.shutdown();
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function send(key: string, bodies: string[], service: string): Promise<void> {
    const response = await gateway.inject({
      method: 'POST',
      url: '/v1/logs',
      headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${key}` },
      payload: logsRequestBody(bodies, service),
    });
    expect(response.statusCode).toBe(200);
  }

  function get(url: string, key = KEY_A) {
    return api.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
  }

  it("lets each key read only its own org's records", async () => {
    await send(KEY_A, ['a secret of org a'], 'shared-name');
    await send(KEY_B, ['a secret of org b'], 'shared-name');
    const asA = (await get('/api/v1/logs?q=secret')).json<{ data: Array<{ body: string }> }>();
    const asB = (await get('/api/v1/logs?q=secret', KEY_B)).json<{ data: Array<{ body: string }> }>();
    expect(asA.data.map((l) => l.body)).toEqual(['a secret of org a']);
    expect(asB.data.map((l) => l.body)).toEqual(['a secret of org b']);
    const statsA = (await get('/api/v1/stats')).json<{ logs: number }>();
    expect(statsA.logs).toBe(1);
  });

  it('ignores any header that tries to pick another org', async () => {
    const response = await api.inject({
      method: 'GET',
      url: '/api/v1/logs?q=secret',
      headers: { authorization: `Bearer ${KEY_A}`, 'x-org-id': 'org-b', 'org-id': 'org-b' },
    });
    expect(response.json<{ data: Array<{ body: string }> }>().data.map((l) => l.body)).toEqual([
      'a secret of org a',
    ]);
  });

  it('honours limit and returns newest first', async () => {
    await send(KEY_A, ['seq 1', 'seq 2', 'seq 3'], 'ordering');
    const body = (await get('/api/v1/logs?q=service:ordering&limit=2')).json<{
      data: Array<{ body: string }>;
      meta: { count: number; limit: number };
    }>();
    expect(body.data.map((l) => l.body)).toEqual(['seq 3', 'seq 2']);
    expect(body.meta).toMatchObject({ count: 2, limit: 2 });
  });

  it('accepts from/to as RFC 3339 or epoch milliseconds', async () => {
    const now = Date.now();
    const epoch = (
      await get(`/api/v1/logs?q=service:ordering&from=${now - 60_000}&to=${now + 60_000}`)
    ).json<{ data: unknown[] }>();
    expect(epoch.data).toHaveLength(3);
    const rfc = (
      await get(
        `/api/v1/logs?q=service:ordering&from=${new Date(now - 60_000).toISOString()}&to=${new Date(now + 60_000).toISOString()}`,
      )
    ).json<{ data: unknown[] }>();
    expect(rfc.data).toHaveLength(3);
    const past = (
      await get(`/api/v1/logs?q=service:ordering&from=2001-01-01T00:00:00Z&to=2001-01-02T00:00:00Z`)
    ).json<{ data: unknown[] }>();
    expect(past.data).toHaveLength(0);
  });

  it('answers bad query parameters with 400 and what to do', async () => {
    const cases: Array<[string, RegExp]> = [
      ['/api/v1/logs?limit=10001', /limit="10001" must be an integer from 1 to 10000/],
      ['/api/v1/logs?from=yesterday', /from="yesterday" is not a time/],
      ['/api/v1/logs?q=level:loud', /level:loud is not a level/],
      ['/api/v1/metrics', /name is required/],
      ['/api/v1/metrics?name=x&step=1ms', /more than 11000 buckets/],
      ['/api/v1/traces/not-hex', /is not a trace id/],
      ['/api/v1/metrics?name=a&name=b', /querystring\/name must be string/],
      ['/api/v1/logs?from=1&from=2', /querystring\/from must be string/],
      ['/api/v1/logs?to=999999999999999', /later than the latest time Sightline stores/],
      ['/api/v1/logs?from=9999-01-01T00:00:00Z&to=9999-01-02T00:00:00Z', /later than the latest time/],
    ];
    for (const [url, message] of cases) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(400);
      expect(response.json<{ error: { code: string; message: string } }>().error).toMatchObject({
        code: 'SL_ERR_BAD_REQUEST',
      });
      expect(response.json<{ error: { message: string } }>().error.message).toMatch(message);
    }
  });

  it('answers 404 for a trace that is not stored and for unknown paths', async () => {
    const trace = await get('/api/v1/traces/0123456789abcdef0123456789abcdef');
    expect(trace.statusCode).toBe(404);
    expect(trace.json<{ error: { message: string } }>().error.message).toMatch(/no spans stored for trace/);
    expect((await get('/api/v1/nothing')).statusCode).toBe(404);
  });

  it('requires a key for the API and /metrics but not for health, readiness or the start page', async () => {
    for (const url of ['/api/v1/logs', '/api/v1/stats', '/metrics']) {
      expect((await api.inject({ method: 'GET', url })).statusCode, url).toBe(401);
    }
    expect((await api.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await api.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    expect((await api.inject({ method: 'GET', url: '/' })).headers['content-type']).toContain('text/html');
    const metrics = await get('/metrics');
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/sightline_records_stored_total\{table="logs"\} \d+/);
    expect(metrics.body).toMatch(/sightline_store_batch_duration_seconds_bucket/);
  });

  it('reports not ready (503) once shutting down', async () => {
    ready = false;
    const response = await api.inject({ method: 'GET', url: '/readyz' });
    ready = true;
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ status: 'not ready', reason: 'shutting down' });
  });

  it('stores a retried batch once', async () => {
    const body = logsRequestBody(['retried once'], 'retries');
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await gateway.inject({
        method: 'POST',
        url: '/v1/logs',
        headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${KEY_A}` },
        payload: body,
      });
      expect(response.statusCode).toBe(200);
    }
    const found = (await get('/api/v1/logs?q=service:retries')).json<{ data: unknown[] }>();
    expect(found.data).toHaveLength(1);
  });

  it('answers 503 when its records are not stored within the ack timeout', async () => {
    const stuckBus = new MemoryBus(
      { maxQueueBytes: 1e9, maxQueueMessages: 100, retryAfterSeconds: 4 },
      silentLogger(),
    );
    await stuckBus.consume(
      { group: 'g', topic: 'otel-logs', maxBatchMessages: 1, maxBatchBytes: 1e9, maxWaitMs: 0 },
      () => new Promise<void>(() => undefined),
    );
    const stuck = buildGatewayApp({
      authenticator: new ApiKeyAuthenticator(new DuckDBControlStore(database)),
      bus: stuckBus,
      metrics: new SelfMetrics({ processMetrics: false }),
      logger: silentLogger(),
      limits: { maxBodyBytes: 1024 * 1024, maxAttributeDepth: 8 },
      ackTimeoutMs: 100,
      retryAfterSeconds: 4,
    });
    const response = await stuck.inject({
      method: 'POST',
      url: '/v1/logs',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY_A}` },
      payload: '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"never stored"}}]}]}]}',
    });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('4');
    expect(response.json<{ message: string }>().message).toMatch(
      /SL_ERR_STORE_UNAVAILABLE: the records were not stored within 0.1 s/,
    );
    await stuck.close();
  });

  it('answers 415 to a POST with neither body nor content type', async () => {
    const response = await gateway.inject({
      method: 'POST',
      url: '/v1/logs',
      headers: { authorization: `Bearer ${KEY_A}` },
    });
    expect(response.statusCode).toBe(415);
    expect(response.json<{ message: string }>().message).toMatch(/no body or no Content-Type/);
  });

  it('answers 503 with Retry-After when the pipeline is full, never a 2xx it cannot keep', async () => {
    const slowBus = new MemoryBus(
      { maxQueueBytes: 1, maxQueueMessages: 1, retryAfterSeconds: 7 },
      silentLogger(),
    );
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await slowBus.consume(
      { group: 'g', topic: 'otel-logs', maxBatchMessages: 1, maxBatchBytes: 1e9, maxWaitMs: 0 },
      () => held,
    );
    const control = new DuckDBControlStore(database);
    const full = buildGatewayApp({
      authenticator: new ApiKeyAuthenticator(control),
      bus: slowBus,
      metrics: new SelfMetrics({ processMetrics: false }),
      logger: silentLogger(),
      limits: { maxBodyBytes: 1024 * 1024, maxAttributeDepth: 8 },
      ackTimeoutMs: 5000,
      retryAfterSeconds: 1,
    });
    const request = (text: string) =>
      full.inject({
        method: 'POST',
        url: '/v1/logs',
        headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${KEY_A}` },
        payload: logsRequestBody([text], 'full'),
      });
    const first = request('first');
    await new Promise((r) => setTimeout(r, 20));
    const second = await request('second');
    expect(second.statusCode).toBe(503);
    expect(second.headers['retry-after']).toBe('7');
    release();
    expect((await first).statusCode).toBe(200);
    await full.close();
    await slowBus.shutdown();
  });
});
