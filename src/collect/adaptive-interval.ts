export interface AdaptiveIntervalOptions {
  baseMs: number;
  /** A cycle may take this share of its interval before the interval stretches. */
  maxBusyShare: number;
  /** The interval never stretches beyond baseMs × this. */
  maxStretch: number;
}

/**
 * The wait between collection cycles. When a cycle takes more than its share of the
 * interval (a slow or busy server), the next interval grows so collection never takes
 * more than that share of the server's time; it shrinks back as cycles get fast again.
 */
export class AdaptiveInterval {
  private currentMs: number;

  constructor(private readonly options: AdaptiveIntervalOptions) {
    this.currentMs = options.baseMs;
  }

  get intervalMs(): number {
    return this.currentMs;
  }

  get stretched(): boolean {
    return this.currentMs > this.options.baseMs;
  }

  /** Records how long a cycle took and returns the next interval. */
  observe(cycleMs: number): number {
    const { baseMs, maxBusyShare, maxStretch } = this.options;
    const needed = cycleMs / maxBusyShare;
    // Grow at once to what the cycle needs; shrink by halves, so one fast cycle is not trusted alone.
    const next =
      needed > this.currentMs
        ? Math.ceil(needed)
        : Math.floor(Math.max(needed, (this.currentMs + baseMs) / 2));
    this.currentMs = Math.min(Math.max(baseMs, next), baseMs * maxStretch);
    return this.currentMs;
  }
}
