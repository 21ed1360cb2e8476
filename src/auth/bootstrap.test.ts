import { describe, expect, it } from 'vitest';
import type { ApiKeyRecord, ControlStore, Org } from '../store/control-store.js';
import type { OrgId } from '../store/rows.js';
import { hashApiKey } from './api-key.js';
import { DEFAULT_ORG_NAME, bootstrapAccess } from './bootstrap.js';

/**
 * A control plane shared by processes that start together: each call sees what the others wrote,
 * and names and key hashes are unique, as in PostgreSQL.
 */
function sharedControl(): ControlStore & { orgs: Org[]; keys: ApiKeyRecord[] } {
  const orgs: Org[] = [];
  const keys: Array<ApiKeyRecord & { keyHash: string }> = [];
  const tick = () => new Promise((resolve) => setTimeout(resolve, 1));
  return {
    orgs,
    keys,
    async listOrgs() {
      await tick();
      return [...orgs];
    },
    async createOrg(name) {
      await tick();
      if (orgs.some((o) => o.name === name)) throw new Error(`org ${name} exists`);
      const org = { id: `org_${orgs.length + 1}` as OrgId, name, createdAt: new Date() };
      orgs.push(org);
      return org;
    },
    async createApiKey(input) {
      await tick();
      if (keys.some((k) => k.keyHash === input.keyHash)) throw new Error('key exists');
      const key = { id: `k${keys.length}`, createdAt: new Date(), revokedAt: null, ...input };
      keys.push(key);
      return key;
    },
    async findApiKeyByHash(hash) {
      await tick();
      return keys.find((k) => k.keyHash === hash);
    },
  };
}

describe('bootstrapAccess when processes start together on one control plane', () => {
  it('creates one default org and one printed key, the others join it', async () => {
    const control = sharedControl();
    const results = await Promise.all([1, 2, 3].map(() => bootstrapAccess(control, undefined)));
    expect(control.orgs.map((o) => o.name)).toEqual([DEFAULT_ORG_NAME]);
    expect(new Set(results.map((r) => r.org.id)).size).toBe(1);
    expect(results.filter((r) => r.generatedKey !== undefined)).toHaveLength(1);
    expect(control.keys).toHaveLength(1);
  });

  it('registers a bootstrap key once however many processes bring it', async () => {
    const control = sharedControl();
    const key = 'sl_shared_bootstrap_key_0001';
    const results = await Promise.all([1, 2, 3].map(() => bootstrapAccess(control, key)));
    expect(results.every((r) => r.generatedKey === undefined)).toBe(true);
    expect(control.keys.map((k) => k.name)).toEqual(['bootstrap']);
    expect(await control.findApiKeyByHash(hashApiKey(key))).toBeDefined();
  });
});
