import { describe, expect, it } from 'vitest';
import { DigestDeltaTracker, psToMs, type DigestCounters } from './digest-deltas.js';

function row(overrides: Partial<DigestCounters> = {}): DigestCounters {
  return {
    schema: 'shop',
    digest: 'd1',
    firstSeen: '2026-11-27 10:00:00',
    lastSeen: '2026-11-27 10:00:00',
    calls: 10n,
    timerWaitPs: 1_000_000_000n,
    minTimerWaitPs: 1n,
    maxTimerWaitPs: 5n,
    lockTimePs: 0n,
    errors: 0n,
    warnings: 0n,
    rowsAffected: 0n,
    rowsSent: 10n,
    rowsExamined: 20n,
    tmpDiskTables: 0n,
    noIndexUsed: 0n,
    ...overrides,
  };
}

function next(tracker: DigestDeltaTracker, rows: DigestCounters[], epoch = 'e1', partial = false) {
  const { deltas, accept } = tracker.preview({ epoch, rows, partial });
  accept();
  return deltas.map((d) => [d.digest, d.calls, d.rowsSent]);
}

describe('DigestDeltaTracker', () => {
  it.each([
    {
      name: 'the first snapshot is only a baseline',
      steps: [[row()]],
      expected: [[]],
    },
    {
      name: 'a growing row gives its differences',
      steps: [[row()], [row({ calls: 15n, rowsSent: 14n })]],
      expected: [[], [['d1', 5n, 4n]]],
    },
    {
      name: 'an unchanged row gives nothing',
      steps: [[row()], [row()]],
      expected: [[], []],
    },
    {
      name: 'a new row counts from zero',
      steps: [[row()], [row(), row({ digest: 'd2', calls: 3n, rowsSent: 3n })]],
      expected: [[], [['d2', 3n, 3n]]],
    },
    {
      name: 'a row created again (TRUNCATE: FIRST_SEEN moved) counts from zero, even with more calls',
      steps: [[row()], [row({ firstSeen: '2026-11-27 10:05:00', calls: 12n, rowsSent: 12n })]],
      expected: [[], [['d1', 12n, 12n]]],
    },
    {
      name: 'a row whose count went down counts from zero, never negative',
      steps: [[row()], [row({ calls: 2n, rowsSent: 2n })]],
      expected: [[], [['d1', 2n, 2n]]],
    },
    {
      name: 'a counter that went down alone is clamped at zero',
      steps: [[row()], [row({ calls: 11n, rowsSent: 1n })]],
      expected: [[], [['d1', 1n, 0n]]],
    },
  ])('$name', ({ steps, expected }) => {
    const tracker = new DigestDeltaTracker(100);
    expect(steps.map((rows) => next(tracker, rows))).toEqual(expected);
  });

  it('counts every row from zero after a restart (the epoch changed)', () => {
    const tracker = new DigestDeltaTracker(100);
    next(tracker, [row({ calls: 100n })]);
    expect(next(tracker, [row({ calls: 120n, rowsSent: 7n })], 'e2')).toEqual([['d1', 120n, 7n]]);
  });

  it('keeps rows a partial read did not return, and moves seenSince to the newest LAST_SEEN', () => {
    const tracker = new DigestDeltaTracker(100);
    next(tracker, [row(), row({ digest: 'd2', lastSeen: '2026-11-27 10:01:00' })]);
    expect(tracker.seenSince).toBe('2026-11-27 10:01:00');
    expect(next(tracker, [row({ calls: 11n, lastSeen: '2026-11-27 10:02:00' })], 'e1', true)).toEqual([
      ['d1', 1n, 0n],
    ]);
    // d2 was not read but is still known: its next growth is a difference, not all its calls.
    expect(
      next(tracker, [row({ digest: 'd2', calls: 13n, lastSeen: '2026-11-27 10:03:00' })], 'e1', true),
    ).toEqual([['d2', 3n, 0n]]);
  });

  it('does not move the baseline until accepted, so unpublished deltas come again', () => {
    const tracker = new DigestDeltaTracker(100);
    next(tracker, [row()]);
    const first = tracker.preview({ epoch: 'e1', rows: [row({ calls: 14n })], partial: false });
    expect(first.deltas.map((d) => d.calls)).toEqual([4n]);
    const again = tracker.preview({ epoch: 'e1', rows: [row({ calls: 16n })], partial: false });
    expect(again.deltas.map((d) => d.calls)).toEqual([6n]);
  });

  it('remembers at most maxDigests rows, forgetting those seen longest ago', () => {
    const tracker = new DigestDeltaTracker(2);
    next(tracker, [
      row({ digest: 'old', lastSeen: '2026-11-27 09:00:00' }),
      row({ digest: 'mid', lastSeen: '2026-11-27 09:30:00' }),
      row({ digest: 'new', lastSeen: '2026-11-27 10:00:00' }),
    ]);
    // 'old' was forgotten: it counts from zero again (the price of bounded memory), the others do not.
    expect(
      next(tracker, [
        row({ digest: 'old', calls: 11n, lastSeen: '2026-11-27 10:01:00' }),
        row({ digest: 'new', calls: 11n, lastSeen: '2026-11-27 10:01:00' }),
      ]),
    ).toEqual([
      ['old', 11n, 10n],
      ['new', 1n, 0n],
    ]);
  });
});

describe('psToMs', () => {
  it.each([
    [0n, 0],
    [1_000_000_000n, 1],
    [1_500_000n, 0.0015],
    // 2^64 - 1 ps (the column's maximum): no precision lost in the whole milliseconds.
    [18_446_744_073_709_551_615n, 18_446_744_073.709553],
    // Beyond 2^53 ps a double would round the picoseconds; the milliseconds stay exact.
    [9_007_199_254_740_993_000n, 9_007_199_254.740993],
  ])('%s ps is %s ms', (ps, ms) => {
    expect(psToMs(ps)).toBeCloseTo(ms, 6);
  });
});
