import { describe, expect, it } from 'vitest';
import { logRow, metricRow, rumEventRow, spanRow } from '../../../test/fixtures/rows.js';
import { RecordingContext, batchOf } from '../../../test/helpers/stage-context.js';
import { sampleStageSchema } from '../../config/stages/sample.js';
import type { LogRow, QueryStatRow, SpanRow } from '../../store/rows.js';
import {
  durationMsOf,
  RateEstimator,
  SAMPLE_RATE_ATTRIBUTE,
  SampleStage,
  seededRandom,
  traceIdHash,
  withSampleRate,
  type SampleOptions,
} from './sample.js';

const SECOND = 1_000_000_000n;
const MS = 1_000_000n;

function options(overrides: Partial<SampleOptions> = {}): SampleOptions {
  return { ...sampleStageSchema.parse({ type: 'sample' }), ...overrides };
}

function sampleRateOf(row: { attributes: string }): number | undefined {
  const value = (JSON.parse(row.attributes) as Record<string, unknown>)[SAMPLE_RATE_ATTRIBUTE];
  return typeof value === 'number' ? value : undefined;
}

/** Log rows without a trace id (decided by the seeded generator). */
function logs(prefix: string, n: number): LogRow[] {
  return Array.from({ length: n }, (_, i) => logRow({ id: `${prefix}-${i}` }));
}

function traceId(i: number): string {
  return i.toString(16).padStart(32, '0');
}

describe('SampleStage', () => {
  it('has sane defaults', () => {
    expect(sampleStageSchema.parse({ type: 'sample' })).toEqual({
      type: 'sample',
      enabled: true,
      targetRecordsPerSecond: 1000,
      windowSeconds: 30,
      keepSeverity: 'ERROR',
      slowSpanMs: 1000,
      slowStatementMs: 1000,
      orgs: {},
    });
  });

  describe('keeps every error and slow record however much is sampled out', () => {
    // 100 ordinary logs and spans in the same message make p about 1e-5.
    const cases: Array<{ name: string; log?: LogRow; span?: SpanRow }> = [
      { name: 'an ERROR log', log: logRow({ id: 'x', severity: 'ERROR', severityNumber: 17 }) },
      { name: 'a FATAL log', log: logRow({ id: 'x', severity: 'FATAL', severityNumber: 21 }) },
      {
        name: 'a slow statement log (duration_ms as a number)',
        log: logRow({ id: 'x', attributes: '{"duration_ms":1500.5,"statement":"SELECT 1"}' }),
      },
      {
        name: 'a slow statement log (duration_ms as a string)',
        log: logRow({ id: 'x', attributes: '{"duration_ms":"1000"}' }),
      },
      { name: 'a span with status error', span: spanRow({ id: 'x', status: 'error', traceId: traceId(1) }) },
      {
        name: 'a span slower than slowSpanMs',
        span: spanRow({ id: 'x', durationNs: 1000n * MS, traceId: traceId(2) }),
      },
    ];
    it.each(cases)('$name', ({ log, span }) => {
      const stage = new SampleStage(options({ targetRecordsPerSecond: 0.001, windowSeconds: 1 }), {
        random: seededRandom(1),
      });
      const context = new RecordingContext();
      const out = stage.process(
        batchOf({
          logs: [...logs('l', 100), ...(log === undefined ? [] : [log])],
          spans: [
            ...Array.from({ length: 100 }, (_, i) => spanRow({ id: `s-${i}`, traceId: traceId(1000 + i) })),
            ...(span === undefined ? [] : [span]),
          ],
        }),
        context,
      );
      const kept = [...out.logs, ...out.spans];
      expect(kept.map((r) => r.id)).toEqual(['x']);
      // Kept for what it is, not by chance: it stands for itself alone.
      expect(sampleRateOf(kept[0] ?? { attributes: '{}' })).toBeUndefined();
      expect(context.total('sampled')).toBe(200);
    });
  });

  describe('samples records that are not errors nor slow enough', () => {
    const cases: Array<{ name: string; log: LogRow }> = [
      { name: 'a WARN log', log: logRow({ id: 'x', severity: 'WARN', severityNumber: 13 }) },
      {
        name: 'a statement faster than the threshold',
        log: logRow({ id: 'x', attributes: '{"duration_ms":999}' }),
      },
      {
        name: 'a duration that is not a number',
        log: logRow({ id: 'x', attributes: '{"duration_ms":"slow"}' }),
      },
    ];
    it.each(cases)('$name', ({ log }) => {
      const stage = new SampleStage(options({ targetRecordsPerSecond: 0.001, windowSeconds: 1 }), {
        random: () => 0.5,
      });
      expect(stage.process(batchOf({ logs: [log, ...logs('l', 100)] }), new RecordingContext()).logs).toEqual(
        [],
      );
    });

    it('keeps WARN logs too when keepSeverity says so', () => {
      const stage = new SampleStage(options({ targetRecordsPerSecond: 0.001, keepSeverity: 'WARN' }), {
        random: () => 0.5,
      });
      const warn = logRow({ id: 'x', severity: 'WARN', severityNumber: 13 });
      expect(
        stage.process(batchOf({ logs: [warn, ...logs('l', 100)] }), new RecordingContext()).logs,
      ).toEqual([warn]);
    });
  });

  it('lets everything through unchanged below the target', () => {
    const stage = new SampleStage(options({ targetRecordsPerSecond: 100, windowSeconds: 10 }));
    const context = new RecordingContext();
    for (let i = 0; i < 100; i++) {
      const batch = batchOf({ logs: logs(`m${i}`, 5), spans: [spanRow({ id: `s${i}` })] });
      expect(stage.process(batch, context)).toBe(batch);
      context.nowNs += 100n * MS;
    }
    expect(context.counts).toEqual([]);
  });

  it('never samples metrics, query statistics, query samples or browser events', () => {
    const stage = new SampleStage(options({ targetRecordsPerSecond: 0.001 }), { random: () => 0.99 });
    const points = Array.from({ length: 500 }, (_, i) => metricRow({ id: `p${i}` }));
    const stats = [{ id: 'q' } as QueryStatRow];
    const rum = Array.from({ length: 500 }, (_, i) => rumEventRow({ id: `r${i}` }));
    const context = new RecordingContext();
    const out = stage.process(
      batchOf({ logs: logs('l', 500), metricPoints: points, queryStats: stats, rumEvents: rum }),
      context,
    );
    expect(out.logs).toEqual([]);
    expect(out.metricPoints).toBe(points);
    expect(out.queryStats).toBe(stats);
    expect(out.rumEvents).toBe(rum);
    expect(context.counts.filter((c) => c.kind !== 'logs')).toEqual([]);
    // A message of browser events alone is not even looked at.
    const alone = batchOf({ rumEvents: rum });
    expect(stage.process(alone, context)).toBe(alone);
  });

  it('adapts the rate toward the target as the traffic changes (fake clock)', () => {
    const stage = new SampleStage(options({ targetRecordsPerSecond: 100, windowSeconds: 10 }), {
      random: seededRandom(42),
    });
    const context = new RecordingContext();
    // 2,000 logs/s in messages of 200 every 100 ms for 60 s: about 100/s are kept once the rate settled.
    const keptPerMessage: LogRow[][] = [];
    for (let i = 0; i < 600; i++) {
      keptPerMessage.push(stage.process(batchOf({ logs: logs(`hi${i}`, 200) }), context).logs);
      context.nowNs += 100n * MS;
    }
    const lastTenSeconds = keptPerMessage.slice(-100).flat();
    expect(lastTenSeconds.length).toBeGreaterThan(900);
    expect(lastTenSeconds.length).toBeLessThan(1100);
    for (const row of lastTenSeconds) expect(sampleRateOf(row)).toBeCloseTo(20, 0);
    // The rates scale the kept records back to what came in (20,000 in those 10 s).
    const scaled = lastTenSeconds.reduce((sum, row) => sum + (sampleRateOf(row) ?? 1), 0);
    expect(Math.abs(scaled - 20_000) / 20_000).toBeLessThan(0.1);

    // Then 50/s: below the target, so after a few windows everything is kept, without a rate.
    let last: LogRow[] = [];
    for (let i = 0; i < 600; i++) {
      last = stage.process(batchOf({ logs: logs(`lo${i}`, 5) }), context).logs;
      context.nowNs += 100n * MS;
    }
    expect(last).toHaveLength(5);
    expect(last.map(sampleRateOf)).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it('keeps or drops every span of a trace together, and decides the same on every processor', () => {
    const spans = Array.from({ length: 200 }, (_, t) =>
      Array.from({ length: 5 }, (_, s) =>
        spanRow({ id: `t${t}-s${s}`, traceId: traceId(t * 7919), spanId: `${s}` }),
      ),
    ).flat();
    const run = (): string[] => {
      const stage = new SampleStage(options({ targetRecordsPerSecond: 100, windowSeconds: 1 }));
      return stage.process(batchOf({ spans }), new RecordingContext()).spans.map((s) => s.id);
    };
    const kept = run();
    // 1,000 spans at once over a 1 s window: p = 100 / 1000.
    const traces = new Map<string, number>();
    for (const id of kept) traces.set(id.split('-')[0] ?? '', (traces.get(id.split('-')[0] ?? '') ?? 0) + 1);
    expect([...traces.values()].every((n) => n === 5)).toBe(true);
    expect(traces.size).toBeGreaterThan(5);
    expect(traces.size).toBeLessThan(40);
    expect(run()).toEqual(kept);
  });

  it('keeps a trace at a higher probability when it was kept at a lower one', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => traceId(i * 104_729));
    const keptAt = (p: number): Set<string> => new Set(ids.filter((id) => traceIdHash(id) < p));
    const low = keptAt(0.1);
    const high = keptAt(0.3);
    expect([...low].every((id) => high.has(id))).toBe(true);
    expect(low.size).toBeGreaterThan(60);
    expect(low.size).toBeLessThan(140);
  });

  it('decides logs without a trace id by its seeded generator: the same seed, the same logs', () => {
    const run = (seed: number): string[] => {
      const stage = new SampleStage(options({ targetRecordsPerSecond: 10, windowSeconds: 1 }), {
        random: seededRandom(seed),
      });
      return stage.process(batchOf({ logs: logs('l', 100) }), new RecordingContext()).logs.map((l) => l.id);
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it('records the rate on kept sampled records as valid JSON, keeping their attributes, and counts the rest', () => {
    const stage = new SampleStage(options({ targetRecordsPerSecond: 25, windowSeconds: 1 }), {
      random: seededRandom(3),
    });
    const context = new RecordingContext();
    const rows = [
      ...logs('plain', 50),
      ...Array.from({ length: 50 }, (_, i) => logRow({ id: `empty-${i}`, attributes: '{}' })),
    ];
    const out = stage.process(batchOf({ logs: rows }), context);
    expect(out.logs.length).toBeGreaterThan(10);
    expect(out.logs.length).toBeLessThan(45);
    for (const row of out.logs) {
      const attributes = JSON.parse(row.attributes) as Record<string, unknown>;
      expect(attributes[SAMPLE_RATE_ATTRIBUTE]).toBe(4);
      if (row.id.startsWith('plain')) expect(attributes['order.id']).toBe(42);
      else expect(Object.keys(attributes)).toEqual([SAMPLE_RATE_ATTRIBUTE]);
    }
    // The input rows are left as they were.
    expect(rows[0]?.attributes).toBe('{"order.id":42}');
    expect(context.counts).toEqual([
      { outcome: 'dropped', kind: 'logs', reason: 'sampled', n: 100 - out.logs.length },
    ]);
  });

  it('sets the probability gauge per org and signal', () => {
    const set: Array<{ labels: { org: string; signal: string }; value: number }> = [];
    const stage = new SampleStage(options({ targetRecordsPerSecond: 50, windowSeconds: 1 }), {
      metrics: { sampleProbability: { set: (labels, value) => set.push({ labels, value }) } },
    });
    stage.process(batchOf({ spans: [spanRow()], logs: logs('l', 100) }), new RecordingContext());
    expect(set).toEqual([
      { labels: { org: 'org_test', signal: 'logs' }, value: 0.5 },
      { labels: { org: 'org_test', signal: 'spans' }, value: 1 },
    ]);
  });
});

describe('withSampleRate', () => {
  const cases: Array<[string, string, number, Record<string, unknown> | string]> = [
    ['an empty object', '{}', 4, { [SAMPLE_RATE_ATTRIBUTE]: 4 }],
    ['an empty object with spaces', '{ }', 4, { [SAMPLE_RATE_ATTRIBUTE]: 4 }],
    ['an object', '{"a":1,"b":{"c":[1,2]}}', 2.5, { [SAMPLE_RATE_ATTRIBUTE]: 2.5, a: 1, b: { c: [1, 2] } }],
    ['an object with leading spaces', ' { "a": "}" }', 10, { [SAMPLE_RATE_ATTRIBUTE]: 10, a: '}' }],
    [
      'an object sampled before (the rates multiply)',
      '{"sightline.sample_rate":3,"a":1}',
      2,
      { [SAMPLE_RATE_ATTRIBUTE]: 6, a: 1 },
    ],
    ['a large rate', '{}', 1e21, { [SAMPLE_RATE_ATTRIBUTE]: 1e21 }],
    ['text that is not JSON (left alone)', 'not json', 2, 'not json'],
    ['an array (left alone)', '[1]', 2, '[1]'],
  ];
  it.each(cases)('%s', (_name, attributes, rate, expected) => {
    const out = withSampleRate(attributes, rate);
    if (typeof expected === 'string') expect(out).toBe(expected);
    else expect(JSON.parse(out)).toEqual(expected);
  });
});

describe('RateEstimator', () => {
  it('tends to the rate of steady traffic and follows a change within a few windows', () => {
    const estimator = new RateEstimator(5);
    let now = 0n;
    let rate = 0;
    for (let i = 0; i < 300; i++, now += SECOND / 10n) rate = estimator.observe(100, now);
    // Just after an arrival the sum holds that arrival whole: a little above the rate.
    expect(rate).toBeGreaterThan(1000);
    expect(rate).toBeLessThan(1020);
    for (let i = 0; i < 300; i++, now += SECOND / 10n) rate = estimator.observe(10, now);
    expect(rate).toBeGreaterThan(100);
    expect(rate).toBeLessThan(105);
  });

  it('takes irregular arrivals: a batch of 1,000 every 5 s is 200/s', () => {
    const estimator = new RateEstimator(30);
    let rate = 0;
    for (let i = 0n; i < 100n; i++) rate = estimator.observe(1000, i * 5n * SECOND);
    expect(rate).toBeGreaterThan(190);
    expect(rate).toBeLessThan(230);
  });

  it('does not decay when the clock goes back', () => {
    const estimator = new RateEstimator(1);
    estimator.observe(10, 10n * SECOND);
    expect(estimator.observe(10, 5n * SECOND)).toBe(20);
  });
});

describe('durationMsOf', () => {
  /** What it returned when it always parsed. */
  function parsed(attributes: string): number | undefined {
    if (!attributes.includes('"duration_ms"')) return undefined;
    try {
      const value = (JSON.parse(attributes) as Record<string, unknown> | null)?.duration_ms;
      const ms = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
      return Number.isFinite(ms) ? ms : undefined;
    } catch {
      return undefined;
    }
  }

  it.each([
    '{"duration_ms":134}',
    '{"a":"b","duration_ms":1500.5,"statement":"SELECT 1"}',
    '{"duration_ms":-0.5e3}',
    '{"duration_ms":1e999}',
    '{"duration_ms":"1000"}',
    '{"duration_ms":""}',
    '{"duration_ms":"slow"}',
    '{"duration_ms":" 12 "}',
    '{"duration_ms":null}',
    '{"duration_ms":true}',
    '{"duration_ms":[1]}',
    '{"duration_ms":{"v":1}}',
    '{"nested":{"duration_ms":5}}',
    '{"nested":[{"duration_ms":5}],"x":1}',
    '{"route":"/a/{id}","duration_ms":7}',
    '{"route":"/a/{id","duration_ms":7}',
    '{"note":"has \\"duration_ms\\":9 in it","duration_ms":7}',
    '{"note":"\\"duration_ms\\":9"}',
    '{"note":"duration_ms","duration_ms":3}',
    '{"note":"\\"duration_ms\\"","duration_ms":3}',
    '{"duration_ms":1,"duration_ms":2}',
    '{ "duration_ms" : 8 }',
    '{"duration_ms": 8}',
    '{"duration_ms":08}',
    '{"duration_ms":1.}',
    '{"duration_ms":12',
    '["duration_ms",1]',
    '"duration_ms"',
    'duration_ms=5',
    '{"\\u0064uration_ms":4}',
    '{"a":{"b":"}"},"duration_ms":6}',
    '{"a":"[","duration_ms":6}',
  ])('reads %s as a parse would', (attributes) => {
    expect(durationMsOf(attributes)).toBe(parsed(attributes));
  });
});
