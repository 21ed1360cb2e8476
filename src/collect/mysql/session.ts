import mysql from 'mysql2/promise';
import type { MysqlTarget } from './target.js';

export type Row = Record<string, unknown>;

export interface SessionCounters {
  queries: number;
  rows: number;
}

/** What the collector learns about a server when it connects. */
export interface MysqlServerInfo {
  flavor: 'mysql' | 'mariadb';
  /** As VERSION() says it: `10.11.19-MariaDB-0+deb12u1`, `8.0.40`. */
  version: string;
  /** major * 10000 + minor * 100 + patch: 101119, 80040. */
  versionNumber: number;
  /** Now minus Uptime, to the second. */
  startedAt: Date;
  performanceSchema: boolean;
  readOnly: boolean;
  hostname: string;
  dataDir: string;
}

/** The program_name connect attribute of the collector's sessions, so its own statements can be told apart. */
export const PROGRAM_NAME = 'sightline';

/**
 * The one connection a target gets. Queries run one after another on it; a broken connection
 * is closed and the next query opens a fresh one. Every session is read-only with a statement
 * time limit and short lock waits, so nothing the collector runs can write or hold up the server.
 */
export class MysqlSession {
  private connection: mysql.Connection | undefined;
  private connecting: Promise<mysql.Connection> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private info: MysqlServerInfo | undefined;
  readonly counters: SessionCounters = { queries: 0, rows: 0 };

  constructor(private readonly target: MysqlTarget) {}

  get server(): MysqlServerInfo | undefined {
    return this.info;
  }

  /** Runs one statement (with `?` parameters) after those already queued. */
  query<R extends Row = Row>(sql: string, values: readonly unknown[] = []): Promise<R[]> {
    const result = this.queue.then(() => this.run<R>(sql, values));
    this.queue = result.catch(() => undefined);
    return result;
  }

  async serverInfo(): Promise<MysqlServerInfo> {
    await this.open();
    if (this.info === undefined) throw new Error('connected without server info');
    return this.info;
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    this.connecting = undefined;
    this.info = undefined;
    if (connection !== undefined) await connection.end().catch(() => connection.destroy());
  }

  private async run<R extends Row>(sql: string, values: readonly unknown[]): Promise<R[]> {
    const connection = await this.open();
    try {
      // The client-side limit backs the server's for a server that stops answering.
      const [rows] = await connection.query({
        sql,
        values: [...values],
        timeout: this.target.statementTimeoutMs + 5000,
      });
      this.counters.queries += 1;
      if (!Array.isArray(rows)) return [];
      this.counters.rows += rows.length;
      return rows as R[];
    } catch (error) {
      if (connectionLost(error)) await this.close();
      throw error;
    }
  }

  private open(): Promise<mysql.Connection> {
    if (this.connection !== undefined) return Promise.resolve(this.connection);
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<mysql.Connection> {
    const target = this.target;
    const connection = await mysql.createConnection({
      host: target.host,
      port: target.port,
      user: target.user,
      ...(target.password === undefined ? {} : { password: target.password }),
      ...(target.database === undefined ? {} : { database: target.database }),
      ...(target.tls ? { ssl: {} } : {}),
      connectTimeout: Math.max(target.statementTimeoutMs, 5000),
      // Timers are picoseconds in 64-bit unsigned columns: exact as strings, never rounded doubles.
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      timezone: 'Z',
      connectAttributes: { program_name: PROGRAM_NAME },
    });
    // An idle connection the server drops emits 'error'; without a listener that would crash the process.
    connection.on('error', () => {
      if (this.connection === connection) void this.close();
    });
    try {
      const [rows] = await connection.query(
        `SELECT VERSION() AS version, @@hostname AS hostname, @@performance_schema AS ps,
                @@read_only AS ro, @@datadir AS datadir`,
      );
      const row = (rows as Row[])[0];
      if (row === undefined) throw new Error('the server returned no row for its version');
      const [status] = await connection.query("SHOW GLOBAL STATUS LIKE 'Uptime'");
      const uptime = Number((status as Row[])[0]?.Value ?? 0);
      const version = String(row.version);
      const flavor = /mariadb/i.test(version) ? 'mariadb' : 'mysql';
      for (const statement of sessionSettings(flavor, target)) await connection.query(statement);
      this.info = {
        flavor,
        version,
        versionNumber: versionNumber(version),
        startedAt: new Date(Math.floor(Date.now() / 1000 - uptime) * 1000),
        performanceSchema: String(row.ps) === '1',
        readOnly: String(row.ro) === '1',
        hostname: text(row.hostname),
        dataDir: text(row.datadir),
      };
      this.counters.queries += 4;
      this.connection = connection;
      return connection;
    } catch (error) {
      connection.destroy();
      throw error;
    }
  }
}

/**
 * Read-only, a statement time limit, lock waits short enough never to queue behind the
 * application, and UTC for TIMESTAMP columns (FIRST_SEEN, LAST_SEEN) so they compare across cycles.
 */
export function sessionSettings(flavor: MysqlServerInfo['flavor'], target: MysqlTarget): string[] {
  const timeLimit =
    flavor === 'mariadb'
      ? `max_statement_time = ${target.statementTimeoutMs / 1000}`
      : `max_execution_time = ${target.statementTimeoutMs}`;
  return [
    'SET SESSION TRANSACTION READ ONLY',
    `SET SESSION ${timeLimit}, SESSION lock_wait_timeout = ${target.lockWaitTimeoutSeconds}, ` +
      `SESSION innodb_lock_wait_timeout = ${target.lockWaitTimeoutSeconds}, SESSION time_zone = '+00:00'`,
  ];
}

export function versionNumber(version: string): number {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (match === null) return 0;
  return Number(match[1]) * 10000 + Number(match[2]) * 100 + Number(match[3]);
}

/**
 * Whether an error means the connection is gone rather than one statement failing: mysql2
 * marks those `fatal`; socket errors carry no server error number.
 */
export function connectionLost(error: unknown): boolean {
  const { fatal, errno, sqlState } = error as { fatal?: unknown; errno?: unknown; sqlState?: unknown };
  if (fatal === true) return true;
  if (typeof errno !== 'number' || typeof sqlState !== 'string') return true;
  return sqlState.startsWith('08');
}

/** A column value as a number: mysql2 gives big numbers and decimals as strings. */
export function num(value: unknown): number | null {
  if (value === null || value === undefined || value === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/** A column value as an exact integer: picosecond timers exceed 2^53. */
export function big(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return BigInt(Math.trunc(value));
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  return 0n;
}

export function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  return JSON.stringify(value);
}
