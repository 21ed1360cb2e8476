import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionClient, callApi, logIn } from '../harness/api-client.js';
import { runCli, startSightlineProcess, testUser, type SightlineProcess } from '../harness/sightline.js';

/**
 * Sign-in, roles, keys and users through the built CLI and real HTTP, as the web UI and scripts
 * use them: the owner the harness registers (--bootstrap-email/--bootstrap-password) signs in,
 * the cookie reads, a write without the CSRF header is refused, roles hold, a revoked key stops
 * at once, and `sightline user create` works on a stopped data dir.
 */

interface ErrorBody {
  error: { code: string; message: string };
}

describe('sign-in, roles, keys and users on a running server', () => {
  let server: SightlineProcess;

  beforeAll(async () => {
    server = await startSightlineProcess();
  }, 60_000);

  afterAll(async () => {
    if (server === undefined) return;
    expect(await server.stop()).toBe(0);
    server.cleanup();
  });

  it('signs the bootstrap owner in with an HttpOnly, SameSite=Lax cookie of the session TTL', async () => {
    const response = await callApi<{ user: { email: string; role: string }; org: { name: string } }>(
      server.apiUrl,
      'POST',
      '/api/v1/auth/login',
      { body: { email: server.user.email.toUpperCase(), password: server.user.password } },
    );
    expect(response.status).toBe(200);
    expect(response.body.user).toMatchObject({ email: server.user.email, role: 'owner' });
    expect(response.body.org.name).toBe('default');
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^sl_session=[A-Za-z0-9_-]{43}; /);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).toContain('Path=/');
    expect(cookie).toContain('Max-Age=43200');
    // Plain http: a Secure cookie would be dropped by the browser.
    expect(cookie).not.toContain('Secure');
  });

  it('answers a wrong password and an unknown email with the same 401', async () => {
    const wrong = await callApi<ErrorBody>(server.apiUrl, 'POST', '/api/v1/auth/login', {
      body: { email: server.user.email, password: 'not the password at all' },
    });
    const unknown = await callApi<ErrorBody>(server.apiUrl, 'POST', '/api/v1/auth/login', {
      body: { email: 'nobody@e2e.test', password: server.user.password },
    });
    for (const answer of [wrong, unknown]) {
      expect(answer.status).toBe(401);
      expect(answer.body.error).toEqual({
        code: 'SL_ERR_UNAUTHENTICATED',
        message: 'wrong email or password',
      });
      expect(answer.headers.get('set-cookie')).toBeNull();
    }
  });

  it('reads with the cookie: /me, a read route, and a POST with the CSRF header; refuses a POST without it', async () => {
    const session = new SessionClient(server.apiUrl, await logIn(server.apiUrl, server.user));
    const me = await session.request<{ org: { name: string }; role: string; user: { email: string } | null }>(
      'GET',
      '/api/v1/auth/me',
      { csrf: false },
    );
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      org: { name: 'default' },
      role: 'owner',
      user: { email: server.user.email },
    });

    expect((await session.request('GET', '/api/v1/stats', { csrf: false })).status).toBe(200);
    expect((await session.request('POST', '/api/v1/logs/search', { body: { query: '' } })).status).toBe(200);

    const refused = await session.request<ErrorBody>('POST', '/api/v1/keys', {
      body: { name: 'x' },
      csrf: false,
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('SL_ERR_FORBIDDEN');
    expect(refused.body.error.message).toContain('x-sightline-csrf: 1');
    expect((await session.request('GET', '/api/v1/keys', { csrf: false })).body).toMatchObject({
      data: expect.not.arrayContaining([expect.objectContaining({ name: 'x' })]) as unknown,
    });
  });

  it('answers /me for an API key with its role and no user', async () => {
    const me = await callApi(server.apiUrl, 'GET', '/api/v1/auth/me', { key: server.key });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ role: 'owner', user: null });
  });

  it('ends the session on logout: the cookie is cleared and no longer accepted', async () => {
    const session = new SessionClient(server.apiUrl, await logIn(server.apiUrl, server.user));
    const out = await session.request('POST', '/api/v1/auth/logout');
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^sl_session=; .*Max-Age=0/);
    const after = await session.request<ErrorBody>('GET', '/api/v1/stats', { csrf: false });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('SL_ERR_UNAUTHENTICATED');
  });

  it('serves the UI’s paths without credentials, and refuses the API without them', async () => {
    const page = await fetch(`${server.apiUrl}/settings/users`);
    expect(page.status).not.toBe(401);
    expect((await callApi(server.apiUrl, 'GET', '/api/v1/stats')).status).toBe(401);
    expect((await callApi(server.apiUrl, 'GET', '/api/v1/keys')).status).toBe(401);
  });

  it('a viewer key reads but cannot create keys (403 naming the role needed)', async () => {
    const created = await callApi<{ secret: string; key: { role: string } }>(
      server.apiUrl,
      'POST',
      '/api/v1/keys',
      {
        key: server.key,
        body: { name: 'dashboards' },
      },
    );
    expect(created.status).toBe(201);
    expect(created.body.key.role).toBe('viewer');
    const viewer = created.body.secret;
    expect((await callApi(server.apiUrl, 'GET', '/api/v1/stats', { key: viewer })).status).toBe(200);
    expect((await callApi(server.apiUrl, 'GET', '/api/v1/keys', { key: viewer })).status).toBe(200);
    const refused = await callApi<ErrorBody>(server.apiUrl, 'POST', '/api/v1/keys', {
      key: viewer,
      body: { name: 'more' },
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('SL_ERR_FORBIDDEN');
    expect(refused.body.error.message).toContain('needs the member role');
    expect(refused.body.error.message).toContain('has the viewer role');
  });

  it('a member key cannot create an admin key, an admin key cannot create an owner key', async () => {
    for (const [role, above] of [
      ['member', 'admin'],
      ['admin', 'owner'],
    ] as const) {
      const { body } = await callApi<{ secret: string }>(server.apiUrl, 'POST', '/api/v1/keys', {
        key: server.key,
        body: { name: role, role },
      });
      const refused = await callApi<ErrorBody>(server.apiUrl, 'POST', '/api/v1/keys', {
        key: body.secret,
        body: { name: 'up', role: above },
      });
      expect(refused.status, role).toBe(403);
      expect(refused.body.error.message).toContain(`needs the ${above} role`);
      const allowed = await callApi(server.apiUrl, 'POST', '/api/v1/keys', {
        key: body.secret,
        body: { name: 'same', role },
      });
      expect(allowed.status, role).toBe(201);
    }
  });

  it('a revoked key stops working at once, even though it was just used (and cached)', async () => {
    const { body } = await callApi<{ secret: string; key: { id: string } }>(
      server.apiUrl,
      'POST',
      '/api/v1/keys',
      {
        key: server.key,
        body: { name: 'short-lived', role: 'member' },
      },
    );
    expect((await callApi(server.apiUrl, 'GET', '/api/v1/stats', { key: body.secret })).status).toBe(200);
    const revoked = await callApi(server.apiUrl, 'DELETE', `/api/v1/keys/${body.key.id}`, {
      key: server.key,
    });
    expect(revoked.status).toBe(204);
    const after = await callApi<ErrorBody>(server.apiUrl, 'GET', '/api/v1/stats', { key: body.secret });
    expect(after.status).toBe(401);
    const list = await callApi<{ data: Array<{ id: string; revokedAt: string | null }> }>(
      server.apiUrl,
      'GET',
      '/api/v1/keys',
      {
        key: server.key,
      },
    );
    expect(list.body.data.find((k) => k.id === body.key.id)?.revokedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('manages users: a viewer user reads only, disabling ends their session, the last owner stays', async () => {
    const viewer = testUser();
    const added = await callApi<{ user: { id: string; role: string } }>(
      server.apiUrl,
      'POST',
      '/api/v1/users',
      {
        key: server.key,
        body: { email: viewer.email, role: 'viewer', password: viewer.password },
      },
    );
    expect(added.status).toBe(201);
    const session = new SessionClient(server.apiUrl, await logIn(server.apiUrl, viewer));
    expect((await session.request('GET', '/api/v1/stats')).status).toBe(200);
    const refused = await session.request<ErrorBody>('POST', '/api/v1/keys', { body: { name: 'nope' } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain(`you (${viewer.email}) have the viewer role`);

    const disabled = await callApi(server.apiUrl, 'DELETE', `/api/v1/users/${added.body.user.id}`, {
      key: server.key,
    });
    expect(disabled.status).toBe(204);
    expect((await session.request('GET', '/api/v1/stats')).status).toBe(401);
    const again = await callApi(server.apiUrl, 'POST', '/api/v1/auth/login', { body: viewer });
    expect(again.status).toBe(401);

    const users = await callApi<{ data: Array<{ id: string; email: string }> }>(
      server.apiUrl,
      'GET',
      '/api/v1/users',
      {
        key: server.key,
      },
    );
    const owner = users.body.data.find((u) => u.email === server.user.email);
    const demote = await callApi<ErrorBody>(server.apiUrl, 'PATCH', `/api/v1/users/${owner?.id ?? ''}`, {
      key: server.key,
      body: { role: 'admin' },
    });
    expect(demote.status).toBe(409);
    expect(demote.body.error.message).toContain('last owner');
  });

  it('`sightline user create` explains what to do while the server holds the data dir', async () => {
    const { code, stderr } = await runCli([
      'user',
      'create',
      '--email',
      'late@e2e.test',
      '--role',
      'member',
      '--data-dir',
      server.dataDir,
    ]);
    expect(code).toBe(3);
    expect(stderr).toContain('A running `sightline start` holds it');
    expect(stderr).toContain('stop the server');
    expect(stderr).toContain('POST /api/v1/users');
  });
});

describe('sightline user create on a stopped data dir', () => {
  it('adds a user (generated or stdin password) who can then sign in', async () => {
    const first = await startSightlineProcess();
    const stopped = await first.stop();
    expect(stopped, `${first.stdout()}\n${first.stderr()}\nsignal ${String(first.child.signalCode)}`).toBe(0);
    try {
      const generated = await runCli([
        'user',
        'create',
        '--email',
        'Ana@E2E.test',
        '--role',
        'admin',
        '--data-dir',
        first.dataDir,
      ]);
      expect(generated.stderr).toBe('');
      expect(generated.code).toBe(0);
      expect(generated.stdout).toContain(
        'Created the user ana@e2e.test (role admin) in the organization "default"',
      );
      const password = /^\s+(\S{20})$/m.exec(generated.stdout)?.[1];
      expect(password).toBeDefined();

      const piped = await runCli(
        [
          'user',
          'create',
          '--email',
          'ci@e2e.test',
          '--role',
          'viewer',
          '--password-stdin',
          '--data-dir',
          first.dataDir,
        ],
        { input: 'a passphrase from stdin\n' },
      );
      expect(piped.code).toBe(0);
      expect(piped.stdout).not.toContain('shown only this once');

      const short = await runCli(
        [
          'user',
          'create',
          '--email',
          'x@e2e.test',
          '--role',
          'viewer',
          '--password-stdin',
          '--data-dir',
          first.dataDir,
        ],
        { input: 'short' },
      );
      expect(short.code).toBe(1);
      expect(short.stderr).toContain('use at least 12');

      const taken = await runCli([
        'user',
        'create',
        '--email',
        'ana@e2e.test',
        '--role',
        'viewer',
        '--data-dir',
        first.dataDir,
      ]);
      expect(taken.code).toBe(1);
      expect(taken.stderr).toContain('exists already');

      const server = await startSightlineProcess({
        dataDir: first.dataDir,
        key: 'existing',
        user: first.user,
      });
      try {
        await logIn(server.apiUrl, { email: 'ana@e2e.test', password: password ?? '' });
        await logIn(server.apiUrl, { email: 'ci@e2e.test', password: 'a passphrase from stdin' });
      } finally {
        expect(await server.stop()).toBe(0);
      }
    } finally {
      first.cleanup();
    }
  }, 90_000);

  it('explains --help and refuses a data dir without Sightline data', async () => {
    const help = await runCli(['user', 'create', '--help']);
    const text = help.stdout.replace(/\s+/g, ' ');
    expect(help.code).toBe(0);
    for (const part of [
      '--email <email>',
      '--role <role>',
      '--password-stdin',
      '--org <name>',
      'single writer',
      'POST /api/v1/users',
    ]) {
      expect(text).toContain(part);
    }
    const empty = await runCli([
      'user',
      'create',
      '--email',
      'a@b.c',
      '--role',
      'viewer',
      '--data-dir',
      '/nonexistent/sightline',
    ]);
    expect(empty.code).toBe(3);
    expect(empty.stderr).toContain('start Sightline once');
  });
});
