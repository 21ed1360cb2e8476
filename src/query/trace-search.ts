import { z } from 'zod';
import { SightlineError } from '../core/errors.js';
import type { TimeRange, TraceSearch } from '../store/store.js';
import { parseLimit, parseTimeRange } from './time-range.js';

/**
 * `POST /api/v1/traces/search`'s body and the RED routes' query, checked and bounded. The
 * guard rails match the log search's: at most MAX_TRACE_LIMIT traces, at most api.query.maxRangeDays.
 */
export const DEFAULT_TRACE_LIMIT = 20;
export const MAX_TRACE_LIMIT = 1000;

const timeParam = z.union([z.string(), z.number()]).optional();
const durationMs = z.number().nonnegative().optional();
const nonEmpty = z.string().min(1).optional();

const searchBody = z
  .object({
    service: nonEmpty,
    operation: nonEmpty,
    minDurationMs: durationMs,
    maxDurationMs: durationMs,
    status: z.enum(['error', 'ok', 'unset']).optional(),
    attributes: z.record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()])).optional(),
    from: timeParam,
    to: timeParam,
    limit: z.union([z.number(), z.string()]).optional(),
  })
  .strict();

const BODY_SHAPE =
  'send JSON {"service", "operation", "minDurationMs", "maxDurationMs", "status", "attributes", "from", "to", "limit"}';

const asText = (v: string | number | undefined) => (v === undefined ? undefined : String(v));

export function parseTraceSearchRequest(body: unknown, nowMs: number, maxRangeMs?: number): TraceSearch {
  const parsed = searchBody.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? 'the body' : issue.path.join('.');
    throw new SightlineError('SL_ERR_BAD_REQUEST', `${where}: ${issue?.message ?? 'invalid'}; ${BODY_SHAPE}`);
  }
  const input = parsed.data;
  if (
    input.minDurationMs !== undefined &&
    input.maxDurationMs !== undefined &&
    input.minDurationMs > input.maxDurationMs
  ) {
    throw new SightlineError('SL_ERR_BAD_REQUEST', 'minDurationMs: must not exceed maxDurationMs');
  }
  const range = parseTimeRange(asText(input.from), asText(input.to), nowMs, maxRangeMs);
  // Fractions of a millisecond count: 0.5 ms is 500 µs.
  const ns = (ms: number | undefined) => (ms === undefined ? undefined : BigInt(Math.round(ms * 1e6)));
  const minDurationNs = ns(input.minDurationMs);
  const maxDurationNs = ns(input.maxDurationMs);
  return {
    ...range,
    ...(input.service === undefined ? {} : { service: input.service }),
    ...(input.operation === undefined ? {} : { operation: input.operation }),
    ...(minDurationNs === undefined ? {} : { minDurationNs }),
    ...(maxDurationNs === undefined ? {} : { maxDurationNs }),
    ...(input.status === undefined ? {} : { status: input.status }),
    attributes: Object.fromEntries(Object.entries(input.attributes ?? {}).map(([k, v]) => [k, String(v)])),
    limit: parseLimit(asText(input.limit), DEFAULT_TRACE_LIMIT, MAX_TRACE_LIMIT),
  };
}

/** `from`/`to` of the RED routes (`GET /api/v1/services…`), as the trace search takes them. */
export function parseRedRange(
  query: { from?: string; to?: string },
  nowMs: number,
  maxRangeMs?: number,
): TimeRange {
  return parseTimeRange(query.from, query.to, nowMs, maxRangeMs);
}
