import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SightlineError } from '../core/errors.js';
import { keyFromHeaders, type ApiKeyAuthenticator, type AuthContext } from './authenticator.js';
import { CSRF_HEADER, hasCsrfHeader, needsCsrfHeader, sessionTokenOf } from './cookies.js';
import type { SessionManager } from './sessions.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `requireAuth` before any handler of a route that is not public. */
    auth: AuthContext | null;
  }
  interface FastifyContextConfig {
    /** Served without a key or session (the web UI's pages and assets, sign-in, probes). */
    public?: boolean;
  }
}

export interface Authentication {
  keys: ApiKeyAuthenticator;
  sessions: SessionManager;
}

/**
 * Whether a path belongs to the API (keys or a session needed) rather than to the web UI, whose
 * pages and assets anyone may load (the UI itself then asks the API, which answers 401).
 */
export function isApiPath(path: string): boolean {
  const p = path.split('?')[0] ?? '';
  return (
    p === '/api' ||
    p.startsWith('/api/') ||
    p === '/prometheus' ||
    p.startsWith('/prometheus/') ||
    p === '/metrics' ||
    p.startsWith('/metrics/')
  );
}

/**
 * Registers authentication on every API route of `app`: an API key (`Authorization: Bearer`,
 * `x-api-key`), else the session cookie, which must come with the CSRF header on anything but a
 * read. Public: routes with `config: { public: true }`, the listed paths, and whatever is not
 * under /api/, /prometheus/ or /metrics (the UI's). Both the route's pattern and the URL asked
 * for are checked, so neither an encoded path nor a catch-all route makes an API path public.
 */
export function requireAuth(
  app: FastifyInstance,
  auth: Authentication,
  publicPaths: readonly string[] = [],
): void {
  app.decorateRequest('auth', null);
  const open = new Set(publicPaths);
  app.addHook('onRequest', async (request) => {
    const pattern = request.routeOptions.url;
    if (request.routeOptions.config.public === true || open.has(pattern ?? '')) return;
    if (!isApiPath(request.url) && (pattern === undefined || !isApiPath(pattern))) return;
    request.auth = await authenticate(request, auth);
  });
}

async function authenticate(request: FastifyRequest, auth: Authentication): Promise<AuthContext> {
  // A key wins over a cookie: a script's key is what it means, and a browser never adds one by itself.
  if (keyFromHeaders(request.headers) !== undefined) return auth.keys.authenticate(request.headers);
  const token = sessionTokenOf(request.headers);
  if (token === undefined) {
    throw new SightlineError(
      'SL_ERR_UNAUTHENTICATED',
      'missing API key: send "Authorization: Bearer <key>" or "x-api-key: <key>" (sightline start prints a key on first run), or sign in to the web UI',
    );
  }
  const context = await auth.sessions.authenticate(token);
  if (needsCsrfHeader(request.method) && !hasCsrfHeader(request.headers)) {
    throw new SightlineError(
      'SL_ERR_FORBIDDEN',
      `a ${request.method} with the session cookie must carry the header "${CSRF_HEADER}: 1" (the web UI sends it); scripts should use an API key instead`,
    );
  }
  return context;
}

/**
 * API keys only, on every route but the listed paths: the ingest port, where any valid key of
 * any role may send data and there is no cookie to take.
 */
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

/** The caller's auth context; only call from routes behind `requireAuth`. */
export function authOf(request: FastifyRequest): AuthContext {
  if (request.auth === null)
    throw new Error(`route ${request.url} is not behind requireAuth or requireApiKey`);
  return request.auth;
}
