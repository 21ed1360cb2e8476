import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus, type PrometheusInstance } from '../harness/prometheus.js';
import { sightlineForSuite } from '../harness/sightline-suite.js';
import { sendRemoteWrite, type SeriesSamples } from '../helpers/remote-write.js';

/**
 * The PromQL subset against a real Prometheus (Debian's 2.42) fed the same samples by remote
 * write: every expression below must give the same series and values, as an instant query and
 * as a range query. Samples sit 7 s past each 15 s step and queries run on whole minutes, so
 * no sample lies on a window's edge, where engines may legitimately differ by version.
 */

const STEP_MS = 15_000;
const SPAN_MS = 45 * 60_000;
const TOLERANCE = 1e-9;

/** Deterministic noise, so a failure reproduces. */
function noise(seed: number): number {
  const x = Math.sin(seed * 12.9898) * 43758.5453;
  return x - Math.floor(x);
}

function buildSeries(startMs: number): SeriesSamples[] {
  const times = Array.from({ length: SPAN_MS / STEP_MS }, (_, i) => startMs + i * STEP_MS + 7_000);
  const series: SeriesSamples[] = [];
  let seed = 1;
  for (const instance of ['a:9100', 'b:9100']) {
    for (const method of ['GET', 'POST']) {
      for (const code of ['200', '500']) {
        let total = 0;
        const s = seed++;
        series.push({
          labels: { __name__: 'http_requests_total', job: 'api', instance, method, code },
          samples: times.map((ts, i) => {
            // One series restarts halfway: rate and increase must treat the drop as a reset.
            if (s === 3 && i === 90) total = 0;
            total += Math.round(noise(s * 1000 + i) * (code === '200' ? 40 : 4));
            return [ts, total] as const;
          }),
        });
      }
    }
    series.push({
      labels: { __name__: 'node_memory_bytes', job: 'node', instance },
      samples: times.map((ts, i) => [ts, 4e9 + 1e8 * Math.sin(i / 10 + seed) + noise(i) * 1e6] as const),
    });
    for (const room of ['lab', 'hall']) {
      const s = seed++;
      series.push({
        labels: { __name__: 'temp_celsius', job: 'sensor', instance, room },
        samples: times.map((ts, i) => [ts, 15 + 10 * Math.sin(i / 15 + s) + noise(s + i)] as const),
      });
    }
    const bounds = ['0.1', '0.5', '1', '+Inf'];
    const cumulative = [0, 0, 0, 0];
    let sum = 0;
    const bucketSamples: Array<Array<readonly [number, number]>> = bounds.map(() => []);
    const countSamples: Array<readonly [number, number]> = [];
    const sumSamples: Array<readonly [number, number]> = [];
    times.forEach((ts, i) => {
      const observations = 5 + Math.round(noise(seed * 77 + i) * 20);
      for (let o = 0; o < observations; o++) {
        const value = noise(seed * 1000 + i * 31 + o) * 1.5;
        sum += value;
        bounds.forEach((bound, b) => {
          if (bound === '+Inf' || value <= Number(bound)) cumulative[b] = (cumulative[b] ?? 0) + 1;
        });
      }
      bounds.forEach((_, b) => bucketSamples[b]?.push([ts, cumulative[b] ?? 0]));
      countSamples.push([ts, cumulative[3] ?? 0]);
      sumSamples.push([ts, sum]);
    });
    bounds.forEach((le, b) =>
      series.push({
        labels: { __name__: 'req_duration_seconds_bucket', job: 'api', instance, le },
        samples: bucketSamples[b] ?? [],
      }),
    );
    series.push({
      labels: { __name__: 'req_duration_seconds_count', job: 'api', instance },
      samples: countSamples,
    });
    series.push({
      labels: { __name__: 'req_duration_seconds_sum', job: 'api', instance },
      samples: sumSamples,
    });
    seed++;
  }
  // Every 10 minutes only: an instant query more than 5 minutes after a sample finds nothing.
  series.push({
    labels: { __name__: 'batch_last_success', job: 'batch' },
    samples: times.filter((_, i) => i % 40 === 0).map((ts) => [ts, ts / 1000] as const),
  });
  return series;
}

const EXPRESSIONS = [
  'http_requests_total',
  'http_requests_total{method="GET"}',
  'http_requests_total{code=~"5.."}',
  'http_requests_total{method!="GET",code!~"2.."}',
  'rate(http_requests_total[5m])',
  'irate(http_requests_total[5m])',
  'increase(http_requests_total[10m])',
  'delta(node_memory_bytes[5m])',
  'idelta(node_memory_bytes[5m])',
  'sum(rate(http_requests_total[5m]))',
  'sum by (code) (rate(http_requests_total[5m]))',
  'sum without (instance) (rate(http_requests_total[5m]))',
  'avg by (instance) (node_memory_bytes)',
  'max(temp_celsius)',
  'min by (room) (temp_celsius)',
  'count(http_requests_total)',
  'count by (code) (http_requests_total)',
  'topk(3, rate(http_requests_total[5m]))',
  'bottomk(2, temp_celsius)',
  'avg_over_time(temp_celsius[10m])',
  'min_over_time(temp_celsius[10m])',
  'max_over_time(temp_celsius[10m])',
  'sum_over_time(temp_celsius[10m])',
  'count_over_time(http_requests_total[5m])',
  'last_over_time(batch_last_success[30m])',
  'quantile_over_time(0.9, temp_celsius[15m])',
  'stddev_over_time(temp_celsius[15m])',
  'node_memory_bytes / 1024 / 1024',
  '2 * temp_celsius + 1',
  '-temp_celsius',
  'abs(temp_celsius - 20)',
  'clamp_max(temp_celsius, 20)',
  'temp_celsius > 20',
  'temp_celsius > bool 20',
  'rate(http_requests_total{code="500"}[5m]) / ignoring(code) rate(http_requests_total{code="200"}[5m])',
  'sum by (instance) (rate(http_requests_total{code="500"}[5m])) / on(instance) sum by (instance) (rate(http_requests_total[5m]))',
  'http_requests_total{method="GET"} or http_requests_total{method="POST"}',
  'http_requests_total unless http_requests_total{code="500"}',
  'histogram_quantile(0.95, sum by (le) (rate(req_duration_seconds_bucket[5m])))',
  'histogram_quantile(0.5, rate(req_duration_seconds_bucket[5m]))',
  'rate(req_duration_seconds_sum[5m]) / rate(req_duration_seconds_count[5m])',
  'batch_last_success',
  'http_requests_total offset 10m',
  'sum(node_memory_bytes) by (job)',
];

type Labels = Record<string, string>;
interface PromData {
  resultType: string;
  result: unknown;
}

/** Series keyed by their labels, each with its [seconds, value] points, for comparing as sets. */
function normalise(data: PromData): Map<string, Array<[number, number]>> {
  const out = new Map<string, Array<[number, number]>>();
  const key = (metric: Labels) =>
    JSON.stringify(Object.entries(metric).sort(([a], [b]) => a.localeCompare(b)));
  if (data.resultType === 'scalar') {
    const [ts, v] = data.result as [number, string];
    out.set('scalar', [[ts, Number(v)]]);
  } else if (data.resultType === 'vector') {
    for (const s of data.result as Array<{ metric: Labels; value: [number, string] }>) {
      out.set(key(s.metric), [[s.value[0], Number(s.value[1])]]);
    }
  } else {
    for (const s of data.result as Array<{ metric: Labels; values: Array<[number, string]> }>) {
      out.set(
        key(s.metric),
        s.values.map(([ts, v]) => [ts, Number(v)]),
      );
    }
  }
  return out;
}

function expectSameResult(expression: string, ours: PromData, theirs: PromData): void {
  expect(ours.resultType, expression).toBe(theirs.resultType);
  const a = normalise(ours);
  const b = normalise(theirs);
  expect([...a.keys()].sort(), `${expression}: series`).toEqual([...b.keys()].sort());
  for (const [labels, expected] of b) {
    const actual = a.get(labels) ?? [];
    expect(
      actual.map(([ts]) => ts),
      `${expression} ${labels}: timestamps`,
    ).toEqual(expected.map(([ts]) => ts));
    expected.forEach(([ts, value], i) => {
      const got = actual[i]?.[1] ?? Number.NaN;
      if (Number.isNaN(value)) {
        expect(got, `${expression} ${labels} @${ts}`).toBeNaN();
        return;
      }
      const scale = Math.max(1, Math.abs(value));
      expect(
        Math.abs(got - value) / scale,
        `${expression} ${labels} @${ts}: ${got} vs ${value}`,
      ).toBeLessThan(TOLERANCE);
    });
  }
}

describe('PromQL results equal a real Prometheus given the same samples', () => {
  const sightline = sightlineForSuite();
  let prometheus: PrometheusInstance;
  const startMs = Math.floor(Date.now() / 60_000) * 60_000 - SPAN_MS;
  const series = buildSeries(startMs);
  const endSec = (startMs + SPAN_MS) / 1000;
  const total = series.reduce((n, s) => n + s.samples.length, 0);

  beforeAll(async () => {
    prometheus = await startPrometheus();
    // Prometheus wants each series' samples in time order; one request carries them all.
    const toPrometheus = await sendRemoteWrite(prometheus.remoteWriteUrl, series);
    expect(toPrometheus.status, toPrometheus.text).toBeLessThan(300);
    const toSightline = await sendRemoteWrite(`${sightline.server.ingestUrl}/api/v1/write`, series, {
      key: sightline.server.key,
    });
    expect(toSightline.status, toSightline.text).toBeLessThan(300);
    await waitForSamples(sightline.server.apiUrl, sightline.server.key, total);
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
  });

  it('has a table of at least 30 expressions', () => {
    expect(EXPRESSIONS.length).toBeGreaterThanOrEqual(30);
  });

  for (const expression of EXPRESSIONS) {
    it(`instant and range: ${expression}`, async () => {
      const instant = await Promise.all([
        promQuery(sightline.server.apiUrl, sightline.server.key, 'query', {
          query: expression,
          time: String(endSec),
        }),
        prometheus.query(expression, endSec),
      ]);
      expectSameResult(expression, instant[0], instant[1]);
      const rangeParams = {
        query: expression,
        start: String(endSec - 1800),
        end: String(endSec),
        step: '60',
      };
      const range = await Promise.all([
        promQuery(sightline.server.apiUrl, sightline.server.key, 'query_range', rangeParams),
        prometheus.queryRange(expression, endSec - 1800, endSec, 60),
      ]);
      expectSameResult(expression, range[0], range[1]);
    });
  }
});

async function promQuery(
  apiUrl: string,
  key: string,
  endpoint: 'query' | 'query_range',
  params: Record<string, string>,
): Promise<PromData> {
  const response = await fetch(`${apiUrl}/prometheus/api/v1/${endpoint}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  });
  const body = (await response.json()) as { status: string; data: PromData; error?: string };
  if (response.status !== 200 || body.status !== 'success') {
    throw new Error(`${endpoint} ${params.query ?? ''} answered ${response.status}: ${JSON.stringify(body)}`);
  }
  return body.data;
}

/** Until Sightline has stored every sample (its pipeline is asynchronous to the write's answer). */
async function waitForSamples(apiUrl: string, key: string, total: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  let seen = 0;
  while (Date.now() < deadline) {
    const response = await fetch(`${apiUrl}/api/v1/stats`, { headers: { authorization: `Bearer ${key}` } });
    seen = ((await response.json()) as { metricPoints: number }).metricPoints;
    if (seen >= total) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`Sightline stored ${seen} of ${total} samples within 30 s`);
}
