import type { FastifyInstance } from 'fastify';
import { authOf } from '../auth/http.js';
import { formatNs } from '../core/time.js';
import { parseRedRange, parseTraceSearchRequest } from '../query/trace-search.js';
import type { SpanRed, Store, TimeRange, TraceSummary } from '../store/store.js';
import { querySchema } from './query-schema.js';

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
export function registerTraceRoutes(app: FastifyInstance, store: Store, now: () => number): void {
  app.post('/api/v1/traces/search', async (request) => {
    const search = parseTraceSearchRequest(request.body, now());
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
  });

  app.get('/api/v1/services', { schema: querySchema('from', 'to') }, async (request) => {
    const range = parseRedRange(request.query as { from?: string; to?: string }, now());
    const rows = await store.spanRed(authOf(request).orgId, range);
    return redView(range, rows, (r) => ({ service: r.service }));
  });

  app.get('/api/v1/services/:service/operations', { schema: querySchema('from', 'to') }, async (request) => {
    const { service } = request.params as { service: string };
    const range = parseRedRange(request.query as { from?: string; to?: string }, now());
    const rows = await store.spanRed(authOf(request).orgId, range, service);
    return redView(range, rows, (r) => ({ service: r.service, operation: r.operation }));
  });
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

function redView(range: TimeRange, rows: readonly SpanRed[], key: (r: SpanRed) => Record<string, string>) {
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
