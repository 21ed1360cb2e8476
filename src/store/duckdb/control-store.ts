import type { DuckDBConnection } from '@duckdb/node-api';
import { SightlineError, errorMessage } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import {
  isRole,
  type ApiKeyRecord,
  type ControlStore,
  type Org,
  type Role,
  type SessionRecord,
  type UserChange,
  type UserCredentials,
  type UserRecord,
} from '../control-store.js';
import { orgId, type OrgId } from '../rows.js';
import type { DuckDBDatabase } from './database.js';

type Params = Record<string, string | bigint>;

/** A key's role is in api_key_roles (control-schema.ts says why); no row reads as admin. */
const KEYS = `SELECT k.id, k.org_id, k.name, k.prefix, r.role, k.created_at, k.revoked_at
  FROM api_keys k LEFT JOIN api_key_roles r ON r.key_id = k.id`;
const USER_COLUMNS = 'id, org_id, email, role, created_at, disabled_at';

/** The control plane in the embedded DuckDB file (scale-out keeps it in PostgreSQL). */
export class DuckDBControlStore implements ControlStore {
  /** Changes to users run one at a time, so two cannot each leave the other as the last owner. */
  private userChanges: Promise<unknown> = Promise.resolve();

  constructor(private readonly database: DuckDBDatabase) {}

  async listOrgs(): Promise<Org[]> {
    const rows = await this.query('SELECT id, name, created_at FROM orgs ORDER BY created_at, id', {});
    return rows.map(toOrg);
  }

  async createOrg(name: string): Promise<Org> {
    const id = newId('org');
    const rows = await this.query(
      `INSERT INTO orgs (id, name, created_at) VALUES ($id, $name, ${UTC_NOW}) RETURNING id, name, created_at`,
      {
        id,
        name,
      },
    );
    return toOrg(rows[0] ?? {});
  }

  async getOrg(id: OrgId): Promise<Org | undefined> {
    const rows = await this.query('SELECT id, name, created_at FROM orgs WHERE id = $id', { id });
    return rows[0] === undefined ? undefined : toOrg(rows[0]);
  }

  async createApiKey(input: {
    orgId: OrgId;
    name: string;
    prefix: string;
    keyHash: string;
    role?: Role;
  }): Promise<ApiKeyRecord> {
    const id = newId('key');
    await this.database.withConnection(async (connection) => {
      await connection.run('BEGIN TRANSACTION');
      try {
        await connection.run(
          `INSERT INTO api_keys (id, org_id, name, prefix, key_hash, created_at)
           VALUES ($id, $orgId, $name, $prefix, $keyHash, ${UTC_NOW})`,
          { id, orgId: input.orgId, name: input.name, prefix: input.prefix, keyHash: input.keyHash },
        );
        await connection.run('INSERT INTO api_key_roles (key_id, role) VALUES ($id, $role)', {
          id,
          role: input.role ?? 'admin',
        });
        await connection.run('COMMIT');
      } catch (error) {
        await connection.run('ROLLBACK');
        throw error;
      }
    });
    const rows = await this.query(`${KEYS} WHERE k.id = $id`, { id });
    return toApiKey(rows[0] ?? {});
  }

  async findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const rows = await this.query(`${KEYS} WHERE k.key_hash = $keyHash`, { keyHash });
    return rows[0] === undefined ? undefined : toApiKey(rows[0]);
  }

  async listApiKeys(orgId: OrgId): Promise<ApiKeyRecord[]> {
    const rows = await this.query(`${KEYS} WHERE k.org_id = $orgId ORDER BY k.created_at, k.id`, { orgId });
    return rows.map(toApiKey);
  }

  async revokeApiKey(orgId: OrgId, id: string): Promise<ApiKeyRecord | undefined> {
    await this.query(
      `UPDATE api_keys SET revoked_at = ${UTC_NOW} WHERE org_id = $orgId AND id = $id AND revoked_at IS NULL`,
      { orgId, id },
    );
    const rows = await this.query(`${KEYS} WHERE k.org_id = $orgId AND k.id = $id`, { orgId, id });
    return rows[0] === undefined ? undefined : toApiKey(rows[0]);
  }

  async createUser(input: {
    orgId: OrgId;
    email: string;
    passwordHash: string;
    role: Role;
  }): Promise<UserRecord> {
    try {
      const rows = await this.query(
        `INSERT INTO users (id, org_id, email, password_hash, role, created_at)
         VALUES ($id, $orgId, $email, $passwordHash, $role, ${UTC_NOW})
         RETURNING ${USER_COLUMNS}`,
        { id: newId('usr'), ...input },
      );
      return toUser(rows[0] ?? {});
    } catch (error) {
      if (/Duplicate key "email/i.test(errorMessage(error))) throw emailInUse(input.email, error);
      if (/foreign key/i.test(errorMessage(error))) {
        throw new SightlineError('SL_ERR_NOT_FOUND', `org ${input.orgId} does not exist`, { cause: error });
      }
      throw error;
    }
  }

  async findUserByEmail(email: string): Promise<UserCredentials | undefined> {
    const rows = await this.query(`SELECT ${USER_COLUMNS}, password_hash FROM users WHERE email = $email`, {
      email,
    });
    const row = rows[0];
    return row === undefined ? undefined : { ...toUser(row), passwordHash: String(row.password_hash) };
  }

  async getUser(orgId: OrgId, id: string): Promise<UserRecord | undefined> {
    const rows = await this.query(`SELECT ${USER_COLUMNS} FROM users WHERE org_id = $orgId AND id = $id`, {
      orgId,
      id,
    });
    return rows[0] === undefined ? undefined : toUser(rows[0]);
  }

  async listUsers(orgId: OrgId): Promise<UserRecord[]> {
    const rows = await this.query(
      `SELECT ${USER_COLUMNS} FROM users WHERE org_id = $orgId ORDER BY created_at, id`,
      { orgId },
    );
    return rows.map(toUser);
  }

  changeUserRole(orgId: OrgId, id: string, role: Role): Promise<UserChange> {
    return this.changeUser(orgId, id, role === 'owner', async (connection) => {
      await connection.run('UPDATE users SET role = $role WHERE org_id = $orgId AND id = $id', {
        role,
        orgId,
        id,
      });
    });
  }

  disableUser(orgId: OrgId, id: string): Promise<UserChange> {
    return this.changeUser(orgId, id, false, async (connection) => {
      await connection.run(
        `UPDATE users SET disabled_at = ${UTC_NOW} WHERE org_id = $orgId AND id = $id AND disabled_at IS NULL`,
        { orgId, id },
      );
      await connection.run('DELETE FROM sessions WHERE user_id = $id', { id });
    });
  }

  changeUserPassword(
    orgId: OrgId,
    id: string,
    passwordHash: string,
    keepTokenHash: string,
  ): Promise<boolean> {
    return this.database.withConnection(async (connection) => {
      await connection.run('BEGIN TRANSACTION');
      try {
        const updated = (
          await connection.runAndReadAll(
            'UPDATE users SET password_hash = $passwordHash WHERE org_id = $orgId AND id = $id RETURNING id',
            { passwordHash, orgId, id },
          )
        ).getRowObjectsJS();
        await connection.run(
          'DELETE FROM sessions WHERE org_id = $orgId AND user_id = $id AND token_hash <> $keepTokenHash',
          { orgId, id, keepTokenHash },
        );
        await connection.run('COMMIT');
        return updated.length > 0;
      } catch (error) {
        await connection.run('ROLLBACK');
        throw error;
      }
    });
  }

  async createSession(input: SessionRecord & { tokenHash: string }): Promise<void> {
    await this.query(
      `INSERT INTO sessions (token_hash, org_id, user_id, created_at, expires_at)
       VALUES ($tokenHash, $orgId, $userId, make_timestamp(CAST($createdAt AS BIGINT)), make_timestamp(CAST($expiresAt AS BIGINT)))`,
      {
        tokenHash: input.tokenHash,
        orgId: input.orgId,
        userId: input.userId,
        createdAt: micros(input.createdAt),
        expiresAt: micros(input.expiresAt),
      },
    );
  }

  async findSession(tokenHash: string): Promise<{ session: SessionRecord; user: UserRecord } | undefined> {
    const rows = await this.query(
      `SELECT s.created_at AS session_created_at, s.expires_at, ${USER_COLUMNS.split(', ')
        .map((c) => `u.${c}`)
        .join(', ')}
       FROM sessions s JOIN users u ON u.id = s.user_id AND u.org_id = s.org_id
       WHERE s.token_hash = $tokenHash`,
      { tokenHash },
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    const user = toUser(row);
    return {
      session: {
        orgId: user.orgId,
        userId: user.id,
        createdAt: toDate(row.session_created_at),
        expiresAt: toDate(row.expires_at),
      },
      user,
    };
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.query('DELETE FROM sessions WHERE token_hash = $tokenHash', { tokenHash });
  }

  async deleteExpiredSessions(now: Date): Promise<number> {
    const rows = await this.query(
      'DELETE FROM sessions WHERE expires_at <= make_timestamp(CAST($now AS BIGINT)) RETURNING token_hash',
      { now: micros(now) },
    );
    return rows.length;
  }

  /**
   * Runs `change` in a transaction unless it would leave the org without an enabled owner:
   * `staysOwner` says whether the user is still an enabled owner afterwards.
   */
  private changeUser(
    orgId: OrgId,
    id: string,
    staysOwner: boolean,
    change: (connection: DuckDBConnection) => Promise<void>,
  ): Promise<UserChange> {
    const run = async (): Promise<UserChange> =>
      this.database.withConnection(async (connection) => {
        await connection.run('BEGIN TRANSACTION');
        try {
          const result = await this.changeIn(connection, orgId, id, staysOwner, change);
          await connection.run(result.status === 'ok' ? 'COMMIT' : 'ROLLBACK');
          return result;
        } catch (error) {
          await connection.run('ROLLBACK');
          throw error;
        }
      });
    const result = this.userChanges.then(run, run);
    this.userChanges = result.catch(() => undefined);
    return result;
  }

  private async changeIn(
    connection: DuckDBConnection,
    orgId: OrgId,
    id: string,
    staysOwner: boolean,
    change: (connection: DuckDBConnection) => Promise<void>,
  ): Promise<UserChange> {
    const read = async (sql: string, params: Params) =>
      (await connection.runAndReadAll(sql, params)).getRowObjectsJS();
    const before = (
      await read(`SELECT ${USER_COLUMNS} FROM users WHERE org_id = $orgId AND id = $id`, { orgId, id })
    )[0];
    if (before === undefined) return { status: 'not_found' };
    const wasOwner = toUser(before).role === 'owner' && toUser(before).disabledAt === null;
    if (wasOwner && !staysOwner) {
      const others = await read(
        `SELECT count(*) AS n FROM users
         WHERE org_id = $orgId AND id <> $id AND role = 'owner' AND disabled_at IS NULL`,
        { orgId, id },
      );
      if (Number(others[0]?.n ?? 0) === 0) return { status: 'last_owner' };
    }
    await change(connection);
    const after = (
      await read(`SELECT ${USER_COLUMNS} FROM users WHERE org_id = $orgId AND id = $id`, { orgId, id })
    )[0];
    return { status: 'ok', user: toUser(after ?? before) };
  }

  private query(sql: string, params: Params): Promise<Record<string, unknown>[]> {
    return this.database.withConnection(async (connection) => {
      const reader = await connection.runAndReadAll(sql, params);
      return reader.getRowObjectsJS();
    });
  }
}

function emailInUse(email: string, cause: unknown): SightlineError {
  return new SightlineError(
    'SL_ERR_CONFLICT',
    `a user with the email ${email} exists already; choose another email`,
    { cause },
  );
}

function micros(date: Date): bigint {
  return BigInt(date.getTime()) * 1000n;
}

function toOrg(row: Record<string, unknown>): Org {
  return { id: orgId(String(row.id)), name: String(row.name), createdAt: toDate(row.created_at) };
}

function toApiKey(row: Record<string, unknown>): ApiKeyRecord {
  return {
    id: String(row.id),
    orgId: orgId(String(row.org_id)),
    name: String(row.name),
    prefix: String(row.prefix),
    // NULL for keys made before roles (control-schema.ts).
    role: isRole(row.role) ? row.role : 'admin',
    createdAt: toDate(row.created_at),
    revokedAt: row.revoked_at === null || row.revoked_at === undefined ? null : toDate(row.revoked_at),
  };
}

function toUser(row: Record<string, unknown>): UserRecord {
  return {
    id: String(row.id),
    orgId: orgId(String(row.org_id)),
    email: String(row.email),
    role: isRole(row.role) ? row.role : 'viewer',
    createdAt: toDate(row.created_at),
    disabledAt: row.disabled_at === null || row.disabled_at === undefined ? null : toDate(row.disabled_at),
  };
}

/**
 * The columns are TIMESTAMP (no zone) and read back as UTC; the column default
 * (`current_timestamp`) would store the machine's local time instead.
 */
const UTC_NOW = "(current_timestamp AT TIME ZONE 'UTC')";

function toDate(value: unknown): Date {
  return value instanceof Date ? value : new Date(String(value));
}
