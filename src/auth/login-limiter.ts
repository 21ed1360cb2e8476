import { SightlineError } from '../core/errors.js';

export interface LoginLimits {
  /** Failed sign-ins for one email within the window before it is refused with 429. */
  maxFailuresPerEmail: number;
  /** Failed sign-ins from one client address within the window (higher: offices share an address). */
  maxFailuresPerIp: number;
  windowMs: number;
  /** Most emails and addresses remembered; the least recently failed are forgotten first. */
  maxEntries?: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  maxFailuresPerEmail: 5,
  maxFailuresPerIp: 20,
  windowMs: 15 * 60_000,
};

/** Where a sign-in attempt comes from and for whom. */
export interface LoginAttempt {
  email: string;
  ip: string;
}

/**
 * Counts failed sign-ins per email and per client address in a sliding window, so guessing a
 * password is slowed to a few tries per window whichever of the two the guesser varies. Lives
 * in the process: each API process of a scale-out deployment counts its own (docs/auth.md).
 */
export class LoginLimiter {
  /** Failure times per `email:` or `ip:` key, oldest first, at most the key's limit of them. */
  private readonly failures = new Map<string, number[]>();
  private readonly maxEntries: number;

  constructor(
    private readonly limits: LoginLimits = DEFAULT_LOGIN_LIMITS,
    private readonly now: () => number = Date.now,
  ) {
    this.maxEntries = limits.maxEntries ?? 100_000;
  }

  /** Throws SL_ERR_TOO_MANY_REQUESTS (429 with Retry-After) when the email or the address used up its failures. */
  check(attempt: LoginAttempt): void {
    const now = this.now();
    const waits = [
      this.waitMs(emailKey(attempt.email), this.limits.maxFailuresPerEmail, now),
      this.waitMs(ipKey(attempt.ip), this.limits.maxFailuresPerIp, now),
    ];
    const waitMs = Math.max(...waits);
    if (waitMs <= 0) return;
    const seconds = Math.ceil(waitMs / 1000);
    throw new SightlineError(
      'SL_ERR_TOO_MANY_REQUESTS',
      `too many failed sign-ins for this email or from this address; try again in ${describeWait(seconds)}`,
      { retryAfterSeconds: seconds },
    );
  }

  recordFailure(attempt: LoginAttempt): void {
    const now = this.now();
    this.add(emailKey(attempt.email), this.limits.maxFailuresPerEmail, now);
    this.add(ipKey(attempt.ip), this.limits.maxFailuresPerIp, now);
  }

  /** A right password clears the email's failures; the address keeps its count (it may be guessing others). */
  recordSuccess(attempt: LoginAttempt): void {
    this.failures.delete(emailKey(attempt.email));
  }

  /** How long until the key may try again: 0 while it has failures left in the window. */
  private waitMs(key: string, max: number, now: number): number {
    const times = this.recent(key, now);
    if (times.length < max) return 0;
    const oldest = times[times.length - max] ?? now;
    return oldest + this.limits.windowMs - now;
  }

  private add(key: string, max: number, now: number): void {
    const times = this.recent(key, now);
    times.push(now);
    // Only the newest `max` failures decide when the key may try again.
    if (times.length > max) times.splice(0, times.length - max);
    // Re-inserted last: a Map iterates in insertion order, so the first key is the stalest.
    this.failures.delete(key);
    this.failures.set(key, times);
    while (this.failures.size > this.maxEntries) {
      const stalest = this.failures.keys().next().value;
      if (stalest === undefined) break;
      this.failures.delete(stalest);
    }
  }

  /** The key's failures within the window; keys left with none are dropped. */
  private recent(key: string, now: number): number[] {
    const times = this.failures.get(key);
    if (times === undefined) return [];
    const fresh = times.filter((t) => t > now - this.limits.windowMs);
    if (fresh.length === 0) this.failures.delete(key);
    else if (fresh.length !== times.length) this.failures.set(key, fresh);
    return fresh;
  }
}

function emailKey(email: string): string {
  return `email:${email.trim().toLowerCase()}`;
}

function ipKey(ip: string): string {
  return `ip:${ip}`;
}

/** "45 seconds", "3 minutes": what a person reads in the sign-in form. */
export function describeWait(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}
