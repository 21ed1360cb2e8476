import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryControlStore } from '../../test/helpers/memory-control-store.js';
import { toSightlineError, newHttpApp } from '../core/http.js';
import { silentLogger } from '../core/logger.js';
import { displayPrefix, hashApiKey } from './api-key.js';
import { ApiKeyAuthenticator } from './authenticator.js';
import { authOf, isApiPath, requireAuth } from './http.js';
import { hashPassword } from './passwords.js';
import { SessionManager, hashSessionToken } from './sessions.js';

const KEY = 'sl_http_test_key_000000';
const PASSWORD = 'a long passphrase';

describe('isApiPath', () => {
  it('counts /api/, /prometheus/ and /metrics as the API and everything else as the UI', () => {
    for (const path of [
      '/api',
      '/api/v1/logs',
      '/api/v1/logs?q=x',
      '/prometheus/api/v1/query',
      '/metrics',
      '/metrics?x',
    ])
      expect(isApiPath(path), path).toBe(true);
    for (const path of ['/', '/settings/users', '/assets/app.js', '/apis', '/metricsx', '/healthz'])
      expect(isApiPath(path), path).toBe(false);
  });
});

describe('requireAuth', () => {
  let app: FastifyInstance | undefined;
  let now = Date.now();
  afterEach(async () => {
    await app?.close();
    app = undefined;
    now = Date.now();
  });

  async function build() {
    const control = new MemoryControlStore();
    const org = await control.createOrg('default');
    await control.createApiKey({
      orgId: org.id,
      name: 'k',
      prefix: displayPrefix(KEY),
      keyHash: hashApiKey(KEY),
      role: 'viewer',
    });
    const user = await control.createUser({
      orgId: org.id,
      email: 'ana@example.com',
      passwordHash: await hashPassword(PASSWORD),
      role: 'admin',
    });
    const sessions = new SessionManager(control, { ttlMs: 60_000, now: () => now });
    const server = newHttpApp(silentLogger());
    requireAuth(server, { keys: new ApiKeyAuthenticator(control), sessions }, ['/healthz']);
    server.setErrorHandler((error, _request, reply) => {
      const e = toSightlineError(error);
      return reply.code(e.status).send({ error: { code: e.code, message: e.message } });
    });
    const whoami = (request: Parameters<typeof authOf>[0]) => authOf(request);
    server.get('/api/v1/x', whoami);
    server.post('/api/v1/x', whoami);
    server.get('/api/v1/open', { config: { public: true } }, () => ({ open: true }));
    server.get('/healthz', () => ({ status: 'ok' }));
    server.get('/settings', () => 'page');
    app = server;
    const signIn = await sessions.signIn('ana@example.com', PASSWORD);
    return { server, control, user, cookie: `sl_session=${signIn.token}`, token: signIn.token };
  }

  it('refuses the API without credentials, saying how to send them', async () => {
    const { server } = await build();
    const response = await server.inject({ url: '/api/v1/x' });
    expect(response.statusCode).toBe(401);
    expect(response.json<{ error: { message: string } }>().error.message).toContain('sign in to the web UI');
    // An unknown API path too: no endpoint list for the unauthenticated.
    expect((await server.inject({ url: '/api/v1/nope' })).statusCode).toBe(401);
    // An encoded path is still the API's.
    expect((await server.inject({ url: '/%61pi/v1/x' })).statusCode).not.toBe(200);
  });

  it('serves UI paths, listed paths and routes marked public without credentials', async () => {
    const { server } = await build();
    expect((await server.inject({ url: '/settings' })).statusCode).toBe(200);
    expect((await server.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await server.inject({ url: '/api/v1/open' })).json()).toEqual({ open: true });
    expect((await server.inject({ url: '/nothing/here' })).statusCode).toBe(404);
  });

  it('acts as the key’s role, and the key wins over a cookie', async () => {
    const { server } = await build();
    const response = await server.inject({
      url: '/api/v1/x',
      headers: { 'x-api-key': KEY, cookie: 'sl_session=bogus' },
    });
    expect(response.json()).toMatchObject({ role: 'viewer', principal: { kind: 'key' } });
    // No CSRF header needed with a key: a browser never adds one on its own.
    expect(
      (await server.inject({ method: 'POST', url: '/api/v1/x', headers: { 'x-api-key': KEY } })).statusCode,
    ).toBe(200);
  });

  it('acts as the signed-in user with the cookie; a POST needs the CSRF header', async () => {
    const { server, cookie, user } = await build();
    const read = await server.inject({ url: '/api/v1/x', headers: { cookie } });
    expect(read.json()).toEqual({
      orgId: user.orgId,
      role: 'admin',
      principal: { kind: 'user', userId: user.id, email: 'ana@example.com' },
    });
    const refused = await server.inject({ method: 'POST', url: '/api/v1/x', headers: { cookie } });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ error: { code: 'SL_ERR_FORBIDDEN' } });
    expect(refused.json<{ error: { message: string } }>().error.message).toContain('"x-sightline-csrf: 1"');
    const allowed = await server.inject({
      method: 'POST',
      url: '/api/v1/x',
      headers: { cookie, 'x-sightline-csrf': '1' },
    });
    expect(allowed.statusCode).toBe(200);
  });

  it('refuses an unknown, an expired and a disabled user’s session, and removes the expired one', async () => {
    const { server, control, cookie, token, user } = await build();
    expect(
      (await server.inject({ url: '/api/v1/x', headers: { cookie: 'sl_session=unknown' } })).statusCode,
    ).toBe(401);
    now += 61_000;
    const expired = await server.inject({ url: '/api/v1/x', headers: { cookie } });
    expect(expired.statusCode).toBe(401);
    expect(expired.json<{ error: { message: string } }>().error.message).toContain('expired');
    expect(control.sessions.has(hashSessionToken(token))).toBe(false);

    now = Date.now();
    const again = await new SessionManager(control, { now: () => now }).signIn('ana@example.com', PASSWORD);
    await control.createUser({ orgId: user.orgId, email: 'o@example.com', passwordHash: 'x', role: 'owner' });
    expect((await control.disableUser(user.orgId, user.id)).status).toBe('ok');
    expect(
      (await server.inject({ url: '/api/v1/x', headers: { cookie: `sl_session=${again.token}` } }))
        .statusCode,
    ).toBe(401);
  });
});
