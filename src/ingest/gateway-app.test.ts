import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { hashApiKey } from '../auth/api-key.js';
import { ApiKeyAuthenticator } from '../auth/authenticator.js';
import type { IncomingMessage } from '../bus/bus.js';
import { MemoryBus } from '../bus/memory.js';
import { rumEventRecord } from '../bus/raw-records.js';
import { HEADERS, TOPICS } from '../bus/topics.js';
import { silentLogger } from '../core/logger.js';
import { SelfMetrics } from '../core/telemetry.js';
import type { ControlStore } from '../store/control-store.js';
import { orgId } from '../store/rows.js';
import { buildGatewayApp, type RumOptions } from './gateway-app.js';

const KEY = 'sl_gateway_rum_test_key_0001';
const ORG = orgId('org_rum');

/** Knows one key, of ORG; the control store is not what is under test. */
const control = {
  findApiKeyByHash: async (hash: string) =>
    hash === hashApiKey(KEY)
      ? { id: 'key_1', orgId: ORG, name: 'test', prefix: 'sl_gate', createdAt: new Date(), revokedAt: null }
      : undefined,
} as unknown as ControlStore;

const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

interface Harness {
  gateway: FastifyInstance;
  bus: MemoryBus;
  metrics: SelfMetrics;
  /** What reached raw-rum, once committed. */
  published: IncomingMessage[];
}

const open: Harness[] = [];

afterEach(async () => {
  for (const { gateway, bus } of open.splice(0)) {
    await gateway.close();
    await bus.shutdown();
  }
});

/** The gateway on an in-memory bus whose raw-rum consumer commits at once, or once `hold` resolves. */
async function harness(options: { rum?: RumOptions; maxQueueMessages?: number; hold?: Promise<void> } = {}) {
  const logger = silentLogger();
  const bus = new MemoryBus(
    {
      maxQueueBytes: 1 << 24,
      maxQueueMessages: options.maxQueueMessages ?? 1000,
      retryAfterSeconds: 3,
      drainTimeoutMs: 100,
    },
    logger,
  );
  const published: IncomingMessage[] = [];
  await bus.consume(
    { group: 'test', topic: TOPICS.rawRum, maxBatchMessages: 100, maxBatchBytes: 1 << 24, maxWaitMs: 0 },
    async (messages) => {
      await options.hold;
      published.push(...messages);
    },
  );
  const metrics = new SelfMetrics({ processMetrics: false });
  const gateway = buildGatewayApp({
    authenticator: new ApiKeyAuthenticator(control),
    bus,
    metrics,
    logger,
    limits: { maxBodyBytes: 64 * 1024, maxAttributeDepth: 8 },
    ackTimeoutMs: 2000,
    retryAfterSeconds: 3,
    ...(options.rum === undefined ? {} : { rum: options.rum }),
  });
  const h: Harness = { gateway, bus, metrics, published };
  open.push(h);
  return h;
}

const now = Date.now();
const event = (overrides: Record<string, unknown> = {}) => ({
  type: 'page_view',
  sessionId: 'session-a',
  timestamp: now,
  url: 'https://shop.example/',
  ...overrides,
});

async function postRum(gateway: FastifyInstance, body: unknown, headers: Record<string, string> = {}) {
  return await gateway.inject({
    method: 'POST',
    url: '/v1/rum',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${KEY}`,
      'user-agent': CHROME,
      ...headers,
    },
    payload: Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
}

describe('POST /v1/rum', () => {
  it('publishes each accepted event to raw-rum keyed by its session, and lists the rejected ones', async () => {
    const { gateway, published, metrics } = await harness();
    const response = await postRum(gateway, {
      app: 'shop-web',
      release: '1.2.3',
      events: [
        event(),
        event({ type: 'web_vital', name: 'INP' }),
        event({ sessionId: 'session-b', type: 'error', message: 'boom' }),
      ],
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(response.json()).toEqual({
      accepted: 2,
      rejected: 1,
      errors: [
        { index: 1, reason: 'invalid_web_vital', message: 'web vital INP needs a value of 0 or more' },
      ],
    });
    // Acknowledged only once committed: the consumer has both by now.
    expect(published.map((m) => m.key)).toEqual(['session-a', 'session-b']);
    expect(published[0]?.headers).toMatchObject({
      [HEADERS.orgId]: ORG,
      [HEADERS.contentType]: 'application/json',
      [HEADERS.schemaVersion]: '1',
    });
    expect(Number(published[0]?.headers[HEADERS.receivedAt])).toBeGreaterThanOrEqual(now);
    const record = rumEventRecord.parse(JSON.parse(Buffer.from(published[1]!.value).toString()));
    expect(record).toMatchObject({
      type: 'error',
      message: 'boom',
      service: 'shop-web',
      release: '1.2.3',
      userAgent: CHROME,
      clientAddress: '127.0.0.1',
    });
    const text = await metrics.registry.metrics();
    expect(text).toContain('sightline_records_received_total{signal="rum"} 3');
    expect(text).toContain('sightline_records_accepted_total{signal="rum"} 2');
    expect(text).toContain('sightline_records_rejected_total{signal="rum",reason="invalid_web_vital"} 1');
  });

  it('takes a gzip body', async () => {
    const { gateway, published } = await harness();
    const response = await postRum(gateway, gzipSync(JSON.stringify({ events: [event()] })), {
      'content-encoding': 'gzip',
    });
    expect(response.json()).toEqual({ accepted: 1, rejected: 0, errors: [] });
    expect(published).toHaveLength(1);
  });

  it('locates by the socket unless trustProxy says to read X-Forwarded-For', async () => {
    const addressOf = async (rum: RumOptions | undefined): Promise<string> => {
      const { gateway, published } = await harness({ rum });
      await postRum(gateway, { events: [event()] }, { 'x-forwarded-for': '8.8.8.8, 10.0.0.1' });
      return rumEventRecord.parse(JSON.parse(Buffer.from(published[0]!.value).toString())).clientAddress;
    };
    expect(await addressOf(undefined)).toBe('127.0.0.1');
    expect(await addressOf({ trustProxy: false })).toBe('127.0.0.1');
    expect(await addressOf({ trustProxy: true })).toBe('8.8.8.8');
  });

  it('answers 401 without a key, readable by the page (CORS header), and publishes nothing', async () => {
    const { gateway, published } = await harness();
    const response = await postRum(gateway, { events: [event()] }, { authorization: '' });
    expect(response.statusCode).toBe(401);
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(response.json<{ message: string }>().message).toMatch(/^SL_ERR_UNAUTHENTICATED: missing API key/);
    expect(published).toEqual([]);
    const withHeader = await postRum(gateway, { events: [event()] }, { authorization: '', 'x-api-key': KEY });
    expect(withHeader.statusCode).toBe(200);
  });

  it('answers a CORS preflight without a key', async () => {
    const { gateway } = await harness();
    const response = await gateway.inject({
      method: 'OPTIONS',
      url: '/v1/rum',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(response.statusCode).toBe(204);
    expect(response.headers).toMatchObject({
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'POST, OPTIONS',
      'access-control-allow-headers': 'authorization, x-api-key, content-type, content-encoding',
      'access-control-max-age': '86400',
    });
    // The OTLP endpoints are for SDKs, not pages: no preflight there.
    const otlp = await gateway.inject({ method: 'OPTIONS', url: '/v1/logs' });
    expect(otlp.statusCode).not.toBe(204);
    expect(otlp.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers 400 to a body that is not a RUM request, and 415 to one that is not JSON', async () => {
    const { gateway } = await harness();
    const bad = await postRum(gateway, Buffer.from('{"events": ['));
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ message: string }>().message).toMatch(/SL_ERR_MALFORMED_BODY: the body is not valid/);
    const protobuf = await postRum(gateway, Buffer.from([1, 2]), {
      'content-type': 'application/x-protobuf',
    });
    expect(protobuf.statusCode).toBe(415);
    expect(protobuf.headers['content-type']).toBe('application/json');
    expect(protobuf.json<{ message: string }>().message).toMatch(/RUM events are JSON/);
  });

  it('answers 413 to a body over ingest.maxBodyBytes', async () => {
    const { gateway } = await harness();
    const response = await postRum(gateway, { events: [event({ title: 'x'.repeat(70 * 1024) })] });
    expect(response.statusCode).toBe(413);
    expect(response.headers['access-control-allow-origin']).toBe('*');
  });

  it('answers 503 with Retry-After when the pipeline is full, and stores the request it took', async () => {
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    const { gateway, published } = await harness({ maxQueueMessages: 1, hold });
    const first = postRum(gateway, { events: [event()] });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = await postRum(gateway, { events: [event({ sessionId: 'other' })] });
    expect(second.statusCode).toBe(503);
    expect(second.headers['retry-after']).toBe('3');
    expect(second.json<{ message: string }>().message).toMatch(/SL_ERR_BUS_FULL/);
    release();
    expect((await first).statusCode).toBe(200);
    expect(published.map((m) => m.key)).toEqual(['session-a']);
  });

  it('takes an empty list without publishing', async () => {
    const { gateway, published } = await harness();
    const response = await postRum(gateway, { app: 'x', events: [] });
    expect(response.json()).toEqual({ accepted: 0, rejected: 0, errors: [] });
    expect(published).toEqual([]);
  });
});
