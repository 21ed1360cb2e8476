import { SightlineError } from '../core/errors.js';
import type { ControlStore, Role } from '../store/control-store.js';
import type { OrgId } from '../store/rows.js';
import { hashApiKey } from './api-key.js';

/** Who a request acts as: an API key, or a person signed in with the session cookie. */
export type Principal = { kind: 'key'; keyId: string } | { kind: 'user'; userId: string; email: string };

export interface AuthContext {
  orgId: OrgId;
  /** What the caller may do (roles.ts): the key's role, or the user's. */
  role: Role;
  principal: Principal;
}

export interface AuthenticatorOptions {
  /** How long a valid key is trusted without asking the control store again. */
  cacheTtlMs?: number;
  /** How long an unknown key is remembered as unknown. */
  negativeTtlMs?: number;
  maxCacheEntries?: number;
}

interface CacheEntry {
  context: AuthContext | undefined;
  expiresAt: number;
}

export type HeaderValue = string | string[] | undefined;

/**
 * Turns the key a request carries into the org it acts for. The org comes only from the
 * key: there is no header that selects another one.
 */
export class ApiKeyAuthenticator {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly cacheTtlMs: number;
  private readonly negativeTtlMs: number;
  private readonly maxCacheEntries: number;

  constructor(
    private readonly control: ControlStore,
    options: AuthenticatorOptions = {},
  ) {
    this.cacheTtlMs = options.cacheTtlMs ?? 60_000;
    this.negativeTtlMs = options.negativeTtlMs ?? 5_000;
    this.maxCacheEntries = options.maxCacheEntries ?? 10_000;
  }

  async authenticate(headers: {
    authorization?: HeaderValue;
    'x-api-key'?: HeaderValue;
  }): Promise<AuthContext> {
    const key = keyFromHeaders(headers);
    if (key === undefined) {
      throw new SightlineError(
        'SL_ERR_UNAUTHENTICATED',
        'missing API key: send "Authorization: Bearer <key>" or "x-api-key: <key>" (sightline start prints a key on first run)',
      );
    }
    const hash = hashApiKey(key);
    const now = Date.now();
    let entry = this.cache.get(hash);
    if (entry === undefined || entry.expiresAt <= now) {
      const record = await this.control.findApiKeyByHash(hash);
      const context: AuthContext | undefined =
        record && record.revokedAt === null
          ? { orgId: record.orgId, role: record.role, principal: { kind: 'key', keyId: record.id } }
          : undefined;
      entry = { context, expiresAt: now + (context === undefined ? this.negativeTtlMs : this.cacheTtlMs) };
    }
    // Least recently used goes first when full (a Map iterates in insertion order), so a flood
    // of unknown keys cannot push out the keys in use.
    this.cache.delete(hash);
    this.cache.set(hash, entry);
    if (this.cache.size > this.maxCacheEntries) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    if (entry.context === undefined) {
      throw new SightlineError(
        'SL_ERR_UNAUTHENTICATED',
        'invalid API key: it is unknown or revoked; use a current key of your org',
      );
    }
    return entry.context;
  }

  /**
   * Drops a key from this process's cache, so a revocation takes effect here at once. Other
   * processes of a scale-out deployment ask the control store again within `cacheTtlMs`.
   */
  forget(keyId: string): void {
    for (const [hash, entry] of this.cache) {
      if (entry.context?.principal.kind === 'key' && entry.context.principal.keyId === keyId) {
        this.cache.delete(hash);
      }
    }
  }
}

function single(value: HeaderValue): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A Bearer token, else `x-api-key` (an Authorization header of another scheme is for someone else). */
export function keyFromHeaders(headers: {
  authorization?: HeaderValue;
  'x-api-key'?: HeaderValue;
}): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(single(headers.authorization)?.trim() ?? '')?.[1];
  if (bearer !== undefined) return bearer;
  const key = single(headers['x-api-key'])?.trim();
  return key === '' ? undefined : key;
}
