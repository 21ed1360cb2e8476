import type { Migration } from './migrations.js';

/**
 * Sign-in and roles in the embedded control plane (the same meaning as migration 2 of the
 * PostgreSQL control plane, postgres/migrations.ts). A key's role lives in a table of its own,
 * not in a new column: DuckDB (1.5) cannot replay from its WAL an ALTER TABLE of a table with a
 * `DEFAULT current_timestamp` column ("GetDefaultDatabase with no default database set"), so a
 * crash before the next checkpoint would leave the data dir unopenable. Keys without a row are
 * read as 'admin', like the keys made before roles; the keys bootstrap made (the printed one, a
 * --bootstrap-key) become 'owner'. The new tables have no column defaults, so they can be
 * altered later, and `sessions` no foreign key to `users` (DuckDB would then refuse updates of
 * a user's row).
 */
export const CONTROL_AUTH_MIGRATION: Migration = {
  version: 8,
  name: 'control plane: api_key_roles, users, sessions',
  statements: [
    `CREATE TABLE api_key_roles (
      key_id VARCHAR PRIMARY KEY,
      role VARCHAR NOT NULL
    )`,
    `INSERT INTO api_key_roles (key_id, role)
      SELECT id, CASE WHEN name IN ('bootstrap', 'first key') THEN 'owner' ELSE 'admin' END FROM api_keys`,
    `CREATE TABLE users (
      id VARCHAR PRIMARY KEY,
      org_id VARCHAR NOT NULL REFERENCES orgs (id),
      email VARCHAR NOT NULL UNIQUE,
      password_hash VARCHAR NOT NULL,
      role VARCHAR NOT NULL,
      created_at TIMESTAMP NOT NULL,
      disabled_at TIMESTAMP
    )`,
    `CREATE TABLE sessions (
      token_hash VARCHAR PRIMARY KEY,
      org_id VARCHAR NOT NULL,
      user_id VARCHAR NOT NULL,
      created_at TIMESTAMP NOT NULL,
      expires_at TIMESTAMP NOT NULL
    )`,
  ],
};
