import { SightlineError } from '../core/errors.js';
import type { ControlStore } from '../store/control-store.js';
import type { OrgId } from '../store/rows.js';
import { hashApiKey } from './api-key.js';

export interface AuthContext {
  orgId: OrgId;
  keyId: string;
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
      const context =
        record && record.revokedAt === null ? { orgId: record.orgId, keyId: record.id } : undefined;
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
