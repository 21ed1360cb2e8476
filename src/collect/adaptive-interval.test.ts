import { describe, expect, it } from 'vitest';
import { AdaptiveInterval } from './adaptive-interval.js';

describe('AdaptiveInterval', () => {
  const options = { baseMs: 15_000, maxBusyShare: 0.5, maxStretch: 8 };

  it('keeps the base interval while cycles are fast', () => {
    const interval = new AdaptiveInterval(options);
    expect(interval.observe(200)).toBe(15_000);
    expect(interval.stretched).toBe(false);
  });

  it('stretches so a slow cycle uses at most its share of the interval', () => {
    const interval = new AdaptiveInterval(options);
    expect(interval.observe(12_000)).toBe(24_000);
    expect(interval.stretched).toBe(true);
  });

  it('never stretches beyond the maximum', () => {
    const interval = new AdaptiveInterval(options);
    expect(interval.observe(10_000_000)).toBe(120_000);
  });

  it('shrinks back by halves once cycles are fast again', () => {
    const interval = new AdaptiveInterval(options);
    interval.observe(12_000);
    expect(interval.observe(100)).toBe(19_500);
    expect(interval.observe(100)).toBe(17_250);
    for (let i = 0; i < 20; i++) interval.observe(100);
    expect(interval.intervalMs).toBe(15_000);
    expect(interval.stretched).toBe(false);
  });
});
