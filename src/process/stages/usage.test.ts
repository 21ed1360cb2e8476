import { describe, expect, it } from 'vitest';
import { logRow, metricRow, rumEventRow, spanRow } from '../../../test/fixtures/rows.js';
import { batchOf } from '../../../test/helpers/stage-context.js';
import { orgId, type QuerySampleRow, type QueryStatRow } from '../../store/rows.js';
import {
  UsageRecorder,
  logBytes,
  metricPointBytes,
  querySampleBytes,
  queryStatBytes,
  rumEventBytes,
  spanBytes,
  utcDay,
  type UsageEntry,
  type UsageSink,
} from './usage.js';

const ORG_1 = orgId('org_1');
const ORG_2 = orgId('org_2');
const MS = 1_000_000n;
const at = (iso: string): bigint => BigInt(Date.parse(iso)) * MS;

/** A sink that keeps what it was given, and fails while `failing` is set. */
class MemorySink implements UsageSink {
  readonly flushes: UsageEntry[][] = [];
  failing = false;

  async addUsage(entries: readonly UsageEntry[]): Promise<void> {
    if (this.failing) throw new Error('the store is down');
    this.flushes.push(entries.map((e) => ({ ...e })));
  }
}

describe('utcDay', () => {
  it.each([
    ['2027-01-15T00:00:00.000Z', '2027-01-15'],
    ['2027-01-15T23:59:59.999Z', '2027-01-15'],
    ['2027-01-16T00:00:00.000Z', '2027-01-16'],
    ['2024-02-29T12:00:00.000Z', '2024-02-29'],
  ])('%s is %s', (iso, day) => {
    expect(utcDay(at(iso))).toBe(day);
  });
});

describe('row byte estimates', () => {
  const text = (n: number): string => `{"a":"${'x'.repeat(n)}"}`;
  it.each([
    ['logs', (n: number) => logBytes(logRow({ body: 'x'.repeat(n) }))],
    ['spans', (n: number) => spanBytes(spanRow({ attributes: text(n) }))],
    ['metric points', (n: number) => metricPointBytes(metricRow({ labels: text(n) }))],
    ['browser events', (n: number) => rumEventBytes(rumEventRow({ stack: 'x'.repeat(n) }))],
  ])('%s grow with their text, one byte a character', (_kind, bytes) => {
    expect(bytes(0)).toBeGreaterThan(64);
    expect(bytes(1000) - bytes(0)).toBe(1000);
  });

  it('does not count a browser event’s client address, which is not stored', () => {
    expect(rumEventBytes(rumEventRow({ clientAddress: '2001:4860:4860::8888' }))).toBe(
      rumEventBytes(rumEventRow()),
    );
  });

  it('counts a histogram’s buckets and a statement’s text and plan', () => {
    expect(metricPointBytes(metricRow({ bucketBounds: [1, 2, 3] })) - metricPointBytes(metricRow())).toBe(48);
    const stat = {
      query: 'SELECT 1',
      fingerprint: 'f',
      queryId: '1',
      database: 'db',
      userName: 'u',
      entityId: 'e',
    };
    expect(queryStatBytes(stat as QueryStatRow)).toBe(200 + 8 + 1 + 1 + 2 + 1 + 1);
    const sample = { ...stat, plan: '{}', source: 'plan' };
    expect(querySampleBytes(sample as unknown as QuerySampleRow)).toBe(48 + 8 + 2 + 1 + 2 + 1 + 1 + 4);
  });
});

describe('UsageRecorder', () => {
  it('adds up records and bytes per org, UTC day and signal', async () => {
    const sink = new MemorySink();
    const recorder = new UsageRecorder(sink, { flushIntervalMs: 60_000 });
    const noon = at('2027-01-15T12:00:00Z');
    recorder.record(ORG_1, batchOf({ logs: [logRow(), logRow()], metricPoints: [metricRow()] }), noon);
    recorder.record(ORG_1, batchOf({ logs: [logRow()] }), noon + 1000n * MS);
    recorder.record(ORG_2, batchOf({ spans: [spanRow()] }), noon);
    recorder.record(ORG_2, batchOf({ rumEvents: [rumEventRow(), rumEventRow()] }), noon);
    recorder.record(ORG_1, batchOf({ logs: [logRow()] }), at('2027-01-16T00:00:00Z'));
    recorder.record(ORG_1, batchOf({}), noon);
    await recorder.flush();
    const one = logBytes(logRow());
    expect(sink.flushes).toEqual([
      [
        { orgId: ORG_1, day: '2027-01-15', signal: 'logs', records: 3, bytes: 3 * one },
        {
          orgId: ORG_1,
          day: '2027-01-15',
          signal: 'metrics',
          records: 1,
          bytes: metricPointBytes(metricRow()),
        },
        { orgId: ORG_2, day: '2027-01-15', signal: 'spans', records: 1, bytes: spanBytes(spanRow()) },
        {
          orgId: ORG_2,
          day: '2027-01-15',
          signal: 'rum',
          records: 2,
          bytes: 2 * rumEventBytes(rumEventRow()),
        },
        { orgId: ORG_1, day: '2027-01-16', signal: 'logs', records: 1, bytes: one },
      ],
    ]);
    expect(recorder.unflushed()).toEqual([]);
    await recorder.flush();
    expect(sink.flushes).toHaveLength(1);
  });

  it('keeps what a failed flush held and adds it to the next', async () => {
    const sink = new MemorySink();
    const recorder = new UsageRecorder(sink, { flushIntervalMs: 60_000 });
    const noon = at('2027-01-15T12:00:00Z');
    recorder.record(ORG_1, batchOf({ logs: [logRow()] }), noon);
    sink.failing = true;
    await expect(recorder.flush()).rejects.toThrow('the store is down');
    recorder.record(ORG_1, batchOf({ logs: [logRow(), logRow()] }), noon);
    sink.failing = false;
    await recorder.flush();
    expect(sink.flushes).toEqual([
      [{ orgId: ORG_1, day: '2027-01-15', signal: 'logs', records: 3, bytes: 3 * logBytes(logRow()) }],
    ]);
  });

  it('flushes on its timer and at shutdown; shutdown is idempotent and safe before start', async () => {
    const idle = new UsageRecorder(new MemorySink(), { flushIntervalMs: 10 });
    await idle.shutdown();
    await idle.shutdown();

    const sink = new MemorySink();
    const recorder = new UsageRecorder(sink, { flushIntervalMs: 10 });
    await recorder.start();
    recorder.record(ORG_1, batchOf({ logs: [logRow()] }), at('2027-01-15T12:00:00Z'));
    await expect.poll(() => sink.flushes.length).toBe(1);
    recorder.record(ORG_1, batchOf({ spans: [spanRow()] }), at('2027-01-15T12:00:00Z'));
    await recorder.shutdown();
    await recorder.shutdown();
    expect(sink.flushes.flat().map((e) => e.signal)).toEqual(['logs', 'spans']);
  });
});
