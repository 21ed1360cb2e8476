import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { SightlineError } from '../core/errors.js';
import { randomToken } from '../core/ids.js';

export const MIN_PASSWORD_LENGTH = 12;
/** Long enough for any passphrase, short enough that a huge body is not hashed. */
export const MAX_PASSWORD_LENGTH = 1024;

/**
 * scrypt's cost: N = 2^14, r = 8, p = 1 (16 MiB and some 50 ms a hash), the parameters the
 * scrypt paper and OWASP's Password Storage Cheat Sheet give for interactive sign-in. They are
 * stored with each hash, so raising them later leaves the old hashes readable.
 */
const COST = { N: 16_384, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const SALT_BYTES = 16;
/** Room for the largest parameters a stored hash may name (128 · N · r bytes, and then some). */
const MAX_MEMORY = 256 * 1024 * 1024;

function derive(password: string, salt: Buffer, options: ScryptOptions, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, length, { ...options, maxmem: MAX_MEMORY }, (error, key) =>
      error === null ? resolve(key) : reject(error),
    );
  });
}

/** Throws SL_ERR_BAD_REQUEST saying what a password needs, if this one does not have it. */
export function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new SightlineError(
      'SL_ERR_BAD_REQUEST',
      `the password is ${password.length} characters long; use at least ${MIN_PASSWORD_LENGTH} (a passphrase of a few words is fine)`,
    );
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new SightlineError(
      'SL_ERR_BAD_REQUEST',
      `the password is longer than ${MAX_PASSWORD_LENGTH} characters; use a shorter one`,
    );
  }
}

/** `scrypt$N$r$p$salt$hash`, salt and hash in base64: self-describing, so the cost can change later. */
export async function hashPassword(password: string): Promise<string> {
  checkPassword(password);
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, COST, KEY_LENGTH);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

/** True when `password` is the one `stored` was made from; false for anything else, a malformed hash included. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const expected = Buffer.from(parts[5] ?? '', 'base64');
  if (N === undefined || r === undefined || p === undefined || expected.length === 0) return false;
  if (![N, r, p].every((n) => Number.isSafeInteger(n) && n > 0)) return false;
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  const actual = await derive(password, salt, { N, r, p }, expected.length);
  return timingSafeEqual(actual, expected);
}

let decoy: Promise<string> | undefined;

/**
 * Spends the time of one verification, for a sign-in with an unknown email: answering faster
 * would tell which emails have accounts.
 */
export async function spendOneVerification(password: string): Promise<void> {
  decoy ??= hashPassword(generatePassword());
  await verifyPassword(password.slice(0, MAX_PASSWORD_LENGTH), await decoy);
}

/** 20 base62 characters: about 119 bits, shown once to the person who will sign in with it. */
export function generatePassword(): string {
  return randomToken(20);
}
