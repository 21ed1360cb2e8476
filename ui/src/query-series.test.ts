import { describe, expect, it } from 'vitest';
import { querySeries } from './query-series.js';

describe('querySeries', () => {
  it('sums the rows of one interval end (users, databases) and orders the points by time', () => {
    const points = querySeries([
      { intervalEnd: '2026-01-01T00:02:00.000Z', calls: 3, totalTimeMs: 30, rows: 3 },
      { intervalEnd: '2026-01-01T00:01:00.000Z', calls: 4, totalTimeMs: 10, rows: 8 },
      { intervalEnd: '2026-01-01T00:01:00.000Z', calls: 1, totalTimeMs: 40, rows: 2 },
    ]);
    expect(points).toEqual([
      { timeS: Date.UTC(2026, 0, 1, 0, 1) / 1000, calls: 5, totalTimeMs: 50, meanTimeMs: 10, rows: 10 },
      { timeS: Date.UTC(2026, 0, 1, 0, 2) / 1000, calls: 3, totalTimeMs: 30, meanTimeMs: 10, rows: 3 },
    ]);
  });

  it('has no mean for an interval without calls, and skips unreadable times', () => {
    const points = querySeries([
      { intervalEnd: '2026-01-01T00:01:00Z', calls: 0, totalTimeMs: 0, rows: 0 },
      { intervalEnd: 'not a time', calls: 9, totalTimeMs: 9, rows: 9 },
    ]);
    expect(points).toHaveLength(1);
    expect(points[0]?.meanTimeMs).toBeNull();
  });
});
