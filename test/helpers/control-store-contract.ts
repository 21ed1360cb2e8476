import { afterEach, describe, expect, it } from 'vitest';
import { displayPrefix, generateApiKey, hashApiKey } from '../../src/auth/api-key.js';
import { ApiKeyAuthenticator } from '../../src/auth/authenticator.js';
import { DEFAULT_ORG_NAME, bootstrapAccess } from '../../src/auth/bootstrap.js';
import { SightlineError } from '../../src/core/errors.js';
import type { ControlStore } from '../../src/store/control-store.js';
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
        keyId: (await store.findApiKeyByHash(current.hash))?.id,
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
