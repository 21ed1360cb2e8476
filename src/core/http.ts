import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { SightlineError, isSightlineError } from './errors.js';
import type { SelfMetrics } from './telemetry.js';

/** A fastify instance as both servers use it: our logger, no per-request log lines. */
export function newHttpApp(logger: FastifyBaseLogger): FastifyInstance {
  return Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    // Idle keep-alive connections must not hold a shutdown open.
    forceCloseConnections: 'idle',
    // Entity ids carry percent-encoded database names (pg:<target>:<database>): longer than fastify's 100.
    routerOptions: { maxParamLength: 1000 },
  });
}

/**
 * Maps whatever a fastify app threw to a catalogued error: our own pass through, fastify's
 * own (content type, body, validation, 404) get a code and a message that says what to do.
 */
export function toSightlineError(error: unknown): SightlineError {
  if (isSightlineError(error)) return error;
  const e = error as { code?: string; statusCode?: number; message?: string; validation?: unknown };
  const message = e.message ?? String(error);
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || e.statusCode === 415) {
    return new SightlineError('SL_ERR_UNSUPPORTED_MEDIA_TYPE', message);
  }
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || e.statusCode === 413) {
    return new SightlineError('SL_ERR_BODY_TOO_LARGE', `${message}; send a smaller body`);
  }
  if (e.validation !== undefined || e.code === 'FST_ERR_VALIDATION') {
    return new SightlineError('SL_ERR_BAD_REQUEST', message);
  }
  if (
    e.statusCode === 400 ||
    e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
    e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
  ) {
    return new SightlineError('SL_ERR_MALFORMED_BODY', message);
  }
  if (e.statusCode === 404) return new SightlineError('SL_ERR_NOT_FOUND', message);
  return new SightlineError('SL_ERR_INTERNAL', 'internal error; the server log has the details', {
    cause: error,
  });
}

/**
 * What every error response shares: the catalogued error, counted by server and code,
 * logged when it is ours to fix, with Retry-After when the client should come back.
 * The caller sends the body in its protocol's shape.
 */
export function prepareErrorReply(
  server: 'ingest' | 'api',
  thrown: unknown,
  context: { metrics: SelfMetrics; logger: FastifyBaseLogger; request: FastifyRequest; reply: FastifyReply },
): SightlineError {
  const error = toSightlineError(thrown);
  context.metrics.httpErrors.inc({ server, code: error.code });
  if (error.status >= 500 && !error.retryable) {
    context.logger.error({ err: thrown, url: context.request.url }, `${server} request failed`);
  }
  if (error.retryAfterSeconds !== undefined)
    context.reply.header('retry-after', String(error.retryAfterSeconds));
  context.reply.code(error.status);
  return error;
}
