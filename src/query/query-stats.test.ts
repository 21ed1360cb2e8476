import { describe, expect, it } from 'vitest';
import { thrown } from '../../test/helpers/thrown.js';
import { parseFingerprint, parseQueryScope, parseTopQueries } from './query-stats.js';

const NOW_MS = 1_714_564_800_000;
const NOW_NS = 1_714_564_800_000_000_000n;
const HOUR_NS = 3_600_000_000_000n;
const MINUTE_NS = 60_000_000_000n;

describe('parseTopQueries', () => {
  it('defaults to the last hour by total time, 50 statements, one-minute buckets', () => {
    expect(parseTopQueries({}, NOW_MS)).toEqual({
      fromNs: NOW_NS - HOUR_NS,
      toNs: NOW_NS,
      order: 'total_time',
      limit: 50,
      stepNs: MINUTE_NS,
    });
  });

  it('takes entity, order, limit and step', () => {
    expect(
      parseTopQueries({ entity: ' pg:main ', order: 'io', limit: '500', step: '5m' }, NOW_MS),
    ).toMatchObject({ entityId: 'pg:main', order: 'io', limit: 500, stepNs: 5n * MINUTE_NS });
  });

  it('picks a step that makes about 60 buckets over a long range', () => {
    const day = parseTopQueries({ from: String(NOW_MS - 86_400_000) }, NOW_MS);
    expect(day.stepNs).toBe(30n * MINUTE_NS);
  });

  it('answers what to do for a bad order, limit or step', () => {
    expect(thrown(() => parseTopQueries({ order: 'speed' }, NOW_MS)).message).toBe(
      'order=speed is not supported; use one of total_time, calls, mean_time, rows, io, rows_examined',
    );
    expect(thrown(() => parseTopQueries({ limit: '501' }, NOW_MS)).message).toBe(
      'limit="501" must be an integer from 1 to 500',
    );
    expect(thrown(() => parseTopQueries({ step: '1s' }, NOW_MS)).message).toMatch(
      /step=1s makes more than 1000 buckets/,
    );
    expect(thrown(() => parseTopQueries({ step: '5s', limit: '500' }, NOW_MS)).message).toMatch(
      /limit=500 statements × 720 buckets is more than 100000 points/,
    );
  });
});

describe('parseQueryScope', () => {
  it('leaves the entity out when none is given', () => {
    expect(parseQueryScope({ entity: '' }, NOW_MS)).toEqual({ fromNs: NOW_NS - HOUR_NS, toNs: NOW_NS });
  });
});

describe('parseFingerprint', () => {
  it('accepts any text of reasonable length', () => {
    expect(parseFingerprint('a0b1c2d3e4f5a6b7')).toBe('a0b1c2d3e4f5a6b7');
    expect(thrown(() => parseFingerprint(' ')).code).toBe('SL_ERR_BAD_REQUEST');
    expect(thrown(() => parseFingerprint('x'.repeat(257))).message).toMatch(/1 to 256 characters/);
  });
});
