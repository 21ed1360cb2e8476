import pg from 'pg';
import type { Component } from '../../core/component.js';
import { SightlineError, errorMessage } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import type { Logger } from '../../core/logger.js';
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
import {
  endpointOf,
  failureKind,
  serveError,
  startError,
  type PostgresConnection,
  type PostgresEndpoint,
} from './connection.js';
import { quoteSchema, runControlMigrations, type PostgresMigrationReport } from './migrations.js';

export const DEFAULT_CONTROL_SCHEMA = 'sightline';

export interface PostgresControlStoreOptions {
  /** postgresql://user:password@host:port/database, or pg's pool options (host, port, user, password, …). */
  connection: PostgresConnection;
  /** The schema holding the tables, created at start when missing (default `sightline`). */
  schema?: string;
  /** Most connections this process opens (default 4: lookups are short and cached by the authenticator). */
  maxConnections?: number;
  /** How long opening a connection may take before the server counts as unreachable (default 5 s). */
  connectTimeoutMs?: number;
  /** Server-side limit of one statement (default 10 s), so a stuck server answers 503, not never. */
  statementTimeoutMs?: number;
  /** Sent with the 503 when the server is unavailable (default 5 s). */
  retryAfterSeconds?: number;
}

interface OrgRow {
  id: string;
  name: string;
  created_at: Date;
}

interface ApiKeyRow {
  id: string;
  org_id: string;
  name: string;
  prefix: string;
  role: string;
  created_at: Date;
  revoked_at: Date | null;
}

interface UserRow {
  id: string;
  org_id: string;
  email: string;
  role: string;
  created_at: Date;
  disabled_at: Date | null;
  password_hash?: string;
}

type StatementName =
  | 'listOrgs'
  | 'createOrg'
  | 'getOrg'
  | 'createApiKey'
  | 'findApiKey'
  | 'listApiKeys'
  | 'revokeApiKey'
  | 'createUser'
  | 'findUserByEmail'
  | 'getUser'
  | 'listUsers'
  | 'lockOrg'
  | 'otherOwners'
  | 'setRole'
  | 'disable'
  | 'endUserSessions'
  | 'setPassword'
  | 'endOtherSessions'
  | 'createSession'
  | 'findSession'
  | 'deleteSession'
  | 'deleteExpiredSessions';

/**
 * The control plane in PostgreSQL, reachable by every role in scale-out (embedded mode keeps
 * it in the DuckDB file: duckdb/control-store.ts). `start` applies the migrations; the tables
 * live in one schema so the control plane can share a database.
 */
export class PostgresControlStore implements ControlStore, Component {
  private readonly pool: pg.Pool;
  private readonly endpoint: PostgresEndpoint;
  private readonly schema: string;
  private readonly retryAfterSeconds: number;
  private readonly sql: Record<StatementName, string>;
  private started = false;
  private stopping: Promise<void> | undefined;

  constructor(
    options: PostgresControlStoreOptions,
    private readonly logger: Logger,
  ) {
    this.schema = options.schema ?? DEFAULT_CONTROL_SCHEMA;
    const s = quoteSchema(this.schema);
    this.endpoint = endpointOf(options.connection);
    this.retryAfterSeconds = options.retryAfterSeconds ?? 5;
    const base: pg.PoolConfig =
      typeof options.connection === 'string' ? { connectionString: options.connection } : options.connection;
    this.pool = new pg.Pool({
      application_name: 'sightline-control',
      ...base,
      max: options.maxConnections ?? base.max ?? 4,
      connectionTimeoutMillis: options.connectTimeoutMs ?? base.connectionTimeoutMillis ?? 5_000,
      statement_timeout: options.statementTimeoutMs ?? base.statement_timeout ?? 10_000,
      // A peer that vanished without closing the socket is noticed instead of waited on forever.
      keepAlive: true,
    });
    // An idle connection the server drops emits 'error' on the pool; unheard, it would crash the process.
    this.pool.on('error', (error) => {
      this.logger.warn(
        { err: errorMessage(error) },
        'control-plane PostgreSQL connection lost; it is reopened on demand',
      );
    });
    const keyColumns = 'id, org_id, name, prefix, role, created_at, revoked_at';
    const userColumns = 'id, org_id, email, role, created_at, disabled_at';
    this.sql = {
      listOrgs: `SELECT id, name, created_at FROM ${s}.orgs ORDER BY created_at, id`,
      createOrg: `INSERT INTO ${s}.orgs (id, name) VALUES ($1, $2) RETURNING id, name, created_at`,
      getOrg: `SELECT id, name, created_at FROM ${s}.orgs WHERE id = $1`,
      createApiKey: `INSERT INTO ${s}.api_keys (id, org_id, name, prefix, key_hash, role) VALUES ($1, $2, $3, $4, $5, $6)
        RETURNING ${keyColumns}`,
      findApiKey: `SELECT ${keyColumns} FROM ${s}.api_keys WHERE key_hash = $1`,
      listApiKeys: `SELECT ${keyColumns} FROM ${s}.api_keys WHERE org_id = $1 ORDER BY created_at, id`,
      // COALESCE keeps the first revocation time of a key revoked twice.
      revokeApiKey: `UPDATE ${s}.api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE org_id = $1 AND id = $2
        RETURNING ${keyColumns}`,
      createUser: `INSERT INTO ${s}.users (id, org_id, email, password_hash, role) VALUES ($1, $2, $3, $4, $5)
        RETURNING ${userColumns}`,
      findUserByEmail: `SELECT ${userColumns}, password_hash FROM ${s}.users WHERE email = $1`,
      getUser: `SELECT ${userColumns} FROM ${s}.users WHERE org_id = $1 AND id = $2`,
      listUsers: `SELECT ${userColumns} FROM ${s}.users WHERE org_id = $1 ORDER BY created_at, id`,
      // Changes to an org's users take the org's row lock first, so two of them cannot each
      // see the other owner and together remove both.
      lockOrg: `SELECT id FROM ${s}.orgs WHERE id = $1 FOR UPDATE`,
      otherOwners: `SELECT count(*)::int AS n FROM ${s}.users
        WHERE org_id = $1 AND id <> $2 AND role = 'owner' AND disabled_at IS NULL`,
      setRole: `UPDATE ${s}.users SET role = $3 WHERE org_id = $1 AND id = $2 RETURNING ${userColumns}`,
      disable: `UPDATE ${s}.users SET disabled_at = COALESCE(disabled_at, now()) WHERE org_id = $1 AND id = $2
        RETURNING ${userColumns}`,
      endUserSessions: `DELETE FROM ${s}.sessions WHERE org_id = $1 AND user_id = $2`,
      setPassword: `UPDATE ${s}.users SET password_hash = $3 WHERE org_id = $1 AND id = $2 RETURNING id`,
      endOtherSessions: `DELETE FROM ${s}.sessions WHERE org_id = $1 AND user_id = $2 AND token_hash <> $3`,
      createSession: `INSERT INTO ${s}.sessions (token_hash, org_id, user_id, created_at, expires_at)
        VALUES ($1, $2, $3, $4, $5)`,
      findSession: `SELECT s.created_at AS session_created_at, s.expires_at,
          u.id, u.org_id, u.email, u.role, u.created_at, u.disabled_at
        FROM ${s}.sessions s JOIN ${s}.users u ON u.id = s.user_id AND u.org_id = s.org_id
        WHERE s.token_hash = $1`,
      deleteSession: `DELETE FROM ${s}.sessions WHERE token_hash = $1`,
      deleteExpiredSessions: `DELETE FROM ${s}.sessions WHERE expires_at <= $1`,
    };
  }

  /** Applies the migrations (once, whichever of the processes starting together gets there first). */
  async start(): Promise<void> {
    if (this.stopping !== undefined) throw stoppedError();
    if (this.started) return;
    let report: PostgresMigrationReport;
    try {
      const client = await this.pool.connect();
      try {
        report = await runControlMigrations(client, this.schema);
        client.release();
      } catch (error) {
        // Passing the error destroys the connection instead of returning it mid-transaction.
        client.release(error instanceof Error ? error : new Error(String(error)));
        throw error;
      }
    } catch (error) {
      // The pool stays open: start may be called again (a supervisor retrying while PostgreSQL boots).
      throw startError(error, this.endpoint, this.schema);
    }
    if (report.applied.length > 0) {
      this.logger.info({ applied: report.applied, schema: this.schema }, 'applied control-plane migrations');
    }
    this.started = true;
  }

  /** Closes the connections; idempotent and safe before start. */
  shutdown(): Promise<void> {
    this.stopping ??= this.pool.end().catch((error: unknown) => {
      this.logger.warn({ err: errorMessage(error) }, 'closing the control-plane connections failed');
    });
    return this.stopping;
  }

  async listOrgs(): Promise<Org[]> {
    const rows = await this.read<OrgRow>(this.sql.listOrgs, []);
    return rows.map(toOrg);
  }

  async createOrg(name: string): Promise<Org> {
    try {
      const rows = await this.write<OrgRow>(this.sql.createOrg, [newId('org'), name]);
      return toOrg(single(rows));
    } catch (error) {
      if (constraint(error) === 'orgs_name_key') {
        throw new SightlineError(
          'SL_ERR_BAD_REQUEST',
          `an org named "${name}" exists already; choose another name`,
          {
            cause: error,
          },
        );
      }
      throw error;
    }
  }

  async getOrg(id: OrgId): Promise<Org | undefined> {
    const rows = await this.read<OrgRow>(this.sql.getOrg, [id]);
    return rows[0] === undefined ? undefined : toOrg(rows[0]);
  }

  async createApiKey(input: {
    orgId: OrgId;
    name: string;
    prefix: string;
    keyHash: string;
    role?: Role;
  }): Promise<ApiKeyRecord> {
    try {
      const rows = await this.write<ApiKeyRow>(this.sql.createApiKey, [
        newId('key'),
        input.orgId,
        input.name,
        input.prefix,
        input.keyHash,
        input.role ?? 'admin',
      ]);
      return toApiKey(single(rows));
    } catch (error) {
      const violated = constraint(error);
      if (violated === 'api_keys_key_hash_key') {
        throw new SightlineError(
          'SL_ERR_BAD_REQUEST',
          'this API key is registered already; generate a new key',
          {
            cause: error,
          },
        );
      }
      if (violated === 'api_keys_org_id_fkey') {
        throw new SightlineError(
          'SL_ERR_NOT_FOUND',
          `org ${input.orgId} does not exist; create the org first`,
          {
            cause: error,
          },
        );
      }
      throw error;
    }
  }

  /** A revoked key is returned with its revokedAt, as the DuckDB store does: the authenticator refuses it. */
  async findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const rows = await this.read<ApiKeyRow>(this.sql.findApiKey, [keyHash]);
    return rows[0] === undefined ? undefined : toApiKey(rows[0]);
  }

  async listApiKeys(orgId: OrgId): Promise<ApiKeyRecord[]> {
    return (await this.read<ApiKeyRow>(this.sql.listApiKeys, [orgId])).map(toApiKey);
  }

  async revokeApiKey(orgId: OrgId, id: string): Promise<ApiKeyRecord | undefined> {
    const rows = await this.write<ApiKeyRow>(this.sql.revokeApiKey, [orgId, id]);
    return rows[0] === undefined ? undefined : toApiKey(rows[0]);
  }

  async createUser(input: {
    orgId: OrgId;
    email: string;
    passwordHash: string;
    role: Role;
  }): Promise<UserRecord> {
    try {
      const rows = await this.write<UserRow>(this.sql.createUser, [
        newId('usr'),
        input.orgId,
        input.email,
        input.passwordHash,
        input.role,
      ]);
      return toUser(single(rows));
    } catch (error) {
      const violated = constraint(error);
      if (violated === 'users_email_key') {
        throw new SightlineError(
          'SL_ERR_CONFLICT',
          `a user with the email ${input.email} exists already; choose another email`,
          { cause: error },
        );
      }
      if (violated === 'users_org_id_fkey') {
        throw new SightlineError('SL_ERR_NOT_FOUND', `org ${input.orgId} does not exist`, { cause: error });
      }
      throw error;
    }
  }

  async findUserByEmail(email: string): Promise<UserCredentials | undefined> {
    const row = (await this.read<UserRow>(this.sql.findUserByEmail, [email]))[0];
    return row === undefined ? undefined : { ...toUser(row), passwordHash: row.password_hash ?? '' };
  }

  async getUser(orgId: OrgId, id: string): Promise<UserRecord | undefined> {
    const row = (await this.read<UserRow>(this.sql.getUser, [orgId, id]))[0];
    return row === undefined ? undefined : toUser(row);
  }

  async listUsers(orgId: OrgId): Promise<UserRecord[]> {
    return (await this.read<UserRow>(this.sql.listUsers, [orgId])).map(toUser);
  }

  changeUserRole(orgId: OrgId, id: string, role: Role): Promise<UserChange> {
    return this.changeUser(orgId, id, role === 'owner', async (client) =>
      single((await client.query<UserRow>(this.sql.setRole, [orgId, id, role])).rows),
    );
  }

  disableUser(orgId: OrgId, id: string): Promise<UserChange> {
    return this.changeUser(orgId, id, false, async (client) => {
      const row = single((await client.query<UserRow>(this.sql.disable, [orgId, id])).rows);
      await client.query(this.sql.endUserSessions, [orgId, id]);
      return row;
    });
  }

  async changeUserPassword(
    orgId: OrgId,
    id: string,
    passwordHash: string,
    keepTokenHash: string,
  ): Promise<boolean> {
    return this.inTransaction(async (client) => {
      const updated = (await client.query(this.sql.setPassword, [orgId, id, passwordHash])).rows.length > 0;
      await client.query(this.sql.endOtherSessions, [orgId, id, keepTokenHash]);
      return updated;
    });
  }

  async createSession(input: SessionRecord & { tokenHash: string }): Promise<void> {
    await this.write(this.sql.createSession, [
      input.tokenHash,
      input.orgId,
      input.userId,
      input.createdAt,
      input.expiresAt,
    ]);
  }

  async findSession(tokenHash: string): Promise<{ session: SessionRecord; user: UserRecord } | undefined> {
    const row = (
      await this.read<UserRow & { session_created_at: Date; expires_at: Date }>(this.sql.findSession, [
        tokenHash,
      ])
    )[0];
    if (row === undefined) return undefined;
    const user = toUser(row);
    return {
      session: {
        orgId: user.orgId,
        userId: user.id,
        createdAt: row.session_created_at,
        expiresAt: row.expires_at,
      },
      user,
    };
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.write(this.sql.deleteSession, [tokenHash]);
  }

  async deleteExpiredSessions(now: Date): Promise<number> {
    this.checkUsable();
    try {
      return (await this.pool.query(this.sql.deleteExpiredSessions, [now])).rowCount ?? 0;
    } catch (error) {
      throw serveError(error, this.endpoint, this.retryAfterSeconds);
    }
  }

  /**
   * One transaction holding the org's row lock: the user is read, the last-owner rule checked
   * (`staysOwner`: whether the user is an enabled owner afterwards), then `change` runs.
   */
  private async changeUser(
    orgId: OrgId,
    id: string,
    staysOwner: boolean,
    change: (client: pg.PoolClient) => Promise<UserRow>,
  ): Promise<UserChange> {
    return this.inTransaction(
      async (client): Promise<UserChange> => {
        await client.query(this.sql.lockOrg, [orgId]);
        const row = (await client.query<UserRow>(this.sql.getUser, [orgId, id])).rows[0];
        if (row === undefined) return { status: 'not_found' };
        if (
          row.role === 'owner' &&
          row.disabled_at === null &&
          !staysOwner &&
          ((await client.query<{ n: number }>(this.sql.otherOwners, [orgId, id])).rows[0]?.n ?? 0) === 0
        ) {
          return { status: 'last_owner' };
        }
        return { status: 'ok', user: toUser(await change(client)) };
      },
      (result) => result.status === 'ok',
    );
  }

  /**
   * `work` on one pooled connection between BEGIN and COMMIT, or ROLLBACK where `commits` says
   * its result is a refusal. A failure rolls back and releases the connection as broken, so the
   * pool does not hand out one left in an unknown state; it is a 503 when the server is away.
   */
  private async inTransaction<T>(
    work: (client: pg.PoolClient) => Promise<T>,
    commits: (result: T) => boolean = () => true,
  ): Promise<T> {
    this.checkUsable();
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw serveError(error, this.endpoint, this.retryAfterSeconds);
    }
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query(commits(result) ? 'COMMIT' : 'ROLLBACK');
      client.release();
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(error instanceof Error ? error : new Error(String(error)));
      throw serveError(error, this.endpoint, this.retryAfterSeconds);
    }
  }

  /**
   * Reads are tried again once on a connection that broke under them (the server restarted
   * and the pool still held a connection to the old one); a server that stays away is a 503.
   */
  private async read<R extends pg.QueryResultRow>(sql: string, values: unknown[]): Promise<R[]> {
    this.checkUsable();
    try {
      return (await this.pool.query<R>(sql, values)).rows;
    } catch (error) {
      if (failureKind(error) !== 'lost') throw serveError(error, this.endpoint, this.retryAfterSeconds);
      try {
        return (await this.pool.query<R>(sql, values)).rows;
      } catch (again) {
        throw serveError(again, this.endpoint, this.retryAfterSeconds);
      }
    }
  }

  /** Writes are not repeated: a connection lost after COMMIT would make the repeat a duplicate. */
  private async write<R extends pg.QueryResultRow>(sql: string, values: unknown[]): Promise<R[]> {
    this.checkUsable();
    try {
      return (await this.pool.query<R>(sql, values)).rows;
    } catch (error) {
      throw serveError(error, this.endpoint, this.retryAfterSeconds);
    }
  }

  private checkUsable(): void {
    if (this.stopping !== undefined) throw stoppedError();
    // A programming error, not a condition to answer: the tables may not exist before start.
    if (!this.started) throw new Error('PostgresControlStore used before start()');
  }
}

function stoppedError(): SightlineError {
  return new SightlineError(
    'SL_ERR_SHUTTING_DOWN',
    'the control plane is shutting down; retry on another instance',
    {
      retryAfterSeconds: 1,
    },
  );
}

function constraint(error: unknown): string | undefined {
  const cause = error instanceof SightlineError ? undefined : (error as { constraint?: unknown }).constraint;
  return typeof cause === 'string' ? cause : undefined;
}

function single<R>(rows: R[]): R {
  const row = rows[0];
  if (row === undefined) throw new Error('INSERT … RETURNING returned no row');
  return row;
}

function toOrg(row: OrgRow): Org {
  return { id: orgId(row.id), name: row.name, createdAt: row.created_at };
}

function toApiKey(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    orgId: orgId(row.org_id),
    name: row.name,
    prefix: row.prefix,
    role: isRole(row.role) ? row.role : 'admin',
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

function toUser(row: UserRow): UserRecord {
  return {
    id: row.id,
    orgId: orgId(row.org_id),
    email: row.email,
    role: isRole(row.role) ? row.role : 'viewer',
    createdAt: row.created_at,
    disabledAt: row.disabled_at,
  };
}
