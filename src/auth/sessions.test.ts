import { describe, expect, it } from 'vitest';
import { MemoryControlStore } from '../../test/helpers/memory-control-store.js';
import { hashPassword } from './passwords.js';
import { SessionManager, hashSessionToken, normalizeEmail } from './sessions.js';

const PASSWORD = 'correct horse battery';

async function setUp(now: () => number) {
  const control = new MemoryControlStore();
  const org = await control.createOrg('default');
  const user = await control.createUser({
    orgId: org.id,
    email: 'ana@example.com',
    passwordHash: await hashPassword(PASSWORD),
    role: 'member',
  });
  return { control, org, user, sessions: new SessionManager(control, { ttlMs: 3_600_000, now }) };
}

describe('SessionManager', () => {
  it('signs in with any case of the email, storing only the token’s SHA-256 with the TTL', async () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const { control, org, user, sessions } = await setUp(() => now);
    const signIn = await sessions.signIn('  ANA@Example.com ', PASSWORD);
    expect(signIn.user).toEqual(user);
    expect(signIn.org).toEqual(org);
    expect(signIn.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(signIn.expiresAt.toISOString()).toBe('2026-01-01T01:00:00.000Z');
    expect([...control.sessions.keys()]).toEqual([hashSessionToken(signIn.token)]);
    expect(JSON.stringify([...control.sessions])).not.toContain(signIn.token);
  });

  it('answers a wrong password, an unknown email and a disabled user with the same 401', async () => {
    const { control, org, user, sessions } = await setUp(Date.now);
    await control.createUser({ orgId: org.id, email: 'owner@example.com', passwordHash: 'x', role: 'owner' });
    const refused = async (email: string, password: string) =>
      expect(sessions.signIn(email, password)).rejects.toMatchObject({
        code: 'SL_ERR_UNAUTHENTICATED',
        message: 'wrong email or password',
      });
    await refused('ana@example.com', 'wrong password!');
    await refused('nobody@example.com', PASSWORD);
    await control.disableUser(org.id, user.id);
    await refused('ana@example.com', PASSWORD);
    expect(control.sessions.size).toBe(0);
  });

  it('sweeps expired sessions at each sign-in', async () => {
    let now = Date.now();
    const { control, sessions } = await setUp(() => now);
    await sessions.signIn('ana@example.com', PASSWORD);
    now += 3_600_001;
    const second = await sessions.signIn('ana@example.com', PASSWORD);
    expect([...control.sessions.keys()]).toEqual([hashSessionToken(second.token)]);
  });

  it('normalizes emails to trimmed lower case', () => {
    expect(normalizeEmail(' Ana@EXAMPLE.com\n')).toBe('ana@example.com');
  });
});
