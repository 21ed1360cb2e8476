import { describe, expect, it } from 'vitest';
import { logRow, metricRow, rumEventRow, spanRow } from '../../../test/fixtures/rows.js';
import { RecordingContext, batchOf } from '../../../test/helpers/stage-context.js';
import { limitStageSchema } from '../../config/stages/limit.js';
import type { StageConfig } from '../../config/schema.js';
import { silentLogger } from '../../core/logger.js';
import { orgId, type MetricPointRow } from '../../store/rows.js';
import {
  LimitStage,
  loadLimitBaseline,
  type LimitBaseline,
  type LimitOptions,
  type UsageSource,
} from './limit.js';
import { logBytes, metricPointBytes, rumEventBytes } from './usage.js';

const SECOND = 1_000_000_000n;
/** 2027-01-15T12:00:00Z. */
const NOON = BigInt(Date.UTC(2027, 0, 15, 12)) * 1_000_000n;
const MIDNIGHT = BigInt(Date.UTC(2027, 0, 16)) * 1_000_000n;

function options(overrides: Partial<LimitOptions> = {}): LimitOptions {
  return { maxSeries: 0, seriesIdleSeconds: 86_400, maxBytesPerDay: 0, ...overrides };
}

function points(...series: string[]): MetricPointRow[] {
  return series.map((seriesId, i) => metricRow({ id: `${seriesId}-${i}`, seriesId }));
}

function seriesOf(rows: readonly MetricPointRow[]): string[] {
  return rows.map((r) => r.seriesId);
}

describe('LimitStage', () => {
  it('has sane defaults', () => {
    expect(limitStageSchema.parse({ type: 'limit' })).toEqual({
      type: 'limit',
      enabled: true,
      maxSeries: 100_000,
      seriesIdleSeconds: 86_400,
      maxBytesPerDay: 10 * 1024 ** 3,
      orgs: {},
    });
  });

  it('lets everything through untouched without limits', () => {
    const stage = new LimitStage(options());
    const batch = batchOf({ logs: [logRow()], metricPoints: points('a', 'b') });
    expect(stage.process(batch, new RecordingContext())).toBe(batch);
  });

  it('admits series up to maxSeries, drops the points of new ones beyond, and lets admitted ones flow', () => {
    const stage = new LimitStage(options({ maxSeries: 3 }));
    const context = new RecordingContext(NOON);
    const steps: Array<{ send: string[]; kept: string[]; dropped: number }> = [
      { send: ['s1', 's2', 's1', 's3', 's4', 's5'], kept: ['s1', 's2', 's1', 's3'], dropped: 2 },
      { send: ['s1', 's2', 's6', 's3'], kept: ['s1', 's2', 's3'], dropped: 1 },
      { send: ['s4'], kept: [], dropped: 1 },
      { send: ['s3', 's3'], kept: ['s3', 's3'], dropped: 0 },
    ];
    for (const { send, kept, dropped } of steps) {
      context.counts.length = 0;
      context.nowNs += SECOND;
      expect(
        seriesOf(stage.process(batchOf({ metricPoints: points(...send) }), context).metricPoints),
      ).toEqual(kept);
      expect(context.total('series_limit')).toBe(dropped);
    }
    expect(context.counts.every((c) => c.kind === 'metricPoints' && c.outcome === 'dropped')).toBe(true);
  });

  it('makes room for new series once old ones stay idle for seriesIdleSeconds', () => {
    const stage = new LimitStage(options({ maxSeries: 2, seriesIdleSeconds: 600 }));
    const context = new RecordingContext(NOON);
    stage.process(batchOf({ metricPoints: points('old', 'busy') }), context);
    for (let i = 0; i < 11; i++) {
      context.nowNs += 60n * SECOND;
      stage.process(batchOf({ metricPoints: points('busy') }), context);
    }
    // 'old' had no point for 11 minutes; 'busy' had one a moment ago.
    expect(seriesOf(stage.process(batchOf({ metricPoints: points('new') }), context).metricPoints)).toEqual([
      'new',
    ]);
    expect(
      seriesOf(stage.process(batchOf({ metricPoints: points('busy', 'other') }), context).metricPoints),
    ).toEqual(['busy']);
  });

  describe('bytes per UTC day', () => {
    const size = logBytes(logRow());
    const cases: Array<{ name: string; at: bigint; kept: number }> = [
      { name: 'the same day, a second before midnight', at: MIDNIGHT - SECOND, kept: 0 },
      { name: 'at midnight UTC', at: MIDNIGHT, kept: 3 },
      { name: 'the next day at noon', at: MIDNIGHT + 12n * 3600n * SECOND, kept: 3 },
    ];
    it.each(cases)('drops beyond maxBytesPerDay and starts again at midnight: $name', ({ at, kept }) => {
      const stage = new LimitStage(options({ maxBytesPerDay: 3 * size + size - 1 }));
      const context = new RecordingContext(NOON);
      const five = batchOf({ logs: Array.from({ length: 5 }, (_, i) => logRow({ id: `l${i}` })) });
      expect(stage.process(five, context).logs).toHaveLength(3);
      expect(context.counts).toEqual([{ outcome: 'dropped', kind: 'logs', reason: 'bytes_limit', n: 2 }]);
      context.nowNs = at;
      expect(stage.process(five, context).logs).toHaveLength(kept);
    });

    it('does not start a new day when the clock steps back over midnight', () => {
      const stage = new LimitStage(options({ maxBytesPerDay: size }));
      const context = new RecordingContext(MIDNIGHT + SECOND);
      expect(stage.process(batchOf({ logs: [logRow()] }), context).logs).toHaveLength(1);
      context.nowNs = MIDNIGHT - SECOND;
      expect(stage.process(batchOf({ logs: [logRow()] }), context).logs).toHaveLength(0);
      context.nowNs = MIDNIGHT + 2n * SECOND;
      expect(stage.process(batchOf({ logs: [logRow()] }), context).logs).toHaveLength(0);
    });

    it('counts every signal against the same budget, and lets a smaller record fit the rest', () => {
      const big = logRow({ id: 'big', body: 'x'.repeat(1000) });
      const small = spanRow();
      const stage = new LimitStage(options({ maxBytesPerDay: logBytes(big) + 600 }));
      const context = new RecordingContext(NOON);
      const out = stage.process(
        batchOf({ logs: [big, logRow({ id: 'big2', body: 'y'.repeat(1000) })], spans: [small] }),
        context,
      );
      expect(out.logs.map((l) => l.id)).toEqual(['big']);
      expect(out.spans).toEqual([small]);
      expect(context.total('bytes_limit')).toBe(1);
    });

    it('counts browser events against the budget, and drops them beyond it', () => {
      const event = rumEventRow();
      const stage = new LimitStage(
        options({ maxBytesPerDay: logBytes(logRow()) + 2 * rumEventBytes(event) }),
      );
      const context = new RecordingContext(NOON);
      const out = stage.process(
        batchOf({
          logs: [logRow()],
          rumEvents: [event, rumEventRow({ id: 'rum-2' }), rumEventRow({ id: 'rum-3' })],
        }),
        context,
      );
      expect(out.logs).toHaveLength(1);
      expect(out.rumEvents.map((r) => r.id)).toEqual(['rum-1', 'rum-2']);
      expect(context.counts).toEqual([
        { outcome: 'dropped', kind: 'rumEvents', reason: 'bytes_limit', n: 1 },
      ]);
    });

    it('does not let a point dropped for bytes take a place among the series', () => {
      const stage = new LimitStage(options({ maxSeries: 1, maxBytesPerDay: 1 }));
      const context = new RecordingContext(NOON);
      expect(stage.process(batchOf({ metricPoints: points('a') }), context).metricPoints).toEqual([]);
      expect(context.total('bytes_limit')).toBe(1);
      context.nowNs = MIDNIGHT;
      // Without a limit on bytes now: 'b' gets the one place because 'a' never took it.
      const unlimited = new LimitStage(options({ maxSeries: 1 }));
      expect(
        seriesOf(unlimited.process(batchOf({ metricPoints: points('b', 'a') }), context).metricPoints),
      ).toEqual(['b']);
    });
  });

  it('starts from the baseline after a restart: today’s bytes and the recent series', () => {
    const org = orgId('org_test');
    const size = logBytes(logRow());
    const baseline: LimitBaseline = {
      day: '2027-01-15',
      bytes: new Map([[org, 9 * size]]),
      series: new Map([
        [
          org,
          [
            ['kept-1', Number(NOON / 1_000_000n) - 1000],
            ['kept-2', Number(NOON / 1_000_000n) - 60_000],
            // Idle longer than seriesIdleSeconds: not carried over.
            ['idle', Number(NOON / 1_000_000n) - 7_200_000],
          ],
        ],
      ]),
    };
    const context = new RecordingContext(NOON);
    const bytes = new LimitStage(options({ maxBytesPerDay: 10 * size }), { baseline });
    const logs = bytes.process(batchOf({ logs: [logRow({ id: 'a' }), logRow({ id: 'b' })] }), context).logs;
    expect(logs.map((l) => l.id)).toEqual(['a']);
    const series = new LimitStage(options({ maxSeries: 3, seriesIdleSeconds: 3600 }), { baseline });
    const kept = series.process(
      batchOf({ metricPoints: points('kept-1', 'new-1', 'new-2', 'kept-2') }),
      context,
    );
    expect(seriesOf(kept.metricPoints)).toEqual(['kept-1', 'new-1', 'kept-2']);
  });

  it('ignores a baseline of another day', () => {
    const org = orgId('org_test');
    const stage = new LimitStage(options({ maxBytesPerDay: 10_000 }), {
      baseline: { day: '2027-01-14', bytes: new Map([[org, 10_000]]), series: new Map() },
    });
    expect(stage.process(batchOf({ logs: [logRow()] }), new RecordingContext(NOON)).logs).toHaveLength(1);
  });

  it('sets the org gauges and warns once per limit and day', () => {
    const gauges: Record<string, number> = {};
    const warnings: unknown[] = [];
    const logger = silentLogger();
    logger.warn = (object: unknown) => void warnings.push(object);
    const stage = new LimitStage(options({ maxSeries: 1, maxBytesPerDay: 100_000 }), {
      logger,
      metrics: {
        orgSeries: { set: (labels, value) => (gauges[`series ${labels.org}`] = value) },
        orgBytesToday: { set: (labels, value) => (gauges[`bytes ${labels.org}`] = value) },
      },
    });
    const context = new RecordingContext(NOON);
    stage.process(batchOf({ metricPoints: points('a', 'b') }), context);
    stage.process(batchOf({ metricPoints: points('c') }), context);
    expect(gauges).toEqual({
      'series org_test': 1,
      'bytes org_test': metricPointBytes(metricRow({ seriesId: 'a', id: 'a-0' })),
    });
    expect(warnings).toEqual([{ org: 'org_test', reason: 'series_limit', maxSeries: 1 }]);
    context.nowNs = MIDNIGHT;
    stage.process(batchOf({ metricPoints: points('d') }), context);
    expect(warnings).toHaveLength(2);
    expect(gauges['bytes org_test']).toBe(0);
  });
});

describe('loadLimitBaseline', () => {
  const NOW = NOON;
  function source(): UsageSource & { calls: string[] } {
    const calls: string[] = [];
    return {
      calls,
      dayUsage: async (day) => {
        calls.push(`day ${day}`);
        return [
          { orgId: orgId('o1'), day, signal: 'logs', records: 1, bytes: 100 },
          { orgId: orgId('o1'), day, signal: 'metrics', records: 1, bytes: 50 },
        ];
      },
      activeSeries: async (sinceNs, maxPerOrg) => {
        calls.push(`series ${(NOW - sinceNs) / SECOND}s ${maxPerOrg}`);
        return [{ orgId: orgId('o1'), seriesId: 's', lastSeenNs: NOW - SECOND }];
      },
    };
  }
  const limit = (input: Record<string, unknown>): StageConfig =>
    limitStageSchema.parse({ type: 'limit', ...input });

  it('reads today’s bytes and the series of the widest window and largest limit any org has', async () => {
    const from = source();
    const baseline = await loadLimitBaseline(
      from,
      [
        limit({
          maxSeries: 10,
          orgs: { o2: { maxSeries: 50, seriesIdleSeconds: 172_800 }, o3: { enabled: false, maxSeries: 99 } },
        }),
      ],
      NOW,
    );
    expect(from.calls).toEqual(['day 2027-01-15', 'series 172800s 50']);
    expect(baseline).toEqual({
      day: '2027-01-15',
      bytes: new Map([['o1', 150]]),
      series: new Map([['o1', [['s', Number((NOW - SECOND) / 1_000_000n)]]]]),
    });
  });

  it('reads nothing when no org has the limit stage on, and no series without a series limit', async () => {
    const off = source();
    await loadLimitBaseline(off, [limit({ enabled: false })], NOW);
    expect(off.calls).toEqual([]);
    const bytesOnly = source();
    await loadLimitBaseline(bytesOnly, [limit({ maxSeries: 0 })], NOW);
    expect(bytesOnly.calls).toEqual(['day 2027-01-15']);
    const onForOne = source();
    await loadLimitBaseline(onForOne, [limit({ enabled: false, orgs: { o1: { enabled: true } } })], NOW);
    expect(onForOne.calls).toEqual(['day 2027-01-15', 'series 86400s 100000']);
  });
});
