import Fastify, { type FastifyInstance } from 'fastify';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerUiRoutes } from './static-routes.js';

const INDEX = '<!doctype html><div id="root"></div>';
const SCRIPT = 'console.log("app")';

describe('the web UI routes', () => {
  let base: string;
  let root: string;
  let app: FastifyInstance;

  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'sightline-ui-'));
    root = join(base, 'ui');
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(join(root, 'index.html'), INDEX);
    writeFileSync(join(root, 'favicon.svg'), '<svg/>');
    writeFileSync(join(root, 'assets', 'index-abc123.js'), SCRIPT);
    writeFileSync(join(root, 'assets', 'index-abc123.js.gz'), gzipSync(SCRIPT));
    app = Fastify();
    app.get('/api/v1/stats', () => ({ logs: 1 }));
    app.setNotFoundHandler((_request, reply) =>
      reply.code(404).send({ error: { code: 'SL_ERR_NOT_FOUND' } }),
    );
    registerUiRoutes(app, { root });
  });

  afterEach(async () => {
    await app.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('serves hashed assets with immutable caching, precompressed when the browser accepts gzip', async () => {
    const plain = await app.inject({ url: '/assets/index-abc123.js' });
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.body).toBe(SCRIPT);

    const gzipped = await app.inject({
      url: '/assets/index-abc123.js',
      headers: { 'accept-encoding': 'gzip, deflate, br' },
    });
    // No .br in this build: gzip, the next one the browser takes.
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.headers.vary).toBe('accept-encoding');
    expect(gzipped.rawPayload).toEqual(gzipSync(SCRIPT));
  });

  it('answers index.html, never cached stale, for the app paths a copied link holds', async () => {
    for (const url of ['/', '/logs?q=service%3Aapi&range=6h', '/traces/4bf92f3577b34da6a3ce929d0e0e4736']) {
      const page = await app.inject({ url });
      expect(page.statusCode, url).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['cache-control']).toBe('no-cache');
      expect(page.body).toBe(INDEX);
    }
    const favicon = await app.inject({ url: '/favicon.svg' });
    expect(favicon.headers['content-type']).toBe('image/svg+xml');
  });

  it('answers 304 to a revalidation with the same ETag', async () => {
    const first = await app.inject({ url: '/logs' });
    const again = await app.inject({
      url: '/logs',
      headers: { 'if-none-match': String(first.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
  });

  it('leaves API paths to the API: an unknown one is the API 404, not the app', async () => {
    expect((await app.inject({ url: '/api/v1/stats' })).json()).toEqual({ logs: 1 });
    for (const url of ['/api/v1/nope', '/prometheus/api/v1/nope', '/metrics/x', '/assets/missing-1.js']) {
      const answer = await app.inject({ url });
      expect(answer.statusCode, url).toBe(404);
      expect(answer.json(), url).toEqual({ error: { code: 'SL_ERR_NOT_FOUND' } });
    }
  });

  it('never serves a file outside the build', async () => {
    writeFileSync(join(base, 'secret.txt'), 'secret');
    for (const url of ['/assets/..%2f..%2fsecret.txt', '/assets/../secret.txt', '/..%2fsecret.txt']) {
      const answer = await app.inject({ url });
      expect(answer.body, url).not.toContain('secret');
    }
  });

  it('says how to build the UI, with a 503, when the build is missing', async () => {
    rmSync(join(root, 'index.html'));
    const page = await app.inject({ url: '/logs' });
    expect(page.statusCode).toBe(503);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('npm run build');
  });
});
