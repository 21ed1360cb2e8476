import { SightlineError } from '../core/errors.js';
import { msToNs, nsToMs, parseDurationMs, parseTimeParam } from '../core/time.js';
import type { TimeRange } from '../store/store.js';
import { DEFAULT_QUERY_LIMITS, checkRangeMs } from './query-limits.js';

export const DEFAULT_RANGE_MS = 3_600_000;

/**
 * `from`/`to` as RFC 3339 or epoch ms; missing ones default to the last hour. Wider than
 * `maxRangeMs` (api.query.maxRangeDays) is SL_ERR_QUERY_LIMIT.
 */
export function parseTimeRange(
  from: string | undefined,
  to: string | undefined,
  nowMs: number,
  maxRangeMs: number = DEFAULT_QUERY_LIMITS.maxRangeMs,
): TimeRange {
  const toNs = to === undefined || to === '' ? msToNs(nowMs) : parseTimeParam('to', to);
  const fromNs =
    from === undefined || from === '' ? toNs - msToNs(DEFAULT_RANGE_MS) : parseTimeParam('from', from);
  if (fromNs >= toNs) {
    throw new SightlineError('SL_ERR_BAD_REQUEST', 'from must be earlier than to');
  }
  checkRangeMs(nsToMs(fromNs), nsToMs(toNs), maxRangeMs);
  return { fromNs, toNs };
}

export function parseLimit(value: string | undefined, fallback: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new SightlineError(
      'SL_ERR_BAD_REQUEST',
      `limit=${JSON.stringify(value)} must be an integer from 1 to ${max}`,
    );
  }
  return limit;
}

/** Steps a chart's buckets snap to, so neighbouring ranges line up and labels read well. */
const NICE_STEPS_MS = [
  10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000,
  10_800_000, 21_600_000, 43_200_000, 86_400_000,
];
const DAY_MS = 86_400_000;

/** The smallest nice step that cuts the range into at most `buckets` buckets (10 s at least). */
export function defaultStepNs(range: TimeRange, buckets: number): bigint {
  const wanted = Number(range.toNs - range.fromNs) / 1e6 / buckets;
  const nice = NICE_STEPS_MS.find((step) => step >= wanted);
  return msToNs(nice ?? Math.ceil(wanted / DAY_MS) * DAY_MS);
}

/**
 * `step` as a duration (30s, 5m, 1h or seconds), or the default for about `defaultBuckets`
 * buckets; more than `maxBuckets` over the range is a 400.
 */
export function parseStep(
  value: string | undefined,
  range: TimeRange,
  defaultBuckets: number,
  maxBuckets: number,
): bigint {
  if (value === undefined || value === '') return defaultStepNs(range, defaultBuckets);
  return checkedStepNs(value, range, maxBuckets, 1000);
}

/** A `step` given as a duration, at least `minStepMs`, making at most `maxBuckets` over the range. */
export function checkedStepNs(
  value: string,
  range: TimeRange,
  maxBuckets: number,
  minStepMs: number,
): bigint {
  const stepMs = parseDurationMs('step', value);
  if (stepMs < minStepMs) {
    throw new SightlineError(
      'SL_ERR_BAD_REQUEST',
      `step must be at least ${minStepMs >= 1000 ? `${minStepMs / 1000}s` : `${minStepMs}ms`}`,
    );
  }
  const stepNs = msToNs(stepMs);
  if ((range.toNs - range.fromNs) / stepNs > BigInt(maxBuckets)) {
    throw new SightlineError(
      'SL_ERR_BAD_REQUEST',
      `step=${value} makes more than ${maxBuckets} buckets over this range; use a larger step or a shorter range`,
    );
  }
  return stepNs;
}
