import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyAuthenticator } from '../auth/authenticator.js';
import { authOf, requireApiKey } from '../auth/http.js';
import { SightlineError } from '../core/errors.js';
import { newHttpApp, prepareErrorReply } from '../core/http.js';
import type { Logger } from '../core/logger.js';
import type { SelfMetrics } from '../core/telemetry.js';
import { formatNs } from '../core/time.js';
import { parseLogSearch, type LogSearchParams } from '../query/log-search.js';
import { parseMetricQuery, type MetricQueryParams } from '../query/metric-query.js';
import type { Store } from '../store/store.js';
import { PLACEHOLDER_PAGE } from '../ui/placeholder-page.js';
import { registerDatabaseRoutes } from './database-routes.js';
import { registerLogSearchRoutes } from './log-search-routes.js';
import { registerLogTailRoutes } from './log-tail-routes.js';
import { querySchema } from './query-schema.js';
import { registerTraceRoutes } from './trace-routes.js';
import { logView, metricsView, traceView } from './views.js';

export interface Readiness {
  ready: boolean;
  reason?: string;
}

export interface ApiDeps {
  authenticator: ApiKeyAuthenticator;
  store: Store;
  metrics: SelfMetrics;
  logger: Logger;
  readiness: () => Readiness;
  now?: () => number;
}

const PUBLIC_PATHS = ['/', '/healthz', '/readyz'];

const TRACE_ID = /^[0-9a-f]{32}$/;

/** The query API and the process's own endpoints, on the UI port. */
export function buildApiApp(deps: ApiDeps): FastifyInstance {
  const app = newHttpApp(deps.logger);
  const now = deps.now ?? Date.now;
  requireApiKey(app, deps.authenticator, PUBLIC_PATHS);
  app.setErrorHandler((error, request, reply) => sendError(deps, request, reply, error));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      deps,
      request,
      reply,
      new SightlineError('SL_ERR_NOT_FOUND', `no endpoint at ${request.method} ${request.url}`),
    ),
  );

  app.get('/', (_request, reply) => reply.type('text/html; charset=utf-8').send(PLACEHOLDER_PAGE));
  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/readyz', (_request, reply) => {
    const readiness = deps.readiness();
    return reply
      .code(readiness.ready ? 200 : 503)
      .send({ status: readiness.ready ? 'ready' : 'not ready', ...readiness });
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  );

  app.get('/api/v1/logs', { schema: querySchema('q', 'from', 'to', 'limit') }, async (request) => {
    const search = parseLogSearch(request.query as LogSearchParams, now());
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

  app.get('/api/v1/traces/:traceId', async (request) => {
    const traceId = (request.params as { traceId: string }).traceId.toLowerCase();
    if (!TRACE_ID.test(traceId)) {
      throw new SightlineError('SL_ERR_BAD_REQUEST', `${traceId} is not a trace id: use 32 hex characters`);
    }
    const { spans, truncated } = await deps.store.getTrace(authOf(request).orgId, traceId);
    if (spans.length === 0)
      throw new SightlineError('SL_ERR_NOT_FOUND', `no spans stored for trace ${traceId}`);
    return { ...traceView(traceId, spans), truncated };
  });

  app.get(
    '/api/v1/metrics',
    { schema: querySchema('name', 'from', 'to', 'step', 'agg') },
    async (request) => {
      const query = parseMetricQuery(request.query as MetricQueryParams, now());
      return metricsView(query, await deps.store.queryMetrics(authOf(request).orgId, query));
    },
  );

  app.get('/api/v1/stats', (request) => deps.store.countRecords(authOf(request).orgId));
  registerDatabaseRoutes(app, deps.store, now);
  registerLogSearchRoutes(app, deps.store, now);
  registerLogTailRoutes(app, deps, now);
  registerTraceRoutes(app, deps.store, now);
  return app;
}

function sendError(
  deps: ApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  thrown: unknown,
): FastifyReply {
  const error = prepareErrorReply('api', thrown, { ...deps, request, reply });
  return reply.send({ error: { code: error.code, message: error.message } });
}
