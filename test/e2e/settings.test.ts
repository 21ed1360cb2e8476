import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionClient, callApi, logIn } from '../harness/api-client.js';
import {
  startSightlineProcess,
  testUser,
  type SightlineProcess,
  type TestUser,
} from '../harness/sightline.js';

/**
 * The Settings screens' API through the built CLI and real HTTP: managing users with the rules
 * of docs/auth.md (and their refusals), the retention as configured, the signed-in user's
 * password change, and the sign-in rate limit.
 */

interface ErrorBody {
  error: { code: string; message: string };
}
interface UserView {
  id: string;
  email: string;
  role: string;
  createdAt: string;
  disabledAt: string | null;
}
interface RetentionView {
  store: string;
  intervalSeconds: number;
  granularity: string;
  data: Array<{ table: string; kind: string; description: string; days: number; keptForever: boolean }>;
}

/** A user of `role` added by the owner's key, and a signed-in session of theirs. */
async function addUser(
  server: SightlineProcess,
  role: string,
): Promise<{ user: TestUser; id: string; session: SessionClient }> {
  const user = testUser();
  const added = await callApi<{ user: UserView }>(server.apiUrl, 'POST', '/api/v1/users', {
    key: server.key,
    body: { email: user.email, role, password: user.password },
  });
  expect(added.status).toBe(201);
  const session = new SessionClient(server.apiUrl, await logIn(server.apiUrl, user));
  return { user, id: added.body.user.id, session };
}

describe('settings: users, retention and password on a running server', () => {
  let server: SightlineProcess;
  let owner: SessionClient;

  beforeAll(async () => {
    server = await startSightlineProcess({
      env: {
        SIGHTLINE_STORE__RETENTION__DAYS__LOGS: '3',
        SIGHTLINE_STORE__RETENTION__DAYS__METRIC_ROLLUPS1H: '0',
      },
    });
    owner = new SessionClient(server.apiUrl, await logIn(server.apiUrl, server.user));
  }, 60_000);

  afterAll(async () => {
    if (server === undefined) return;
    expect(await server.stop()).toBe(0);
    server.cleanup();
  });

  it('the owner adds a user with a generated password shown once, who signs in with it', async () => {
    const email = `gen-${Date.now()}@e2e.test`;
    const added = await owner.request<{ user: UserView; password: string }>('POST', '/api/v1/users', {
      body: { email, role: 'viewer' },
    });
    expect(added.status).toBe(201);
    expect(added.body.user).toMatchObject({ email, role: 'viewer', disabledAt: null });
    expect(added.body.password).toMatch(/^[A-Za-z0-9]{20}$/);
    await logIn(server.apiUrl, { email, password: added.body.password });
    const list = await owner.request<{ data: UserView[] }>('GET', '/api/v1/users');
    expect(list.body.data.find((u) => u.email === email)).not.toHaveProperty('password');
    const short = await owner.request<ErrorBody>('POST', '/api/v1/users', {
      body: { email: `short-${email}`, role: 'viewer', password: 'too short' },
    });
    expect(short.status).toBe(400);
    expect(short.body.error.message).toContain('use at least 12');
  });

  it('viewers and members read the users but cannot add, change or disable any', async () => {
    const target = await addUser(server, 'viewer');
    for (const role of ['viewer', 'member']) {
      const { session, user } = await addUser(server, role);
      const list = await session.request<{ data: UserView[] }>('GET', '/api/v1/users');
      expect(list.status).toBe(200);
      expect(list.body.data.map((u) => u.email)).toContain(server.user.email);
      const create = await session.request<ErrorBody>('POST', '/api/v1/users', {
        body: { email: `x-${user.email}`, role: 'viewer' },
      });
      expect(create.status).toBe(403);
      expect(create.body.error.message).toBe(
        `adding a user needs the admin role or higher; you (${user.email}) have the ${role} role`,
      );
      const change = await session.request<ErrorBody>('PATCH', `/api/v1/users/${target.id}`, {
        body: { role: 'member' },
      });
      expect(change.status).toBe(403);
      const disable = await session.request<ErrorBody>('DELETE', `/api/v1/users/${target.id}`);
      expect(disable.status).toBe(403);
    }
    const still = await owner.request<{ data: UserView[] }>('GET', '/api/v1/users');
    expect(still.body.data.find((u) => u.id === target.id)).toMatchObject({
      role: 'viewer',
      disabledAt: null,
    });
  });

  it('an admin manages users up to admin but may not grant or touch owner', async () => {
    const admin = await addUser(server, 'admin');
    const target = await addUser(server, 'viewer');
    const promote = await admin.session.request<{ user: UserView }>('PATCH', `/api/v1/users/${target.id}`, {
      body: { role: 'admin' },
    });
    expect(promote.status).toBe(200);
    expect(promote.body.user.role).toBe('admin');
    const toOwner = await admin.session.request<ErrorBody>('PATCH', `/api/v1/users/${target.id}`, {
      body: { role: 'owner' },
    });
    expect(toOwner.status).toBe(403);
    expect(toOwner.body.error.message).toContain('(role owner) needs the owner role');
    const addOwner = await admin.session.request<ErrorBody>('POST', '/api/v1/users', {
      body: { email: `owner-${admin.user.email}`, role: 'owner' },
    });
    expect(addOwner.status).toBe(403);
    const ownerId = (await owner.request<{ data: UserView[] }>('GET', '/api/v1/users')).body.data.find(
      (u) => u.email === server.user.email,
    )?.id;
    const disableOwner = await admin.session.request<ErrorBody>('DELETE', `/api/v1/users/${ownerId ?? ''}`);
    expect(disableOwner.status).toBe(403);
    const disable = await admin.session.request('DELETE', `/api/v1/users/${target.id}`);
    expect(disable.status).toBe(204);
    expect((await target.session.request('GET', '/api/v1/auth/me')).status).toBe(401);
  });

  it('nobody disables themselves, and the last owner is neither demoted nor disabled', async () => {
    const admin = await addUser(server, 'admin');
    const self = await admin.session.request<ErrorBody>('DELETE', `/api/v1/users/${admin.id}`);
    expect(self.status).toBe(409);
    expect(self.body.error.message).toContain('you cannot disable yourself');
    expect((await admin.session.request('GET', '/api/v1/auth/me')).status).toBe(200);

    const users = await owner.request<{ data: UserView[] }>('GET', '/api/v1/users');
    const ownerId = users.body.data.find((u) => u.email === server.user.email)?.id ?? '';
    const selfOwner = await owner.request<ErrorBody>('DELETE', `/api/v1/users/${ownerId}`);
    expect(selfOwner.status).toBe(409);
    const demote = await owner.request<ErrorBody>('PATCH', `/api/v1/users/${ownerId}`, {
      body: { role: 'admin' },
    });
    expect(demote.status).toBe(409);
    expect(demote.body.error.message).toContain('last owner');
    // With the owner's key (not the owner's session) the last-owner rule still holds.
    const byKey = await callApi<ErrorBody>(server.apiUrl, 'DELETE', `/api/v1/users/${ownerId}`, {
      key: server.key,
    });
    expect(byKey.status).toBe(409);
    expect(byKey.body.error.message).toContain('last owner');
  });

  it('shows the retention per table as configured, to members and above but not viewers', async () => {
    const member = await addUser(server, 'member');
    const answer = await member.session.request<RetentionView>('GET', '/api/v1/settings/retention');
    expect(answer.status).toBe(200);
    expect(answer.body.store).toBe('duckdb');
    expect(answer.body.intervalSeconds).toBe(300);
    const days = Object.fromEntries(answer.body.data.map((row) => [row.table, row]));
    // The two set through the environment, and defaults (src/config/retention.ts) for the rest.
    expect(days.logs).toMatchObject({ days: 3, keptForever: false, kind: 'raw' });
    expect(days.metricRollups1h).toMatchObject({ days: 0, keptForever: true, kind: 'rollup' });
    expect(days.metricPoints?.days).toBe(7);
    expect(days.metricRollups1m?.days).toBe(30);
    expect(days.metricRollups5m?.days).toBe(90);
    expect(days.deadLetters?.days).toBe(7);
    expect(days.spans?.days).toBe(7);
    expect(answer.body.data).toHaveLength(14);

    const viewer = await addUser(server, 'viewer');
    const refused = await viewer.session.request<ErrorBody>('GET', '/api/v1/settings/retention');
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain('needs the member role or higher');
  });

  it('changes the signed-in user’s password: other sessions end, this one stays, the new one signs in', async () => {
    const { user, session } = await addUser(server, 'member');
    const other = new SessionClient(server.apiUrl, await logIn(server.apiUrl, user));
    const next = `${user.password}-renewed`;

    const noCsrf = await session.request<ErrorBody>('POST', '/api/v1/auth/password', {
      body: { currentPassword: user.password, newPassword: next },
      csrf: false,
    });
    expect(noCsrf.status).toBe(403);
    const wrong = await session.request<ErrorBody>('POST', '/api/v1/auth/password', {
      body: { currentPassword: 'not my password at all', newPassword: next },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.message).toContain('not your current password');
    const weak = await session.request<ErrorBody>('POST', '/api/v1/auth/password', {
      body: { currentPassword: user.password, newPassword: 'short' },
    });
    expect(weak.status).toBe(400);
    expect(weak.body.error.message).toContain('use at least 12');
    const byKey = await callApi<ErrorBody>(server.apiUrl, 'POST', '/api/v1/auth/password', {
      key: server.key,
      body: { currentPassword: 'x', newPassword: next },
    });
    expect(byKey.status).toBe(400);
    expect(byKey.body.error.message).toContain('an API key has none');
    // Nothing was changed by the refusals: both sessions still work.
    expect((await other.request('GET', '/api/v1/auth/me')).status).toBe(200);

    const changed = await session.request('POST', '/api/v1/auth/password', {
      body: { currentPassword: user.password, newPassword: next },
    });
    expect(changed.status).toBe(204);
    expect((await session.request('GET', '/api/v1/auth/me')).status).toBe(200);
    expect((await other.request('GET', '/api/v1/auth/me')).status).toBe(401);
    const old = await callApi(server.apiUrl, 'POST', '/api/v1/auth/login', {
      body: { email: user.email, password: user.password },
    });
    expect(old.status).toBe(401);
    await logIn(server.apiUrl, { email: user.email, password: next });
  });
});

describe('sign-in rate limit on a running server', () => {
  let server: SightlineProcess;

  beforeAll(async () => {
    server = await startSightlineProcess({
      env: {
        SIGHTLINE_AUTH__LOGIN__MAX_FAILURES_PER_EMAIL: '3',
        SIGHTLINE_AUTH__LOGIN__MAX_FAILURES_PER_IP: '8',
        SIGHTLINE_AUTH__LOGIN__WINDOW_SECONDS: '120',
      },
    });
  }, 60_000);

  afterAll(async () => {
    if (server === undefined) return;
    expect(await server.stop()).toBe(0);
    server.cleanup();
  });

  const login = (email: string, password: string) =>
    callApi<ErrorBody>(server.apiUrl, 'POST', '/api/v1/auth/login', { body: { email, password } });

  it('answers 429 with Retry-After after the email’s failures, even for the right password; success resets', async () => {
    const ana = await addUserByKey(server, 'viewer');
    // Two failures, then the right password clears the email's count.
    for (let i = 0; i < 2; i++) expect((await login(ana.email, 'wrong password, again')).status).toBe(401);
    expect((await login(ana.email, ana.password)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await login(ana.email, 'wrong password, again')).status).toBe(401);
    const limited = await login(ana.email.toUpperCase(), ana.password);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('SL_ERR_TOO_MANY_REQUESTS');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(100);
    expect(retryAfter).toBeLessThanOrEqual(120);
    expect(limited.body.error.message).toMatch(/try again in 2 minutes$/);
    // Another email from the same address still signs in (5 failures so far, the address allows 8).
    expect((await login(server.user.email, server.user.password)).status).toBe(200);
  });

  it('answers 429 to an address that fails for many emails, whoever it tries next', async () => {
    for (let i = 0; i < 3; i++) {
      const answer = await login(`nobody${i}@e2e.test`, 'some password here');
      expect(answer.status).toBe(401);
    }
    // Eight failures from 127.0.0.1 in the window now (five in the test before).
    const limited = await login(server.user.email, server.user.password);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // An API key is not a sign-in: it keeps working.
    expect((await callApi(server.apiUrl, 'GET', '/api/v1/auth/me', { key: server.key })).status).toBe(200);
  });
});

async function addUserByKey(server: SightlineProcess, role: string): Promise<TestUser> {
  const user = testUser();
  const added = await callApi(server.apiUrl, 'POST', '/api/v1/users', {
    key: server.key,
    body: { email: user.email, role, password: user.password },
  });
  expect(added.status).toBe(201);
  return user;
}
