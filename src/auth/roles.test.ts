import { describe, expect, it } from 'vitest';
import { ROLES, type Role } from '../store/control-store.js';
import { orgId } from '../store/rows.js';
import type { AuthContext } from './authenticator.js';
import { atLeast, checkKeyManagement, checkUserManagement } from './roles.js';

const key = (role: Role): AuthContext => ({
  orgId: orgId('o'),
  role,
  principal: { kind: 'key', keyId: 'k' },
});
const user = (role: Role): AuthContext => ({
  orgId: orgId('o'),
  role,
  principal: { kind: 'user', userId: 'u', email: 'ana@example.com' },
});

function allowed(check: () => void): boolean {
  try {
    check();
    return true;
  } catch {
    return false;
  }
}

describe('roles', () => {
  it('orders viewer < member < admin < owner', () => {
    expect(ROLES).toEqual(['viewer', 'member', 'admin', 'owner']);
    expect(atLeast('owner', 'admin')).toBe(true);
    expect(atLeast('member', 'member')).toBe(true);
    expect(atLeast('viewer', 'member')).toBe(false);
  });

  it('lets members and up create or revoke keys up to their own role, viewers none', () => {
    const table = Object.fromEntries(
      ROLES.map((caller) => [
        caller,
        ROLES.filter((keyRole) => allowed(() => checkKeyManagement(key(caller), keyRole, 'x'))),
      ]),
    );
    expect(table).toEqual({
      viewer: [],
      member: ['viewer', 'member'],
      admin: ['viewer', 'member', 'admin'],
      owner: ['viewer', 'member', 'admin', 'owner'],
    });
  });

  it('lets admins manage users up to admin and owners everyone', () => {
    const table = Object.fromEntries(
      ROLES.map((caller) => [
        caller,
        ROLES.filter((role) => allowed(() => checkUserManagement(user(caller), [role], 'x'))),
      ]),
    );
    expect(table).toEqual({
      viewer: [],
      member: [],
      admin: ['viewer', 'member', 'admin'],
      owner: ['viewer', 'member', 'admin', 'owner'],
    });
    // A role change needs both the old and the new role in reach.
    expect(allowed(() => checkUserManagement(user('admin'), ['owner', 'admin'], 'x'))).toBe(false);
    expect(allowed(() => checkUserManagement(user('admin'), ['viewer', 'owner'], 'x'))).toBe(false);
    expect(allowed(() => checkUserManagement(user('admin'), ['viewer', 'admin'], 'x'))).toBe(true);
  });

  it('refuses with 403 naming the role needed and the caller’s role', () => {
    expect(() => checkKeyManagement(key('viewer'), 'viewer', 'creating an API key')).toThrow(
      'creating an API key (role viewer) needs the member role or higher; this API key has the viewer role',
    );
    expect(() => checkUserManagement(user('admin'), ['owner'], 'adding a user')).toThrow(
      'adding a user (role owner) needs the owner role or higher; you (ana@example.com) have the admin role',
    );
    try {
      checkUserManagement(user('member'), ['viewer'], 'adding a user');
    } catch (error) {
      expect(error).toMatchObject({ code: 'SL_ERR_FORBIDDEN', status: 403 });
    }
  });
});
