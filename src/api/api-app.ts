import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyAuthenticator } from '../auth/authenticator.js';
import { authOf, requireAuth } from '../auth/http.js';
import { DEFAULT_LOGIN_LIMITS, LoginLimiter } from '../auth/login-limiter.js';
import { SessionManager } from '../auth/sessions.js';
import { SightlineError } from '../core/errors.js';
import { newHttpApp, prepareErrorReply } from '../core/http.js';
import type { Logger } from '../core/logger.js';
import type { SelfMetrics } from '../core/telemetry.js';
import { formatNs } from '../core/time.js';
import { parseLogSearch, type LogSearchParams } from '../query/log-search.js';
import { parseMetricQuery, type MetricQueryParams } from '../query/metric-query.js';
import { DEFAULT_QUERY_LIMITS, type QueryLimits } from '../query/query-limits.js';
import type { ControlStore } from '../store/control-store.js';
import type { Store, UsageReader } from '../store/store.js';
import { registerUiRoutes } from '../ui/static-routes.js';
import { registerAccessRoutes } from './access-routes.js';
import { registerDatabaseRoutes } from './database-routes.js';
import { registerLogSearchRoutes } from './log-search-routes.js';
import { registerLogTailRoutes } from './log-tail-routes.js';
import { registerMetricQueryRoutes } from './metric-query-routes.js';
import { registerPipelineRoutes, type PipelineRouteDeps } from './pipeline-routes.js';
import { registerProcessRoutes, type Readiness } from './process-routes.js';
import { registerPrometheusRoutes } from './prometheus-routes.js';
import { OPENAPI_PATH, installOpenApi } from './openapi.js';
import { registerOverviewRoutes } from './overview-routes.js';
import {
  TIME_RANGE_PARAMS,
  STEP_PARAM,
  describedQuery,
  errorResponses,
  ok,
  pathParams,
} from './route-schemas.js';
import { registerTraceRoutes } from './trace-routes.js';
import { registerSettingsRoutes } from './settings-routes.js';
import { retentionSchema, type RetentionConfig } from '../config/retention.js';
import { loadSqlParser } from '../sql/postgres-shape.js';
import { LOGS_VIEW, METRICS_VIEW, STATS_VIEW, TRACE_VIEW } from './view-schemas.js';
import { logView, metricsView, traceView } from './views.js';

export interface ApiDeps {
  authenticator: ApiKeyAuthenticator;
  /** Orgs, keys, users and sessions: sign-in and the access routes. */
  control: ControlStore;
  /** Left out, sessions of the default TTL over `control`. */
  sessions?: SessionManager;
  store: Store;
  metrics: SelfMetrics;
  logger: Logger;
  readiness: () => Readiness;
  now?: () => number;
  /** `api.query`; left out, the defaults. */
  queryLimits?: QueryLimits;
  /** Failed sign-ins before 429; left out, DEFAULT_LOGIN_LIMITS. */
  loginLimiter?: LoginLimiter;
  /** `store.retention`, shown by GET /api/v1/settings/retention; left out, the defaults. */
  retention?: RetentionConfig;
  /** `store.type`, which decides how exactly retention is kept; left out, duckdb. */
  storeType?: 'duckdb' | 'clickhouse';
  /** usage_daily for GET /api/v1/usage. */
  usage?: UsageReader;
  /** Lag and rate per topic for GET /api/v1/pipeline. */
  throughput?: PipelineRouteDeps['throughput'];
}

/** Reachable without a key (besides routes with `config: { public: true }` and the UI's paths, src/auth/http.ts); the document marks them `security: []` (openapi.test.ts checks both agree). */
const PUBLIC_PATHS = ['/', '/healthz', '/readyz', OPENAPI_PATH];

const TRACE_ID = /^[0-9a-f]{32}$/;

/** The query API and the process's own endpoints, on the UI port. */
export function buildApiApp(deps: ApiDeps): FastifyInstance {
  const app = newHttpApp(deps.logger);
  const now = deps.now ?? Date.now;
  const queryLimits = deps.queryLimits ?? DEFAULT_QUERY_LIMITS;
  // Response schemas document the answers (GET /api/v1/openapi.json); they do not serialize
  // them. fast-json-stringify would drop any field a schema forgot and coerce types (an
  // `integer` rounds a float), so a slip in the document would change the API; openapi.test.ts
  // checks real answers against the schemas instead.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // Before any route: the document collects the routes added after this.
  installOpenApi(app);
  const sessions = deps.sessions ?? new SessionManager(deps.control);
  requireAuth(app, { keys: deps.authenticator, sessions }, PUBLIC_PATHS);
  app.setErrorHandler((error, request, reply) => sendError(deps, request, reply, error));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      deps,
      request,
      reply,
      new SightlineError('SL_ERR_NOT_FOUND', `no endpoint at ${request.method} ${request.url}`),
    ),
  );

  // The web UI (dist/ui): its pages and assets, and index.html for the app's own paths.
  registerUiRoutes(app);
  registerProcessRoutes(app, deps);
  registerAccessRoutes(app, {
    control: deps.control,
    sessions,
    keys: deps.authenticator,
    loginLimiter: deps.loginLimiter ?? new LoginLimiter(DEFAULT_LOGIN_LIMITS, now),
  });
  registerSettingsRoutes(app, {
    retention: deps.retention ?? retentionSchema.parse({}),
    storeType: deps.storeType ?? 'duckdb',
  });

  app.get('/api/v1/logs', { schema: LOGS_SCHEMA }, async (request) => {
    const search = parseLogSearch(request.query as LogSearchParams, now(), queryLimits.maxRangeMs);
    const logs = await deps.store.searchLogs(authOf(request).orgId, search);
    return {
      data: logs.map(logView),
      meta: {
        count: logs.length,
        limit: search.limit,
        from: formatNs(search.fromNs),
        to: formatNs(search.toNs),
      },
    };
  });

  app.get('/api/v1/traces/:traceId', { schema: TRACE_SCHEMA }, async (request) => {
    const traceId = (request.params as { traceId: string }).traceId.toLowerCase();
    if (!TRACE_ID.test(traceId)) {
      throw new SightlineError('SL_ERR_BAD_REQUEST', `${traceId} is not a trace id: use 32 hex characters`);
    }
    const { spans, truncated } = await deps.store.getTrace(authOf(request).orgId, traceId);
    if (spans.length === 0)
      throw new SightlineError('SL_ERR_NOT_FOUND', `no spans stored for trace ${traceId}`);
    // PostgreSQL statements of spans are fingerprinted by its parser (loaded once, ~50 ms).
    await loadSqlParser();
    return { ...traceView(traceId, spans), truncated };
  });

  app.get('/api/v1/metrics', { schema: METRICS_SCHEMA }, async (request) => {
    const query = parseMetricQuery(request.query as MetricQueryParams, now(), queryLimits.maxRangeMs);
    return metricsView(query, await deps.store.queryMetrics(authOf(request).orgId, query));
  });

  app.get('/api/v1/stats', { schema: STATS_SCHEMA }, (request) =>
    deps.store.countRecords(authOf(request).orgId),
  );
  registerDatabaseRoutes(app, deps.store, now, queryLimits.maxRangeMs);
  registerLogSearchRoutes(app, deps.store, now, queryLimits.maxRangeMs);
  registerLogTailRoutes(app, deps, now);
  registerTraceRoutes(app, deps.store, now, queryLimits.maxRangeMs);
  registerOverviewRoutes(app, deps.store, now, queryLimits.maxRangeMs);
  registerMetricQueryRoutes(app, { store: deps.store, limits: queryLimits, now });
  registerPrometheusRoutes(app, { store: deps.store, limits: queryLimits, now });
  registerPipelineRoutes(app, { ...deps, now, maxRangeMs: queryLimits.maxRangeMs });
  return app;
}

const LOGS_SCHEMA = {
  summary: 'Search logs (simple)',
  description:
    'Words and "quoted phrases" that must all occur in the body, plus service:, level:, host: and ' +
    'trace_id: filters; newest first. POST /api/v1/logs/search takes the full search language.',
  tags: ['logs'],
  querystring: describedQuery({
    q: {
      description: 'The search: words, "phrases", field:value filters.',
      examples: ['service:checkout level:error timeout'],
    },
    ...TIME_RANGE_PARAMS,
    limit: 'Rows at most, 1 to 10000. Default 1000.',
  }),
  response: { 200: ok('Matching records.', LOGS_VIEW), ...errorResponses(400, 401, 422, 503) },
};

const TRACE_SCHEMA = {
  summary: 'One trace',
  description: 'Every stored span of the trace (at most 10 000), in start order with its depth.',
  tags: ['traces'],
  params: pathParams({
    traceId: { description: '32 hex characters.', examples: ['4bf92f3577b34da6a3ce929d0e0e4736'] },
  }),
  response: { 200: ok('The trace.', TRACE_VIEW), ...errorResponses(400, 401, 404, 422, 503) },
};

const METRICS_SCHEMA = {
  summary: 'Metric series',
  description:
    'The series of one metric, raw points or (with `step`) aggregated per bucket. At most 100 000 points; beyond that `truncated`.',
  tags: ['metrics'],
  querystring: describedQuery({
    name: { description: 'The metric (required).', examples: ['http.server.duration'] },
    ...TIME_RANGE_PARAMS,
    step: STEP_PARAM,
    agg: 'Aggregation per bucket with `step`: avg (default), min, max, sum, count or last.',
  }),
  response: { 200: ok('The series.', METRICS_VIEW), ...errorResponses(400, 401, 422, 503) },
};

const STATS_SCHEMA = {
  summary: 'Record counts',
  description: 'How many records of each kind are stored for the caller’s org.',
  tags: ['process'],
  response: { 200: ok('Counts.', STATS_VIEW), ...errorResponses(401) },
};

function sendError(
  deps: ApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  thrown: unknown,
): FastifyReply {
  const error = prepareErrorReply('api', thrown, { ...deps, request, reply });
  return reply.send({ error: { code: error.code, message: error.message } });
}
