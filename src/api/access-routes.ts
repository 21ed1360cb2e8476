import type { FastifyInstance, FastifyRequest, FastifySchemaCompiler, RouteShorthandOptions } from 'fastify';
import { displayPrefix, generateApiKey, hashApiKey } from '../auth/api-key.js';
import type { ApiKeyAuthenticator, AuthContext } from '../auth/authenticator.js';
import {
  CSRF_HEADER,
  SESSION_COOKIE,
  clearedSessionCookie,
  sessionCookie,
  sessionTokenOf,
} from '../auth/cookies.js';
import { authOf } from '../auth/http.js';
import type { LoginLimiter } from '../auth/login-limiter.js';
import { checkPassword, generatePassword, hashPassword, verifyPassword } from '../auth/passwords.js';
import { checkKeyManagement, checkUserManagement } from '../auth/roles.js';
import { hashSessionToken, normalizeEmail, type SessionManager } from '../auth/sessions.js';
import { SightlineError } from '../core/errors.js';
import {
  ROLES,
  isRole,
  type ApiKeyRecord,
  type ControlStore,
  type Role,
  type UserRecord,
} from '../store/control-store.js';
import { NO_SECURITY, errorResponses, ok, pathParams, type JsonSchema } from './route-schemas.js';
import {
  CHANGED_USER_VIEW,
  KEYS_VIEW,
  LOGIN_VIEW,
  ME_VIEW,
  NEW_KEY_VIEW,
  NEW_USER_VIEW,
  USERS_VIEW,
} from './view-schemas.js';

export interface AccessDeps {
  control: ControlStore;
  sessions: SessionManager;
  keys: ApiKeyAuthenticator;
  /** Failed sign-ins (and wrong current passwords) per email and address before 429. */
  loginLimiter: LoginLimiter;
}

/**
 * The body is parsed by the route (the messages are the API's, not ajv's) and path parameters
 * are plain strings; fastify validates nothing here. Unlike `bodyParsedByRoute`, also for routes
 * with path parameters.
 */
const parsedByRoute: Pick<RouteShorthandOptions, 'validatorCompiler'> = {
  validatorCompiler: (() => () => true) satisfies FastifySchemaCompiler<unknown>,
};

const TAG = ['access'];
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+$/;
const NO_CONTENT = (description: string): JsonSchema => ({ description });

/**
 * Sign-in (`/api/v1/auth/*`), API keys (`/api/v1/keys`) and users (`/api/v1/users`) of the
 * caller's org. Reading is open to every role; what changes keys or users is checked against the
 * caller's role (src/auth/roles.ts), and every id is looked up within the caller's org only, so
 * another org's id is a 404.
 */
export function registerAccessRoutes(app: FastifyInstance, deps: AccessDeps): void {
  registerSignIn(app, deps);
  registerPasswordChange(app, deps);
  registerKeys(app, deps);
  registerUsers(app, deps);
}

function registerSignIn(app: FastifyInstance, deps: AccessDeps): void {
  app.post(
    '/api/v1/auth/login',
    {
      ...parsedByRoute,
      config: { public: true },
      schema: {
        summary: 'Sign in',
        description:
          `Checks email and password and sets the session cookie \`${SESSION_COOKIE}\` (HttpOnly, SameSite=Lax; ` +
          'Secure over https) for the session TTL (auth.sessionTtlHours, 12 h by default). A wrong email ' +
          `and a wrong password get the same 401. With the cookie, anything but GET and HEAD must send "${CSRF_HEADER}: 1". ` +
          'After auth.login.maxFailuresPerEmail failures for one email, or auth.login.maxFailuresPerIp from one ' +
          'address, within auth.login.windowSeconds the answer is 429 with Retry-After; a right password clears ' +
          'the email’s count.',
        tags: TAG,
        security: NO_SECURITY,
        body: {
          type: 'object',
          required: ['email', 'password'],
          properties: { email: { type: 'string' }, password: { type: 'string' } },
        },
        response: {
          200: ok('Signed in; the answer sets the cookie.', LOGIN_VIEW),
          ...errorResponses(400, 401, 415, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const body = objectBody(request.body);
      const email = stringField(body, 'email');
      const password = stringField(body, 'password');
      const attempt = { email: normalizeEmail(email), ip: request.ip };
      deps.loginLimiter.check(attempt);
      const signIn = await signInCounted(deps, attempt, () => deps.sessions.signIn(email, password));
      reply.header('set-cookie', sessionCookie(signIn.token, deps.sessions.ttlMs / 1000, isHttps(request)));
      return {
        user: { id: signIn.user.id, email: signIn.user.email, role: signIn.user.role },
        org: { id: signIn.org.id, name: signIn.org.name },
      };
    },
  );

  app.post(
    '/api/v1/auth/logout',
    {
      schema: {
        summary: 'Sign out',
        description:
          'Ends the session of the cookie sent (in every API process) and clears the cookie. With an API key it does nothing.',
        tags: TAG,
        response: { 204: NO_CONTENT('Signed out.'), ...errorResponses(401, 403, 503) },
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      const token = sessionTokenOf(request.headers);
      if (auth.principal.kind === 'user' && token !== undefined) await deps.sessions.signOut(token);
      if (token !== undefined) reply.header('set-cookie', clearedSessionCookie(isHttps(request)));
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/v1/auth/me',
    {
      schema: {
        summary: 'Who am I',
        description:
          'The org and role of the caller, and the signed-in user (null when the caller is an API key).',
        tags: TAG,
        response: { 200: ok('The caller.', ME_VIEW), ...errorResponses(401, 503) },
      },
    },
    async (request) => {
      const auth = authOf(request);
      const org = await deps.control.getOrg(auth.orgId);
      return {
        org: { id: auth.orgId, name: org?.name ?? '' },
        role: auth.role,
        user:
          auth.principal.kind === 'user'
            ? { id: auth.principal.userId, email: auth.principal.email, role: auth.role }
            : null,
      };
    },
  );
}

function registerPasswordChange(app: FastifyInstance, deps: AccessDeps): void {
  app.post(
    '/api/v1/auth/password',
    {
      ...parsedByRoute,
      schema: {
        summary: 'Change my password',
        description:
          'The signed-in user’s own password: the current one and a new one (at least 12 characters, as for ' +
          'new users). Every other session of the user ends; the one that sent this stays signed in. A wrong ' +
          'current password is a 400 and counts as a failed sign-in (429 after too many). Not for API keys.',
        tags: TAG,
        body: {
          type: 'object',
          required: ['currentPassword', 'newPassword'],
          properties: {
            currentPassword: { type: 'string' },
            newPassword: { type: 'string', description: 'At least 12 characters.' },
          },
        },
        response: {
          204: NO_CONTENT('Changed; the other sessions have ended.'),
          ...errorResponses(400, 401, 403, 415, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      const token = sessionTokenOf(request.headers);
      if (auth.principal.kind !== 'user' || token === undefined) {
        throw new SightlineError(
          'SL_ERR_BAD_REQUEST',
          'only a person signed in to the web UI has a password; an API key has none to change',
        );
      }
      const body = objectBody(request.body);
      const current = stringField(body, 'currentPassword');
      const next = stringField(body, 'newPassword');
      checkPassword(next);
      const attempt = { email: auth.principal.email, ip: request.ip };
      deps.loginLimiter.check(attempt);
      const credentials = await deps.control.findUserByEmail(auth.principal.email);
      if (credentials === undefined || !(await verifyPassword(current, credentials.passwordHash))) {
        deps.loginLimiter.recordFailure(attempt);
        throw new SightlineError(
          'SL_ERR_BAD_REQUEST',
          'currentPassword: that is not your current password; type it again (forgotten? an admin can add you anew)',
        );
      }
      if (current === next) {
        throw new SightlineError(
          'SL_ERR_BAD_REQUEST',
          'newPassword: it is the current password; choose another',
        );
      }
      const changedHere = await deps.control.changeUserPassword(
        auth.orgId,
        auth.principal.userId,
        await hashPassword(next),
        hashSessionToken(token),
      );
      if (!changedHere)
        throw new SightlineError('SL_ERR_UNAUTHENTICATED', 'your account is gone; sign in again');
      deps.loginLimiter.recordSuccess(attempt);
      return reply.code(204).send();
    },
  );
}

/** Runs a sign-in, counting a wrong email or password against the limiter and clearing the email's count on success. */
async function signInCounted<T>(
  deps: AccessDeps,
  attempt: { email: string; ip: string },
  signIn: () => Promise<T>,
): Promise<T> {
  try {
    const result = await signIn();
    deps.loginLimiter.recordSuccess(attempt);
    return result;
  } catch (error) {
    if (error instanceof SightlineError && error.code === 'SL_ERR_UNAUTHENTICATED') {
      deps.loginLimiter.recordFailure(attempt);
    }
    throw error;
  }
}

function registerKeys(app: FastifyInstance, deps: AccessDeps): void {
  app.get(
    '/api/v1/keys',
    {
      schema: {
        summary: 'API keys',
        description: 'The org’s API keys, revoked ones included, oldest first. Never the keys themselves.',
        tags: TAG,
        response: { 200: ok('The keys.', KEYS_VIEW), ...errorResponses(401, 503) },
      },
    },
    async (request) => ({ data: (await deps.control.listApiKeys(authOf(request).orgId)).map(keyView) }),
  );

  app.post(
    '/api/v1/keys',
    {
      ...parsedByRoute,
      schema: {
        summary: 'Create an API key',
        description:
          'A new key of the caller’s org; `secret` is the key, shown only in this answer. The role ' +
          'defaults to viewer; members may create keys up to member, admins up to admin, owners any. ' +
          'Any valid key may send data to the ingest port.',
        tags: TAG,
        body: {
          type: 'object',
          required: ['name'],
          properties: {
            name: { type: 'string', description: 'What the key is for, 1 to 200 characters.' },
            role: { type: 'string', enum: [...ROLES], description: 'Default viewer.' },
          },
        },
        response: {
          201: ok('Created.', NEW_KEY_VIEW),
          ...errorResponses(400, 401, 403, 415, 503),
        },
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      const body = objectBody(request.body);
      const name = stringField(body, 'name').trim();
      if (name === '' || name.length > 200) {
        throw new SightlineError('SL_ERR_BAD_REQUEST', 'name: give the key a name of 1 to 200 characters');
      }
      const role = roleField(body, 'role') ?? 'viewer';
      checkKeyManagement(auth, role, 'creating an API key');
      const secret = generateApiKey();
      const key = await deps.control.createApiKey({
        orgId: auth.orgId,
        name,
        prefix: displayPrefix(secret),
        keyHash: hashApiKey(secret),
        role,
      });
      return reply.code(201).send({ key: keyView(key), secret });
    },
  );

  app.delete(
    '/api/v1/keys/:id',
    {
      schema: {
        summary: 'Revoke an API key',
        description:
          'Revokes a key of the caller’s org (revoking one already revoked changes nothing). This process ' +
          'refuses it at once; other API and gateway processes of a scale-out deployment within a minute ' +
          '(their key cache). Needs the role that may create such a key.',
        tags: TAG,
        params: pathParams({ id: 'The key’s id (not the key).' }),
        response: {
          204: NO_CONTENT('Revoked.'),
          ...errorResponses(401, 403, 404, 503),
        },
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      const { id } = request.params as { id: string };
      const key = (await deps.control.listApiKeys(auth.orgId)).find((k) => k.id === id);
      if (key === undefined) throw new SightlineError('SL_ERR_NOT_FOUND', `your org has no API key ${id}`);
      checkKeyManagement(auth, key.role, 'revoking an API key');
      await deps.control.revokeApiKey(auth.orgId, id);
      deps.keys.forget(id);
      return reply.code(204).send();
    },
  );
}

function registerUsers(app: FastifyInstance, deps: AccessDeps): void {
  app.get(
    '/api/v1/users',
    {
      schema: {
        summary: 'Users',
        description: 'The org’s users, disabled ones included, oldest first.',
        tags: TAG,
        response: { 200: ok('The users.', USERS_VIEW), ...errorResponses(401, 503) },
      },
    },
    async (request) => ({ data: (await deps.control.listUsers(authOf(request).orgId)).map(userView) }),
  );

  app.post(
    '/api/v1/users',
    {
      ...parsedByRoute,
      schema: {
        summary: 'Add a user',
        description:
          'A user of the caller’s org who signs in with email and password. Without `password` one is ' +
          'generated and returned once. Admins may add users up to admin, owners any. Emails are unique ' +
          'across the installation and compared without case.',
        tags: TAG,
        body: {
          type: 'object',
          required: ['email', 'role'],
          properties: {
            email: { type: 'string' },
            role: { type: 'string', enum: [...ROLES] },
            password: { type: 'string', description: 'At least 12 characters; left out, one is generated.' },
          },
        },
        response: {
          201: ok('Created.', NEW_USER_VIEW),
          ...errorResponses(400, 401, 403, 409, 415, 503),
        },
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      const body = objectBody(request.body);
      const email = emailField(body);
      const role = roleField(body, 'role');
      if (role === undefined)
        throw new SightlineError('SL_ERR_BAD_REQUEST', `role: required, one of ${ROLES.join(', ')}`);
      checkUserManagement(auth, [role], 'adding a user');
      const given = body.password === undefined ? undefined : stringField(body, 'password');
      if (given !== undefined) checkPassword(given);
      const password = given ?? generatePassword();
      const user = await deps.control.createUser({
        orgId: auth.orgId,
        email,
        passwordHash: await hashPassword(password),
        role,
      });
      return reply.code(201).send({ user: userView(user), ...(given === undefined ? { password } : {}) });
    },
  );

  app.patch(
    '/api/v1/users/:id',
    {
      ...parsedByRoute,
      schema: {
        summary: 'Change a user’s role',
        description:
          'Admins may change users up to admin to roles up to admin, owners anything. The org’s last ' +
          'enabled owner cannot be demoted (409).',
        tags: TAG,
        params: pathParams({ id: 'The user’s id.' }),
        body: {
          type: 'object',
          required: ['role'],
          properties: { role: { type: 'string', enum: [...ROLES] } },
        },
        response: {
          200: ok('Changed.', CHANGED_USER_VIEW),
          ...errorResponses(400, 401, 403, 404, 409, 415, 503),
        },
      },
    },
    async (request) => {
      const auth = authOf(request);
      const { id } = request.params as { id: string };
      const role = roleField(objectBody(request.body), 'role');
      if (role === undefined)
        throw new SightlineError('SL_ERR_BAD_REQUEST', `role: required, one of ${ROLES.join(', ')}`);
      const user = await userOfOrg(deps, auth, id);
      checkUserManagement(auth, [user.role, role], 'changing a user’s role');
      return { user: userView(changed(await deps.control.changeUserRole(auth.orgId, id, role), user)) };
    },
  );

  app.delete(
    '/api/v1/users/:id',
    {
      schema: {
        summary: 'Disable a user',
        description:
          'The user can no longer sign in and their sessions end at once. Admins may disable users up to ' +
          'admin, owners anyone; the org’s last enabled owner cannot be disabled, nor can a user disable ' +
          'themselves (409).',
        tags: TAG,
        params: pathParams({ id: 'The user’s id.' }),
        response: {
          204: NO_CONTENT('Disabled.'),
          ...errorResponses(401, 403, 404, 409, 503),
        },
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      const { id } = request.params as { id: string };
      const user = await userOfOrg(deps, auth, id);
      checkUserManagement(auth, [user.role], 'disabling a user');
      if (auth.principal.kind === 'user' && auth.principal.userId === user.id) {
        throw new SightlineError(
          'SL_ERR_CONFLICT',
          'you cannot disable yourself; another admin or owner of your org can, or sign out instead',
        );
      }
      changed(await deps.control.disableUser(auth.orgId, id), user);
      return reply.code(204).send();
    },
  );
}

async function userOfOrg(deps: AccessDeps, auth: AuthContext, id: string): Promise<UserRecord> {
  const user = await deps.control.getUser(auth.orgId, id);
  if (user === undefined) throw new SightlineError('SL_ERR_NOT_FOUND', `your org has no user ${id}`);
  return user;
}

function changed(result: Awaited<ReturnType<ControlStore['disableUser']>>, before: UserRecord): UserRecord {
  if (result.status === 'ok') return result.user;
  if (result.status === 'not_found')
    throw new SightlineError('SL_ERR_NOT_FOUND', `your org has no user ${before.id}`);
  throw new SightlineError(
    'SL_ERR_CONFLICT',
    `${before.email} is the org’s last owner; make another user owner first`,
  );
}

/** Over https the cookie is Secure (request.protocol follows X-Forwarded-Proto only with fastify's trustProxy). */
function isHttps(request: FastifyRequest): boolean {
  return request.protocol === 'https';
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new SightlineError('SL_ERR_BAD_REQUEST', 'send a JSON object with content-type application/json');
  }
  return body as Record<string, unknown>;
}

function stringField(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string')
    throw new SightlineError('SL_ERR_BAD_REQUEST', `${name}: required, a string`);
  return value;
}

function emailField(body: Record<string, unknown>): string {
  const email = normalizeEmail(stringField(body, 'email'));
  if (!EMAIL_PATTERN.test(email) || email.length > 320) {
    throw new SightlineError('SL_ERR_BAD_REQUEST', `email: "${email}" is not an email address (name@host)`);
  }
  return email;
}

function roleField(body: Record<string, unknown>, name: string): Role | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (!isRole(value)) {
    throw new SightlineError(
      'SL_ERR_BAD_REQUEST',
      `${name}: ${JSON.stringify(value)} is not a role; use one of ${ROLES.join(', ')}`,
    );
  }
  return value;
}

function iso(date: Date | null): string | null {
  return date === null ? null : date.toISOString();
}

function keyView(key: ApiKeyRecord) {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    role: key.role,
    createdAt: key.createdAt.toISOString(),
    revokedAt: iso(key.revokedAt),
  };
}

function userView(user: UserRecord) {
  return {
    id: user.id,
    email: user.email,
    role: user.role,
    createdAt: user.createdAt.toISOString(),
    disabledAt: iso(user.disabledAt),
  };
}
