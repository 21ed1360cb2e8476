import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { SightlineError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { runMigrations, type MigrationReport } from './migrations.js';

export interface DuckDBOptions {
  /** The database file. */
  path: string;
  memoryLimit: string;
  checkpointThreshold: string;
  threads?: number | undefined;
  /** A read through `query` running longer is interrupted (api.query.timeoutSeconds). */
  queryTimeoutMs?: number;
}

const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

/** Most read connections open at once; reads beyond that wait for one to come free. */
const MAX_READERS = 4;

/**
 * The one DuckDB instance of this process, shared by the telemetry store and the control
 * plane. DuckDB allows one instance per file per process and one process per file, so
 * everything that touches the file goes through here.
 */
export class DuckDBDatabase {
  private readonly idleReaders: DuckDBConnection[] = [];
  private readonly waitingReaders: Array<(connection: DuckDBConnection) => void> = [];
  private readerCount = 0;
  private readonly allConnections: DuckDBConnection[] = [];
  private closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    readonly path: string,
    private readonly logger: Logger,
    private readonly queryTimeoutMs: number,
  ) {}

  static async open(options: DuckDBOptions, logger: Logger): Promise<DuckDBDatabase> {
    const dir = dirname(options.path);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (error) {
      throw new SightlineError(
        'SL_ERR_DATA_DIR_UNUSABLE',
        `cannot create the data directory ${dir}: ${errorMessage(error)}. ` +
          'Choose a writable directory with --data-dir (or store.duckdb.file).',
      );
    }
    const settings: Record<string, string> = {
      memory_limit: options.memoryLimit,
      checkpoint_threshold: options.checkpointThreshold,
    };
    if (options.threads !== undefined) settings.threads = String(options.threads);
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(options.path, settings);
    } catch (error) {
      throw translateOpenError(options.path, error);
    }
    return new DuckDBDatabase(
      instance,
      options.path,
      logger,
      options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
    );
  }

  async migrate(): Promise<MigrationReport> {
    const report = await this.withConnection((connection) => runMigrations(connection));
    if (report.applied.length > 0) this.logger.info({ applied: report.applied }, 'applied schema migrations');
    return report;
  }

  /** A connection owned by the caller for its lifetime (a writer keeps one per table). */
  async connect(): Promise<DuckDBConnection> {
    if (this.closed) throw closedError();
    const connection = await this.instance.connect();
    this.allConnections.push(connection);
    return connection;
  }

  /** Runs `work` on a pooled connection; DuckDB runs one statement at a time per connection. */
  async withConnection<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    const connection = await this.acquireReader();
    try {
      return await work(connection);
    } finally {
      this.releaseReader(connection);
    }
  }

  /**
   * A read for the query API: `work` runs on a pooled connection and is interrupted after
   * `timeoutMs` (the configured query timeout unless shorter), which it sees as
   * SL_ERR_QUERY_TIMEOUT. DuckDBConnection.interrupt cancels the running statement; one that
   * lands while a statement is still being planned is cleared when it starts executing, so it
   * is repeated until the work ends.
   */
  async query<T>(work: (connection: DuckDBConnection) => Promise<T>, timeoutMs?: number): Promise<T> {
    const limitMs = Math.min(timeoutMs ?? this.queryTimeoutMs, this.queryTimeoutMs);
    return this.withConnection(async (connection) => {
      let timedOut = false;
      let again: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        timedOut = true;
        connection.interrupt();
        again = setInterval(() => connection.interrupt(), 10);
      }, limitMs);
      try {
        return await work(connection);
      } catch (error) {
        if (!timedOut) throw error;
        throw new SightlineError(
          'SL_ERR_QUERY_TIMEOUT',
          `the query ran longer than ${limitMs / 1000} s and was stopped (api.query.timeoutSeconds); ` +
            'narrow the time range or the filters and try again',
          { cause: error },
        );
      } finally {
        clearTimeout(timer);
        clearInterval(again);
      }
    });
  }

  private async acquireReader(): Promise<DuckDBConnection> {
    if (this.closed) throw closedError();
    const idle = this.idleReaders.pop();
    if (idle !== undefined) return idle;
    if (this.readerCount < MAX_READERS) {
      this.readerCount++;
      return this.connect();
    }
    return new Promise((resolve) => this.waitingReaders.push(resolve));
  }

  private releaseReader(connection: DuckDBConnection): void {
    const waiter = this.waitingReaders.shift();
    if (waiter !== undefined) waiter(connection);
    else this.idleReaders.push(connection);
  }

  /** Checkpoints (so the next start has no WAL to replay) and closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.withConnection((connection) => connection.run('CHECKPOINT'));
    } catch (error) {
      this.logger.warn(
        { err: errorMessage(error) },
        'checkpoint before close failed; the WAL is replayed at next start',
      );
    }
    this.closed = true;
    for (const connection of this.allConnections) connection.closeSync();
    this.instance.closeSync();
  }
}

function closedError(): SightlineError {
  return new SightlineError(
    'SL_ERR_SHUTTING_DOWN',
    'the store is closed because Sightline is shutting down',
    {
      retryAfterSeconds: 5,
    },
  );
}

const LOCK_HELD = /Conflicting lock is held in (.*?) \(PID (\d+)\)/;

function translateOpenError(path: string, error: unknown): SightlineError {
  const message = errorMessage(error);
  const lock = LOCK_HELD.exec(message);
  if (lock !== null) {
    return new SightlineError(
      'SL_ERR_DATA_DIR_LOCKED',
      `the database ${path} is already in use by another process (PID ${lock[2]}, ${lock[1]}). ` +
        'Only one Sightline may use a data directory: stop the other one, or start this one with a different --data-dir.',
    );
  }
  return new SightlineError(
    'SL_ERR_DATA_DIR_UNUSABLE',
    `cannot open the database ${path}: ${message}. Check that the data directory is writable and not full.`,
  );
}
