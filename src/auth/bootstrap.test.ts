import { describe, expect, it } from 'vitest';
import { MemoryControlStore } from '../../test/helpers/memory-control-store.js';
import { hashApiKey } from './api-key.js';
import { DEFAULT_ORG_NAME, bootstrapAccess } from './bootstrap.js';

/**
 * A control plane shared by processes that start together: each call sees what the others wrote,
 * and names and key hashes are unique, as in PostgreSQL.
 */
function sharedControl(): MemoryControlStore {
  return new MemoryControlStore({ tick: true });
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
