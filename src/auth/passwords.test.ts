import { describe, expect, it } from 'vitest';
import { SightlineError } from '../core/errors.js';
import {
  MIN_PASSWORD_LENGTH,
  checkPassword,
  generatePassword,
  hashPassword,
  spendOneVerification,
  verifyPassword,
} from './passwords.js';

describe('password hashing', () => {
  it('stores scrypt$N$r$p$salt$hash with a random 16-byte salt, never the password', async () => {
    const password = 'correct horse battery staple';
    const first = await hashPassword(password);
    const second = await hashPassword(password);
    const [scheme, n, r, p, salt, hash] = first.split('$');
    expect([scheme, n, r, p]).toEqual(['scrypt', '16384', '8', '1']);
    expect(Buffer.from(salt ?? '', 'base64')).toHaveLength(16);
    expect(Buffer.from(hash ?? '', 'base64')).toHaveLength(32);
    expect(first).not.toContain(password);
    expect(second).not.toBe(first);
  });

  it('verifies the right password and refuses a wrong one, a changed case and a malformed hash', async () => {
    const stored = await hashPassword('correct horse battery staple');
    expect(await verifyPassword('correct horse battery staple', stored)).toBe(true);
    expect(await verifyPassword('Correct horse battery staple', stored)).toBe(false);
    expect(await verifyPassword('correct horse battery stapl', stored)).toBe(false);
    expect(await verifyPassword('correct horse battery staple', 'bcrypt$2b$xyz')).toBe(false);
    expect(await verifyPassword('correct horse battery staple', 'scrypt$0$8$1$c2FsdA==$aGFzaA==')).toBe(
      false,
    );
    expect(await verifyPassword('correct horse battery staple', '')).toBe(false);
  });

  it('reads the cost from the stored hash, so hashes of other parameters still verify', async () => {
    const stored = await hashPassword('correct horse battery staple');
    const parts = stored.split('$');
    // The same salt under other parameters is another hash: the stored parameters are the ones used.
    expect(
      await verifyPassword(
        'correct horse battery staple',
        ['scrypt', '1024', '8', '1', ...parts.slice(4)].join('$'),
      ),
    ).toBe(false);
  });

  it('refuses passwords shorter than 12 characters, saying how long they must be', () => {
    expect(MIN_PASSWORD_LENGTH).toBe(12);
    expect(() => checkPassword('a'.repeat(12))).not.toThrow();
    let error: unknown;
    try {
      checkPassword('short pass');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SightlineError);
    expect((error as SightlineError).code).toBe('SL_ERR_BAD_REQUEST');
    expect((error as SightlineError).message).toBe(
      'the password is 10 characters long; use at least 12 (a passphrase of a few words is fine)',
    );
    expect(() => checkPassword('x'.repeat(1025))).toThrow(/longer than 1024/);
  });

  it('spends about one verification on an unknown email', async () => {
    await spendOneVerification('warm up the decoy hash');
    const stored = await hashPassword('correct horse battery staple');
    const timed = async (work: () => Promise<unknown>) => {
      const start = process.hrtime.bigint();
      await work();
      return Number(process.hrtime.bigint() - start) / 1e6;
    };
    const verify = await timed(() => verifyPassword('wrong password here', stored));
    const decoy = await timed(() => spendOneVerification('wrong password here'));
    // Same work: within a factor of the other, not orders of magnitude faster.
    expect(decoy).toBeGreaterThan(verify / 4);
  });

  it('generates passwords of 20 base62 characters, different each time', () => {
    const passwords = Array.from({ length: 10 }, generatePassword);
    for (const p of passwords) expect(p).toMatch(/^[0-9A-Za-z]{20}$/);
    expect(new Set(passwords).size).toBe(10);
  });
});
