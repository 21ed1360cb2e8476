import { SightlineError } from '../core/errors.js';
import type { OrgId } from '../store/rows.js';
import type { Store } from '../store/store.js';
import { StoreSeriesSource } from './promql-store-source.js';
import {
  PromqlLimitError,
  PromqlParseError,
  evaluateInstant,
  evaluateRange,
  parsePromql,
  type Expr,
  type QueryResult,
} from './promql/index.js';
import { checkRangeMs, timeoutError, withTimeout, type QueryLimits } from './query-limits.js';

/**
 * PromQL requests as Prometheus' HTTP API takes them (`query`, `time`, `start`, `end`, `step`
 * with times as RFC 3339 or Unix seconds and steps as durations or seconds), evaluated over one
 * org's stored metrics within the configured limits.
 */

export interface InstantRequest {
  query?: string | undefined;
  time?: string | undefined;
}

export interface RangeRequest {
  query?: string | undefined;
  start?: string | undefined;
  end?: string | undefined;
  step?: string | undefined;
}

/** Prometheus refuses more points per series than this (`exceeded maximum resolution`). */
export const MAX_POINTS_PER_SERIES = 11_000;

export interface PromqlContext {
  store: Store;
  org: OrgId;
  limits: QueryLimits;
  nowMs: number;
}

export async function runInstantQuery(context: PromqlContext, request: InstantRequest): Promise<QueryResult> {
  const expr = parseQuery(request.query);
  const timeMs =
    request.time === undefined || request.time === '' ? context.nowMs : parsePromTime('time', request.time);
  return evaluate(context, (source, signal) =>
    evaluateInstant(expr, source, timeMs, { maxSamples: context.limits.maxSamples, signal }),
  );
}

export async function runRangeQuery(context: PromqlContext, request: RangeRequest): Promise<QueryResult> {
  const expr = parseQuery(request.query);
  const startMs = parsePromTime('start', required('start', request.start));
  const endMs = parsePromTime('end', required('end', request.end));
  const stepMs = parseStepMs(required('step', request.step));
  if (endMs < startMs) throw badRequest('end timestamp must not be before start time');
  if ((endMs - startMs) / stepMs > MAX_POINTS_PER_SERIES) {
    throw badRequest(
      `exceeded maximum resolution of ${MAX_POINTS_PER_SERIES} points per timeseries; ` +
        'try decreasing the query resolution (a larger step)',
    );
  }
  checkRangeMs(startMs, endMs, context.limits.maxRangeMs);
  return evaluate(context, (source, signal) =>
    evaluateRange(expr, source, startMs, endMs, stepMs, { maxSamples: context.limits.maxSamples, signal }),
  );
}

export function parseQuery(query: string | undefined): Expr {
  const text = required('query', query);
  try {
    return parsePromql(text);
  } catch (error) {
    if (error instanceof PromqlParseError) {
      throw new SightlineError(
        'SL_ERR_BAD_REQUEST',
        `invalid query at line ${error.line}, column ${error.column}: ${error.message}`,
        { cause: error },
      );
    }
    throw error;
  }
}

async function evaluate(
  context: PromqlContext,
  run: (source: StoreSeriesSource, signal: AbortSignal) => Promise<QueryResult>,
): Promise<QueryResult> {
  const source = new StoreSeriesSource(context.store, context.org, context.limits);
  try {
    return await withTimeout(context.limits, (signal) => run(source, signal));
  } catch (error) {
    if (error instanceof PromqlLimitError) {
      if (error.limit === 'timeout') throw timeoutError(context.limits, error);
      throw new SightlineError(
        'SL_ERR_QUERY_LIMIT',
        `the query would hold more than ${context.limits.maxSamples} samples (api.query.maxSamples); ` +
          'narrow the selectors, shorten the range or use a larger step',
        { cause: error },
      );
    }
    throw error;
  }
}

const FLOAT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Unix seconds with an optional fraction, or RFC 3339; answers epoch milliseconds. */
export function parsePromTime(name: string, value: string): number {
  const trimmed = value.trim();
  if (FLOAT.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const ms = Date.parse(trimmed);
  if (/^\d{4}-\d{2}-\d{2}T/.test(trimmed) && !Number.isNaN(ms)) return ms;
  throw badRequest(
    `${name}=${JSON.stringify(value)} is not a time: use Unix seconds (1714564800.5) or RFC 3339 (2024-05-01T12:00:00Z)`,
  );
}

const DURATION_UNITS: ReadonlyArray<[string, number]> = [
  ['y', 365 * 86_400_000],
  ['w', 7 * 86_400_000],
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];
const DURATION = /^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$/;

/** A positive step: seconds (`15`, `0.5`) or a Prometheus duration (`1m`, `1h30m`). */
export function parseStepMs(value: string): number {
  const trimmed = value.trim();
  let ms = NaN;
  if (FLOAT.test(trimmed)) ms = Math.round(Number(trimmed) * 1000);
  else {
    const match = DURATION.exec(trimmed);
    if (match !== null && trimmed !== '') {
      ms = DURATION_UNITS.reduce(
        (total, [, unitMs], i) => total + Number.parseInt(match[i + 1] ?? '0', 10) * unitMs,
        0,
      );
    }
  }
  if (Number.isNaN(ms))
    throw badRequest(`step=${JSON.stringify(value)} is not a duration: use seconds (15) or 30s, 1m, 1h`);
  if (ms <= 0)
    throw badRequest('zero or negative query resolution step widths are not accepted; use a positive step');
  return ms;
}

function required(name: string, value: string | undefined): string {
  if (value === undefined || value.trim() === '') throw badRequest(`${name} is required`);
  return value;
}

function badRequest(message: string): SightlineError {
  return new SightlineError('SL_ERR_BAD_REQUEST', message);
}
