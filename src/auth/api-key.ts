import { createHash } from 'node:crypto';
import { randomToken } from '../core/ids.js';

/** Every key starts with this, so a leaked key is recognisable (and secret scanners can find it). */
export const API_KEY_PREFIX = 'sl_';

export function generateApiKey(): string {
  return `${API_KEY_PREFIX}${randomToken(32)}`;
}

/** Keys are random and long, so one fast hash is enough; only this is stored. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The part of a key that may be shown in lists and logs. */
export function displayPrefix(key: string): string {
  return key.slice(0, API_KEY_PREFIX.length + 6);
}
