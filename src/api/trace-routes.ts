import type { FastifyInstance } from 'fastify';
import { authOf } from '../auth/http.js';
import { formatNs } from '../core/time.js';
import { parseRedRange, parseTraceSearchRequest } from '../query/trace-search.js';
import type { SpanRed, Store, TimeRange, TraceSummary } from '../store/store.js';
import {
  TIME_BODY_FIELD,
  TIME_RANGE_PARAMS,
  bodyParsedByRoute,
  describedQuery,
  errorResponses,
  ok,
  pathParams,
} from './route-schemas.js';
import { OPERATIONS_VIEW, SERVICES_VIEW, TRACE_SEARCH_VIEW } from './view-schemas.js';

/** The shape parseTraceSearchRequest accepts; it stays the validator (bodyParsedByRoute). */
const SEARCH_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    service: { type: 'string', minLength: 1 },
    operation: { type: 'string', minLength: 1, description: 'The span name.' },
    minDurationMs: { type: 'number', minimum: 0, description: 'Of the matching span, inclusive.' },
    maxDurationMs: { type: 'number', minimum: 0, description: 'Of the matching span, inclusive.' },
    status: { type: 'string', enum: ['error', 'ok', 'unset'] },
    attributes: {
      type: 'object',
      description: 'Each must equal the span attribute or, failing that, the resource attribute.',
      propertyNames: { minLength: 1 },
      additionalProperties: { type: ['string', 'number', 'boolean'] },
    },
    from: TIME_BODY_FIELD,
    to: TIME_BODY_FIELD,
    limit: { type: ['integer', 'string'], description: 'Traces at most, 1 to 1000. Default 20.' },
  },
};

const RED_QUERY = describedQuery(TIME_RANGE_PARAMS);
const RED_DESCRIPTION =
  'From the per-minute span rollup: rate (spans per second over the range), error rate, mean, and ' +
  'p50/p95/p99 (approximate: per-minute quantiles averaged, weighted by span count). At most api.query.maxRangeDays (32 by default).';

/**
 * `POST /api/v1/traces/search` — traces with a span matching service, operation (span name),
 * span duration range, status and attributes, in the range by span start; newest first.
 *
 * `GET /api/v1/services` and `GET /api/v1/services/{service}/operations` — RED metrics per
 * service or per operation, read from the per-minute span rollup (`span_latency_1m`), so only
 * minutes the rollup job has summarised count (placed by span end). Rate is spans per second
 * over the whole range; error rate is errors / spans; the mean is exact. p50/p95/p99 are
 * approximate: the minutes' quantiles averaged with their span counts as weights (a quantile
 * over a range cannot be rebuilt from per-minute quantiles).
 *
 * The caller's org scopes every read in the store.
 */
export function registerTraceRoutes(
  app: FastifyInstance,
  store: Store,
  now: () => number,
  maxRangeMs: number,
): void {
  app.post(
    '/api/v1/traces/search',
    {
      ...bodyParsedByRoute,
      schema: {
        summary: 'Search traces',
        description:
          'Traces with a span (started in the range) matching every filter given; newest first, at ' +
          'most 1000, over at most api.query.maxRangeDays (32 by default).',
        tags: ['traces'],
        body: SEARCH_BODY,
        response: {
          200: ok('The traces, summarised.', TRACE_SEARCH_VIEW),
          ...errorResponses(400, 401, 415, 422, 503),
        },
      },
    },
    async (request) => {
      const search = parseTraceSearchRequest(request.body, now(), maxRangeMs);
      const traces = await store.searchTraces(authOf(request).orgId, search);
      return {
        data: traces.map(traceSummaryView),
        meta: {
          count: traces.length,
          limit: search.limit,
          from: formatNs(search.fromNs),
          to: formatNs(search.toNs),
        },
      };
    },
  );

  app.get(
    '/api/v1/services',
    {
      schema: {
        summary: 'Services (RED)',
        description: `Request rate, errors and duration per service, busiest first. ${RED_DESCRIPTION}`,
        tags: ['traces'],
        querystring: RED_QUERY,
        response: { 200: ok('Per service.', SERVICES_VIEW), ...errorResponses(400, 401, 422, 503) },
      },
    },
    async (request) => {
      const range = parseRedRange(request.query as { from?: string; to?: string }, now(), maxRangeMs);
      const rows = await store.spanRed(authOf(request).orgId, range);
      return redView(range, rows, (r) => ({ service: r.service }));
    },
  );

  app.get(
    '/api/v1/services/:service/operations',
    {
      schema: {
        summary: 'A service’s operations (RED)',
        description: `Request rate, errors and duration per operation (span name) of one service. ${RED_DESCRIPTION}`,
        tags: ['traces'],
        params: pathParams({ service: 'The service name (service.name), percent-encoded.' }),
        querystring: RED_QUERY,
        response: { 200: ok('Per operation.', OPERATIONS_VIEW), ...errorResponses(400, 401, 422, 503) },
      },
    },
    async (request) => {
      const { service } = request.params as { service: string };
      const range = parseRedRange(request.query as { from?: string; to?: string }, now(), maxRangeMs);
      const rows = await store.spanRed(authOf(request).orgId, range, service);
      return redView(range, rows, (r) => ({ service: r.service, operation: r.operation }));
    },
  );
}

export function traceSummaryView(t: TraceSummary) {
  return {
    traceId: t.traceId,
    rootService: t.rootService,
    rootOperation: t.rootOperation,
    startTime: formatNs(t.startTs),
    startTimeUnixNano: String(t.startTs),
    durationNs: String(t.durationNs),
    durationMs: Number(t.durationNs) / 1e6,
    spanCount: t.spanCount,
    errorCount: t.errorCount,
  };
}

/** The RED answer of GET /api/v1/services (and the overview's services). */
export function redView(
  range: TimeRange,
  rows: readonly SpanRed[],
  key: (r: SpanRed) => Record<string, string>,
) {
  const seconds = Number(range.toNs - range.fromNs) / 1e9;
  return {
    data: rows.map((r) => ({
      ...key(r),
      requests: r.count,
      requestRate: r.count / seconds,
      errors: r.errors,
      errorRate: r.count === 0 ? 0 : r.errors / r.count,
      meanMs: r.meanNs / 1e6,
      p50Ms: r.p50Ns / 1e6,
      p95Ms: r.p95Ns / 1e6,
      p99Ms: r.p99Ns / 1e6,
    })),
    meta: {
      count: rows.length,
      from: formatNs(range.fromNs),
      to: formatNs(range.toNs),
      source: 'span_latency_1m',
      quantiles: 'approximate: per-minute quantiles averaged, weighted by span count',
    },
  };
}
