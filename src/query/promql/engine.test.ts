import { describe, expect, it } from 'vitest';
import type { LabelMatcher, Labels } from './ast.js';
import type { QueryResult, RawSeries, SeriesSource } from './engine.js';
import { evaluateInstant, evaluateRange, selectorsOf } from './engine.js';
import { PromqlEvalError, PromqlLimitError } from './errors.js';
import { formatSampleValue } from './format.js';
import { matchesAll } from './labels.js';
import { parsePromql } from './parser.js';

/** The seam, not what is under test: series in memory, samples as [seconds, value]. */
function memorySource(
  series: { labels: Labels; samples: [number, number][] }[],
): SeriesSource & { calls: number } {
  const source = {
    calls: 0,
    async select(matchers: readonly LabelMatcher[], startMs: number, endMs: number): Promise<RawSeries[]> {
      source.calls++;
      return series
        .filter((s) => matchesAll(s.labels, matchers))
        .map((s) => {
          const inWindow = s.samples.filter(([t]) => t * 1000 >= startMs && t * 1000 <= endMs);
          return {
            labels: s.labels,
            timestampsMs: Float64Array.from(inWindow, ([t]) => t * 1000),
            values: Float64Array.from(inWindow, ([, v]) => v),
          };
        });
    },
  };
  return source;
}

const every15s = (from: number, values: number[]): [number, number][] =>
  values.map((v, k) => [from + 15 * k, v]);

const source = memorySource([
  // A counter scraped at 10s, 25s, 40s, 55s.
  { labels: { __name__: 'c', job: 'api', instance: 'a' }, samples: every15s(10, [100, 115, 130, 145]) },
  // The same counter on another instance, reset between 25s and 40s.
  { labels: { __name__: 'c', job: 'api', instance: 'b' }, samples: every15s(10, [100, 115, 5, 20]) },
  { labels: { __name__: 'c', job: 'db', instance: 'a' }, samples: every15s(10, [0, 15, 30, 45]) },
  // A gauge with two samples only, far from the start of the window.
  {
    labels: { __name__: 'g', job: 'api' },
    samples: [
      [30, 10],
      [45, 20],
    ],
  },
  { labels: { __name__: 'old' }, samples: [[0, 1]] },
  { labels: { __name__: 'a', job: 'x', instance: '1' }, samples: [[0, 10]] },
  { labels: { __name__: 'a', job: 'x', instance: '2' }, samples: [[0, 20]] },
  { labels: { __name__: 'a', job: 'y', instance: '1' }, samples: [[0, 30]] },
  { labels: { __name__: 'b', job: 'x', version: 'v1' }, samples: [[0, 2]] },
  { labels: { __name__: 'b', job: 'y', version: 'v2' }, samples: [[0, 3]] },
  { labels: { __name__: 'h_bucket', le: '1' }, samples: [[0, 10]] },
  { labels: { __name__: 'h_bucket', le: '2' }, samples: [[0, 20]] },
  { labels: { __name__: 'h_bucket', le: '+Inf' }, samples: [[0, 20]] },
  { labels: { __name__: 'hm_bucket', le: '1' }, samples: [[0, 10]] },
  { labels: { __name__: 'hm_bucket', le: '2' }, samples: [[0, 8]] },
  { labels: { __name__: 'hm_bucket', le: '+Inf' }, samples: [[0, 20]] },
  { labels: { __name__: 'nan_gauge' }, samples: [[0, NaN]] },
]);

/** Instant query → { '{labels}': 'value' } to compare as a set. */
async function instant(query: string, timeS: number): Promise<Record<string, string>> {
  const result = await evaluateInstant(parsePromql(query), source, timeS * 1000);
  return flatten(result);
}

function flatten(result: QueryResult): Record<string, string> {
  const out: Record<string, string> = {};
  if (result.resultType === 'vector') {
    for (const r of result.result) out[JSON.stringify(r.metric)] = r.value[1];
  } else if (result.resultType === 'scalar') {
    out.scalar = result.result[1];
  } else if (result.resultType === 'matrix') {
    for (const r of result.result)
      out[JSON.stringify(r.metric)] = r.values.map(([t, v]) => `${t}:${v}`).join(' ');
  }
  return out;
}

const key = (labels: Record<string, string>) => JSON.stringify(labels);

describe('PromQL evaluation against Prometheus 2.42 semantics', () => {
  const cases: [string, string, number, Record<string, string>][] = [
    [
      // increase over [0s, 60s]: raw 45; durationToStart 10 < 1.1 × avg 15, durationToZero 45×100/45 = 100 is later;
      // durationToEnd 5; extrapolated interval 45 + 10 + 5 = 60 → 45 × (60/45).
      'increase extrapolates to the window edges',
      'increase(c{job="api",instance="a"}[1m])',
      60,
      { [key({ instance: 'a', job: 'api' })]: formatSampleValue(45 * (60 / 45)) },
    ],
    [
      // rate = increase / 60 with factor = (60/45)/60 applied to 45, exactly as extrapolatedRate orders it.
      'rate divides by the range in seconds',
      'rate(c{job="api",instance="a"}[1m])',
      60,
      { [key({ instance: 'a', job: 'api' })]: formatSampleValue(45 * (60 / 45 / 60)) },
    ],
    [
      // Counter reset 115 → 5: raw 20 - 100 + 115 = 35; zero point 45×100/35 > 10; interval 60 → 35 × 60/45.
      'increase adds the value before a counter reset',
      'increase(c{instance="b"}[1m])',
      60,
      { [key({ instance: 'b', job: 'api' })]: formatSampleValue(35 * (60 / 45)) },
    ],
    [
      // First value 0: durationToZero = 45 × 0/45 = 0 replaces durationToStart 10; interval 45 + 0 + 5 = 50.
      'increase does not extrapolate a counter below zero',
      'increase(c{job="db"}[1m])',
      60,
      { [key({ instance: 'a', job: 'db' })]: formatSampleValue(45 * (50 / 45)) },
    ],
    [
      // delta of the gauge: 10; avg 15, threshold 16.5; start gap 30 ≥ 16.5 → 7.5; end gap 15 → 15; 10 × 37.5/15.
      'delta extrapolates half an interval past a far boundary',
      'delta(g[1m])',
      60,
      { [key({ job: 'api' })]: '25' },
    ],
    [
      'irate uses the last two samples',
      'irate(c{job="api",instance="a"}[1m])',
      60,
      { [key({ instance: 'a', job: 'api' })]: '1' },
    ],
    [
      // At 45s the last two samples are 115 (25s) and 5 (40s): a reset, so the rate is 5 / 15.
      'irate after a reset uses the last value',
      'irate(c{instance="b"}[1m])',
      45,
      { [key({ instance: 'b', job: 'api' })]: formatSampleValue(5 / 15) },
    ],
    ['idelta is the last difference', 'idelta(g[1m])', 60, { [key({ job: 'api' })]: '10' }],
    ['rate needs two samples', 'rate(g[20s])', 60, {}],
    [
      'a sample exactly 5m old is still seen (2.42 closed lookback)',
      'old',
      300,
      { [key({ __name__: 'old' })]: '1' },
    ],
    ['a sample older than 5m is not returned', 'old', 301, {}],
    ['offset moves the evaluation back', 'g offset 30s', 60, { [key({ __name__: 'g', job: 'api' })]: '10' }],
    ['negative offset looks ahead', 'g offset -15s', 30, { [key({ __name__: 'g', job: 'api' })]: '20' }],
    [
      'the range window is closed on the left in 2.42',
      'count_over_time(c{job="api",instance="a"}[45s])',
      55,
      { [key({ instance: 'a', job: 'api' })]: '4' },
    ],
    ['avg_over_time', 'avg_over_time(g[1m])', 60, { [key({ job: 'api' })]: '15' }],
    ['sum_over_time', 'sum_over_time(g[1m])', 60, { [key({ job: 'api' })]: '30' }],
    [
      'max_over_time',
      'max_over_time(c{instance="b"}[1m])',
      60,
      { [key({ instance: 'b', job: 'api' })]: '115' },
    ],
    [
      'min_over_time',
      'min_over_time(c{instance="b"}[1m])',
      60,
      { [key({ instance: 'b', job: 'api' })]: '5' },
    ],
    ['stddev_over_time', 'stddev_over_time(g[1m])', 60, { [key({ job: 'api' })]: '5' }],
    ['quantile_over_time', 'quantile_over_time(0.5, g[1m])', 60, { [key({ job: 'api' })]: '15' }],
    [
      'last_over_time keeps the name',
      'last_over_time(g[1m])',
      60,
      { [key({ __name__: 'g', job: 'api' })]: '20' },
    ],
    ['present_over_time', 'present_over_time(g[1m])', 60, { [key({ job: 'api' })]: '1' }],
    ['sum by', 'sum by (job) (a)', 0, { [key({ job: 'x' })]: '30', [key({ job: 'y' })]: '30' }],
    [
      'sum without',
      'sum without (instance) (a)',
      0,
      { [key({ job: 'x' })]: '30', [key({ job: 'y' })]: '30' },
    ],
    ['avg', 'avg(a)', 0, { '{}': '20' }],
    ['min and max', 'max(a) - min(a)', 0, { '{}': '20' }],
    [
      'count by',
      'count by (instance) (a)',
      0,
      { [key({ instance: '1' })]: '2', [key({ instance: '2' })]: '1' },
    ],
    ['stddev', 'stddev(a)', 0, { '{}': formatSampleValue(Math.sqrt(200 / 3)) }],
    ['group', 'group by (job) (a)', 0, { [key({ job: 'x' })]: '1', [key({ job: 'y' })]: '1' }],
    ['quantile', 'quantile(0.5, a)', 0, { '{}': '20' }],
    [
      'topk keeps the labels',
      'topk(2, a)',
      0,
      {
        [key({ __name__: 'a', instance: '2', job: 'x' })]: '20',
        [key({ __name__: 'a', instance: '1', job: 'y' })]: '30',
      },
    ],
    [
      'bottomk by',
      'bottomk by (job) (1, a)',
      0,
      {
        [key({ __name__: 'a', instance: '1', job: 'x' })]: '10',
        [key({ __name__: 'a', instance: '1', job: 'y' })]: '30',
      },
    ],
    ['count_values', 'count_values("v", b)', 0, { [key({ v: '2' })]: '1', [key({ v: '3' })]: '1' }],
    ['scalar arithmetic', '1 + 2 * 3 ^ 2', 0, { scalar: '19' }],
    ['scalar comparison with bool', '2 > bool 1', 0, { scalar: '1' }],
    [
      'vector-scalar arithmetic drops the name',
      'a{instance="1",job="x"} * 2',
      0,
      { [key({ instance: '1', job: 'x' })]: '20' },
    ],
    [
      'comparison filters and keeps the name',
      'a > 15',
      0,
      {
        [key({ __name__: 'a', instance: '2', job: 'x' })]: '20',
        [key({ __name__: 'a', instance: '1', job: 'y' })]: '30',
      },
    ],
    [
      'comparison with the scalar on the left keeps the vector value',
      '15 < a{job="x"}',
      0,
      {
        [key({ __name__: 'a', instance: '2', job: 'x' })]: '20',
      },
    ],
    [
      'comparison with bool',
      'a{job="x"} > bool 15',
      0,
      {
        [key({ instance: '1', job: 'x' })]: '0',
        [key({ instance: '2', job: 'x' })]: '1',
      },
    ],
    [
      'one-to-one with on() keeps the on labels',
      'a{instance="1"} / on(job) b',
      0,
      {
        [key({ job: 'x' })]: '5',
        [key({ job: 'y' })]: '10',
      },
    ],
    [
      'one-to-one with ignoring()',
      'a{instance="1"} - ignoring(instance, version) b',
      0,
      {
        [key({ job: 'x' })]: '8',
        [key({ job: 'y' })]: '27',
      },
    ],
    [
      'group_left copies labels from the one side',
      'a / on(job) group_left(version) b',
      0,
      {
        [key({ instance: '1', job: 'x', version: 'v1' })]: '5',
        [key({ instance: '2', job: 'x', version: 'v1' })]: '10',
        [key({ instance: '1', job: 'y', version: 'v2' })]: '10',
      },
    ],
    [
      'vector comparison keeps the left name',
      'a > on(job) group_left b * 6',
      0,
      {
        [key({ __name__: 'a', instance: '2', job: 'x' })]: '20',
        [key({ __name__: 'a', instance: '1', job: 'y' })]: '30',
      },
    ],
    [
      'and',
      'a and on(job) b{job="x"}',
      0,
      {
        [key({ __name__: 'a', instance: '1', job: 'x' })]: '10',
        [key({ __name__: 'a', instance: '2', job: 'x' })]: '20',
      },
    ],
    ['unless', 'a unless on(job) b{job="x"}', 0, { [key({ __name__: 'a', instance: '1', job: 'y' })]: '30' }],
    [
      'or',
      'b or a{job="y"}',
      0,
      {
        [key({ __name__: 'b', job: 'x', version: 'v1' })]: '2',
        [key({ __name__: 'b', job: 'y', version: 'v2' })]: '3',
        [key({ __name__: 'a', instance: '1', job: 'y' })]: '30',
      },
    ],
    ['unary minus drops the name', '-b{job="x"}', 0, { [key({ job: 'x', version: 'v1' })]: '-2' }],
    // rank 10 of 20 falls at the top of the first bucket; rank 15 halfway through (1, 2].
    ['histogram_quantile at a bucket edge', 'histogram_quantile(0.5, h_bucket)', 0, { '{}': '1' }],
    ['histogram_quantile interpolates', 'histogram_quantile(0.75, h_bucket)', 0, { '{}': '1.5' }],
    [
      'histogram_quantile fixes non-monotonic buckets',
      'histogram_quantile(0.5, hm_bucket)',
      0,
      { '{}': '1' },
    ],
    ['histogram_quantile outside [0, 1]', 'histogram_quantile(2, h_bucket)', 0, { '{}': '+Inf' }],
    ['NaN is an ordinary value', 'nan_gauge', 0, { [key({ __name__: 'nan_gauge' })]: 'NaN' }],
    [
      'math functions',
      'sqrt(b{job="x"}) ^ 2',
      0,
      { [key({ job: 'x', version: 'v1' })]: formatSampleValue(Math.sqrt(2) ** 2) },
    ],
    [
      'clamp',
      'clamp(a, 15, 25)',
      0,
      {
        [key({ instance: '1', job: 'x' })]: '15',
        [key({ instance: '2', job: 'x' })]: '20',
        [key({ instance: '1', job: 'y' })]: '25',
      },
    ],
    ['round to nearest', 'round(g, 3)', 60, { [key({ job: 'api' })]: '21' }],
    ['time and timestamp', 'timestamp(g) - time()', 60, { [key({ job: 'api' })]: '-15' }],
    ['vector and scalar', 'scalar(b{job="y"}) + vector(1)', 0, { '{}': '4' }],
    ['scalar of several series is NaN', 'scalar(b)', 0, { scalar: 'NaN' }],
    ['absent of nothing', 'absent(nothing{job="x",env=~"p.*"})', 0, { [key({ job: 'x' })]: '1' }],
    ['absent of something', 'absent(b)', 0, {}],
    [
      'label_replace',
      'label_replace(b{job="x"}, "major", "$1", "version", "v(\\\\d+)")',
      0,
      {
        [key({ __name__: 'b', job: 'x', major: '1', version: 'v1' })]: '2',
      },
    ],
  ];

  it.each(cases)('%s: %s', async (_name, query, timeS, expected) => {
    expect(await instant(query, timeS)).toEqual(expected);
  });

  it('returns a range vector for an instant query of a range selector', async () => {
    expect(await instant('g[1m]', 60)).toEqual({ [key({ __name__: 'g', job: 'api' })]: '30:10 45:20' });
  });

  it('evaluates a range query at every step, fetching each selector once', async () => {
    const counting = memorySource([
      { labels: { __name__: 'm', x: '1' }, samples: every15s(0, [0, 1, 2, 3, 4, 5, 6, 7, 8]) },
    ]);
    const result = await evaluateRange(parsePromql('m'), counting, 0, 120_000, 30_000);
    expect(result).toEqual({
      resultType: 'matrix',
      result: [
        {
          metric: { __name__: 'm', x: '1' },
          values: [
            [0, '0'],
            [30, '2'],
            [60, '4'],
            [90, '6'],
            [120, '8'],
          ],
        },
      ],
    });
    expect(counting.calls).toBe(1);
  });

  it('evaluates rate at each step of a range query like separate instant queries', async () => {
    const expr = parsePromql('sum by (job) (rate(c[1m]))');
    const range = await evaluateRange(expr, source, 30_000, 90_000, 15_000);
    if (range.resultType !== 'matrix') throw new Error('expected a matrix');
    for (const series of range.result) {
      for (const [t, v] of series.values) {
        const one = await evaluateInstant(expr, source, t * 1000);
        if (one.resultType !== 'vector') throw new Error('expected a vector');
        expect(one.result.find((r) => r.metric.job === series.metric.job)?.value[1]).toBe(v);
      }
    }
    expect(range.result.map((r) => r.metric)).toEqual([{ job: 'api' }, { job: 'db' }]);
  });

  it('returns a scalar over a range as one series without labels', async () => {
    const result = await evaluateRange(parsePromql('time()'), source, 0, 20_000, 10_000);
    expect(result).toEqual({
      resultType: 'matrix',
      result: [
        {
          metric: {},
          values: [
            [0, '0'],
            [10, '10'],
            [20, '20'],
          ],
        },
      ],
    });
  });

  it('rejects a range selector in a range query', async () => {
    await expect(evaluateRange(parsePromql('g[1m]'), source, 0, 60_000, 15_000)).rejects.toThrow(
      PromqlEvalError,
    );
  });

  it('fails with many-to-many matching', async () => {
    await expect(evaluateInstant(parsePromql('a + on(job) a'), source, 0)).rejects.toThrow(/many-to-many/);
  });

  it('fails when a function makes two series identical', async () => {
    await expect(
      evaluateInstant(parsePromql('rate({__name__=~"c|d", job="db"}[1m]) or rate(c[1m])'), source, 60_000),
    ).resolves.toBeDefined();
    const twins = memorySource([
      { labels: { __name__: 'x', a: '1' }, samples: [[0, 1]] },
      { labels: { __name__: 'y', a: '1' }, samples: [[0, 2]] },
    ]);
    await expect(evaluateInstant(parsePromql('abs({a="1"})'), twins, 0)).rejects.toThrow(/same labelset/);
  });

  it('stops with PromqlLimitError(samples) past maxSamples', async () => {
    const error = await evaluateInstant(parsePromql('sum(rate(c[1m]))'), source, 60_000, {
      maxSamples: 5,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PromqlLimitError);
    expect((error as PromqlLimitError).limit).toBe('samples');
  });

  it('stops with PromqlLimitError(timeout) when the signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await evaluateRange(parsePromql('c'), source, 0, 60_000, 15_000, {
      signal: controller.signal,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PromqlLimitError);
    expect((error as PromqlLimitError).limit).toBe('timeout');
  });

  it('stops when the signal aborts during the fetch', async () => {
    const controller = new AbortController();
    const slow: SeriesSource = {
      async select() {
        controller.abort();
        return [];
      },
    };
    await expect(
      evaluateInstant(parsePromql('c'), slow, 0, { signal: controller.signal }),
    ).rejects.toMatchObject({
      limit: 'timeout',
    });
  });

  it('lists selectors with their range and offset', () => {
    expect(selectorsOf(parsePromql('rate(x{a="b"}[5m] offset 1m) / y'))).toEqual([
      {
        matchers: [
          { name: 'a', op: '=', value: 'b' },
          { name: '__name__', op: '=', value: 'x' },
        ],
        rangeMs: 300_000,
        offsetMs: 60_000,
      },
      { matchers: [{ name: '__name__', op: '=', value: 'y' }], rangeMs: 0, offsetMs: 0 },
    ]);
  });

  it('evaluates sum by (x) (rate(m[5m])) over a day at 1m steps for 700 series quickly', async () => {
    const step = 60_000;
    const big: RawSeries[] = [];
    for (let s = 0; s < 700; s++) {
      const ts = new Float64Array(1440);
      const vs = new Float64Array(1440);
      for (let k = 0; k < 1440; k++) {
        ts[k] = k * step + (s % 60) * 1000;
        vs[k] = k * (s + 1);
      }
      big.push({ labels: { __name__: 'm', x: String(s % 10), id: String(s) }, timestampsMs: ts, values: vs });
    }
    const bigSource: SeriesSource = { select: async () => big };
    const started = performance.now();
    const result = await evaluateRange(
      parsePromql('sum by (x) (rate(m[5m]))'),
      bigSource,
      0,
      1439 * step,
      step,
    );
    const elapsed = performance.now() - started;
    expect(result.resultType).toBe('matrix');
    expect(result.result).toHaveLength(10);
    // Generous for a shared CI machine; typically well under 200 ms.
    expect(elapsed).toBeLessThan(2000);
  });
});

describe('formatSampleValue', () => {
  it.each([
    [0, '0'],
    [-0, '-0'],
    [1.5, '1.5'],
    [100000, '100000'],
    [1e-7, '1e-07'],
    [1.5e-7, '1.5e-07'],
    [0.000001, '0.000001'],
    [1e21, '1e+21'],
    [123456789012345680000, '123456789012345680000'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [1 / 3, '0.3333333333333333'],
  ])('formats %d as %s', (v, s) => {
    expect(formatSampleValue(v)).toBe(s);
  });
});
