import { describe, expect, it } from 'vitest';
import { HOUR_NS, MAX_STEPS_PER_PASS, MINUTE_NS, ceilTo, floorTo, planRollup } from './rollup-job.js';

const S = 1_000_000_000n;
/** An hour boundary, so minutes, 5 minutes and hours all start here. */
const H0 = floorTo(1_700_000_000_000_000_000n, HOUR_NS);

describe('planRollup', () => {
  const lateness = 600n * S;
  const week = 7n * 24n * HOUR_NS;

  it('recomputes the lateness window up to and including the current minute', () => {
    const now = H0 + 34n * MINUTE_NS + 56n * S;
    expect(planRollup(now, lateness, week, H0 + 34n * MINUTE_NS)).toEqual({
      completeTo: H0 + 34n * MINUTE_NS,
      steps: [[H0 + 24n * MINUTE_NS, H0 + 35n * MINUTE_NS]],
    });
  });

  it('splits a window that crosses an hour into one step per hour', () => {
    const now = H0 + HOUR_NS + 3n * MINUTE_NS + 10n * S;
    expect(planRollup(now, lateness, week, undefined).steps).toEqual([
      [H0 + 53n * MINUTE_NS, H0 + HOUR_NS],
      [H0 + HOUR_NS, H0 + HOUR_NS + 4n * MINUTE_NS],
    ]);
  });

  it('starts where the last pass got to after downtime, a day per pass at most', () => {
    const now = H0 + 3n * HOUR_NS + 30n * S;
    const afterDowntime = planRollup(now, lateness, week, H0 + 17n * MINUTE_NS);
    expect(afterDowntime.steps[0]).toEqual([H0 + 17n * MINUTE_NS, H0 + HOUR_NS]);
    expect(afterDowntime.steps.at(-1)).toEqual([H0 + 3n * HOUR_NS, H0 + 3n * HOUR_NS + MINUTE_NS]);
    expect(afterDowntime.steps).toHaveLength(4);

    const longAgo = planRollup(now + 5n * 24n * HOUR_NS, lateness, week, H0);
    expect(longAgo.steps).toHaveLength(MAX_STEPS_PER_PASS);
    expect(longAgo.steps[0]?.[0]).toBe(H0);
    expect(longAgo.steps.at(-1)?.[1]).toBe(H0 + BigInt(MAX_STEPS_PER_PASS) * HOUR_NS);
  });

  it('never reaches back further than the catch-up limit', () => {
    const now = H0 + 30n * 24n * HOUR_NS;
    const plan = planRollup(now, lateness, 2n * HOUR_NS, H0);
    expect(plan.steps[0]?.[0]).toBe(now - 2n * HOUR_NS);
    expect(plan.steps.at(-1)?.[1]).toBe(now + MINUTE_NS);
  });

  it('rounds to buckets', () => {
    expect(floorTo(H0 + 61n * S, MINUTE_NS)).toBe(H0 + MINUTE_NS);
    expect(ceilTo(H0 + 61n * S, 5n * MINUTE_NS)).toBe(H0 + 5n * MINUTE_NS);
    expect(ceilTo(H0, HOUR_NS)).toBe(H0);
  });
});
