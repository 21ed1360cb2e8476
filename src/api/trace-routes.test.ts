import { DEFAULT_QUERY_LIMITS } from '../query/query-limits.js';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { newHttpApp, toSightlineError } from '../core/http.js';
import { silentLogger } from '../core/logger.js';
import { msToNs } from '../core/time.js';
import type { OrgId } from '../store/rows.js';
import type { SpanRed, Store, TimeRange, TraceSearch, TraceSummary } from '../store/store.js';
import { registerTraceRoutes } from './trace-routes.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');

function fakeStore() {
  const calls: Array<{ org: OrgId; arg: TraceSearch | TimeRange; service?: string }> = [];
  const trace: TraceSummary = {
    traceId: 'a'.repeat(32),
    rootService: 'web',
    rootOperation: 'GET /',
    startTs: msToNs(NOW - 1000),
    durationNs: 1_500_000n,
    spanCount: 3,
    errorCount: 1,
  };
  const red: SpanRed = {
    service: 'web',
    operation: 'GET /',
    count: 7200,
    errors: 72,
    meanNs: 2e6,
    p50Ns: 1e6,
    p95Ns: 5e6,
    p99Ns: 9e6,
  };
  const store = {
    searchTraces(org: OrgId, search: TraceSearch) {
      calls.push({ org, arg: search });
      return Promise.resolve([trace]);
    },
    spanRed(org: OrgId, range: TimeRange, service?: string) {
      calls.push({ org, arg: range, ...(service === undefined ? {} : { service }) });
      return Promise.resolve([red]);
    },
  };
  return { store: store as unknown as Store, calls };
}

describe('trace routes', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  function build() {
    const fake = fakeStore();
    const server = newHttpApp(silentLogger());
    server.decorateRequest('auth', null);
    server.addHook('onRequest', async (request) => {
      request.auth = { orgId: 'org-1' as OrgId, role: 'viewer', principal: { kind: 'key', keyId: 'k' } };
    });
    server.setErrorHandler((error, _request, reply) => {
      const e = toSightlineError(error);
      return reply.code(e.status).send({ error: { code: e.code, message: e.message } });
    });
    registerTraceRoutes(server, fake.store, () => NOW, DEFAULT_QUERY_LIMITS.maxRangeMs);
    app = server;
    return { server, calls: fake.calls };
  }

  it('answers a search with one row per trace, for the caller org', async () => {
    const { server, calls } = build();
    const response = await server.inject({
      method: 'POST',
      url: '/api/v1/traces/search',
      payload: { service: 'web', status: 'error', limit: 5 },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      data: [
        {
          traceId: 'a'.repeat(32),
          rootService: 'web',
          rootOperation: 'GET /',
          startTime: '2024-05-01T11:59:59.000000000Z',
          startTimeUnixNano: String(msToNs(NOW - 1000)),
          durationNs: '1500000',
          durationMs: 1.5,
          spanCount: 3,
          errorCount: 1,
        },
      ],
      meta: {
        count: 1,
        limit: 5,
        from: '2024-05-01T11:00:00.000000000Z',
        to: '2024-05-01T12:00:00.000000000Z',
      },
    });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ org: 'org-1', arg: { service: 'web', status: 'error', limit: 5 } });
  });

  it.each([
    [{ status: 'bad' }, 'status'],
    [{ minDurationMs: 'slow' }, 'minDurationMs'],
    [{ attributes: { k: [1] } }, 'attributes.k'],
    [{ limit: 5000 }, 'limit'],
  ])('refuses %j with 400 naming %s', async (payload, field) => {
    const { server, calls } = build();
    const response = await server.inject({ method: 'POST', url: '/api/v1/traces/search', payload });
    expect(response.statusCode).toBe(400);
    const body = response.json<{ error: { code: string; message: string } }>();
    expect(body.error.code).toBe('SL_ERR_BAD_REQUEST');
    expect(body.error.message.startsWith(field)).toBe(true);
    expect(calls).toEqual([]);
  });

  it('gives RED per service and per operation with rates over the range', async () => {
    const { server, calls } = build();
    const services = await server.inject({ url: '/api/v1/services?from=2024-05-01T11:00:00Z' });
    expect(services.statusCode).toBe(200);
    expect(services.json()).toMatchObject({
      data: [
        {
          service: 'web',
          requests: 7200,
          requestRate: 2,
          errors: 72,
          errorRate: 0.01,
          meanMs: 2,
          p50Ms: 1,
          p95Ms: 5,
          p99Ms: 9,
        },
      ],
      meta: { count: 1, source: 'span_latency_1m' },
    });
    expect(services.json<{ data: object[] }>().data[0]).not.toHaveProperty('operation');

    const operations = await server.inject({ url: '/api/v1/services/my%20svc/operations' });
    expect(operations.statusCode).toBe(200);
    expect(operations.json()).toMatchObject({
      data: [{ service: 'web', operation: 'GET /', requests: 7200 }],
    });
    expect(calls[1]).toMatchObject({ org: 'org-1', service: 'my svc' });

    const tooLong = await server.inject({ url: `/api/v1/services?from=${NOW - 40 * 86_400_000}` });
    expect(tooLong.statusCode).toBe(422);
    expect(tooLong.json()).toMatchObject({ error: { code: 'SL_ERR_QUERY_LIMIT' } });
  });
});
