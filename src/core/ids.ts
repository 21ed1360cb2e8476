import { createHash, hash, randomBytes } from 'node:crypto';

/**
 * A record's id: a 128-bit digest of what makes it that record, so the same record sent
 * twice (a retried batch, a replayed bus message) gets the same id and is stored once.
 */
export function recordId(parts: readonly string[]): string {
  // One-shot hash(): no Hash object per record, which matters at tens of thousands of records a second.
  return hash('sha256', parts.join('\u0000'), 'base64url').slice(0, 22);
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A random token of base62 characters (rejection sampling keeps the distribution uniform). */
export function randomToken(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

export function newId(prefix: string): string {
  return `${prefix}_${randomToken(16)}`;
}

/** A 128-bit digest of raw bytes, for ids of payloads (dead letters). */
export function bytesId(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64url').slice(0, 22);
}
