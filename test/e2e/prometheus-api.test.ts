import Long from 'long';
import { beforeAll, describe, expect, it } from 'vitest';
import { opentelemetry } from '../../src/otlp/generated/otlp.js';
import { post } from '../harness/otlp-requests.js';
import { sightlineForSuite } from '../harness/sightline-suite.js';

/**
 * The Prometheus-compatible API as Grafana's Prometheus data source calls it (Grafana 11: form
 * POSTs for queries, GETs for the metric browser, its own headers), over metrics that arrived
 * as OTLP — so also how OpenTelemetry names, histograms and delta sums look to PromQL.
 */

const S = 1_000_000_000n;
const STEP_S = 10;
const POINTS = 60;
/** OTLP AggregationTemporality. */
const DELTA = 1;
const CUMULATIVE = 2;

const nanos = (ns: bigint): Long => Long.fromString(String(ns), true);

function metricsBody(baseNs: bigint): Buffer {
  const at = (i: number) => nanos(baseNs + BigInt(i * STEP_S) * S);
  const indexes = Array.from({ length: POINTS }, (_, i) => i);
  const message = opentelemetry.proto.collector.v1.ExportMetricsServiceRequest.encode({
    resourceMetrics: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'checkout' } },
            { key: 'host.name', value: { stringValue: 'web-1' } },
          ],
        },
        scopeMetrics: [
          {
            scope: { name: 'grafana-e2e' },
            metrics: [
              {
                name: 'app.queue.depth',
                unit: '{item}',
                gauge: {
                  dataPoints: indexes.map((i) => ({
                    timeUnixNano: at(i),
                    asDouble: i,
                    attributes: [{ key: 'queue.name', value: { stringValue: 'orders' } }],
                  })),
                },
              },
              {
                name: 'app.jobs',
                unit: '{job}',
                sum: {
                  aggregationTemporality: DELTA,
                  isMonotonic: true,
                  dataPoints: indexes.map((i) => ({
                    startTimeUnixNano: at(i - 1),
                    timeUnixNano: at(i),
                    asInt: Long.fromNumber(3),
                  })),
                },
              },
              {
                name: 'app.latency',
                unit: 's',
                histogram: {
                  aggregationTemporality: CUMULATIVE,
                  dataPoints: indexes.map((i) => ({
                    startTimeUnixNano: at(-1),
                    timeUnixNano: at(i),
                    // Every step adds 10 observations: 2 ≤ 0.1 s, 6 in (0.1, 0.5], 2 in (0.5, 1].
                    count: Long.fromNumber(10 * (i + 1)),
                    sum: 3.2 * (i + 1),
                    explicitBounds: [0.1, 0.5, 1],
                    bucketCounts: [2, 6, 2, 0].map((n) => Long.fromNumber(n * (i + 1))),
                  })),
                },
              },
            ],
          },
        ],
      },
    ],
  }).finish();
  return Buffer.from(message);
}

/** What Grafana's data source proxy adds to every request. */
const GRAFANA_HEADERS = {
  accept: 'application/json, text/plain, */*',
  'user-agent': 'Grafana/11.3.0',
  'x-grafana-org-id': '1',
};

interface PromAnswer<T = unknown> {
  status: string;
  data: T;
  errorType?: string;
  error?: string;
}

describe('Prometheus API for Grafana', () => {
  const sightline = sightlineForSuite();
  const baseNs = (BigInt(Date.now()) / 60_000n) * 60_000n * 1_000_000n - BigInt(POINTS * STEP_S) * S;
  const baseSec = Number(baseNs / S);
  const endSec = baseSec + (POINTS - 1) * STEP_S;

  const call = async <T = unknown>(
    method: 'GET' | 'POST',
    path: string,
    params: Record<string, string | string[]>,
    key: string | null = sightline.server.key,
  ): Promise<{ status: number; body: PromAnswer<T> }> => {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      for (const v of Array.isArray(value) ? value : [value]) search.append(name, v);
    }
    const url = `${sightline.server.apiUrl}/prometheus/api/v1${path}`;
    const headers: Record<string, string> = { ...GRAFANA_HEADERS };
    if (key !== null) headers.authorization = `Bearer ${key}`;
    const response =
      method === 'GET'
        ? await fetch(`${url}?${search.toString()}`, { headers })
        : await fetch(url, {
            method: 'POST',
            headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
            body: search.toString(),
          });
    return { status: response.status, body: (await response.json()) as PromAnswer<T> };
  };

  beforeAll(async () => {
    const sent = await post(`${sightline.server.ingestUrl}/v1/metrics`, metricsBody(baseNs), {
      'content-type': 'application/x-protobuf',
      authorization: `Bearer ${sightline.server.key}`,
    });
    expect(sent.status).toBe(200);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const stats = await sightline.api.get<{ metricPoints: number }>('/api/v1/stats');
      if (stats.body.metricPoints >= POINTS * 3) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error('the metrics were not stored within 20 s');
  });

  it('answers the data source health check (buildinfo, then 1+1)', async () => {
    const info = await call<{ version: string }>('GET', '/status/buildinfo', {});
    expect(info.status).toBe(200);
    expect(info.body.data.version).toMatch(/^2\.\d+\.\d+$/);
    const check = await call('POST', '/query', { query: '1+1', time: String(endSec) });
    expect(check.body).toEqual({ status: 'success', data: { resultType: 'scalar', result: [endSec, '2'] } });
  });

  it("lists metric names, labels and a label's values for the metric browser", async () => {
    const range = { start: String(baseSec - 60), end: String(endSec + 60) };
    const names = await call<string[]>('GET', '/label/__name__/values', range);
    expect(names.body.data).toEqual([
      'app_jobs',
      'app_latency_bucket',
      'app_latency_count',
      'app_latency_sum',
      'app_queue_depth',
    ]);
    const labels = await call<string[]>('GET', '/labels', range);
    expect(labels.body.data).toEqual(expect.arrayContaining(['__name__', 'instance', 'job', 'queue_name']));
    const jobs = await call<string[]>('GET', '/label/job/values', { ...range, 'match[]': 'app_queue_depth' });
    expect(jobs.body.data).toEqual(['checkout']);
    const series = await call<Array<Record<string, string>>>('GET', '/series', {
      ...range,
      'match[]': ['app_latency_bucket{le="+Inf"}', 'app_queue_depth'],
    });
    expect(series.body.data).toEqual(
      expect.arrayContaining([
        { __name__: 'app_queue_depth', job: 'checkout', instance: 'web-1', queue_name: 'orders' },
        { __name__: 'app_latency_bucket', job: 'checkout', instance: 'web-1', le: '+Inf' },
      ]),
    );
    expect(series.body.data).toHaveLength(2);
    const metadata = await call<Record<string, Array<{ type: string }>>>('GET', '/metadata', {});
    expect(metadata.body.data.app_latency?.[0]?.type).toBe('histogram');
    expect(metadata.body.data.app_jobs?.[0]?.type).toBe('counter');
  });

  it('runs a dashboard range query posted as a form', async () => {
    const answer = await call<{
      resultType: string;
      result: Array<{ metric: Record<string, string>; values: [number, string][] }>;
    }>('POST', '/query_range', {
      query: 'max by (queue_name) (app_queue_depth)',
      start: String(baseSec),
      end: String(endSec),
      step: '60',
    });
    expect(answer.status).toBe(200);
    expect(answer.body.data.resultType).toBe('matrix');
    const [series] = answer.body.data.result;
    expect(series?.metric).toEqual({ queue_name: 'orders' });
    // The gauge is i at base + 10 s × i: at each step the latest point is the step's own.
    expect(series?.values).toEqual(
      Array.from({ length: Math.floor(((POINTS - 1) * STEP_S) / 60) + 1 }, (_, k) => [
        baseSec + 60 * k,
        String(6 * k),
      ]),
    );
  });

  it('reads a delta sum as a counter and a histogram as buckets', async () => {
    const time = String(endSec);
    const jobs = await call<{ result: Array<{ value: [number, string] }> }>('POST', '/query', {
      query: 'increase(app_jobs[5m])',
      time,
    });
    // 3 per 10 s: 30 samples in 5 minutes, 29 intervals of 3 extrapolated to the window.
    expect(Number(jobs.body.data.result[0]?.value[1])).toBeGreaterThan(85);
    expect(Number(jobs.body.data.result[0]?.value[1])).toBeLessThan(95);
    const p50 = await call<{ result: Array<{ value: [number, string] }> }>('POST', '/query', {
      query: 'histogram_quantile(0.5, sum by (le) (rate(app_latency_bucket[5m])))',
      time,
    });
    // Half of the observations fall at or below the middle of the (0.1, 0.5] bucket:
    // rank 0.5 of 10 is 3 into that bucket's 6, so 0.1 + 0.4 × 3 / 6 = 0.3.
    expect(Number(p50.body.data.result[0]?.value[1])).toBeCloseTo(0.3, 9);
    const mean = await call<{ result: Array<{ value: [number, string] }> }>('POST', '/query', {
      query: 'rate(app_latency_sum[5m]) / rate(app_latency_count[5m])',
      time,
    });
    expect(Number(mean.body.data.result[0]?.value[1])).toBeCloseTo(0.32, 9);
  });

  it('answers exemplar lookups with an empty list', async () => {
    const answer = await call('POST', '/query_exemplars', {
      query: 'app_queue_depth',
      start: '0',
      end: time(),
    });
    expect(answer.body).toEqual({ status: 'success', data: [] });
  });

  it("answers errors in Prometheus' envelope", async () => {
    const bad = await call('POST', '/query', { query: 'sum(rate(app_jobs[5m])' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ status: 'error', errorType: 'bad_data' });
    expect(bad.body.error).toMatch(/line 1, column \d+/);
    const wide = await call('POST', '/query_range', {
      query: 'app_queue_depth',
      start: String(endSec - 400 * 86_400),
      end: String(endSec),
      step: '86400',
    });
    expect(wide.status).toBe(422);
    expect(wide.body).toMatchObject({ status: 'error', errorType: 'execution' });
    expect(wide.body.error).toMatch(/api\.query\.maxRangeDays/);
    const anonymous = await call('GET', '/query', { query: 'up' }, null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ status: 'error', errorType: 'unauthorized' });
  });

  it('serves the same engine at /api/v1/metrics/query_range with a JSON body', async () => {
    const { status, body } = await jsonPost('/api/v1/metrics/query_range', {
      query: 'sum(app_queue_depth) * 2',
      start: baseSec,
      end: endSec,
      step: '2m',
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      data: {
        resultType: 'matrix',
        result: [
          {
            metric: {},
            values: [0, 1, 2, 3, 4].map((k) => [baseSec + 120 * k, String(24 * k)]),
          },
        ],
      },
    });
    const instant = await jsonPost('/api/v1/metrics/query', { query: 'app_queue_depth', time: endSec });
    expect(instant.body).toMatchObject({
      data: { resultType: 'vector', result: [{ value: [endSec, String(POINTS - 1)] }] },
    });
    const invalid = await jsonPost('/api/v1/metrics/query', { query: 'app_queue_depth{' });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({ error: { code: 'SL_ERR_BAD_REQUEST' } });
  });

  const time = (): string => String(Math.floor(Date.now() / 1000));

  async function jsonPost(path: string, body: unknown): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${sightline.server.apiUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sightline.server.key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  }
});
