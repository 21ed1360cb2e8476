import { SightlineError } from '../core/errors.js';
import { ROLES, type Role } from '../store/control-store.js';
import type { AuthContext } from './authenticator.js';

/**
 * Who may do what (docs/auth.md has the table). Every role reads everything of its org; beyond
 * that each role adds to the one before it:
 * - viewer: reads only;
 * - member: creates and revokes API keys whose role is at most member;
 * - admin: keys up to admin, and manages users whose role is at most admin;
 * - owner: everything, owners included.
 * So whatever a caller grants or takes away is at most its own role.
 */
export function rank(role: Role): number {
  return ROLES.indexOf(role);
}

export function atLeast(role: Role, needed: Role): boolean {
  return rank(role) >= rank(needed);
}

function who(auth: AuthContext): string {
  return auth.principal.kind === 'key' ? 'this API key' : `you (${auth.principal.email})`;
}

function refuse(auth: AuthContext, action: string, needed: Role): SightlineError {
  return new SightlineError(
    'SL_ERR_FORBIDDEN',
    `${action} needs the ${needed} role or higher; ${who(auth)} ${auth.principal.kind === 'key' ? 'has' : 'have'} the ${auth.role} role`,
  );
}

/** Creating or revoking a key of `keyRole`: member or higher, and not above the caller's own role. */
export function checkKeyManagement(auth: AuthContext, keyRole: Role, action: string): void {
  const needed = atLeast(keyRole, 'member') ? keyRole : 'member';
  if (!atLeast(auth.role, needed)) throw refuse(auth, `${action} (role ${keyRole})`, needed);
}

/** Adding, changing or disabling a user of each of `roles`: admin or higher, and none above the caller's own role. */
export function checkUserManagement(auth: AuthContext, roles: readonly Role[], action: string): void {
  const highest = roles.reduce<Role>((a, b) => (rank(b) > rank(a) ? b : a), 'admin');
  if (!atLeast(auth.role, highest)) {
    const detail = roles.some((r) => rank(r) > rank('admin')) ? ` (role ${highest})` : '';
    throw refuse(auth, `${action}${detail}`, highest);
  }
}

/** Anything that needs at least `needed`, whoever the caller is (reading settings, for one). */
export function checkRole(auth: AuthContext, needed: Role, action: string): void {
  if (!atLeast(auth.role, needed)) throw refuse(auth, action, needed);
}
