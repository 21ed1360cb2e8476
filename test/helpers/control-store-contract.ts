import { afterEach, describe, expect, it } from 'vitest';
import { displayPrefix, generateApiKey, hashApiKey } from '../../src/auth/api-key.js';
import { ApiKeyAuthenticator } from '../../src/auth/authenticator.js';
import { DEFAULT_ORG_NAME, bootstrapAccess } from '../../src/auth/bootstrap.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { SessionManager, hashSessionToken } from '../../src/auth/sessions.js';
import { SightlineError } from '../../src/core/errors.js';
import type { ControlStore, Org, Role } from '../../src/store/control-store.js';
import { orgId } from '../../src/store/rows.js';

/** One empty, started control store over storage of its own. */
export interface ControlStoreFixture {
  store: ControlStore;
  /** Marks a key revoked in the storage, as an operator would (the interface has no revoke yet). */
  revoke(keyHash: string): Promise<void>;
  /** Closes the store and opens the same storage again, as a restart does; `store` is the new one. */
  reopen(): Promise<void>;
  /** Closes the store and removes its storage. */
  close(): Promise<void>;
}

/**
 * The behaviour every ControlStore shares, run against each implementation (DuckDB for the
 * embedded mode, PostgreSQL for scale-out), so the authenticator and bootstrap see no difference.
 */
export function describeControlStoreContract(name: string, open: () => Promise<ControlStoreFixture>): void {
  describe(`ControlStore contract: ${name}`, () => {
    const opened: ControlStoreFixture[] = [];

    async function fresh(): Promise<ControlStoreFixture> {
      const fixture = await open();
      opened.push(fixture);
      return fixture;
    }

    afterEach(async () => {
      for (const fixture of opened.splice(0)) await fixture.close();
    });

    async function addKey(
      store: ControlStore,
      org: { id: ReturnType<typeof orgId> },
      key = generateApiKey(),
    ): Promise<{ key: string; hash: string }> {
      const hash = hashApiKey(key);
      await store.createApiKey({ orgId: org.id, name: 'ci', prefix: displayPrefix(key), keyHash: hash });
      return { key, hash };
    }

    it('starts empty', async () => {
      const { store } = await fresh();
      expect(await store.listOrgs()).toEqual([]);
      expect(await store.findApiKeyByHash(hashApiKey(generateApiKey()))).toBeUndefined();
    });

    it('creates an org with an id, its name and the creation time, and lists it', async () => {
      const { store } = await fresh();
      const before = Date.now();
      const org = await store.createOrg('acme');
      const after = Date.now();
      expect(org.id).toMatch(/^org_[0-9A-Za-z]{16}$/);
      expect(org.name).toBe('acme');
      expect(org.createdAt).toBeInstanceOf(Date);
      // The database's clock, not this process's: allow a little skew and rounding.
      expect(org.createdAt.getTime()).toBeGreaterThanOrEqual(before - 2_000);
      expect(org.createdAt.getTime()).toBeLessThanOrEqual(after + 2_000);
      expect(await store.listOrgs()).toEqual([org]);
    });

    it('refuses a second org with the same name and keeps the first', async () => {
      const { store } = await fresh();
      const first = await store.createOrg('acme');
      await expect(store.createOrg('acme')).rejects.toThrow();
      expect(await store.listOrgs()).toEqual([first]);
      // Names are compared exactly: another case is another org.
      const other = await store.createOrg('Acme');
      expect((await store.listOrgs()).map((o) => o.id)).toEqual([first.id, other.id]);
    });

    it('lists orgs in the order they were created, not by name', async () => {
      const { store } = await fresh();
      for (const name of ['zeta', 'alpha', 'mid', 'beta']) await store.createOrg(name);
      expect((await store.listOrgs()).map((o) => o.name)).toEqual(['zeta', 'alpha', 'mid', 'beta']);
    });

    it('creates an API key and finds it by its hash with every field', async () => {
      const { store } = await fresh();
      const org = await store.createOrg('acme');
      const key = generateApiKey();
      const before = Date.now();
      const record = await store.createApiKey({
        orgId: org.id,
        name: 'ingest from prod',
        prefix: displayPrefix(key),
        keyHash: hashApiKey(key),
      });
      expect(record).toMatchObject({
        orgId: org.id,
        name: 'ingest from prod',
        prefix: displayPrefix(key),
        revokedAt: null,
      });
      expect(record.id).toMatch(/^key_[0-9A-Za-z]{16}$/);
      expect(record.createdAt.getTime()).toBeGreaterThanOrEqual(before - 2_000);
      // Only the hash is stored: the record never carries the key.
      expect(JSON.stringify(record)).not.toContain(key);
      expect(await store.findApiKeyByHash(hashApiKey(key))).toEqual(record);
    });

    it('finds nothing for an unknown hash', async () => {
      const { store } = await fresh();
      const org = await store.createOrg('acme');
      await addKey(store, org);
      expect(await store.findApiKeyByHash(hashApiKey(generateApiKey()))).toBeUndefined();
      expect(await store.findApiKeyByHash('')).toBeUndefined();
    });

    it('maps each key to its own org', async () => {
      const { store } = await fresh();
      const a = await store.createOrg('a');
      const b = await store.createOrg('b');
      const keyA = await addKey(store, a);
      const keyB = await addKey(store, b);
      expect((await store.findApiKeyByHash(keyA.hash))?.orgId).toBe(a.id);
      expect((await store.findApiKeyByHash(keyB.hash))?.orgId).toBe(b.id);
    });

    it('refuses a second key with the same hash and keeps the first', async () => {
      const { store } = await fresh();
      const a = await store.createOrg('a');
      const b = await store.createOrg('b');
      const { key, hash } = await addKey(store, a);
      await expect(addKey(store, b, key)).rejects.toThrow();
      expect((await store.findApiKeyByHash(hash))?.orgId).toBe(a.id);
    });

    it('refuses a key for an org that does not exist', async () => {
      const { store } = await fresh();
      const key = generateApiKey();
      await expect(
        store.createApiKey({
          orgId: orgId('org_doesnotexist00'),
          name: 'x',
          prefix: displayPrefix(key),
          keyHash: hashApiKey(key),
        }),
      ).rejects.toThrow();
      expect(await store.findApiKeyByHash(hashApiKey(key))).toBeUndefined();
    });

    it('returns a revoked key with its revocation time, and the authenticator refuses it', async () => {
      const fixture = await fresh();
      const { store } = fixture;
      const org = await store.createOrg('acme');
      const revoked = await addKey(store, org);
      const current = await addKey(store, org);
      await fixture.revoke(revoked.hash);

      const record = await store.findApiKeyByHash(revoked.hash);
      expect(record?.revokedAt).toBeInstanceOf(Date);
      expect((await store.findApiKeyByHash(current.hash))?.revokedAt).toBeNull();

      const authenticator = new ApiKeyAuthenticator(store);
      await expect(
        authenticator.authenticate({ authorization: `Bearer ${revoked.key}` }),
      ).rejects.toMatchObject({
        code: 'SL_ERR_UNAUTHENTICATED',
        status: 401,
      });
      expect(await authenticator.authenticate({ 'x-api-key': current.key })).toEqual({
        orgId: org.id,
        role: 'admin',
        principal: { kind: 'key', keyId: (await store.findApiKeyByHash(current.hash))?.id },
      });
    });

    it('keeps orgs and keys across a restart', async () => {
      const fixture = await fresh();
      const org = await fixture.store.createOrg('acme');
      const { hash } = await addKey(fixture.store, org);
      const record = await fixture.store.findApiKeyByHash(hash);
      await fixture.reopen();
      expect(await fixture.store.listOrgs()).toEqual([org]);
      expect(await fixture.store.findApiKeyByHash(hash)).toEqual(record);
    });

    it('bootstraps the default org and a working key once', async () => {
      const fixture = await fresh();
      const first = await bootstrapAccess(fixture.store, undefined);
      expect(first.org.name).toBe(DEFAULT_ORG_NAME);
      expect(first.generatedKey).toBeDefined();
      const context = await new ApiKeyAuthenticator(fixture.store).authenticate({
        authorization: `Bearer ${first.generatedKey}`,
      });
      expect(context.orgId).toBe(first.org.id);

      await fixture.reopen();
      const second = await bootstrapAccess(fixture.store, undefined);
      expect(second).toEqual({ org: first.org });
      expect(await fixture.store.listOrgs()).toHaveLength(1);
    });

    async function addUser(store: ControlStore, org: Org, email: string, role: Role) {
      return store.createUser({ orgId: org.id, email, passwordHash: `scrypt$test$${email}`, role });
    }

    /** A user with a real password hash, for tests that sign in through SessionManager. */
    async function addSignInUser(store: ControlStore, org: Org, email: string, password: string, role: Role) {
      return store.createUser({ orgId: org.id, email, passwordHash: await hashPassword(password), role });
    }

    it('stores a key’s role (admin when none is given) and lists, revokes and scopes keys per org', async () => {
      const { store } = await fresh();
      const a = await store.createOrg('a');
      const b = await store.createOrg('b');
      const viewer = generateApiKey();
      const record = await store.createApiKey({
        orgId: a.id,
        name: 'dash',
        prefix: displayPrefix(viewer),
        keyHash: hashApiKey(viewer),
        role: 'viewer',
      });
      expect(record.role).toBe('viewer');
      const plain = await addKey(store, a);
      expect((await store.findApiKeyByHash(plain.hash))?.role).toBe('admin');
      const other = await addKey(store, b);
      const otherId = (await store.findApiKeyByHash(other.hash))?.id ?? '';

      expect((await store.listApiKeys(a.id)).map((k) => [k.name, k.role])).toEqual([
        ['dash', 'viewer'],
        ['ci', 'admin'],
      ]);
      // Another org's key is not found, and not revoked, through this org.
      expect(await store.revokeApiKey(a.id, otherId)).toBeUndefined();
      expect((await store.findApiKeyByHash(other.hash))?.revokedAt).toBeNull();

      const revoked = await store.revokeApiKey(a.id, record.id);
      expect(revoked?.revokedAt).toBeInstanceOf(Date);
      const again = await store.revokeApiKey(a.id, record.id);
      expect(again?.revokedAt?.getTime()).toBe(revoked?.revokedAt?.getTime());
      expect((await store.findApiKeyByHash(hashApiKey(viewer)))?.revokedAt).toBeInstanceOf(Date);
      await expect(
        new ApiKeyAuthenticator(store).authenticate({ 'x-api-key': viewer }),
      ).rejects.toMatchObject({
        status: 401,
      });
    });

    it('creates users with every field, finds them by email, lists and scopes them per org', async () => {
      const { store } = await fresh();
      const a = await store.createOrg('a');
      const b = await store.createOrg('b');
      const before = Date.now();
      const ana = await store.createUser({
        orgId: a.id,
        email: 'ana@example.com',
        passwordHash: 'scrypt$x',
        role: 'owner',
      });
      expect(ana).toMatchObject({ orgId: a.id, email: 'ana@example.com', role: 'owner', disabledAt: null });
      expect(ana.id).toMatch(/^usr_[0-9A-Za-z]{16}$/);
      expect(ana.createdAt.getTime()).toBeGreaterThanOrEqual(before - 2_000);
      expect(JSON.stringify(ana)).not.toContain('scrypt$x');
      const bob = await addUser(store, b, 'bob@example.com', 'viewer');

      expect(await store.findUserByEmail('ana@example.com')).toEqual({ ...ana, passwordHash: 'scrypt$x' });
      expect(await store.findUserByEmail('nobody@example.com')).toBeUndefined();
      expect(await store.getUser(a.id, ana.id)).toEqual(ana);
      expect(await store.getUser(a.id, bob.id)).toBeUndefined();
      expect(await store.listUsers(a.id)).toEqual([ana]);
      expect((await store.listUsers(b.id)).map((u) => u.email)).toEqual(['bob@example.com']);
    });

    it('refuses an email in use in any org with SL_ERR_CONFLICT, and a user of an unknown org', async () => {
      const { store } = await fresh();
      const a = await store.createOrg('a');
      const b = await store.createOrg('b');
      await addUser(store, a, 'ana@example.com', 'owner');
      await expect(addUser(store, b, 'ana@example.com', 'viewer')).rejects.toMatchObject({
        code: 'SL_ERR_CONFLICT',
        status: 409,
      });
      await expect(
        addUser(store, { ...a, id: orgId('org_doesnotexist00') }, 'x@example.com', 'viewer'),
      ).rejects.toThrow();
      expect(await store.listUsers(b.id)).toEqual([]);
    });

    it('changes roles and disables users, but never the org’s last enabled owner', async () => {
      const { store } = await fresh();
      const org = await store.createOrg('a');
      const other = await store.createOrg('b');
      const owner = await addUser(store, org, 'owner@example.com', 'owner');
      const member = await addUser(store, org, 'member@example.com', 'member');
      const foreignOwner = await addUser(store, other, 'owner@b.example', 'owner');

      expect(await store.changeUserRole(org.id, owner.id, 'admin')).toEqual({ status: 'last_owner' });
      expect(await store.disableUser(org.id, owner.id)).toEqual({ status: 'last_owner' });
      expect(await store.changeUserRole(org.id, foreignOwner.id, 'viewer')).toEqual({ status: 'not_found' });
      expect(await store.disableUser(org.id, foreignOwner.id)).toEqual({ status: 'not_found' });
      expect((await store.getUser(org.id, owner.id))?.role).toBe('owner');

      const promoted = await store.changeUserRole(org.id, member.id, 'owner');
      expect(promoted).toMatchObject({ status: 'ok', user: { id: member.id, role: 'owner' } });
      // Now there is another owner: the first may go.
      const demoted = await store.changeUserRole(org.id, owner.id, 'viewer');
      expect(demoted).toMatchObject({ status: 'ok', user: { role: 'viewer' } });
      // A disabled owner does not count as one.
      const disabled = await store.disableUser(org.id, member.id);
      expect(disabled).toEqual({ status: 'last_owner' });
      await store.changeUserRole(org.id, owner.id, 'owner');
      const gone = await store.disableUser(org.id, member.id);
      expect(gone.status === 'ok' && gone.user.disabledAt).toBeInstanceOf(Date);
      expect(await store.changeUserRole(org.id, owner.id, 'admin')).toEqual({ status: 'last_owner' });
      // The other org's owner was never touched.
      expect(await store.getUser(other.id, foreignOwner.id)).toEqual(foreignOwner);
    });

    it('keeps sessions by token hash with their user, deletes them, and sweeps the expired ones', async () => {
      const { store } = await fresh();
      const org = await store.createOrg('a');
      const user = await addUser(store, org, 'ana@example.com', 'admin');
      const now = Date.now();
      const createdAt = new Date(now - 1_000);
      const live = {
        tokenHash: hashSessionToken('live'),
        orgId: org.id,
        userId: user.id,
        createdAt,
        expiresAt: new Date(now + 3_600_000),
      };
      const old = { ...live, tokenHash: hashSessionToken('old'), expiresAt: new Date(now - 500) };
      await store.createSession(live);
      await store.createSession(old);

      const found = await store.findSession(live.tokenHash);
      expect(found?.user).toEqual(user);
      expect(found?.session.orgId).toBe(org.id);
      expect(found?.session.userId).toBe(user.id);
      expect(found?.session.expiresAt.getTime()).toBe(live.expiresAt.getTime());
      expect(found?.session.createdAt.getTime()).toBe(createdAt.getTime());
      expect(await store.findSession(hashSessionToken('unknown'))).toBeUndefined();

      expect(await store.deleteExpiredSessions(new Date(now))).toBe(1);
      expect(await store.findSession(old.tokenHash)).toBeUndefined();
      expect(await store.findSession(live.tokenHash)).toBeDefined();
      await store.deleteSession(live.tokenHash);
      expect(await store.findSession(live.tokenHash)).toBeUndefined();
    });

    it('ends a user’s sessions when the user is disabled', async () => {
      const { store } = await fresh();
      const org = await store.createOrg('a');
      await addUser(store, org, 'owner@example.com', 'owner');
      const user = await addSignInUser(store, org, 'ana@example.com', 'a long passphrase', 'member');
      const sessions = new SessionManager(store);
      const first = await sessions.signIn('ANA@example.com', 'a long passphrase');
      const second = await sessions.signIn('ana@example.com', 'a long passphrase');
      expect(await sessions.authenticate(first.token)).toEqual({
        orgId: org.id,
        role: 'member',
        principal: { kind: 'user', userId: user.id, email: 'ana@example.com' },
      });
      await sessions.signOut(first.token);
      await expect(sessions.authenticate(first.token)).rejects.toMatchObject({ status: 401 });
      expect((await store.disableUser(org.id, user.id)).status).toBe('ok');
      expect(await store.findSession(hashSessionToken(second.token))).toBeUndefined();
      await expect(sessions.signIn('ana@example.com', 'a long passphrase')).rejects.toMatchObject({
        status: 401,
      });
    });

    it('changes a password and ends every session of the user but the one kept', async () => {
      const { store } = await fresh();
      const org = await store.createOrg('a');
      const other = await store.createOrg('b');
      const user = await addSignInUser(store, org, 'ana@example.com', 'the old passphrase', 'member');
      const bob = await addSignInUser(store, org, 'bob@example.com', 'a long passphrase', 'member');
      const sessions = new SessionManager(store);
      const kept = await sessions.signIn('ana@example.com', 'the old passphrase');
      const ended = await sessions.signIn('ana@example.com', 'the old passphrase');
      const bobs = await sessions.signIn('bob@example.com', 'a long passphrase');
      expect(
        await store.changeUserPassword(
          other.id,
          user.id,
          await hashPassword('not in this org'),
          hashSessionToken(kept.token),
        ),
      ).toBe(false);
      expect(await store.findSession(hashSessionToken(ended.token))).toBeDefined();
      expect(
        await store.changeUserPassword(
          org.id,
          user.id,
          await hashPassword('the new passphrase'),
          hashSessionToken(kept.token),
        ),
      ).toBe(true);
      expect(await store.findSession(hashSessionToken(kept.token))).toBeDefined();
      expect(await store.findSession(hashSessionToken(ended.token))).toBeUndefined();
      expect((await store.findSession(hashSessionToken(bobs.token)))?.user.id).toBe(bob.id);
      await expect(sessions.signIn('ana@example.com', 'the old passphrase')).rejects.toMatchObject({
        status: 401,
      });
      expect((await sessions.signIn('ana@example.com', 'the new passphrase')).user.id).toBe(user.id);
    });

    it('keeps users, roles and sessions across a restart', async () => {
      const fixture = await fresh();
      const org = await fixture.store.createOrg('a');
      const user = await addUser(fixture.store, org, 'ana@example.com', 'viewer');
      const session = {
        tokenHash: hashSessionToken('t'),
        orgId: org.id,
        userId: user.id,
        createdAt: new Date(),
        expiresAt: new Date(Date.now() + 60_000),
      };
      await fixture.store.createSession(session);
      await fixture.reopen();
      expect(await fixture.store.getUser(org.id, user.id)).toEqual(user);
      expect((await fixture.store.findSession(session.tokenHash))?.user).toEqual(user);
    });

    it('bootstraps the first owner once with a generated password, or registers a given one', async () => {
      const fixture = await fresh();
      const first = await bootstrapAccess(fixture.store, { email: 'Root@Example.com' });
      expect(first.generatedUser?.email).toBe('root@example.com');
      const sessions = new SessionManager(fixture.store);
      const signIn = await sessions.signIn('root@example.com', first.generatedUser?.password ?? '');
      expect(signIn.user.role).toBe('owner');
      const second = await bootstrapAccess(fixture.store, { email: 'root@example.com' });
      expect(second.generatedUser).toBeUndefined();
      const given = await bootstrapAccess(fixture.store, {
        email: 'ci@example.com',
        password: 'a fixed passphrase',
      });
      expect(given.generatedUser).toBeUndefined();
      expect((await sessions.signIn('ci@example.com', 'a fixed passphrase')).org.id).toBe(first.org.id);
      expect((await fixture.store.listUsers(first.org.id)).map((u) => [u.email, u.role])).toEqual([
        ['root@example.com', 'owner'],
        ['ci@example.com', 'owner'],
      ]);
    });

    it('does not answer a refused write with a retryable error', async () => {
      const { store } = await fresh();
      await store.createOrg('acme');
      const error: unknown = await store.createOrg('acme').then(
        () => undefined,
        (e: unknown) => e,
      );
      // A 503 would make clients retry something that can never succeed.
      expect(error instanceof SightlineError && error.retryable).toBe(false);
    });
  });
}
