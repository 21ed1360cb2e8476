import { describe, expect, it } from 'vitest';
import { thrown } from '../../test/helpers/thrown.js';
import { parseActivityQuery } from './activity-query.js';

const NOW_MS = 1_714_564_800_000;
const NOW_NS = 1_714_564_800_000_000_000n;
const HOUR_NS = 3_600_000_000_000n;

describe('parseActivityQuery', () => {
  it('shows the sessions at the end of the last hour, in one-minute buckets', () => {
    expect(parseActivityQuery({}, NOW_MS)).toEqual({
      fromNs: NOW_NS - HOUR_NS,
      toNs: NOW_NS,
      atNs: NOW_NS,
      stepNs: 60_000_000_000n,
    });
  });

  it('takes a moment to look at and a step', () => {
    const query = parseActivityQuery({ at: '2024-05-01T11:30:00Z', step: '15s' }, NOW_MS);
    expect(query.atNs).toBe(NOW_NS - HOUR_NS / 2n);
    expect(query.stepNs).toBe(15_000_000_000n);
  });

  it('says which parameter is wrong', () => {
    expect(thrown(() => parseActivityQuery({ at: 'now' }, NOW_MS)).message).toMatch(
      /^at="now" is not a time/,
    );
    expect(thrown(() => parseActivityQuery({ step: '500ms' }, NOW_MS)).message).toBe(
      'step must be at least 1s',
    );
  });
});
