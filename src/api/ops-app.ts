import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyAuthenticator } from '../auth/authenticator.js';
import { requireApiKey } from '../auth/http.js';
import { SightlineError } from '../core/errors.js';
import { newHttpApp, prepareErrorReply } from '../core/http.js';
import type { Logger } from '../core/logger.js';
import type { SelfMetrics } from '../core/telemetry.js';
import { PROCESS_PUBLIC_PATHS, registerProcessRoutes, type Readiness } from './process-routes.js';

export interface OpsDeps {
  authenticator: ApiKeyAuthenticator;
  metrics: SelfMetrics;
  logger: Logger;
  readiness: () => Readiness;
}

/**
 * The port of a process without the api role (a processor, a collector or a gateway on its
 * own): only `/healthz`, `/readyz` and `/metrics`, so an orchestrator can probe it and
 * Prometheus can scrape its lag, batches and stage counters. Errors in the API's JSON shape.
 */
export function buildOpsApp(deps: OpsDeps): FastifyInstance {
  const app = newHttpApp(deps.logger);
  requireApiKey(app, deps.authenticator, PROCESS_PUBLIC_PATHS);
  const sendError = (request: FastifyRequest, reply: FastifyReply, thrown: unknown): FastifyReply => {
    const error = prepareErrorReply('api', thrown, { ...deps, request, reply });
    return reply.send({ error: { code: error.code, message: error.message } });
  };
  app.setErrorHandler((error, request, reply) => sendError(request, reply, error));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      new SightlineError(
        'SL_ERR_NOT_FOUND',
        `no endpoint at ${request.method} ${request.url}: this process runs no api role, only /healthz, /readyz and /metrics`,
      ),
    ),
  );
  registerProcessRoutes(app, deps);
  return app;
}
