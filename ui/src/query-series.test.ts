import { describe, expect, it } from 'vitest';
import { queryColumns } from './query-series.js';

describe('queryColumns', () => {
  it("turns the API's buckets into chart columns on epoch seconds", () => {
    expect(
      queryColumns([
        { timestamp: '2026-01-01T00:01:00.000Z', calls: 5, totalTimeMs: 50, meanTimeMs: 10, rows: 10 },
        { timestamp: '2026-01-01T00:02:00.000Z', calls: 0, totalTimeMs: 0, meanTimeMs: null, rows: 0 },
      ]),
    ).toEqual({
      timesS: [Date.UTC(2026, 0, 1, 0, 1) / 1000, Date.UTC(2026, 0, 1, 0, 2) / 1000],
      calls: [5, 0],
      meanTimeMs: [10, null],
      rows: [10, 0],
    });
  });

  it('leaves out a bucket whose time cannot be read', () => {
    const columns = queryColumns([
      { timestamp: 'not a time', calls: 9, totalTimeMs: 9, meanTimeMs: 1, rows: 9 },
    ]);
    expect(columns.timesS).toEqual([]);
    expect(columns.calls).toEqual([]);
  });
});
