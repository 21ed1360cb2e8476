import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiKeyAuthenticator, AuthContext } from './authenticator.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `requireApiKey` before any handler runs. */
    auth: AuthContext | null;
  }
}

/** Registers authentication on every route of `app` except the listed public paths. */
export function requireApiKey(
  app: FastifyInstance,
  authenticator: ApiKeyAuthenticator,
  publicPaths: readonly string[] = [],
): void {
  app.decorateRequest('auth', null);
  const open = new Set(publicPaths);
  app.addHook('onRequest', async (request) => {
    if (open.has(request.routeOptions.url ?? '')) return;
    request.auth = await authenticator.authenticate(request.headers);
  });
}

/** The caller's auth context; only call from routes behind `requireApiKey`. */
export function authOf(request: FastifyRequest): AuthContext {
  if (request.auth === null) throw new Error(`route ${request.url} is not behind requireApiKey`);
  return request.auth;
}
