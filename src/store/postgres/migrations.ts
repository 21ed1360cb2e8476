import type pg from 'pg';
import { SightlineError } from '../../core/errors.js';

export interface PostgresMigration {
  version: number;
  name: string;
  /** Run with `search_path` set to the control-plane schema, so names are unqualified. */
  statements: readonly string[];
}

export interface PostgresMigrationReport {
  applied: number[];
  current: number;
}

/**
 * The control plane's schema in PostgreSQL, as an append-only list (a released migration is
 * never edited, a change is a new one). The same tables and meaning as migration 2 of the
 * DuckDB file (duckdb/migrations.ts), in PostgreSQL's own types; versions are counted apart
 * from the DuckDB ones, since the two never share a database.
 */
export const CONTROL_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'control plane: orgs, api_keys',
    statements: [
      `CREATE TABLE orgs (
        id text PRIMARY KEY,
        name text NOT NULL CONSTRAINT orgs_name_key UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE TABLE api_keys (
        id text PRIMARY KEY,
        org_id text NOT NULL REFERENCES orgs (id),
        name text NOT NULL,
        prefix text NOT NULL,
        key_hash text NOT NULL CONSTRAINT api_keys_key_hash_key UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      )`,
      // The foreign key's referencing side has no index of its own in PostgreSQL.
      'CREATE INDEX api_keys_org_id_idx ON api_keys (org_id)',
    ],
  },
  {
    version: 2,
    name: 'control plane: api_keys.role, users, sessions',
    // The same meaning as migration 8 of the DuckDB file (duckdb/control-schema.ts): keys made
    // before roles become admin, the ones bootstrap made (printed or --bootstrap-key) owner.
    statements: [
      `ALTER TABLE api_keys ADD COLUMN role text NOT NULL DEFAULT 'admin'
        CONSTRAINT api_keys_role_check CHECK (role IN ('viewer', 'member', 'admin', 'owner'))`,
      "UPDATE api_keys SET role = 'owner' WHERE name IN ('bootstrap', 'first key')",
      `CREATE TABLE users (
        id text PRIMARY KEY,
        org_id text NOT NULL REFERENCES orgs (id),
        email text NOT NULL CONSTRAINT users_email_key UNIQUE,
        password_hash text NOT NULL,
        role text NOT NULL CONSTRAINT users_role_check CHECK (role IN ('viewer', 'member', 'admin', 'owner')),
        created_at timestamptz NOT NULL DEFAULT now(),
        disabled_at timestamptz
      )`,
      'CREATE INDEX users_org_id_idx ON users (org_id)',
      `CREATE TABLE sessions (
        token_hash text PRIMARY KEY,
        org_id text NOT NULL REFERENCES orgs (id),
        user_id text NOT NULL REFERENCES users (id),
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL
      )`,
      'CREATE INDEX sessions_user_id_idx ON sessions (user_id)',
      'CREATE INDEX sessions_expires_at_idx ON sessions (expires_at)',
    ],
  },
];

/**
 * A schema name: checked here because it is spliced into SQL as an identifier (PostgreSQL
 * cannot take identifiers as parameters). Lower case only, so the quoted name is the one a
 * person types unquoted in psql; `pg_` is reserved for system schemas.
 */
export const SCHEMA_NAME_PATTERN = /^(?!pg_)[a-z_][a-z0-9_]{0,62}$/;

export function quoteSchema(schema: string): string {
  if (!SCHEMA_NAME_PATTERN.test(schema)) {
    throw new SightlineError(
      'SL_ERR_CONFIG_INVALID',
      `control.postgres.schema "${schema}" is not a usable schema name: use lower-case letters, digits ` +
        'and _, start with a letter or _, not with pg_, at most 63 characters',
    );
  }
  return `"${schema}"`;
}

/**
 * Every migration of this process and of the others sharing the database takes this lock
 * first, so roles starting together apply each migration once. A transaction-level advisory
 * lock is released by COMMIT, ROLLBACK or a lost connection, so a crashed process never
 * leaves it held. The second key is the schema's hash: two schemas migrate independently.
 */
const LOCK_CLASS = 0x536c6374; // "Slct"

/** A migration only waits for another process's migration; this bounds a stuck one. */
const MIGRATION_TIMEOUT = '60s';

export async function runControlMigrations(
  client: pg.ClientBase,
  schema: string,
  migrations: readonly PostgresMigration[] = CONTROL_MIGRATIONS,
): Promise<PostgresMigrationReport> {
  const quoted = quoteSchema(schema);
  const newest = Math.max(0, ...migrations.map((m) => m.version));

  const done = await inLockedTransaction(client, schema, async () => {
    // CREATE SCHEMA IF NOT EXISTS checks the CREATE privilege on the database before it
    // looks whether the schema exists, so a schema created for a less privileged user by
    // its administrator would fail it: only create what is missing.
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${quoted}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${quoted}.schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    return appliedVersions(client, quoted);
  });
  const stored = Math.max(0, ...done);
  if (stored > newest) {
    throw new SightlineError(
      'SL_ERR_CONFIG_INVALID',
      `the control-plane schema "${schema}" holds schema version ${stored}, newer than this Sightline knows ` +
        `(${newest}). Run the newer Sightline that wrote it, or point control.postgres.schema at another schema.`,
    );
  }

  const applied: number[] = [];
  for (const migration of migrations) {
    if (done.has(migration.version)) continue;
    const ran = await inLockedTransaction(client, schema, async () => {
      // Another process may have applied it while this one waited for the lock.
      if ((await appliedVersions(client, quoted)).has(migration.version)) return false;
      await client.query(`SET LOCAL search_path TO ${quoted}`);
      for (const statement of migration.statements) await client.query(statement);
      await client.query(`INSERT INTO ${quoted}.schema_migrations (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      return true;
    });
    if (ran) applied.push(migration.version);
  }
  return { applied, current: newest };
}

async function appliedVersions(client: pg.ClientBase, quoted: string): Promise<Set<number>> {
  const result = await client.query<{ version: number }>(`SELECT version FROM ${quoted}.schema_migrations`);
  return new Set(result.rows.map((row) => Number(row.version)));
}

async function inLockedTransaction<T>(
  client: pg.ClientBase,
  schema: string,
  work: () => Promise<T>,
): Promise<T> {
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL statement_timeout = '${MIGRATION_TIMEOUT}'`);
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS, schema]);
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // A lost connection cannot roll back; the server does it when the session ends.
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
