import { SightlineError } from '../core/errors.js';
import { msToNs, parseTimeParam } from '../core/time.js';
import type { TimeRange } from '../store/store.js';

export const DEFAULT_RANGE_MS = 3_600_000;

/** `from`/`to` as RFC 3339 or epoch ms; missing ones default to the last hour. */
export function parseTimeRange(from: string | undefined, to: string | undefined, nowMs: number): TimeRange {
  const toNs = to === undefined || to === '' ? msToNs(nowMs) : parseTimeParam('to', to);
  const fromNs =
    from === undefined || from === '' ? toNs - msToNs(DEFAULT_RANGE_MS) : parseTimeParam('from', from);
  if (fromNs >= toNs) {
    throw new SightlineError('SL_ERR_BAD_REQUEST', 'from must be earlier than to');
  }
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
