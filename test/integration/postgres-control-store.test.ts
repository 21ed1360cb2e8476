import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { displayPrefix, generateApiKey, hashApiKey } from '../../src/auth/api-key.js';
import { createUser, withControlStore } from '../../src/app/control-admin.js';
import { ApiKeyAuthenticator } from '../../src/auth/authenticator.js';
import { SessionManager } from '../../src/auth/sessions.js';
import { configSchema } from '../../src/config/schema.js';
import { SightlineError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import {
  DEFAULT_CONTROL_SCHEMA,
  PostgresControlStore,
  type PostgresControlStoreOptions,
} from '../../src/store/postgres/control-store.js';
import { CONTROL_MIGRATIONS, runControlMigrations } from '../../src/store/postgres/migrations.js';
import { orgId } from '../../src/store/rows.js';
import { describeControlStoreContract, type ControlStoreFixture } from '../helpers/control-store-contract.js';
import { freePort } from '../harness/free-port.js';
import type { PostgresInstance } from '../harness/postgres.js';
import { POSTGRES_INSTALL_HINT, postgresAvailable, startPostgres } from '../harness/postgres.js';
import { requireService } from '../harness/service-missing.js';

const available = requireService('PostgreSQL 15', postgresAvailable(), POSTGRES_INSTALL_HINT);

let postgres: PostgresInstance;
/** The superuser's own connection, for setting up and inspecting what the store did. */
let admin: pg.Pool;
const stores: PostgresControlStore[] = [];

beforeAll(async () => {
  if (!available) return;
  postgres = await startPostgres();
  admin = new pg.Pool({ connectionString: postgres.url, max: 2 });
  admin.on('error', () => undefined);
});

afterAll(async () => {
  for (const store of stores) await store.shutdown();
  await admin?.end();
  await postgres?.stop();
});

function newSchema(): string {
  return `ctl_${randomBytes(6).toString('hex')}`;
}

/** A store closed after the file (tests that close it themselves are fine: shutdown is idempotent). */
function controlStore(options: Partial<PostgresControlStoreOptions> = {}): PostgresControlStore {
  const store = new PostgresControlStore({ connection: postgres.url, ...options }, silentLogger());
  stores.push(store);
  return store;
}

async function rejection(promise: Promise<unknown>): Promise<SightlineError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SightlineError);
  return error as SightlineError;
}

/** Everything an error could show a person or a log: message, cause chain, own fields. */
function everythingShown(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 5; e = (e as Error).cause, depth++) {
    parts.push(e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : JSON.stringify(e));
    try {
      parts.push(JSON.stringify(e));
    } catch {
      // A circular cause is still covered by its message and stack.
    }
  }
  return parts.join('\n');
}

describe.skipIf(!available)('PostgresControlStore', () => {
  describeControlStoreContract('PostgreSQL (scale-out)', async (): Promise<ControlStoreFixture> => {
    // A schema per case: the cases start empty, and the schema option is exercised on every one.
    const schema = newSchema();
    const open = async (): Promise<PostgresControlStore> => {
      const store = new PostgresControlStore({ connection: postgres.url, schema }, silentLogger());
      await store.start();
      return store;
    };
    let store = await open();
    const fixture: ControlStoreFixture = {
      store,
      revoke: async (keyHash) => {
        await admin.query(`UPDATE "${schema}".api_keys SET revoked_at = now() WHERE key_hash = $1`, [
          keyHash,
        ]);
      },
      reopen: async () => {
        await store.shutdown();
        store = await open();
        fixture.store = store;
      },
      close: async () => {
        await store.shutdown();
        await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
      },
    };
    return fixture;
  });

  describe('migrations', () => {
    it('creates the default schema "sightline" with PostgreSQL types, keys and constraints', async () => {
      const store = controlStore();
      await store.start();
      expect(DEFAULT_CONTROL_SCHEMA).toBe('sightline');
      const columns = await admin.query<{
        table_name: string;
        column_name: string;
        data_type: string;
        is_nullable: string;
      }>(
        `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
          WHERE table_schema = 'sightline' ORDER BY table_name, ordinal_position`,
      );
      const shape = columns.rows.map(
        (c) => `${c.table_name}.${c.column_name} ${c.data_type} ${c.is_nullable}`,
      );
      expect(shape).toEqual([
        'api_keys.id text NO',
        'api_keys.org_id text NO',
        'api_keys.name text NO',
        'api_keys.prefix text NO',
        'api_keys.key_hash text NO',
        'api_keys.created_at timestamp with time zone NO',
        'api_keys.revoked_at timestamp with time zone YES',
        'api_keys.role text NO',
        'orgs.id text NO',
        'orgs.name text NO',
        'orgs.created_at timestamp with time zone NO',
        'schema_migrations.version integer NO',
        'schema_migrations.name text NO',
        'schema_migrations.applied_at timestamp with time zone NO',
        'sessions.token_hash text NO',
        'sessions.org_id text NO',
        'sessions.user_id text NO',
        'sessions.created_at timestamp with time zone NO',
        'sessions.expires_at timestamp with time zone NO',
        'users.id text NO',
        'users.org_id text NO',
        'users.email text NO',
        'users.password_hash text NO',
        'users.role text NO',
        'users.created_at timestamp with time zone NO',
        'users.disabled_at timestamp with time zone YES',
      ]);
      const constraints = await admin.query<{ conname: string; contype: string }>(
        `SELECT conname, contype FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
          WHERE n.nspname = 'sightline' ORDER BY conname`,
      );
      expect(constraints.rows).toEqual([
        { conname: 'api_keys_key_hash_key', contype: 'u' },
        { conname: 'api_keys_org_id_fkey', contype: 'f' },
        { conname: 'api_keys_pkey', contype: 'p' },
        { conname: 'api_keys_role_check', contype: 'c' },
        { conname: 'orgs_name_key', contype: 'u' },
        { conname: 'orgs_pkey', contype: 'p' },
        { conname: 'schema_migrations_pkey', contype: 'p' },
        { conname: 'sessions_org_id_fkey', contype: 'f' },
        { conname: 'sessions_pkey', contype: 'p' },
        { conname: 'sessions_user_id_fkey', contype: 'f' },
        { conname: 'users_email_key', contype: 'u' },
        { conname: 'users_org_id_fkey', contype: 'f' },
        { conname: 'users_pkey', contype: 'p' },
        { conname: 'users_role_check', contype: 'c' },
      ]);
      // Nothing lands in public: the control plane can share a database with other things.
      const inPublic = await admin.query(
        "SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('orgs', 'api_keys', 'schema_migrations')",
      );
      expect(inPublic.rowCount).toBe(0);
    });

    it('applies the schema once when several processes start on an empty database at the same time', async () => {
      const schema = newSchema();
      const starting = Array.from({ length: 4 }, () => controlStore({ schema }));
      await Promise.all(starting.map((store) => store.start()));

      const migrations = await admin.query<{ version: number; name: string }>(
        `SELECT version, name FROM "${schema}".schema_migrations ORDER BY version`,
      );
      expect(migrations.rows).toEqual(CONTROL_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
      // Each sees what another one writes: one control plane.
      const [a, b, c, d] = starting;
      const org = await a!.createOrg('shared');
      const key = generateApiKey();
      await b!.createApiKey({
        orgId: org.id,
        name: 'k',
        prefix: displayPrefix(key),
        keyHash: hashApiKey(key),
      });
      expect(await c!.listOrgs()).toEqual([org]);
      expect((await d!.findApiKeyByHash(hashApiKey(key)))?.orgId).toBe(org.id);
    });

    it('starts again on a migrated schema without applying anything, and keeps the data', async () => {
      const schema = newSchema();
      const first = controlStore({ schema });
      await first.start();
      const org = await first.createOrg('acme');
      await first.shutdown();
      const applied = await admin.query(`SELECT applied_at FROM "${schema}".schema_migrations`);

      const second = controlStore({ schema });
      await second.start();
      expect(await second.listOrgs()).toEqual([org]);
      expect((await admin.query(`SELECT applied_at FROM "${schema}".schema_migrations`)).rows).toEqual(
        applied.rows,
      );
    });

    it('refuses a schema written by a newer Sightline, naming the versions', async () => {
      const schema = newSchema();
      await controlStore({ schema }).start();
      await admin.query(
        `INSERT INTO "${schema}".schema_migrations (version, name) VALUES (999, 'from the future')`,
      );
      const error = await rejection(controlStore({ schema }).start());
      expect(error.code).toBe('SL_ERR_CONFIG_INVALID');
      expect(error.message).toContain('schema version 999');
      expect(error.message).toContain(`"${schema}"`);
    });

    it('uses a schema an administrator created for a user who may not create schemas', async () => {
      const password = `pw-${randomBytes(8).toString('hex')}`;
      const user = `ctl_user_${randomBytes(4).toString('hex')}`;
      const schema = newSchema();
      await admin.query(`CREATE ROLE ${user} LOGIN PASSWORD '${password}'`);
      await admin.query(`CREATE SCHEMA ${schema} AUTHORIZATION ${user}`);
      const connection = `postgresql://${user}:${password}@${postgres.host}:${postgres.port}/${postgres.database}`;

      const store = controlStore({ connection, schema });
      await store.start();
      const org = await store.createOrg('acme');
      expect(await store.listOrgs()).toEqual([org]);

      // Without such a schema the same user is told what to grant, and the password stays out.
      const missing = newSchema();
      const error = await rejection(controlStore({ connection, schema: missing }).start());
      expect(error.code).toBe('SL_ERR_CONFIG_INVALID');
      expect(error.message).toContain(`user "${user}" may not set up schema "${missing}"`);
      expect(error.message).toContain(`CREATE SCHEMA "${missing}" AUTHORIZATION "${user}"`);
      expect(everythingShown(error)).not.toContain(password);
    });
  });

  describe('configuration errors at start', () => {
    it('says which host and port to check when nothing listens there, without the password', async () => {
      const port = await freePort();
      const password = 'not-shown-9f8e7d';
      const store = controlStore({
        connection: `postgresql://sightline:${password}@127.0.0.1:${port}/control`,
        connectTimeoutMs: 2_000,
      });
      const error = await rejection(store.start());
      expect(error.code).toBe('SL_ERR_STORE_UNAVAILABLE');
      expect(error.status).toBe(503);
      expect(error.message).toContain(
        `PostgreSQL at 127.0.0.1:${port} (database "control", user "sightline")`,
      );
      expect(error.message).toContain('ECONNREFUSED');
      expect(error.message).toContain('Check the host and port in control.postgres.url');
      expect(everythingShown(error)).not.toContain(password);
    });

    it('says to check the user and password when they are wrong, without the password', async () => {
      const password = 'wrong-password-1a2b3c';
      const store = controlStore({
        connection: `postgresql://postgres:${password}@${postgres.host}:${postgres.port}/postgres`,
      });
      const error = await rejection(store.start());
      expect(error.code).toBe('SL_ERR_CONFIG_INVALID');
      expect(error.message).toContain('password authentication failed for user "postgres"');
      expect(error.message).toContain('Check the user and password in control.postgres.url');
      expect(everythingShown(error)).not.toContain(password);
    });

    it('names the database when it does not exist', async () => {
      const store = controlStore({
        connection: `postgresql://postgres:${encodeURIComponent(postgres.password)}@${postgres.host}:${postgres.port}/nope_db`,
      });
      const error = await rejection(store.start());
      expect(error.code).toBe('SL_ERR_CONFIG_INVALID');
      expect(error.message).toContain('database "nope_db" does not exist');
      expect(everythingShown(error)).not.toContain(postgres.password);
    });

    it('accepts pool options instead of a URL', async () => {
      const store = controlStore({
        connection: {
          host: postgres.host,
          port: postgres.port,
          user: postgres.user,
          password: postgres.password,
          database: postgres.database,
        },
        schema: newSchema(),
      });
      await store.start();
      expect(await store.listOrgs()).toEqual([]);
    });

    it('refuses a schema name that is not a plain identifier, and a URL that is not one, echoing no secret', () => {
      expect(() => controlStore({ schema: 'x"; DROP TABLE orgs; --' })).toThrow(
        expect.objectContaining({ code: 'SL_ERR_CONFIG_INVALID' }) as Error,
      );
      expect(() => controlStore({ schema: 'pg_catalog' })).toThrow(/not a usable schema name/);
      let error: unknown;
      try {
        controlStore({ connection: 'mysql://root:hunter2-secret@db/x' });
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'SL_ERR_CONFIG_INVALID' });
      expect(everythingShown(error)).not.toContain('hunter2-secret');
    });
  });

  describe('sign-in and roles', () => {
    it('gives the keys of a schema from before roles admin, and the bootstrap keys owner', async () => {
      const schema = newSchema();
      const client = await admin.connect();
      try {
        await runControlMigrations(client, schema, CONTROL_MIGRATIONS.slice(0, 1));
        await client.query(`INSERT INTO "${schema}".orgs (id, name) VALUES ('org_1', 'default')`);
        for (const [id, name] of [
          ['k1', 'bootstrap'],
          ['k2', 'first key'],
          ['k3', 'ci'],
        ]) {
          await client.query(
            `INSERT INTO "${schema}".api_keys (id, org_id, name, prefix, key_hash) VALUES ($1, 'org_1', $2, 'sl_x', $1)`,
            [id, name],
          );
        }
      } finally {
        client.release();
      }
      const store = controlStore({ schema });
      await store.start();
      expect((await store.listApiKeys(orgId('org_1'))).map((k) => [k.name, k.role])).toEqual([
        ['bootstrap', 'owner'],
        ['first key', 'owner'],
        ['ci', 'admin'],
      ]);
    });

    it('`sightline user create` adds a user to the PostgreSQL control plane of the config', async () => {
      const schema = newSchema();
      const config = configSchema.parse({
        control: { type: 'postgres', postgres: { url: postgres.url, schema } },
      });
      const orgless = await rejection(
        withControlStore(config, silentLogger(), (control) =>
          createUser(control, { email: 'a@x.test', role: 'admin' }),
        ),
      );
      expect(orgless.message).toContain('start Sightline once first');
      const store = controlStore({ schema });
      await store.start();
      await store.createOrg('default');
      await store.createOrg('team');
      const created = await withControlStore(config, silentLogger(), (control) =>
        createUser(control, { email: 'Ana@X.test', role: 'admin', orgName: 'team' }),
      );
      expect(created.org.name).toBe('team');
      expect(created.user).toMatchObject({ email: 'ana@x.test', role: 'admin' });
      const signIn = await new SessionManager(store).signIn('ana@x.test', created.generatedPassword ?? '');
      expect(signIn.org.name).toBe('team');
      const unknownOrg = await rejection(
        withControlStore(config, silentLogger(), (control) =>
          createUser(control, { email: 'b@x.test', role: 'admin', orgName: 'nope' }),
        ),
      );
      expect(unknownOrg.message).toBe('there is no organization "nope"; there are: default, team');
    });

    it('keeps one owner when two requests demote the only two owners at the same time', async () => {
      const schema = newSchema();
      const [a, b] = [controlStore({ schema }), controlStore({ schema })];
      await a.start();
      await b.start();
      const org = await a.createOrg('acme');
      const first = await a.createUser({
        orgId: org.id,
        email: 'a@x.test',
        passwordHash: 'h',
        role: 'owner',
      });
      const second = await a.createUser({
        orgId: org.id,
        email: 'b@x.test',
        passwordHash: 'h',
        role: 'owner',
      });
      const results = await Promise.all([
        a.changeUserRole(org.id, first.id, 'admin'),
        b.disableUser(org.id, second.id),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['last_owner', 'ok']);
      const owners = (await a.listUsers(org.id)).filter((u) => u.role === 'owner' && u.disabledAt === null);
      expect(owners).toHaveLength(1);
    });
  });

  describe('lifecycle', () => {
    it('shuts down idempotently, also before start, and then refuses work with a retryable error', async () => {
      const never = controlStore();
      await never.shutdown();
      await never.shutdown();

      const store = controlStore({ schema: newSchema() });
      await store.start();
      await Promise.all([store.shutdown(), store.shutdown()]);
      const error = await rejection(store.listOrgs());
      expect(error.code).toBe('SL_ERR_SHUTTING_DOWN');
      expect(error.retryable).toBe(true);
    });

    it('answers a lookup after its connections were terminated under it', async () => {
      const store = controlStore({ schema: newSchema() });
      await store.start();
      const org = await store.createOrg('acme');
      const terminated = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE application_name = 'sightline-control' AND pid <> pg_backend_pid()`,
      );
      expect(terminated.rowCount).toBeGreaterThan(0);
      expect(await store.listOrgs()).toEqual([org]);
    });
  });

  // Last in the file: it stops the one server the file shares.
  describe('PostgreSQL stopped and started again', () => {
    it('answers 503 (retryable, not 401 or 500) while it is down and works again after', async () => {
      const store = controlStore({ schema: newSchema(), connectTimeoutMs: 2_000 });
      await store.start();
      const org = await store.createOrg('acme');
      const key = generateApiKey();
      await store.createApiKey({
        orgId: org.id,
        name: 'k',
        prefix: displayPrefix(key),
        keyHash: hashApiKey(key),
      });
      const authenticator = new ApiKeyAuthenticator(store, { cacheTtlMs: 0, negativeTtlMs: 0 });

      await postgres.pause();
      try {
        for (const attempt of [
          () => store.findApiKeyByHash(hashApiKey(key)),
          () => store.listOrgs(),
          () => store.createOrg('other'),
          () => authenticator.authenticate({ authorization: `Bearer ${key}` }),
        ]) {
          const error = await rejection(attempt());
          expect(error.code).toBe('SL_ERR_STORE_UNAVAILABLE');
          expect(error.status).toBe(503);
          expect(error.retryable).toBe(true);
          expect(error.retryAfterSeconds).toBe(5);
          expect(error.message).toContain(`PostgreSQL at ${postgres.host}:${postgres.port}`);
          expect(everythingShown(error)).not.toContain(postgres.password);
        }
        // A store starting while the server is down is told to retry, not that its config is wrong.
        const starting = await rejection(
          controlStore({ schema: newSchema(), connectTimeoutMs: 2_000 }).start(),
        );
        expect(starting.code).toBe('SL_ERR_STORE_UNAVAILABLE');
      } finally {
        await postgres.resume();
      }

      expect(await authenticator.authenticate({ authorization: `Bearer ${key}` })).toMatchObject({
        orgId: org.id,
      });
      expect((await store.listOrgs()).map((o) => o.name)).toEqual(['acme']);
      expect((await store.createOrg('other')).name).toBe('other');
    });
  });
});
