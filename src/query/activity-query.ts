import { parseTimeParam } from '../core/time.js';
import type { ActivityQuery } from '../store/store.js';
import { parseStep, parseTimeRange } from './time-range.js';

const DEFAULT_ACTIVITY_BUCKETS = 60;
const MAX_ACTIVITY_BUCKETS = 2_000;

export interface ActivityParams {
  at?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  step?: string | undefined;
}

/** The sessions at `at` (default: the end of the range) and the range's sessions over time. */
export function parseActivityQuery(
  params: ActivityParams,
  nowMs: number,
  maxRangeMs?: number,
): ActivityQuery {
  const range = parseTimeRange(params.from, params.to, nowMs, maxRangeMs);
  const atNs = params.at === undefined || params.at === '' ? range.toNs : parseTimeParam('at', params.at);
  const stepNs = parseStep(params.step, range, DEFAULT_ACTIVITY_BUCKETS, MAX_ACTIVITY_BUCKETS);
  return { ...range, atNs, stepNs };
}
