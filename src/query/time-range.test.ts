import { describe, expect, it } from 'vitest';
import { thrown } from '../../test/helpers/thrown.js';
import { DEFAULT_RANGE_MS, defaultStepNs, parseLimit, parseStep, parseTimeRange } from './time-range.js';

const NOW_MS = 1_714_564_800_000;
const NOW_NS = 1_714_564_800_000_000_000n;
const HOUR_NS = 3_600_000_000_000n;

describe('parseTimeRange', () => {
  it('defaults to the hour before the given now', () => {
    expect(DEFAULT_RANGE_MS).toBe(3_600_000);
    expect(parseTimeRange(undefined, undefined, NOW_MS)).toEqual({ fromNs: NOW_NS - HOUR_NS, toNs: NOW_NS });
    expect(parseTimeRange('', '', NOW_MS)).toEqual({ fromNs: NOW_NS - HOUR_NS, toNs: NOW_NS });
  });

  it('defaults from to an hour before a given to', () => {
    const to = NOW_NS - 10n * HOUR_NS;
    expect(parseTimeRange(undefined, '2024-05-01T02:00:00Z', NOW_MS)).toEqual({
      fromNs: to - HOUR_NS,
      toNs: to,
    });
  });

  it('defaults to to now when only from is given', () => {
    expect(parseTimeRange('2024-05-01T00:00:00Z', undefined, NOW_MS)).toEqual({
      fromNs: NOW_NS - 12n * HOUR_NS,
      toNs: NOW_NS,
    });
  });

  it('rejects from equal to or after to', () => {
    for (const [from, to] of [
      ['1714564800000', '1714564800000'],
      ['2024-05-01T13:00:00Z', '2024-05-01T12:00:00Z'],
    ] as const) {
      const error = thrown(() => parseTimeRange(from, to, NOW_MS));
      expect(error.code).toBe('SL_ERR_BAD_REQUEST');
      expect(error.message).toBe('from must be earlier than to');
    }
  });

  it('names the parameter that is not a time', () => {
    expect(thrown(() => parseTimeRange('soon', undefined, NOW_MS)).message).toContain('from="soon"');
    expect(thrown(() => parseTimeRange(undefined, 'later', NOW_MS)).message).toContain('to="later"');
  });
});

describe('parseLimit', () => {
  it('gives the fallback when missing and the number when in range', () => {
    expect(parseLimit(undefined, 50, 500)).toBe(50);
    expect(parseLimit('500', 50, 500)).toBe(500);
  });

  it('names the bound it enforces', () => {
    expect(thrown(() => parseLimit('501', 50, 500)).message).toBe(
      'limit="501" must be an integer from 1 to 500',
    );
  });
});

describe('defaultStepNs', () => {
  const range = (ms: number) => ({ fromNs: NOW_NS - BigInt(ms) * 1_000_000n, toNs: NOW_NS });

  it('snaps to a nice step that makes at most the given number of buckets', () => {
    expect(defaultStepNs(range(3_600_000), 60)).toBe(60_000_000_000n);
    expect(defaultStepNs(range(6 * 3_600_000), 60)).toBe(600_000_000_000n);
    expect(defaultStepNs(range(60_000), 60)).toBe(10_000_000_000n);
  });

  it('uses whole days beyond a day per bucket', () => {
    expect(defaultStepNs(range(120 * 86_400_000), 60)).toBe(2n * 86_400_000_000_000n);
  });
});

describe('parseStep', () => {
  it('parses a duration and refuses too many buckets', () => {
    const hour = { fromNs: NOW_NS - HOUR_NS, toNs: NOW_NS };
    expect(parseStep('30s', hour, 60, 1000)).toBe(30_000_000_000n);
    expect(parseStep(undefined, hour, 60, 1000)).toBe(60_000_000_000n);
    expect(thrown(() => parseStep('1s', hour, 60, 1000)).message).toMatch(/more than 1000 buckets/);
  });
});
