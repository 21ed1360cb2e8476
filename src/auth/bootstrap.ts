import type { ControlStore, Org } from '../store/control-store.js';
import type { OrgId } from '../store/rows.js';
import { displayPrefix, generateApiKey, hashApiKey } from './api-key.js';
import { generatePassword, hashPassword } from './passwords.js';
import { normalizeEmail } from './sessions.js';

export const DEFAULT_ORG_NAME = 'default';
export const DEFAULT_BOOTSTRAP_EMAIL = 'admin@localhost';

export interface BootstrapOptions {
  /** A fixed key to register for the default org (scripts, tests), as role owner. */
  key?: string | undefined;
  /** The first owner's email (default admin@localhost). */
  email?: string | undefined;
  /** A fixed password for that owner (scripts, tests): registered whenever that user does not exist yet. */
  password?: string | undefined;
}

export interface Bootstrap {
  org: Org;
  /** Set only when a key was generated now: the one time it can be shown. */
  generatedKey?: string;
  /** Set only when the first owner was created now with a generated password: the one time it can be shown. */
  generatedUser?: { email: string; password: string };
}

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

/**
 * First start on an empty data dir: create the default org, a key for it and its first owner.
 * With a bootstrap key or password (scripts, tests) those are registered instead, on every
 * start, so they work whether or not the data dir is new. Accepts the older positional form
 * (just the key) too.
 */
export async function bootstrapAccess(
  control: ControlStore,
  options: BootstrapOptions | string | undefined,
): Promise<Bootstrap> {
  const {
    key: bootstrapKey,
    email,
    password,
  } = typeof options === 'string' || options === undefined ? { key: options } : options;
  const orgs = await control.listOrgs();
  const existing = orgs.find((o) => o.name === DEFAULT_ORG_NAME) ?? orgs[0];
  const { org, created } =
    existing === undefined ? await createDefaultOrg(control) : { org: existing, created: false };
  const generatedUser = await bootstrapOwner(control, org.id, email ?? DEFAULT_BOOTSTRAP_EMAIL, password);
  const user = generatedUser === undefined ? {} : { generatedUser };
  if (bootstrapKey !== undefined) {
    const hash = hashApiKey(bootstrapKey);
    if ((await control.findApiKeyByHash(hash)) === undefined) {
      try {
        await control.createApiKey({
          orgId: org.id,
          name: 'bootstrap',
          prefix: displayPrefix(bootstrapKey),
          keyHash: hash,
          role: 'owner',
        });
      } catch (error) {
        // Another process of a scale-out deployment registered it at the same moment.
        if ((await control.findApiKeyByHash(hash)) === undefined) throw error;
      }
    }
    return { org, ...user };
  }
  if (!created) return { org, ...user };
  const generatedKey = generateApiKey();
  await control.createApiKey({
    orgId: org.id,
    name: 'first key',
    prefix: displayPrefix(generatedKey),
    keyHash: hashApiKey(generatedKey),
    role: 'owner',
  });
  return { org, generatedKey, ...user };
}

/**
 * With a password: the owner `email` is created unless a user with that email exists. Without:
 * an owner with a generated password is created when the org has no user at all (a first start,
 * or the first start of a version with sign-in); the password is returned to be shown once.
 * Processes starting together race on the email's uniqueness: one creates, the others find it.
 */
async function bootstrapOwner(
  control: ControlStore,
  orgId: OrgId,
  rawEmail: string,
  password: string | undefined,
): Promise<{ email: string; password: string } | undefined> {
  const email = normalizeEmail(rawEmail);
  if (password === undefined && (await control.listUsers(orgId)).length > 0) return undefined;
  if ((await control.findUserByEmail(email)) !== undefined) return undefined;
  const chosen = password ?? generatePassword();
  try {
    await control.createUser({ orgId, email, passwordHash: await hashPassword(chosen), role: 'owner' });
  } catch (error) {
    if ((await control.findUserByEmail(email)) === undefined) throw error;
    return undefined;
  }
  return password === undefined ? { email, password: chosen } : undefined;
}
