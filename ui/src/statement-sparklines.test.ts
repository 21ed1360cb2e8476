import { describe, expect, it } from 'vitest';
import { totalTimeLine } from './statement-sparklines.js';

describe('totalTimeLine', () => {
  it('has a point per bucket of the range, 0 where the statement had no calls', () => {
    const range = { fromMs: 125_000, toMs: 420_000, stepMs: 60_000 };
    expect(
      totalTimeLine(
        [
          [120_000, 3, 30],
          [360_000, 1, 5],
        ],
        range,
      ),
    ).toEqual([
      [120, 30],
      [180, 0],
      [240, 0],
      [300, 0],
      [360, 5],
      [420, 0],
    ]);
  });

  it('is empty for an empty or unusable range', () => {
    expect(totalTimeLine([[0, 1, 1]], { fromMs: 10, toMs: 5, stepMs: 60_000 })).toEqual([]);
    expect(totalTimeLine([[0, 1, 1]], { fromMs: 0, toMs: 5, stepMs: 0 })).toEqual([]);
  });
});
