import { SightlineError } from '../../src/core/errors.js';
import type {
  ApiKeyRecord,
  ControlStore,
  Org,
  Role,
  SessionRecord,
  UserChange,
  UserCredentials,
  UserRecord,
} from '../../src/store/control-store.js';
import { orgId, type OrgId } from '../../src/store/rows.js';

/**
 * A ControlStore in memory for unit tests of what uses one (authenticator, bootstrap, routes),
 * with the constraints of the real ones: unique org names, key hashes and emails, keys and users
 * only for existing orgs. `tick` makes every call wait a moment, so calls of processes started
 * together interleave as they would on one PostgreSQL. The contract test runs against it too.
 */
export class MemoryControlStore implements ControlStore {
  readonly orgs: Org[] = [];
  readonly keys: Array<ApiKeyRecord & { keyHash: string }> = [];
  readonly users: UserCredentials[] = [];
  readonly sessions = new Map<string, SessionRecord>();
  /** findApiKeyByHash calls, for tests of the authenticator's cache. */
  lookups = 0;
  private counter = 0;

  constructor(private readonly options: { tick?: boolean } = {}) {}

  private async tick(): Promise<void> {
    if (this.options.tick === true) await new Promise((resolve) => setTimeout(resolve, 1));
  }

  private id(prefix: string): string {
    this.counter++;
    return `${prefix}_${String(this.counter).padStart(16, '0')}`;
  }

  async listOrgs(): Promise<Org[]> {
    await this.tick();
    return this.orgs.map((o) => ({ ...o }));
  }

  async createOrg(name: string): Promise<Org> {
    await this.tick();
    if (this.orgs.some((o) => o.name === name)) throw new Error(`org ${name} exists`);
    const org: Org = { id: orgId(this.id('org')), name, createdAt: new Date() };
    this.orgs.push(org);
    return { ...org };
  }

  async getOrg(id: OrgId): Promise<Org | undefined> {
    await this.tick();
    const org = this.orgs.find((o) => o.id === id);
    return org === undefined ? undefined : { ...org };
  }

  async createApiKey(input: {
    orgId: OrgId;
    name: string;
    prefix: string;
    keyHash: string;
    role?: Role;
  }): Promise<ApiKeyRecord> {
    await this.tick();
    if (this.keys.some((k) => k.keyHash === input.keyHash)) throw new Error('key exists');
    if (!this.orgs.some((o) => o.id === input.orgId)) throw new Error('no such org');
    const key = {
      id: this.id('key'),
      createdAt: new Date(),
      revokedAt: null,
      ...input,
      role: input.role ?? 'admin',
    };
    this.keys.push(key);
    return publicKey(key);
  }

  async findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    await this.tick();
    this.lookups++;
    const key = this.keys.find((k) => k.keyHash === keyHash);
    return key === undefined ? undefined : publicKey(key);
  }

  async listApiKeys(orgId: OrgId): Promise<ApiKeyRecord[]> {
    await this.tick();
    return this.keys.filter((k) => k.orgId === orgId).map(publicKey);
  }

  async revokeApiKey(orgId: OrgId, id: string): Promise<ApiKeyRecord | undefined> {
    await this.tick();
    const key = this.keys.find((k) => k.orgId === orgId && k.id === id);
    if (key === undefined) return undefined;
    key.revokedAt ??= new Date();
    return publicKey(key);
  }

  async createUser(input: {
    orgId: OrgId;
    email: string;
    passwordHash: string;
    role: Role;
  }): Promise<UserRecord> {
    await this.tick();
    if (this.users.some((u) => u.email === input.email)) {
      throw new SightlineError('SL_ERR_CONFLICT', `a user with the email ${input.email} exists already`);
    }
    if (!this.orgs.some((o) => o.id === input.orgId)) throw new Error('no such org');
    const user: UserCredentials = { id: this.id('usr'), createdAt: new Date(), disabledAt: null, ...input };
    this.users.push(user);
    return publicUser(user);
  }

  async findUserByEmail(email: string): Promise<UserCredentials | undefined> {
    await this.tick();
    const user = this.users.find((u) => u.email === email);
    return user === undefined ? undefined : { ...user };
  }

  async getUser(orgId: OrgId, id: string): Promise<UserRecord | undefined> {
    await this.tick();
    const user = this.users.find((u) => u.orgId === orgId && u.id === id);
    return user === undefined ? undefined : publicUser(user);
  }

  async listUsers(orgId: OrgId): Promise<UserRecord[]> {
    await this.tick();
    return this.users.filter((u) => u.orgId === orgId).map(publicUser);
  }

  async changeUserRole(orgId: OrgId, id: string, role: Role): Promise<UserChange> {
    await this.tick();
    return this.change(orgId, id, role === 'owner', (user) => {
      user.role = role;
    });
  }

  async disableUser(orgId: OrgId, id: string): Promise<UserChange> {
    await this.tick();
    return this.change(orgId, id, false, (user) => {
      user.disabledAt ??= new Date();
      for (const [hash, session] of this.sessions) if (session.userId === id) this.sessions.delete(hash);
    });
  }

  async changeUserPassword(
    orgId: OrgId,
    id: string,
    passwordHash: string,
    keepTokenHash: string,
  ): Promise<boolean> {
    await this.tick();
    const user = this.users.find((u) => u.orgId === orgId && u.id === id);
    if (user === undefined) return false;
    user.passwordHash = passwordHash;
    for (const [hash, session] of this.sessions) {
      if (session.userId === id && hash !== keepTokenHash) this.sessions.delete(hash);
    }
    return true;
  }

  private change(
    orgId: OrgId,
    id: string,
    staysOwner: boolean,
    apply: (user: UserCredentials) => void,
  ): UserChange {
    const user = this.users.find((u) => u.orgId === orgId && u.id === id);
    if (user === undefined) return { status: 'not_found' };
    const enabledOwner = (u: UserCredentials) => u.role === 'owner' && u.disabledAt === null;
    if (
      enabledOwner(user) &&
      !staysOwner &&
      !this.users.some((u) => u !== user && u.orgId === orgId && enabledOwner(u))
    ) {
      return { status: 'last_owner' };
    }
    apply(user);
    return { status: 'ok', user: publicUser(user) };
  }

  async createSession(input: SessionRecord & { tokenHash: string }): Promise<void> {
    await this.tick();
    const { tokenHash, ...session } = input;
    this.sessions.set(tokenHash, session);
  }

  async findSession(tokenHash: string): Promise<{ session: SessionRecord; user: UserRecord } | undefined> {
    await this.tick();
    const session = this.sessions.get(tokenHash);
    const user = this.users.find((u) => u.id === session?.userId && u.orgId === session.orgId);
    return session === undefined || user === undefined
      ? undefined
      : { session: { ...session }, user: publicUser(user) };
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.tick();
    this.sessions.delete(tokenHash);
  }

  async deleteExpiredSessions(now: Date): Promise<number> {
    await this.tick();
    let removed = 0;
    for (const [hash, session] of this.sessions) {
      if (session.expiresAt.getTime() <= now.getTime()) {
        this.sessions.delete(hash);
        removed++;
      }
    }
    return removed;
  }
}

function publicKey(key: ApiKeyRecord & { keyHash: string }): ApiKeyRecord {
  return {
    id: key.id,
    orgId: key.orgId,
    name: key.name,
    prefix: key.prefix,
    role: key.role,
    createdAt: key.createdAt,
    revokedAt: key.revokedAt,
  };
}

function publicUser(user: UserCredentials): UserRecord {
  return {
    id: user.id,
    orgId: user.orgId,
    email: user.email,
    role: user.role,
    createdAt: user.createdAt,
    disabledAt: user.disabledAt,
  };
}
