import { z } from 'zod';
import { SightlineError } from '../../core/errors.js';
import { formatNs } from '../../core/time.js';
import { MAX_LOG_LIMIT } from '../log-search.js';
import { checkedStepNs, parseLimit, parseTimeRange } from '../time-range.js';
import type { LogAggregate, LogPosition, LogQuery } from '../../store/log-query.js';
import { parseLogQuery } from './parser.js';

/**
 * `POST /api/v1/logs/search`'s body, checked, parsed and bounded. The guard rails are
 * constants for now (not yet in the config schema): the row limit, the widest time range,
 * the time a query may run, and how many time buckets a count may make.
 */
export const DEFAULT_SEARCH_LIMIT = 100;
export { MAX_LOG_LIMIT };
/** The widest `to - from` one search may cover. */
/** After this long the store interrupts the query and the API answers 400 naming the limit. */
export const SEARCH_TIMEOUT_MS = 10_000;
/** `over` may cut the range into at most this many buckets. */
export const MAX_TIME_BUCKETS = 10_000;
/** `over` steps below one second make no useful histogram. */
const MIN_STEP_MS = 1000;

const timeParam = z.union([z.string(), z.number()]).optional();

const searchBody = z
  .object({
    query: z.string().default(''),
    from: timeParam,
    to: timeParam,
    limit: z.union([z.number(), z.string()]).optional(),
    cursor: z.string().optional(),
  })
  .strict();

export interface LogSearchRequest {
  query: LogQuery;
  /** The names the count buckets' group values go by, in `by` order. */
  groupNames: string[];
}

export function parseLogSearchRequest(body: unknown, nowMs: number, maxRangeMs?: number): LogSearchRequest {
  const parsed = searchBody.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? 'the body' : issue.path.join('.');
    throw new SightlineError(
      'SL_ERR_BAD_REQUEST',
      `${where}: ${issue?.message ?? 'invalid'}; send JSON {"query": "...", "from", "to", "limit", "cursor"}`,
    );
  }
  const input = parsed.data;
  const { filter, aggregate } = parseLogQuery(input.query);
  const cursor = input.cursor === undefined || input.cursor === '' ? null : decodeCursor(input.cursor);
  const asText = (v: string | number | undefined) => (v === undefined ? undefined : String(v));
  let range = parseTimeRange(asText(input.from), asText(input.to), nowMs, maxRangeMs);
  if (cursor !== null) {
    if (aggregate !== null) {
      throw new SightlineError(
        'SL_ERR_BAD_REQUEST',
        'a cursor pages through rows; counts (| count) have none',
      );
    }
    // A cursor continues the search it came from, over the range that search resolved
    // (a default `to` of "now" would otherwise move between pages).
    const explicit = input.from !== undefined || input.to !== undefined;
    if (explicit && (range.fromNs !== cursor.fromNs || range.toNs !== cursor.toNs)) {
      throw new SightlineError(
        'SL_ERR_BAD_REQUEST',
        `the cursor belongs to a search from ${formatNs(cursor.fromNs)} to ${formatNs(cursor.toNs)}; ` +
          'send the same from/to as the first page, or none',
      );
    }
    range = { fromNs: cursor.fromNs, toNs: cursor.toNs };
  }
  const limit = parseLimit(asText(input.limit), DEFAULT_SEARCH_LIMIT, MAX_LOG_LIMIT);
  return {
    query: {
      ...range,
      filter,
      aggregate: aggregate === null ? null : storeAggregate(aggregate, range),
      limit,
      after: cursor === null ? null : { ts: cursor.ts, id: cursor.id },
      timeoutMs: SEARCH_TIMEOUT_MS,
    },
    groupNames: aggregate?.by.map((b) => b.name) ?? [],
  };
}

function storeAggregate(
  aggregate: LogAggregate,
  range: { fromNs: bigint; toNs: bigint },
): LogQuery['aggregate'] {
  return {
    by: aggregate.by.map((b) => b.field),
    stepNs:
      aggregate.over === null ? null : checkedStepNs(aggregate.over, range, MAX_TIME_BUCKETS, MIN_STEP_MS),
  };
}

interface Cursor extends LogPosition {
  fromNs: bigint;
  toNs: bigint;
}

const DECIMAL = /^-?\d{1,19}$/;
const cursorJson = z
  .object({
    v: z.literal(1),
    ts: z.string().regex(DECIMAL),
    id: z.string(),
    from: z.string().regex(DECIMAL),
    to: z.string().regex(DECIMAL),
  })
  .strict();

/** Opaque to clients: base64url of JSON with the last row's time and id and the search's range. */
export function encodeCursor(last: LogPosition, range: { fromNs: bigint; toNs: bigint }): string {
  const json = JSON.stringify({
    v: 1,
    ts: String(last.ts),
    id: last.id,
    from: String(range.fromNs),
    to: String(range.toNs),
  });
  return Buffer.from(json, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): Cursor {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    json = undefined;
  }
  const parsed = cursorJson.safeParse(json);
  if (!parsed.success) {
    throw new SightlineError(
      'SL_ERR_BAD_REQUEST',
      'cursor is not one this API returned; pass nextCursor from the previous page unchanged',
    );
  }
  const { ts, id, from, to } = parsed.data;
  return { ts: BigInt(ts), id, fromNs: BigInt(from), toNs: BigInt(to) };
}
