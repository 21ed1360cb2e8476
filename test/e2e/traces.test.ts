import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { describe, expect, it, vi } from 'vitest';
import { tracesPipeline } from '../harness/otel-sdk.js';
import { sightlineForSuite } from '../harness/sightline-suite.js';

interface TraceRow {
  traceId: string;
  rootService: string;
  rootOperation: string;
  durationMs: number;
  spanCount: number;
  errorCount: number;
}

interface RedRow {
  service: string;
  operation?: string;
  requests: number;
  errors: number;
  errorRate: number;
  requestRate: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

describe('trace search and RED metrics through `sightline start`', () => {
  // Rollups every second, so span_latency_1m has the spans within the test.
  const sightline = sightlineForSuite({
    env: { SIGHTLINE_STORE__RETENTION__ROLLUPS__INTERVAL_SECONDS: '1' },
  });

  async function searchTraces(body: unknown): Promise<{ status: number; body: { data: TraceRow[] } }> {
    const response = await fetch(`${sightline.api.baseUrl}/api/v1/traces/search`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sightline.api.key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as { data: TraceRow[] } };
  }

  it('finds traces sent by the OpenTelemetry SDK and reports their services and operations', async () => {
    const service = 'shop-e2e';
    const { provider, tracer, tally } = tracesPipeline(
      sightline.server.ingestUrl,
      sightline.server.key,
      'proto',
      service,
    );
    const now = Date.now();
    const traceIds: string[] = [];
    // Four requests of 100 ms (the last one failing) and one of 400 ms, each with a DB call.
    for (const [i, ms] of [100, 100, 100, 100, 400].entries()) {
      const start = now - 1000 + i * 10;
      const root = tracer.startSpan('GET /cart', {
        kind: SpanKind.SERVER,
        startTime: start,
        attributes: { 'http.route': '/cart', 'request.index': i },
      });
      traceIds.push(root.spanContext().traceId);
      const child = tracer.startSpan(
        'SELECT cart',
        { kind: SpanKind.CLIENT, startTime: start + 1 },
        trace.setSpan(ROOT_CONTEXT, root),
      );
      child.end(start + 6);
      if (i === 3) root.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
      root.end(start + ms);
    }
    await provider.forceFlush();
    expect(tally).toMatchObject({ succeeded: 10, failed: 0 });

    let all: TraceRow[] = [];
    await vi.waitUntil(
      async () => {
        all = (await searchTraces({ service })).body.data;
        return all.length === 5;
      },
      { timeout: 15_000, interval: 200 },
    );
    expect(all.map((t) => t.traceId)).toEqual([...traceIds].reverse());
    expect(all[0]).toMatchObject({ rootService: service, rootOperation: 'GET /cart', spanCount: 2 });
    expect(all[0]?.durationMs).toBeCloseTo(400, 0);

    const slow = await searchTraces({ service, minDurationMs: 300 });
    expect(slow.body.data.map((t) => t.traceId)).toEqual([traceIds[4]]);
    const failed = await searchTraces({ service, status: 'error', operation: 'GET /cart' });
    expect(failed.body.data).toMatchObject([{ traceId: traceIds[3], errorCount: 1 }]);
    const byAttribute = await searchTraces({ attributes: { 'request.index': 2 } });
    expect(byAttribute.body.data.map((t) => t.traceId)).toEqual([traceIds[2]]);
    const limited = await searchTraces({ service, limit: 2 });
    expect(limited.body.data.map((t) => t.traceId)).toEqual([traceIds[4], traceIds[3]]);

    const bad = await searchTraces({ status: 'broken' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('status');

    let services: RedRow[] = [];
    await vi.waitUntil(
      async () => {
        const { body } = await sightline.api.get<{ data: RedRow[] }>('/api/v1/services');
        services = body.data;
        // Client and server spans of the service: 10 once the rollup has run over them.
        return services.some((s) => s.service === service && s.requests === 10);
      },
      { timeout: 20_000, interval: 500 },
    );
    expect(services.find((s) => s.service === service)).toMatchObject({ errors: 1, errorRate: 0.1 });

    const { status, body } = await sightline.api.get<{ data: RedRow[] }>(
      `/api/v1/services/${encodeURIComponent(service)}/operations`,
    );
    expect(status).toBe(200);
    const cart = body.data.find((o) => o.operation === 'GET /cart');
    const select = body.data.find((o) => o.operation === 'SELECT cart');
    expect(cart).toMatchObject({ service, requests: 5, errors: 1, errorRate: 0.2 });
    expect(select).toMatchObject({ requests: 5, errors: 0 });
    // Within each minute the quantiles are exact; across minutes a count-weighted average.
    expect(cart?.p50Ms).toBeGreaterThanOrEqual(100);
    expect(cart?.p99Ms).toBeGreaterThan(cart?.p50Ms ?? Infinity);
    expect(cart?.p99Ms).toBeLessThanOrEqual(400);
    expect(select?.p50Ms).toBeCloseTo(5, 0);
    await provider.shutdown();
  });
});
