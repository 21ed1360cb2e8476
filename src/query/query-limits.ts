import { SightlineError } from '../core/errors.js';

/** `api.query`: what one query may cost. */
export interface QueryLimits {
  /** A query running longer is stopped with SL_ERR_QUERY_TIMEOUT. */
  timeoutMs: number;
  /** Widest time range one query may cover. */
  maxRangeMs: number;
  /** Points one metrics query may read (Prometheus' `--query.max-samples`). */
  maxSamples: number;
  /** Series one selector may match. */
  maxSeries: number;
}

const DAY_MS = 86_400_000;

export const DEFAULT_QUERY_LIMITS: QueryLimits = {
  timeoutMs: 30_000,
  maxRangeMs: 32 * DAY_MS,
  maxSamples: 50_000_000,
  maxSeries: 100_000,
};

/** A range wider than `api.query.maxRangeDays` is refused before anything is read. */
export function checkRangeMs(fromMs: number, toMs: number, maxRangeMs: number): void {
  if (toMs - fromMs <= maxRangeMs) return;
  const days = maxRangeMs / DAY_MS;
  throw new SightlineError(
    'SL_ERR_QUERY_LIMIT',
    `the time range covers ${((toMs - fromMs) / DAY_MS).toFixed(1)} days, more than the ${days} allowed ` +
      '(api.query.maxRangeDays); query a shorter range',
  );
}

/** Runs `work` with a signal that aborts after the time limit. */
export async function withTimeout<T>(
  limits: QueryLimits,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), limits.timeoutMs);
  try {
    return await work(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}

export function timeoutError(limits: QueryLimits, cause?: unknown): SightlineError {
  return new SightlineError(
    'SL_ERR_QUERY_TIMEOUT',
    `the query ran longer than ${limits.timeoutMs / 1000} s (api.query.timeoutSeconds) and was stopped; ` +
      'shorten the range, use a larger step or narrow the selectors',
    { cause },
  );
}
