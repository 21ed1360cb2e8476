import type { OrgId } from './rows.js';

export interface Org {
  id: OrgId;
  name: string;
  createdAt: Date;
}

/** From least to most: each role may do what the ones before it may (src/auth/roles.ts has the rules). */
export const ROLES = ['viewer', 'member', 'admin', 'owner'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export interface ApiKeyRecord {
  id: string;
  orgId: OrgId;
  name: string;
  /** The first characters of the key, shown in lists so a person can tell keys apart. */
  prefix: string;
  role: Role;
  createdAt: Date;
  revokedAt: Date | null;
}

export interface UserRecord {
  id: string;
  orgId: OrgId;
  /** Lower case: emails are unique whatever their case. */
  email: string;
  role: Role;
  createdAt: Date;
  disabledAt: Date | null;
}

/** A user with the stored password hash, only for checking a password at sign-in. */
export interface UserCredentials extends UserRecord {
  passwordHash: string;
}

export interface SessionRecord {
  orgId: OrgId;
  userId: string;
  createdAt: Date;
  expiresAt: Date;
}

/** What a change to a user came to; the route turns the refusals into errors. */
export type UserChange =
  | { status: 'ok'; user: UserRecord }
  | { status: 'not_found' }
  /** It would leave the org without an enabled owner. */
  | { status: 'last_owner' };

/**
 * Orgs, API keys, users and sign-in sessions: the control plane. Only hashes of keys, passwords
 * and session tokens are stored, never the secrets. Everything but the lookups by hash and by
 * email is scoped to one org.
 */
export interface ControlStore {
  listOrgs(): Promise<Org[]>;
  createOrg(name: string): Promise<Org>;
  getOrg(id: OrgId): Promise<Org | undefined>;

  createApiKey(input: {
    orgId: OrgId;
    name: string;
    prefix: string;
    keyHash: string;
    /** Default admin, what keys made before roles became. */
    role?: Role;
  }): Promise<ApiKeyRecord>;
  findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined>;
  /** The org's keys, revoked ones included, oldest first. */
  listApiKeys(orgId: OrgId): Promise<ApiKeyRecord[]>;
  /** Marks the key revoked (once: a revoked key keeps its first time); undefined when the org has no such key. */
  revokeApiKey(orgId: OrgId, id: string): Promise<ApiKeyRecord | undefined>;

  /** Refuses an email in use (in any org) with SL_ERR_CONFLICT; `email` must be lower case already. */
  createUser(input: { orgId: OrgId; email: string; passwordHash: string; role: Role }): Promise<UserRecord>;
  findUserByEmail(email: string): Promise<UserCredentials | undefined>;
  getUser(orgId: OrgId, id: string): Promise<UserRecord | undefined>;
  /** The org's users, disabled ones included, oldest first. */
  listUsers(orgId: OrgId): Promise<UserRecord[]>;
  /** Refuses to demote the org's last enabled owner. */
  changeUserRole(orgId: OrgId, id: string, role: Role): Promise<UserChange>;
  /** Disables the user and ends their sessions; refuses the org's last enabled owner. */
  disableUser(orgId: OrgId, id: string): Promise<UserChange>;
  /**
   * Stores a new password hash and ends every session of the user but the one of `keepTokenHash`
   * (the session that changed it); false when the org has no such user.
   */
  changeUserPassword(orgId: OrgId, id: string, passwordHash: string, keepTokenHash: string): Promise<boolean>;

  createSession(input: SessionRecord & { tokenHash: string }): Promise<void>;
  /** The session and its user, expired or not (the caller decides); undefined when unknown. */
  findSession(tokenHash: string): Promise<{ session: SessionRecord; user: UserRecord } | undefined>;
  deleteSession(tokenHash: string): Promise<void>;
  /** Removes the sessions that expired at `now`; returns how many. */
  deleteExpiredSessions(now: Date): Promise<number>;
}
