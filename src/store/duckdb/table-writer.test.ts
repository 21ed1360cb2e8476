import { describe, expect, it } from 'vitest';
import { timeRanges } from './table-writer.js';

const HOUR = 3_600_000_000_000n;

describe('timeRanges', () => {
  it('keeps times less than an hour apart in one range, in any order', () => {
    expect(timeRanges([5n, 1n, HOUR])).toEqual([[1n, HOUR]]);
  });

  it('gives a stray time a range of its own instead of widening the search', () => {
    const now = 1_700_000_000_000_000_000n;
    expect(timeRanges([now, 1n, now + 10n, now + 3n * HOUR])).toEqual([
      [1n, 1n],
      [now, now + 10n],
      [now + 3n * HOUR, now + 3n * HOUR],
    ]);
  });
});
