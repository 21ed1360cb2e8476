import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';

/**
 * The web UI on the API port: the Vite build in `dist/ui` (vite.config.ts). Hashed files under
 * `/assets/` are cached for a year (their name changes with their content); `index.html` is
 * answered for every other GET that is not the API's, so a copied link such as
 * `/logs?q=…&range=6h` opens that view; the app then routes in the browser. Vite's build writes
 * `.br` and `.gz` beside each text file, and the one the browser accepts is sent as is.
 */

export interface UiRouteOptions {
  /** The built UI; by default `dist/ui` of this package. */
  root?: string;
}

/** Paths that are never the UI's: a GET there that no route answers is the API's 404. */
const NOT_UI = ['/api', '/prometheus', '/metrics', '/healthz', '/readyz'];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.map': 'application/json',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Vite's asset names: `name-hash.ext`, flat in assets/; anything else (`..`, `/`) is not one. */
const FILE_NAME = /^[\w-][\w.-]*$/;

/** `dist/ui` beside the compiled server (dist/src/ui), or of the checkout when run from source. */
export function defaultUiRoot(): string {
  const packageRoot = resolve(import.meta.dirname, '../..');
  return basename(packageRoot) === 'dist' ? join(packageRoot, 'ui') : join(packageRoot, 'dist', 'ui');
}

export function registerUiRoutes(app: FastifyInstance, options: UiRouteOptions = {}): void {
  const root = options.root ?? defaultUiRoot();
  // `public`: the pages hold no data; the app asks the API, which checks the session.
  const routeOptions = { config: { public: true }, schema: { hide: true } };
  const handler = (request: FastifyRequest, reply: FastifyReply) => serveUi(root, request, reply);
  app.get('/', routeOptions, handler);
  app.get('/*', routeOptions, handler);
}

async function serveUi(root: string, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const pathname = request.url.split('?', 1)[0] ?? '/';
  if (NOT_UI.some((prefix) => pathname === prefix || pathname.startsWith(`${prefix}/`))) {
    return notFound(reply);
  }
  if (pathname.startsWith('/assets/')) {
    const name = pathname.slice('/assets/'.length);
    const sent =
      FILE_NAME.test(name) && (await sendFile(request, reply, join(root, 'assets', name), IMMUTABLE));
    return sent === false ? notFound(reply) : sent;
  }
  // Files at the top of the build (favicon.svg); not hashed, so revalidated after an hour.
  const top = pathname.slice(1);
  if (FILE_NAME.test(top) && top !== 'index.html') {
    const sent = await sendFile(request, reply, join(root, top), 'public, max-age=3600');
    if (sent !== false) return sent;
  }
  const index = await sendFile(request, reply, join(root, 'index.html'), 'no-cache');
  if (index !== false) return index;
  return reply.code(503).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT);
}

/** The app's own 404 handler, so an unknown API path answers as the API does. */
function notFound(reply: FastifyReply): FastifyReply {
  reply.callNotFound();
  return reply;
}

/** Sends the file (or its precompressed twin); false when it does not exist. */
async function sendFile(
  request: FastifyRequest,
  reply: FastifyReply,
  path: string,
  cacheControl: string,
): Promise<FastifyReply | false> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined || !info.isFile()) return false;
  const extension = /\.[^.]+$/.exec(path)?.[0] ?? '';
  const etag = `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
  reply
    .type(TYPES[extension] ?? 'application/octet-stream')
    .header('cache-control', cacheControl)
    .header('etag', etag)
    .header('vary', 'accept-encoding')
    .header('x-content-type-options', 'nosniff');
  if (extension === '.html') {
    reply.header('x-frame-options', 'DENY').header('referrer-policy', 'same-origin');
  }
  if (request.headers['if-none-match'] === etag) return reply.code(304).send();
  const accepted = String(request.headers['accept-encoding'] ?? '');
  for (const [encoding, suffix] of [
    ['br', '.br'],
    ['gzip', '.gz'],
  ] as const) {
    if (!new RegExp(`\\b${encoding}\\b`).test(accepted)) continue;
    const compressed = await readFile(path + suffix).catch(() => undefined);
    if (compressed !== undefined) return reply.header('content-encoding', encoding).send(compressed);
  }
  return reply.send(await readFile(path));
}

const NOT_BUILT = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sightline: web UI not built</title>
<style>body{font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;line-height:1.5}code{background:rgba(127,127,127,.15);padding:0 .2rem}</style>
</head>
<body>
<h1>The web UI is not built</h1>
<p>This Sightline has no <code>dist/ui/index.html</code>. Build it with <code>npm run build</code>
(it runs <code>vite build</code>), then restart <code>sightline start</code>.</p>
<p>The API works meanwhile: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> describes it.</p>
</body>
</html>
`;
