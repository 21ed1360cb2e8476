export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  /** How long it stays open before one trial; doubles on each failed trial up to maxOpenMs. */
  openMs: number;
  maxOpenMs: number;
}

export const DEFAULT_BREAKER: BreakerOptions = { failureThreshold: 3, openMs: 30_000, maxOpenMs: 300_000 };

/**
 * A circuit breaker for one watched server: after repeated errors or timeouts the collector
 * stops touching it for a while, then lets one trial through (half-open). A database that is
 * struggling gets less load from us, never more.
 */
export class CircuitBreaker {
  private state: BreakerState = 'closed';
  private failures = 0;
  private openUntil = 0;
  private currentOpenMs: number;

  constructor(
    private readonly options: BreakerOptions = DEFAULT_BREAKER,
    private readonly now: () => number = Date.now,
  ) {
    this.currentOpenMs = options.openMs;
  }

  /** Whether a call may go through now; moves open → half-open once the wait is over. */
  allow(): boolean {
    if (this.state === 'open' && this.now() >= this.openUntil) this.state = 'half_open';
    return this.state !== 'open';
  }

  get current(): BreakerState {
    this.allow();
    return this.state;
  }

  /** When an open breaker lets the next trial through (epoch ms), else undefined. */
  get retryAt(): number | undefined {
    return this.state === 'open' ? this.openUntil : undefined;
  }

  succeeded(): void {
    this.state = 'closed';
    this.failures = 0;
    this.currentOpenMs = this.options.openMs;
  }

  failed(): void {
    this.failures += 1;
    if (this.state === 'half_open') {
      this.currentOpenMs = Math.min(this.currentOpenMs * 2, this.options.maxOpenMs);
      this.open();
    } else if (this.state === 'closed' && this.failures >= this.options.failureThreshold) {
      this.open();
    }
  }

  private open(): void {
    this.state = 'open';
    this.openUntil = this.now() + this.currentOpenMs;
  }
}
