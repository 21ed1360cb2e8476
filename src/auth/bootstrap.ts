import type { ControlStore, Org } from '../store/control-store.js';
import { displayPrefix, generateApiKey, hashApiKey } from './api-key.js';

export const DEFAULT_ORG_NAME = 'default';

export interface Bootstrap {
  org: Org;
  /** Set only when a key was generated now: the one time it can be shown. */
  generatedKey?: string;
}

/**
 * First start on an empty data dir: create the default org and a key for it. With a
 * bootstrap key (scripts, tests) that key is registered instead, on every start, so it
 * works whether or not the data dir is new.
 */
export async function bootstrapAccess(
  control: ControlStore,
  bootstrapKey: string | undefined,
): Promise<Bootstrap> {
  const orgs = await control.listOrgs();
  const existing = orgs.find((o) => o.name === DEFAULT_ORG_NAME) ?? orgs[0];
  const org = existing ?? (await control.createOrg(DEFAULT_ORG_NAME));
  if (bootstrapKey !== undefined) {
    const hash = hashApiKey(bootstrapKey);
    if ((await control.findApiKeyByHash(hash)) === undefined) {
      await control.createApiKey({
        orgId: org.id,
        name: 'bootstrap',
        prefix: displayPrefix(bootstrapKey),
        keyHash: hash,
      });
    }
    return { org };
  }
  if (existing !== undefined) return { org };
  const generatedKey = generateApiKey();
  await control.createApiKey({
    orgId: org.id,
    name: 'first key',
    prefix: displayPrefix(generatedKey),
    keyHash: hashApiKey(generatedKey),
  });
  return { org, generatedKey };
}
