import { describe, expect, it } from 'vitest';
import { SightlineError } from '../core/errors.js';
import { LoginLimiter, describeWait, type LoginLimits } from './login-limiter.js';

const LIMITS: LoginLimits = { maxFailuresPerEmail: 3, maxFailuresPerIp: 5, windowMs: 60_000 };

function limiterAt(limits: LoginLimits = LIMITS) {
  const clock = { now: 1_000_000 };
  return { limiter: new LoginLimiter(limits, () => clock.now), clock };
}

function refusal(run: () => void): SightlineError | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof SightlineError) return error;
    throw error;
  }
}

describe('LoginLimiter', () => {
  it('refuses an email after its failures in the window, with the seconds until the oldest expires', () => {
    const { limiter, clock } = limiterAt();
    const ana = { email: 'ana@example.com', ip: '10.0.0.1' };
    limiter.recordFailure(ana);
    clock.now += 10_000;
    limiter.recordFailure(ana);
    expect(refusal(() => limiter.check(ana))).toBeUndefined();
    clock.now += 5_000;
    limiter.recordFailure(ana);
    const refused = refusal(() => limiter.check(ana));
    expect(refused?.code).toBe('SL_ERR_TOO_MANY_REQUESTS');
    expect(refused?.status).toBe(429);
    // The first failure was 15 s ago in a 60 s window.
    expect(refused?.retryAfterSeconds).toBe(45);
    expect(refused?.message).toContain('try again in 45 seconds');
    // Another address does not help: the email is counted wherever the guesses come from.
    expect(refusal(() => limiter.check({ ...ana, ip: '10.0.0.2' }))?.retryAfterSeconds).toBe(45);
    // Case and spaces do not make another email.
    expect(refusal(() => limiter.check({ ...ana, email: ' ANA@example.com' }))).toBeDefined();
  });

  it('lets the email try again once its oldest failure left the window', () => {
    const { limiter, clock } = limiterAt();
    const ana = { email: 'ana@example.com', ip: '10.0.0.1' };
    for (let i = 0; i < 3; i++) limiter.recordFailure(ana);
    clock.now += 59_999;
    expect(refusal(() => limiter.check(ana))?.retryAfterSeconds).toBe(1);
    clock.now += 1;
    expect(refusal(() => limiter.check(ana))).toBeUndefined();
  });

  it('refuses an address guessing many emails, though each email has failures left', () => {
    const { limiter } = limiterAt();
    for (let i = 0; i < 5; i++) limiter.recordFailure({ email: `user${i}@example.com`, ip: '10.0.0.9' });
    const refused = refusal(() => limiter.check({ email: 'fresh@example.com', ip: '10.0.0.9' }));
    expect(refused?.status).toBe(429);
    expect(refusal(() => limiter.check({ email: 'fresh@example.com', ip: '10.0.0.10' }))).toBeUndefined();
  });

  it('clears the email’s failures on success but keeps the address’s', () => {
    const { limiter } = limiterAt();
    const ana = { email: 'ana@example.com', ip: '10.0.0.1' };
    for (let i = 0; i < 2; i++) limiter.recordFailure(ana);
    limiter.recordSuccess(ana);
    for (let i = 0; i < 2; i++) limiter.recordFailure(ana);
    expect(refusal(() => limiter.check(ana))).toBeUndefined();
    // Four failures from the address so far; the fifth uses up its limit.
    limiter.recordFailure({ email: 'bob@example.com', ip: '10.0.0.1' });
    expect(refusal(() => limiter.check(ana))?.status).toBe(429);
  });

  it('forgets the stalest keys beyond its capacity', () => {
    const { limiter } = limiterAt({
      ...LIMITS,
      maxFailuresPerEmail: 1,
      maxFailuresPerIp: 100,
      maxEntries: 4,
    });
    limiter.recordFailure({ email: 'first@example.com', ip: '10.0.0.1' });
    expect(refusal(() => limiter.check({ email: 'first@example.com', ip: '10.0.0.1' }))).toBeDefined();
    // Each adds an email key; the address key is refreshed and stays.
    for (let i = 0; i < 3; i++) limiter.recordFailure({ email: `other${i}@example.com`, ip: '10.0.0.1' });
    expect(refusal(() => limiter.check({ email: 'first@example.com', ip: '10.0.0.1' }))).toBeUndefined();
    expect(refusal(() => limiter.check({ email: 'other2@example.com', ip: '10.0.0.1' }))).toBeDefined();
  });
});

describe('describeWait', () => {
  it('says seconds under a minute and whole minutes, rounded up, beyond', () => {
    expect(describeWait(1)).toBe('1 second');
    expect(describeWait(59)).toBe('59 seconds');
    expect(describeWait(60)).toBe('1 minute');
    expect(describeWait(61)).toBe('2 minutes');
  });
});
