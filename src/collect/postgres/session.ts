import pg from 'pg';
import type { PostgresTarget } from './target.js';

export type Row = Record<string, unknown>;

export interface SessionCounters {
  queries: number;
  rows: number;
}

/** What the collector learns about a server when it connects. */
export interface ServerInfo {
  versionNum: number;
  version: string;
  startedAt: Date;
  inRecovery: boolean;
  database: string;
  /** The pg_stat_statements version installed in the target's database (e.g. "1.10"), or null. */
  statementsExtension: string | null;
  /** The schema pg_stat_statements is installed in. */
  statementsSchema: string | null;
}

/**
 * The one connection a target gets. Queries run one after another on it; any error closes
 * it, and the next query opens a fresh one, so a broken or restarted server never leaves the
 * collector with a half-dead session.
 */
export class PostgresSession {
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private info: ServerInfo | undefined;
  readonly counters: SessionCounters = { queries: 0, rows: 0 };

  constructor(private readonly target: PostgresTarget) {}

  get server(): ServerInfo | undefined {
    return this.info;
  }

  /** Runs one statement (with parameters) after those already queued. */
  query<R extends Row = Row>(sql: string, values: readonly unknown[] = []): Promise<R[]> {
    const result = this.queue.then(() => this.run<R>(sql, values));
    this.queue = result.catch(() => undefined);
    return result;
  }

  async serverInfo(): Promise<ServerInfo> {
    await this.open();
    if (this.info === undefined) throw new Error('connected without server info');
    return this.info;
  }

  /** A standby can be promoted while we are connected: the metrics path depends on it. */
  async refreshRecovery(): Promise<ServerInfo> {
    const info = await this.serverInfo();
    const [row] = await this.query<{ in_recovery: boolean }>('SELECT pg_is_in_recovery() AS in_recovery');
    info.inRecovery = row?.in_recovery === true;
    return info;
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.connecting = undefined;
    this.info = undefined;
    if (client !== undefined) await client.end().catch(() => undefined);
  }

  private async run<R extends Row>(sql: string, values: readonly unknown[]): Promise<R[]> {
    const client = await this.open();
    try {
      const result = await client.query<R>(sql, [...values]);
      this.counters.queries += 1;
      this.counters.rows += result.rowCount ?? result.rows.length;
      return result.rows;
    } catch (error) {
      // A statement error (a timeout, a missing grant, a lock timeout) leaves the session usable;
      // only a broken connection is replaced, so a failing query never churns backends.
      if (connectionLost(error)) await this.close();
      throw error;
    }
  }

  private open(): Promise<pg.Client> {
    if (this.client !== undefined) return Promise.resolve(this.client);
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client(this.target.connection);
    // An idle connection the server drops emits 'error'; without a listener that would crash the process.
    client.on('error', () => {
      if (this.client === client) void this.close();
    });
    try {
      await client.connect();
      const result = await client.query<{
        version_num: string;
        version: string;
        started_at: Date;
        in_recovery: boolean;
        database: string;
        pgss: string | null;
        pgss_schema: string | null;
      }>(
        `SELECT current_setting('server_version_num') AS version_num,
                current_setting('server_version') AS version,
                pg_postmaster_start_time() AS started_at,
                pg_is_in_recovery() AS in_recovery,
                current_database() AS database,
                e.extversion AS pgss, n.nspname AS pgss_schema
           FROM (SELECT 1) one
           LEFT JOIN pg_extension e ON e.extname = 'pg_stat_statements'
           LEFT JOIN pg_namespace n ON n.oid = e.extnamespace`,
      );
      const row = result.rows[0];
      if (row === undefined) throw new Error('the server returned no row for its version');
      this.info = {
        versionNum: Number(row.version_num),
        version: row.version,
        startedAt: row.started_at,
        inRecovery: row.in_recovery,
        database: row.database,
        statementsExtension: row.pgss,
        statementsSchema: row.pgss_schema,
      };
      this.counters.queries += 1;
      this.client = client;
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }
}

/**
 * Whether an error means the connection is gone (no SQLSTATE: a socket error; class 08
 * connection exception; 57P0x shutdown and crash; XX internal) rather than one statement failing.
 */
export function connectionLost(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return code.startsWith('08') || code.startsWith('57P') || code.startsWith('XX');
}

/** A column value as text: pg gives strings, numbers, booleans, Dates and arrays; null is ''. */
export function asText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}
