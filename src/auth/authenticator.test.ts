import { describe, expect, it } from 'vitest';
import { SightlineError } from '../core/errors.js';
import type { Org, Role } from '../store/control-store.js';
import { MemoryControlStore } from '../../test/helpers/memory-control-store.js';
import { API_KEY_PREFIX, displayPrefix, generateApiKey, hashApiKey } from './api-key.js';
import { ApiKeyAuthenticator, keyFromHeaders } from './authenticator.js';
import { DEFAULT_ORG_NAME, bootstrapAccess } from './bootstrap.js';

/** Orgs and keys in memory, counting lookups; the control store is not what is under test. */
class FakeControlStore extends MemoryControlStore {
  /** Adds a key for an org and returns the key itself. */
  async addKey(org: Org, key = generateApiKey(), role: Role = 'admin'): Promise<string> {
    await this.createApiKey({
      orgId: org.id,
      name: 'test',
      prefix: displayPrefix(key),
      keyHash: hashApiKey(key),
      role,
    });
    return key;
  }

  revoke(key: string): void {
    const record = this.keys.find((k) => k.keyHash === hashApiKey(key));
    if (record === undefined) throw new Error('no such key');
    record.revokedAt = new Date();
  }
}

async function rejection(promise: Promise<unknown>): Promise<SightlineError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SightlineError);
    return error as SightlineError;
  }
  throw new Error('expected a SightlineError');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function storeWithKey(): Promise<{ store: FakeControlStore; org: Org; key: string }> {
  const store = new FakeControlStore();
  const org = await store.createOrg('acme');
  const key = await store.addKey(org);
  return { store, org, key };
}

describe('keyFromHeaders', () => {
  it('reads a Bearer token, whatever the case of "bearer"', () => {
    expect(keyFromHeaders({ authorization: 'Bearer sl_abc' })).toBe('sl_abc');
    expect(keyFromHeaders({ authorization: 'bearer sl_abc' })).toBe('sl_abc');
    expect(keyFromHeaders({ authorization: '  BEARER   sl_abc  ' })).toBe('sl_abc');
  });

  it('reads x-api-key, and the first of repeated headers', () => {
    expect(keyFromHeaders({ 'x-api-key': ' sl_xyz ' })).toBe('sl_xyz');
    expect(keyFromHeaders({ 'x-api-key': ['sl_first', 'sl_second'] })).toBe('sl_first');
  });

  it('finds no key in empty headers or a non-Bearer authorization', () => {
    expect(keyFromHeaders({})).toBeUndefined();
    expect(keyFromHeaders({ authorization: '', 'x-api-key': '' })).toBeUndefined();
    expect(keyFromHeaders({ authorization: 'Basic dXNlcjpwYXNz' })).toBeUndefined();
    expect(keyFromHeaders({ authorization: 'Bearer' })).toBeUndefined();
  });

  it('falls back to x-api-key when Authorization carries another scheme', () => {
    expect(keyFromHeaders({ authorization: 'Basic dXNlcjpwYXNz', 'x-api-key': 'sl_fromheader' })).toBe(
      'sl_fromheader',
    );
    expect(keyFromHeaders({ authorization: 'Bearer sl_bearer', 'x-api-key': 'sl_other' })).toBe('sl_bearer');
  });
});

describe('ApiKeyAuthenticator', () => {
  it('authenticates a Bearer key as the org the key belongs to', async () => {
    const { store, org, key } = await storeWithKey();
    const context = await new ApiKeyAuthenticator(store).authenticate({ authorization: `Bearer ${key}` });
    expect(context).toEqual({
      orgId: org.id,
      role: 'admin',
      principal: { kind: 'key', keyId: store.keys[0]?.id },
    });
  });

  it('authenticates a key sent as x-api-key', async () => {
    const { store, org, key } = await storeWithKey();
    const context = await new ApiKeyAuthenticator(store).authenticate({ 'x-api-key': key });
    expect(context.orgId).toBe(org.id);
  });

  it('takes the org from the key alone, for each of two orgs', async () => {
    const store = new FakeControlStore();
    const first = await store.createOrg('first');
    const second = await store.createOrg('second');
    const firstKey = await store.addKey(first);
    const secondKey = await store.addKey(second);
    const auth = new ApiKeyAuthenticator(store);
    expect((await auth.authenticate({ authorization: `bearer ${firstKey}` })).orgId).toBe(first.id);
    expect((await auth.authenticate({ 'x-api-key': secondKey })).orgId).toBe(second.id);
  });

  it('answers a request without a key with 401, explaining how to send one', async () => {
    const { store } = await storeWithKey();
    const error = await rejection(new ApiKeyAuthenticator(store).authenticate({}));
    expect(error.code).toBe('SL_ERR_UNAUTHENTICATED');
    expect(error.status).toBe(401);
    expect(error.message).toContain('missing API key');
    expect(error.message).toContain('Authorization: Bearer <key>');
    expect(error.message).toContain('x-api-key');
    expect(store.lookups).toBe(0);
  });

  it('answers an unknown key with 401', async () => {
    const { store } = await storeWithKey();
    const error = await rejection(
      new ApiKeyAuthenticator(store).authenticate({ 'x-api-key': generateApiKey() }),
    );
    expect(error.code).toBe('SL_ERR_UNAUTHENTICATED');
    expect(error.status).toBe(401);
    expect(error.message).toBe('invalid API key: it is unknown or revoked; use a current key of your org');
  });

  it('answers a revoked key with 401', async () => {
    const { store, key } = await storeWithKey();
    store.revoke(key);
    const error = await rejection(
      new ApiKeyAuthenticator(store).authenticate({ authorization: `Bearer ${key}` }),
    );
    expect(error.code).toBe('SL_ERR_UNAUTHENTICATED');
    expect(error.status).toBe(401);
  });

  it('trusts a valid key from its cache without asking the store again', async () => {
    const { store, org, key } = await storeWithKey();
    const auth = new ApiKeyAuthenticator(store, { cacheTtlMs: 60_000 });
    await auth.authenticate({ 'x-api-key': key });
    expect(store.lookups).toBe(1);
    expect((await auth.authenticate({ authorization: `Bearer ${key}` })).orgId).toBe(org.id);
    expect(store.lookups).toBe(1);
  });

  it('asks the store again once a valid key has been cached for the TTL, and sees a revocation', async () => {
    const { store, key } = await storeWithKey();
    const auth = new ApiKeyAuthenticator(store, { cacheTtlMs: 20 });
    await auth.authenticate({ 'x-api-key': key });
    store.revoke(key);
    await sleep(40);
    const error = await rejection(auth.authenticate({ 'x-api-key': key }));
    expect(error.code).toBe('SL_ERR_UNAUTHENTICATED');
    expect(store.lookups).toBe(2);
  });

  it('remembers an unknown key as unknown until the negative TTL expires', async () => {
    const store = new FakeControlStore();
    const org = await store.createOrg('acme');
    const key = generateApiKey();
    const auth = new ApiKeyAuthenticator(store, { negativeTtlMs: 30 });
    await rejection(auth.authenticate({ 'x-api-key': key }));
    await store.addKey(org, key);
    await rejection(auth.authenticate({ 'x-api-key': key }));
    expect(store.lookups).toBe(1);
    await sleep(60);
    expect((await auth.authenticate({ 'x-api-key': key })).orgId).toBe(org.id);
    expect(store.lookups).toBe(2);
  });

  it('keeps a key in use cached while a flood of unknown keys passes through', async () => {
    const { store, key } = await storeWithKey();
    const auth = new ApiKeyAuthenticator(store, { maxCacheEntries: 3 });
    await auth.authenticate({ 'x-api-key': key });
    for (let i = 0; i < 10; i++) {
      await rejection(auth.authenticate({ 'x-api-key': generateApiKey() }));
      await auth.authenticate({ 'x-api-key': key });
    }
    expect(store.lookups).toBe(11);
  });

  it('still authenticates correctly after the cache fills up and evicts', async () => {
    const store = new FakeControlStore();
    const org = await store.createOrg('acme');
    const keys = [await store.addKey(org), await store.addKey(org), await store.addKey(org)];
    const auth = new ApiKeyAuthenticator(store, { maxCacheEntries: 2 });
    for (const key of keys) expect((await auth.authenticate({ 'x-api-key': key })).orgId).toBe(org.id);
    expect((await auth.authenticate({ 'x-api-key': keys[0] })).orgId).toBe(org.id);
    expect(store.lookups).toBe(4);
  });
});

describe('api keys', () => {
  it('generates keys of "sl_" and 32 base62 characters, different each time', () => {
    const keys = Array.from({ length: 20 }, () => generateApiKey());
    for (const key of keys) {
      expect(key).toHaveLength(35);
      expect(key).toMatch(/^sl_[0-9A-Za-z]{32}$/);
      expect(key.startsWith(API_KEY_PREFIX)).toBe(true);
    }
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('stores a hash that is not the key and is the same for the same key', () => {
    const key = generateApiKey();
    const hash = hashApiKey(key);
    expect(hash).not.toBe(key);
    expect(hash).not.toContain(key.slice(3));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(key)).toBe(hash);
    expect(hashApiKey(generateApiKey())).not.toBe(hash);
  });

  it('shows only the prefix and six characters of a key', () => {
    expect(displayPrefix('sl_abcdefghijklmnop')).toBe('sl_abcdef');
  });
});

describe('bootstrapAccess', () => {
  it('creates the default org and a first key on an empty store, showing the key once', async () => {
    const store = new FakeControlStore();
    const result = await bootstrapAccess(store, undefined);
    expect(result.org.name).toBe(DEFAULT_ORG_NAME);
    expect(store.orgs).toHaveLength(1);
    expect(result.generatedKey).toMatch(/^sl_[0-9A-Za-z]{32}$/);
    expect(store.keys).toHaveLength(1);
    const [stored] = store.keys;
    expect(stored?.keyHash).toBe(hashApiKey(result.generatedKey ?? ''));
    expect(stored?.keyHash).not.toBe(result.generatedKey);
    expect(stored?.prefix).toBe(displayPrefix(result.generatedKey ?? ''));
    expect(stored?.orgId).toBe(result.org.id);
    const context = await new ApiKeyAuthenticator(store).authenticate({ 'x-api-key': result.generatedKey });
    expect(context.orgId).toBe(result.org.id);
  });

  it('creates nothing new on a second start without a bootstrap key', async () => {
    const store = new FakeControlStore();
    const first = await bootstrapAccess(store, undefined);
    const second = await bootstrapAccess(store, undefined);
    expect(second.org.id).toBe(first.org.id);
    expect(second.generatedKey).toBeUndefined();
    expect(store.orgs).toHaveLength(1);
    expect(store.keys).toHaveLength(1);
  });

  it('registers a bootstrap key instead of generating one, so it authenticates', async () => {
    const store = new FakeControlStore();
    const bootstrapKey = 'sl_bootstrap_key_for_tests_0001';
    const result = await bootstrapAccess(store, bootstrapKey);
    expect(result.generatedKey).toBeUndefined();
    expect(result.org.name).toBe(DEFAULT_ORG_NAME);
    expect(store.keys.map((k) => [k.name, k.keyHash, k.prefix])).toEqual([
      ['bootstrap', hashApiKey(bootstrapKey), 'sl_bootst'],
    ]);
    const context = await new ApiKeyAuthenticator(store).authenticate({
      authorization: `Bearer ${bootstrapKey}`,
    });
    expect(context.orgId).toBe(result.org.id);
  });

  it('is idempotent with a bootstrap key across two starts', async () => {
    const store = new FakeControlStore();
    const bootstrapKey = 'sl_bootstrap_key_for_tests_0001';
    const first = await bootstrapAccess(store, bootstrapKey);
    const second = await bootstrapAccess(store, bootstrapKey);
    expect(second.org.id).toBe(first.org.id);
    expect(second.generatedKey).toBeUndefined();
    expect(store.orgs).toHaveLength(1);
    expect(store.keys).toHaveLength(1);
  });

  it('registers a bootstrap key on a data dir that already has an org, for that org', async () => {
    const store = new FakeControlStore();
    const first = await bootstrapAccess(store, undefined);
    const bootstrapKey = 'sl_bootstrap_key_for_tests_0002';
    const second = await bootstrapAccess(store, bootstrapKey);
    expect(second.org.id).toBe(first.org.id);
    expect(store.keys).toHaveLength(2);
    expect(store.keys[1]?.orgId).toBe(first.org.id);
  });

  it('prefers the org named "default" when there are several', async () => {
    const store = new FakeControlStore();
    await store.createOrg('other');
    const defaultOrg = await store.createOrg(DEFAULT_ORG_NAME);
    const result = await bootstrapAccess(store, undefined);
    expect(result.org.id).toBe(defaultOrg.id);
    expect(result.generatedKey).toBeUndefined();
  });
});
