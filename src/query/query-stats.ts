import { SightlineError } from '../core/errors.js';
import type { QueryOrder, QueryScope, QuerySeriesQuery, TopQueriesQuery } from '../store/store.js';
import { parseLimit, parseStep, parseTimeRange } from './time-range.js';

const DEFAULT_QUERY_LIMIT = 50;
const MAX_QUERY_LIMIT = 500;
/** Buckets of each statement's series when no step is given. */
const DEFAULT_QUERY_BUCKETS = 60;
const MAX_QUERY_BUCKETS = 1_000;
/** Statements × buckets: the most points one top-queries answer holds. */
const MAX_QUERY_POINTS = 100_000;
const ORDERS: readonly QueryOrder[] = ['total_time', 'calls', 'mean_time', 'rows', 'io', 'rows_examined'];
const MAX_FINGERPRINT_LENGTH = 256;

export interface TopQueriesParams {
  entity?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  order?: string | undefined;
  limit?: string | undefined;
  step?: string | undefined;
}

export interface QueryDetailParams {
  entity?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

export interface QuerySeriesParams extends QueryDetailParams {
  step?: string | undefined;
}

/** Buckets of one statement's series when no step is given: about two a chart pixel column apart. */
const DEFAULT_SERIES_BUCKETS = 120;
const MAX_SERIES_BUCKETS = 11_000;

/** `entity` as given: the API resolves a database entity to its instance and database. */
export function parseTopQueries(
  params: TopQueriesParams,
  nowMs: number,
  maxRangeMs?: number,
): TopQueriesQuery {
  const scope = parseQueryScope(params, nowMs, maxRangeMs);
  const order = (
    params.order === undefined || params.order === '' ? 'total_time' : params.order
  ) as QueryOrder;
  if (!ORDERS.includes(order)) {
    throw new SightlineError(
      'SL_ERR_BAD_REQUEST',
      `order=${params.order ?? ''} is not supported; use one of ${ORDERS.join(', ')}`,
    );
  }
  const limit = parseLimit(params.limit, DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT);
  const stepNs = parseStep(params.step, scope, DEFAULT_QUERY_BUCKETS, MAX_QUERY_BUCKETS);
  const buckets = (scope.toNs - scope.fromNs + stepNs - 1n) / stepNs;
  if (buckets * BigInt(limit) > BigInt(MAX_QUERY_POINTS)) {
    throw new SightlineError(
      'SL_ERR_BAD_REQUEST',
      `limit=${limit} statements × ${buckets} buckets is more than ${MAX_QUERY_POINTS} points; use a larger step, a shorter range or a smaller limit`,
    );
  }
  return { ...scope, order, limit, stepNs };
}

export function parseQueryScope(params: QueryDetailParams, nowMs: number, maxRangeMs?: number): QueryScope {
  const range = parseTimeRange(params.from, params.to, nowMs, maxRangeMs);
  const entity = params.entity?.trim() ?? '';
  return entity === '' ? range : { ...range, entityId: entity };
}

export function parseQuerySeries(
  params: QuerySeriesParams,
  nowMs: number,
  maxRangeMs?: number,
): QuerySeriesQuery {
  const scope = parseQueryScope(params, nowMs, maxRangeMs);
  return { ...scope, stepNs: parseStep(params.step, scope, DEFAULT_SERIES_BUCKETS, MAX_SERIES_BUCKETS) };
}

/** A fingerprint from a URL path: any text a collector uses, within reason. */
export function parseFingerprint(value: string): string {
  const fingerprint = value.trim();
  if (fingerprint === '' || fingerprint.length > MAX_FINGERPRINT_LENGTH) {
    throw new SightlineError(
      'SL_ERR_BAD_REQUEST',
      `a fingerprint has 1 to ${MAX_FINGERPRINT_LENGTH} characters; take it from GET /api/v1/queries`,
    );
  }
  return fingerprint;
}
