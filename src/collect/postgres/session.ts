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
  /** Whether pg_stat_statements is installed in the database the target connects to. */
  statementsExtension: string | null;
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
      // A statement timeout leaves the session usable, but anything else may not: start afresh.
      if ((error as { code?: string }).code !== '57014') await this.close();
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
      }>(
        `SELECT current_setting('server_version_num') AS version_num,
                current_setting('server_version') AS version,
                pg_postmaster_start_time() AS started_at,
                pg_is_in_recovery() AS in_recovery,
                current_database() AS database,
                (SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements') AS pgss`,
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

/** A column value as text: pg gives strings, numbers, booleans, Dates and arrays; null is ''. */
export function asText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}
