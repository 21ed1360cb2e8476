import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { sightlineForSuite } from '../harness/sightline-suite.js';
import { logsPipeline, metricsPipeline, tracesPipeline, type Encoding } from '../harness/otel-sdk.js';

const ENCODINGS: Encoding[] = ['proto', 'json'];

describe('the OpenTelemetry JS SDK sending to `sightline start`', () => {
  const sightline = sightlineForSuite();

  for (const encoding of ENCODINGS) {
    it(`stores logs sent as ${encoding} and returns them with their fields`, async () => {
      const service = `logs-${encoding}`;
      const { provider, logger, tally, SeverityNumber } = logsPipeline(
        sightline.server.ingestUrl,
        sightline.server.key,
        encoding,
        service,
      );
      const traceId =
        encoding === 'proto' ? '4bf92f3577b34da6a3ce929d0e0e4736' : '0af7651916cd43dd8448eb211c80319c';
      const spanId = '00f067aa0ba902b7';
      const context = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: 1 });
      for (let i = 0; i < 50; i++) {
        logger.emit({
          body: `${encoding} order ${i} placed`,
          severityNumber: i % 10 === 0 ? SeverityNumber.ERROR : SeverityNumber.INFO,
          severityText: i % 10 === 0 ? 'ERROR' : 'INFO',
          attributes: { 'order.id': i, 'user.email.verified': true, 'cart.items': ['a', 'b'] },
          context,
        });
      }
      await provider.forceFlush();
      expect(tally).toMatchObject({ succeeded: 50, failed: 0 });

      const logs = await sightline.api.logs({ q: `service:${service}`, limit: '1000' });
      expect(logs).toHaveLength(50);
      const first = logs.find((l) => l.body === `${encoding} order 0 placed`);
      expect(first).toMatchObject({
        service,
        host: 'e2e-host',
        severity: 'ERROR',
        severityNumber: 17,
        severityText: 'ERROR',
        traceId,
        spanId,
        scope: 'e2e',
        attributes: { 'order.id': 0, 'user.email.verified': true, 'cart.items': ['a', 'b'] },
        resource: { 'service.name': service, 'host.name': 'e2e-host' },
      });
      expect(first?.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/);
      const errors = await sightline.api.logs({ q: `service:${service} level:error`, limit: '1000' });
      expect(errors.map((l) => l.body).sort()).toEqual(
        [0, 10, 20, 30, 40].map((i) => `${encoding} order ${i} placed`).sort(),
      );
      const text = await sightline.api.logs({ q: `service:${service} "order 7 placed"` });
      expect(text.map((l) => l.body)).toEqual([`${encoding} order 7 placed`]);
      await provider.shutdown();
    });

    it(`stores a trace sent as ${encoding} and returns it as a tree with timing`, async () => {
      const service = `traces-${encoding}`;
      const { provider, tracer, tally } = tracesPipeline(
        sightline.server.ingestUrl,
        sightline.server.key,
        encoding,
        service,
      );
      // No global context manager is registered in a test, so the parent is passed explicitly.
      const root = tracer.startSpan('GET /checkout', {
        kind: SpanKind.SERVER,
        attributes: { 'http.route': '/checkout' },
      });
      const traceId = root.spanContext().traceId;
      const child = tracer.startSpan(
        'SELECT orders',
        { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql' } },
        trace.setSpan(ROOT_CONTEXT, root),
      );
      child.addEvent('rows fetched', { rows: 3 });
      child.setStatus({ code: SpanStatusCode.ERROR, message: 'timeout' });
      child.end();
      root.end();
      await provider.forceFlush();
      expect(tally).toMatchObject({ succeeded: 2, failed: 0 });

      const { status, body } = await sightline.api.get<{
        traceId: string;
        spanCount: number;
        services: string[];
        spans: Array<Record<string, unknown>>;
      }>(`/api/v1/traces/${traceId}`);
      expect(status).toBe(200);
      expect(body).toMatchObject({ traceId, spanCount: 2, services: [service] });
      const rootView = body.spans.find((s) => s.name === 'GET /checkout');
      const childView = body.spans.find((s) => s.name === 'SELECT orders');
      expect(body.spans[0]).toBe(rootView);
      expect(rootView).toMatchObject({
        name: 'GET /checkout',
        kind: 'server',
        parentSpanId: '',
        depth: 0,
        status: 'unset',
      });
      expect(childView).toMatchObject({
        name: 'SELECT orders',
        kind: 'client',
        parentSpanId: rootView?.spanId,
        depth: 1,
        status: 'error',
        statusMessage: 'timeout',
        attributes: { 'db.system': 'postgresql' },
        events: [{ name: 'rows fetched', attributes: { rows: 3 } }],
      });
      expect(Number(rootView?.durationNs)).toBeGreaterThanOrEqual(Number(childView?.durationNs));
      await provider.shutdown();
    });

    it(`stores metrics sent as ${encoding}: sums, gauges and histograms`, async () => {
      const service = `metrics-${encoding}`;
      const { provider, meter, tally } = metricsPipeline(
        sightline.server.ingestUrl,
        sightline.server.key,
        encoding,
        service,
      );
      const requests = meter.createCounter(`e2e.${encoding}.requests`, { unit: '{request}' });
      const latency = meter.createHistogram(`e2e.${encoding}.latency`, { unit: 'ms' });
      const temperature = meter.createGauge(`e2e.${encoding}.temperature`, { unit: 'Cel' });
      requests.add(3, { route: '/a' });
      requests.add(4, { route: '/b' });
      requests.add(1, { route: '/a' });
      for (const ms of [5, 15, 25, 2000]) latency.record(ms, { route: '/a' });
      temperature.record(21.5, { room: 'lab' });
      await provider.forceFlush();
      expect(tally).toMatchObject({ succeeded: 1, failed: 0 });

      const counters = await sightline.api.get<{
        series: Array<{ kind: string; labels: Record<string, string>; points: number[][] }>;
      }>(`/api/v1/metrics?name=e2e.${encoding}.requests`);
      expect(counters.status).toBe(200);
      const byRoute = new Map(counters.body.series.map((s) => [s.labels.route, s]));
      expect(byRoute.get('/a')).toMatchObject({ kind: 'sum' });
      expect(byRoute.get('/a')?.points.map((p) => p[1])).toEqual([4]);
      expect(byRoute.get('/b')?.points.map((p) => p[1])).toEqual([4]);

      const histogram = await sightline.api.get<{
        series: Array<{ kind: string; unit: string; points: number[][] }>;
      }>(`/api/v1/metrics?name=e2e.${encoding}.latency&step=1m`);
      expect(histogram.body.series).toHaveLength(1);
      expect(histogram.body.series[0]).toMatchObject({ kind: 'histogram', unit: 'ms' });
      expect(histogram.body.series[0]?.points[0]?.[1]).toBeCloseTo((5 + 15 + 25 + 2000) / 4);

      const gauge = await sightline.api.get<{
        series: Array<{ kind: string; labels: Record<string, string>; points: number[][] }>;
      }>(`/api/v1/metrics?name=e2e.${encoding}.temperature`);
      expect(gauge.body.series[0]).toMatchObject({ kind: 'gauge', labels: { room: 'lab' } });
      expect(gauge.body.series[0]?.points[0]?.[1]).toBe(21.5);
      await provider.shutdown();
    });
  }

  it('counts every stored record per signal on /api/v1/stats and serves the web UI', async () => {
    const stats = await sightline.api.get<{ logs: number; spans: number; metricPoints: number }>(
      '/api/v1/stats',
    );
    expect(stats.body.logs).toBe(100);
    expect(stats.body.spans).toBe(4);
    expect(stats.body.metricPoints).toBeGreaterThanOrEqual(8);
    const page = await fetch(`${sightline.server.apiUrl}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root"></div>');
  });
});
