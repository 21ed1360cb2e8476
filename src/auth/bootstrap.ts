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
/**
 * Creates the default org, or finds the one another process created at the same moment (roles
 * of a scale-out deployment start together on one control plane); only its creator makes a key.
 */
async function createDefaultOrg(control: ControlStore): Promise<{ org: Org; created: boolean }> {
  try {
    return { org: await control.createOrg(DEFAULT_ORG_NAME), created: true };
  } catch (error) {
    const raced = (await control.listOrgs()).find((o) => o.name === DEFAULT_ORG_NAME);
    if (raced === undefined) throw error;
    return { org: raced, created: false };
  }
}

export async function bootstrapAccess(
  control: ControlStore,
  bootstrapKey: string | undefined,
): Promise<Bootstrap> {
  const orgs = await control.listOrgs();
  const existing = orgs.find((o) => o.name === DEFAULT_ORG_NAME) ?? orgs[0];
  const { org, created } =
    existing === undefined ? await createDefaultOrg(control) : { org: existing, created: false };
  if (bootstrapKey !== undefined) {
    const hash = hashApiKey(bootstrapKey);
    if ((await control.findApiKeyByHash(hash)) === undefined) {
      try {
        await control.createApiKey({
          orgId: org.id,
          name: 'bootstrap',
          prefix: displayPrefix(bootstrapKey),
          keyHash: hash,
        });
      } catch (error) {
        // Another process of a scale-out deployment registered it at the same moment.
        if ((await control.findApiKeyByHash(hash)) === undefined) throw error;
      }
    }
    return { org };
  }
  if (!created) return { org };
  const generatedKey = generateApiKey();
  await control.createApiKey({
    orgId: org.id,
    name: 'first key',
    prefix: displayPrefix(generatedKey),
    keyHash: hashApiKey(generatedKey),
  });
  return { org, generatedKey };
}
