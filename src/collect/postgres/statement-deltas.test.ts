import { describe, expect, it } from 'vitest';
import { StatementDeltaTracker, type StatementCounters } from './statement-deltas.js';

function entry(
  queryId: string,
  calls: number,
  totalTimeMs: number,
  extra: Partial<StatementCounters> = {},
): StatementCounters {
  return {
    database: 'app',
    user: 'web',
    queryId,
    calls,
    totalTimeMs,
    minTimeMs: 0.1,
    maxTimeMs: 9,
    rows: calls,
    sharedBlksHit: calls * 3,
    sharedBlksRead: 0,
    sharedBlksDirtied: 0,
    sharedBlksWritten: 0,
    tempBlksRead: 0,
    tempBlksWritten: 0,
    walBytes: 0,
    ...extra,
  };
}

describe('StatementDeltaTracker', () => {
  it('uses the first snapshot only as a baseline', () => {
    const tracker = new StatementDeltaTracker();
    expect(tracker.next({ epoch: 'a', entries: [entry('1', 100, 50)] })).toEqual([]);
  });

  it('emits the difference between snapshots, and nothing for idle statements', () => {
    const tracker = new StatementDeltaTracker();
    tracker.next({ epoch: 'a', entries: [entry('1', 100, 50), entry('2', 7, 1)] });
    const deltas = tracker.next({ epoch: 'a', entries: [entry('1', 130, 65), entry('2', 7, 1)] });
    expect(deltas).toHaveLength(1);
    expect(deltas[0]).toMatchObject({
      queryId: '1',
      calls: 30,
      totalTimeMs: 15,
      rows: 30,
      sharedBlksHit: 90,
    });
  });

  it('counts a statement that appeared since the last snapshot from zero', () => {
    const tracker = new StatementDeltaTracker();
    tracker.next({ epoch: 'a', entries: [entry('1', 100, 50)] });
    const deltas = tracker.next({ epoch: 'a', entries: [entry('1', 100, 50), entry('9', 4, 2)] });
    expect(deltas).toEqual([expect.objectContaining({ queryId: '9', calls: 4, totalTimeMs: 2 })]);
  });

  it('treats fewer calls than before as an eviction: the current counts are new, never negative', () => {
    const tracker = new StatementDeltaTracker();
    tracker.next({ epoch: 'a', entries: [entry('1', 100, 50)] });
    const deltas = tracker.next({ epoch: 'a', entries: [entry('1', 5, 3)] });
    expect(deltas).toEqual([expect.objectContaining({ calls: 5, totalTimeMs: 3 })]);
  });

  it('counts every entry from zero after a reset or restart, even one that grew past its old count', () => {
    const tracker = new StatementDeltaTracker();
    tracker.next({ epoch: 'a', entries: [entry('1', 10, 5)] });
    const deltas = tracker.next({ epoch: 'b', entries: [entry('1', 25, 9)] });
    expect(deltas).toEqual([expect.objectContaining({ calls: 25, totalTimeMs: 9 })]);
  });

  it('sums top-level and nested entries of one statement', () => {
    const tracker = new StatementDeltaTracker();
    tracker.next({ epoch: 'a', entries: [entry('1', 10, 5), entry('1', 1, 1, { maxTimeMs: 20 })] });
    const deltas = tracker.next({
      epoch: 'a',
      entries: [entry('1', 12, 6), entry('1', 2, 2, { maxTimeMs: 20 })],
    });
    expect(deltas).toEqual([expect.objectContaining({ calls: 3, totalTimeMs: 2, maxTimeMs: 20 })]);
  });

  it('keeps databases and users apart', () => {
    const tracker = new StatementDeltaTracker();
    tracker.next({ epoch: 'a', entries: [entry('1', 1, 1), entry('1', 1, 1, { user: 'batch' })] });
    const deltas = tracker.next({
      epoch: 'a',
      entries: [entry('1', 2, 2), entry('1', 4, 4, { user: 'batch' })],
    });
    expect(deltas.map((d) => [d.user, d.calls])).toEqual([
      ['web', 1],
      ['batch', 3],
    ]);
  });
});
