import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './breaker.js';

function breakerAt(start = 0) {
  const clock = { t: start };
  const breaker = new CircuitBreaker({ failureThreshold: 3, openMs: 1000, maxOpenMs: 4000 }, () => clock.t);
  return { clock, breaker };
}

describe('CircuitBreaker', () => {
  it('stays closed below the failure threshold and a success resets the count', () => {
    const { breaker } = breakerAt();
    breaker.failed();
    breaker.failed();
    breaker.succeeded();
    breaker.failed();
    breaker.failed();
    expect(breaker.current).toBe('closed');
    expect(breaker.allow()).toBe(true);
  });

  it('opens after consecutive failures and refuses calls until the wait is over', () => {
    const { clock, breaker } = breakerAt();
    for (let i = 0; i < 3; i++) breaker.failed();
    expect(breaker.current).toBe('open');
    expect(breaker.allow()).toBe(false);
    expect(breaker.retryAt).toBe(1000);
    clock.t = 999;
    expect(breaker.allow()).toBe(false);
    clock.t = 1000;
    expect(breaker.allow()).toBe(true);
    expect(breaker.current).toBe('half_open');
  });

  it('closes when the half-open trial succeeds', () => {
    const { clock, breaker } = breakerAt();
    for (let i = 0; i < 3; i++) breaker.failed();
    clock.t = 1000;
    breaker.allow();
    breaker.succeeded();
    expect(breaker.current).toBe('closed');
  });

  it('reopens for twice as long when the trial fails, up to the maximum', () => {
    const { clock, breaker } = breakerAt();
    for (let i = 0; i < 3; i++) breaker.failed();
    const waits: number[] = [];
    for (let round = 0; round < 4; round++) {
      clock.t = breaker.retryAt ?? clock.t;
      expect(breaker.allow()).toBe(true);
      const trialAt = clock.t;
      breaker.failed();
      waits.push((breaker.retryAt ?? 0) - trialAt);
    }
    expect(waits).toEqual([2000, 4000, 4000, 4000]);
  });
});
