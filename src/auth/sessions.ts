import { createHash, randomBytes } from 'node:crypto';
import { SightlineError } from '../core/errors.js';
import type { ControlStore, Org, UserRecord } from '../store/control-store.js';
import type { AuthContext } from './authenticator.js';
import { spendOneVerification, verifyPassword } from './passwords.js';

export const DEFAULT_SESSION_TTL_MS = 12 * 3_600_000;

export interface SessionOptions {
  /** How long a sign-in lasts (default 12 h); the cookie's Max-Age is the same. */
  ttlMs?: number;
  now?: () => number;
}

export interface SignIn {
  /** The cookie's value: shown to the browser once, stored only as its SHA-256. */
  token: string;
  user: UserRecord;
  org: Org;
  expiresAt: Date;
}

/** Emails are compared in lower case; surrounding spaces are a typing slip. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

const WRONG = 'wrong email or password';

/**
 * Sign-in with email and password, and the sessions it opens. Sessions live in the control
 * store, not in this process, so any API process of a scale-out deployment accepts them and a
 * sign-out or a disabled user ends them everywhere at once; they are looked up on every request
 * (no cache) for that reason.
 */
export class SessionManager {
  readonly ttlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly control: ControlStore,
    options: SessionOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? DEFAULT_SESSION_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  /** The same 401 for an unknown email, a wrong password and a disabled user: none says which it was. */
  async signIn(email: string, password: string): Promise<SignIn> {
    const user = await this.control.findUserByEmail(normalizeEmail(email));
    if (user === undefined) {
      await spendOneVerification(password);
      throw new SightlineError('SL_ERR_UNAUTHENTICATED', WRONG);
    }
    const matches = await verifyPassword(password, user.passwordHash);
    if (!matches || user.disabledAt !== null) throw new SightlineError('SL_ERR_UNAUTHENTICATED', WRONG);
    const org = await this.control.getOrg(user.orgId);
    if (org === undefined) throw new SightlineError('SL_ERR_UNAUTHENTICATED', WRONG);
    // Each sign-in sweeps the expired sessions, so the table holds about a TTL of them.
    await this.control.deleteExpiredSessions(new Date(this.now()));
    const token = randomBytes(32).toString('base64url');
    const createdAt = new Date(this.now());
    const expiresAt = new Date(createdAt.getTime() + this.ttlMs);
    await this.control.createSession({
      tokenHash: hashSessionToken(token),
      orgId: user.orgId,
      userId: user.id,
      createdAt,
      expiresAt,
    });
    const record: UserRecord = {
      id: user.id,
      orgId: user.orgId,
      email: user.email,
      role: user.role,
      createdAt: user.createdAt,
      disabledAt: user.disabledAt,
    };
    return { token, user: record, org, expiresAt };
  }

  async authenticate(token: string): Promise<AuthContext> {
    const hash = hashSessionToken(token);
    const found = await this.control.findSession(hash);
    if (found === undefined) {
      throw new SightlineError('SL_ERR_UNAUTHENTICATED', 'your session has ended; sign in again');
    }
    if (found.session.expiresAt.getTime() <= this.now()) {
      await this.control.deleteSession(hash);
      throw new SightlineError('SL_ERR_UNAUTHENTICATED', 'your session has expired; sign in again');
    }
    if (found.user.disabledAt !== null) {
      await this.control.deleteSession(hash);
      throw new SightlineError(
        'SL_ERR_UNAUTHENTICATED',
        'your account is disabled; ask an admin of your org',
      );
    }
    return {
      orgId: found.user.orgId,
      role: found.user.role,
      principal: { kind: 'user', userId: found.user.id, email: found.user.email },
    };
  }

  async signOut(token: string): Promise<void> {
    await this.control.deleteSession(hashSessionToken(token));
  }
}
