/**
 * The mix as SQL, the same for every database: which statements each kind runs, in which order and
 * transaction, on how many connections, and which failures are the error kind's by design. A
 * database supplies its SQL text and its pooled connections (`SqlDatabase`):
 * `collect/postgres/loadgen.ts` and `collect/mysql/loadgen.ts`.
 *
 * Nothing here opens a connection, so the lock and transaction choreography is tested without a server.
 */
import {
  APPLICATION_NAME,
  messageOf,
  pause,
  type LoadExecutor,
  type LoadKind,
  type Outcome,
} from './driver.js';

/** A checked-out connection as the mix sees it: runs one statement with its parameters. */
export type Query = (sql: string, values?: unknown[]) => Promise<unknown>;

/** A statement of the error kind: it fails, every time, with one of `expectedErrorCodes`. */
export interface FailingStatement {
  sql: string;
  values(accountId: number): unknown[];
}

/**
 * The mix in one database's SQL against loadgen's tables. Each statement takes its parameters in
 * the order given beside it, in the database's placeholder syntax.
 */
export interface MixSql {
  /** BEGIN, or START TRANSACTION. */
  begin: string;
  /** Reads one account by primary key, the id written into the text (`intLiteral`). */
  point(idLiteral: string): string;
  /** [seconds, pattern]: reads every account for a LIKE `pattern` no index serves, and sleeps. */
  scan: string;
  /** [account id, amount] */
  insertOrder: string;
  /** [delta, account id]: the write kind's update, and both of the lock kind's. */
  updateBalance: string;
  /** [account id, kind, payload as JSON text] */
  insertEvent: string;
  /** [account id]: the idle kind's read inside its transaction. */
  readAccount: string;
  /** Run in turn by the error kind. */
  failing: readonly FailingStatement[];
}

/** What the mix needs of one database beyond its SQL. */
export interface SqlDatabase {
  /** The database in messages: PostgreSQL, MariaDB. */
  readonly server: string;
  readonly sql: MixSql;
  /** The error codes (`error.code`) of the failing statements. */
  readonly expectedErrorCodes: ReadonlySet<string>;
  /** Checks out a connection for `use`, then gives it back, or discards it if it broke. */
  withConnection<T>(use: (query: Query) => Promise<T>): Promise<T>;
  /** The server or the connection went away, as opposed to a statement failing. */
  isConnectionError(error: unknown): boolean;
}

/** The values of an insert that fails on the primary key of an account that exists. */
export function duplicateAccount(accountId: number): unknown[] {
  return [accountId, `duplicate-${accountId}-${Date.now()}@example.com`, 'Duplicate', 'eu'];
}

export class SqlExecutor implements LoadExecutor {
  readonly server: string;
  private writes = 0;
  private errorsRun = 0;

  constructor(
    private readonly database: SqlDatabase,
    /** Accounts in the schema: ids 1..accounts. */
    private readonly accounts: number,
  ) {
    this.server = database.server;
  }

  connectionsFor(kind: LoadKind): number {
    return kind === 'lock' ? 2 : 1;
  }

  async execute(kind: LoadKind, stopping: AbortSignal): Promise<Outcome> {
    const db = this.database;
    try {
      switch (kind) {
        case 'point':
          await db.withConnection((query) => this.point(query));
          break;
        case 'scan':
          await db.withConnection((query) => this.scan(query));
          break;
        case 'write':
          await db.withConnection((query) => this.write(query));
          break;
        case 'lock':
          await db.withConnection((holder) =>
            db.withConnection((waiter) => this.lock(holder, waiter, stopping)),
          );
          break;
        case 'error':
          return await db.withConnection((query) => this.error(query));
        case 'idle':
          await db.withConnection((query) => this.idle(query, stopping));
          break;
      }
      return { status: 'ok' };
    } catch (error) {
      return {
        status: 'failed',
        expected: false,
        connection: db.isConnectionError(error),
        message: messageOf(error),
      };
    }
  }

  /** Runs `body` in a transaction; on failure rolls back, and has the connection discarded if that fails too. */
  private async transaction(query: Query, body: () => Promise<void>): Promise<void> {
    await query(this.database.sql.begin);
    try {
      await body();
      await query('COMMIT');
    } catch (error) {
      try {
        await query('ROLLBACK');
      } catch (rollbackError) {
        // A connection that cannot roll back may still be inside the transaction: it must not go back to
        // the pool. Both databases count an E-code as a connection error (isConnectionError).
        throw Object.assign(
          new Error(`${messageOf(error)} (and the rollback failed: ${messageOf(rollbackError)})`, {
            cause: error,
          }),
          { code: 'EROLLBACK' },
        );
      }
      throw error;
    }
  }

  private account(): number {
    return 1 + Math.floor(Math.random() * this.accounts);
  }

  private async point(query: Query): Promise<void> {
    await query(this.database.sql.point(intLiteral(this.account())));
  }

  private async scan(query: Query): Promise<void> {
    // Whole milliseconds: MySQL writes the value into the statement text its logs show.
    const seconds = Math.round((0.05 + Math.random() * 0.15) * 1000) / 1000;
    const fragment = Math.floor(Math.random() * 256)
      .toString(16)
      .padStart(2, '0');
    await query(this.database.sql.scan, [seconds, `%${fragment}%`]);
  }

  private async write(query: Query): Promise<void> {
    const { sql } = this.database;
    const amount = Math.round((Math.random() * 200 - 100) * 100) / 100;
    switch (this.writes++ % 3) {
      case 0:
        await query(sql.insertOrder, [this.account(), Math.abs(amount)]);
        break;
      case 1:
        await query(sql.updateBalance, [amount, this.account()]);
        break;
      default:
        await query(sql.insertEvent, [
          this.account(),
          'balance_checked',
          JSON.stringify({ amount, source: APPLICATION_NAME }),
        ]);
    }
  }

  private async lock(holder: Query, waiter: Query, stopping: AbortSignal): Promise<void> {
    const id = this.account();
    const update = this.database.sql.updateBalance;
    let waited: Promise<Error | undefined> = Promise.resolve(undefined);
    let failure: { error: unknown } | undefined;
    try {
      await this.transaction(holder, async () => {
        await holder(update, [1, id]);
        // Waits for the row lock until the holder commits: a real entry in pg_blocking_pids(), in
        // INNODB_LOCK_WAITS (MariaDB) or in performance_schema.data_lock_waits (MySQL 8).
        waited = waiter(update, [-1, id]).then(
          () => undefined,
          (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
        );
        await pause(1000 + Math.random() * 1000, stopping);
      });
    } catch (error) {
      failure = { error };
    }
    // The waiter's connection goes back to the pool only once its statement is over.
    const waitError = await waited;
    if (failure) throw failure.error;
    if (waitError !== undefined) throw waitError;
  }

  private async error(query: Query): Promise<Outcome> {
    const { failing } = this.database.sql;
    const statement = failing[this.errorsRun++ % failing.length];
    if (statement === undefined) throw new Error('the error kind has no statements');
    try {
      await query(statement.sql, statement.values(this.account()));
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && this.database.expectedErrorCodes.has(code)) {
        return { status: 'failed', expected: true, connection: false, message: messageOf(error) };
      }
      throw error;
    }
    return {
      status: 'failed',
      expected: false,
      connection: false,
      message: 'a statement meant to fail succeeded',
    };
  }

  private async idle(query: Query, stopping: AbortSignal): Promise<void> {
    await this.transaction(query, async () => {
      await query(this.database.sql.readAccount, [this.account()]);
      await pause(1500 + Math.random() * 1000, stopping);
    });
  }
}

/**
 * The one place a value is written into SQL text rather than passed as a parameter: point reads
 * inline their id so statement statistics show what a literal-per-call client looks like (many
 * texts, one normalized entry). Only safe integers get through.
 */
export function intLiteral(value: number): string {
  if (!Number.isSafeInteger(value)) throw new Error(`not a safe integer: ${value}`);
  return String(value);
}
