import { describe, expect, it } from 'vitest';
import type { MetricCatalogEntry } from '../store/store.js';
import { ENGINE_METRICS, counterIncrease, largest, latestValues, sum } from './database-health.js';

const S = 1_000_000_000n;
const points = (...values: Array<number | null>) => ({
  points: values.map((value, i) => ({ ts: BigInt(i) * 10n * S, value })),
});

describe('counterIncrease', () => {
  it('is the rise from the first to the last point', () => {
    expect(counterIncrease([points(100, 130, 160)])).toBe(60);
  });

  it('counts a drop as a reset: the new value is all increase', () => {
    // +20, then reset to 5 (5 since the reset), then +15.
    expect(counterIncrease([points(100, 120, 5, 20)])).toBe(40);
  });

  it('sums the series and skips points without a value', () => {
    expect(counterIncrease([points(0, null, 20), points(10, 30)])).toBe(40);
  });

  it('is null when no series has two points', () => {
    expect(counterIncrease([points(5), points(null, null)])).toBeNull();
    expect(counterIncrease([])).toBeNull();
  });
});

describe('latestValues', () => {
  const catalog: MetricCatalogEntry[] = [
    {
      name: 'mysql.threads',
      kind: 'gauge',
      unit: '{threads}',
      seriesCount: 3,
      series: [
        { seriesId: 'a', labels: '{"kind":"connected"}', ts: 1n, value: 7 },
        { seriesId: 'b', labels: '{"kind":"running"}', ts: 1n, value: 2 },
        { seriesId: 'c', labels: '{"kind":"connected","x":"y"}', ts: 1n, value: null },
      ],
    },
  ];

  it("keeps the series whose labels match the engine's selector, with a value", () => {
    expect(latestValues(catalog, ENGINE_METRICS['mysql.instance']!.connectionsUsed)).toEqual([7]);
    expect(latestValues(catalog, { name: 'mysql.threads' })).toEqual([7, 2]);
    expect(latestValues(catalog, { name: 'mysql.up' })).toEqual([]);
  });

  it('sums and picks the largest, null for nothing', () => {
    expect(sum([1, 2])).toBe(3);
    expect(sum([])).toBeNull();
    expect(largest([1, 4, 2])).toBe(4);
    expect(largest([])).toBeNull();
  });
});
