/**
 * A load simulator for PostgreSQL: creates a small schema of its own and runs a weighted mix of
 * statements against it at a fixed rate, so demos and tests have fast reads, slow scans, writes,
 * blocked sessions, errors and idle-in-transaction sessions to look at.
 *
 * The engine has no CLI parsing: `runLoad()` is driven by `sightline loadgen postgres` and the
 * integration tests. The mix, the options and the scheduling core (`driveLoad()`) are shared with
 * the MySQL load simulator in `../loadgen/driver.ts`; this file is the PostgreSQL executor and setup.
 */
import pg from 'pg';
import {
  APPLICATION_NAME,
  LoadgenError,
  SCHEMA_MARKER,
  UNUSED_INDEX,
  driveLoad,
  intLiteral,
  messageOf,
  pause,
  resolveLoadOptions,
  type LoadExecutor,
  type LoadHooks,
  type LoadKind,
  type LoadOptions,
  type LoadSummary,
  type LoadTarget,
  type Outcome,
  type ResolvedLoadOptions,
  type SchemaInfo,
} from '../loadgen/driver.js';

export const KIND_DESCRIPTIONS: Record<LoadKind, string> = {
  point: 'fast read of one account by primary key, with the id inlined as a random literal',
  scan: 'sequential scan of accounts with a LIKE predicate no index serves, plus pg_sleep(0.05-0.2)',
  write: 'in turn: insert an order, update an account balance, insert an event',
  lock: 'one connection updates an account and holds the row lock 1-2 s in a transaction; a second updates the same row and is blocked until then',
  error: 'in turn: division by zero, duplicate primary key (unique violation); counted as errors',
  idle: 'BEGIN, read one account, stay idle in transaction ~2 s, COMMIT',
};

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export const POSTGRES_TARGET: LoadTarget = {
  server: 'PostgreSQL',
  urlSchemes: ['postgresql', 'postgres'],
  schemaProblem: (name) =>
    SCHEMA_NAME.test(name) && !/^(pg_|information_schema$|public$)/.test(name)
      ? undefined
      : 'use lower-case letters, digits and _ (at most 63), not public, information_schema or a pg_ name',
};

/**
 * Runs the mix against `options.url` until `options.durationS` passes or `hooks.signal` aborts,
 * then lets in-flight operations finish (cutting deliberate waits short) and returns the counts.
 */
export async function runLoad(options: LoadOptions, hooks: LoadHooks = {}): Promise<LoadSummary> {
  const resolved = resolveLoadOptions(options, POSTGRES_TARGET);
  const target = describeTarget(resolved.url);
  const pool = new pg.Pool({
    connectionString: resolved.url,
    application_name: APPLICATION_NAME,
    max: resolved.connections,
    connectionTimeoutMillis: 10_000,
    // Safety nets: nothing in the mix runs or waits this long, and a crashed run must not leave locks behind.
    statement_timeout: 30_000,
    lock_timeout: 10_000,
    idle_in_transaction_session_timeout: 30_000,
  });
  // An idle pooled connection the server closes is reported here, and without a listener it would crash
  // the process; the pool has already discarded it and the next checkout opens a new one.
  pool.on('error', () => undefined);
  try {
    let setupClient: pg.PoolClient;
    try {
      setupClient = await pool.connect();
    } catch (error) {
      throw connectError(error, target);
    }
    let info: SchemaInfo;
    try {
      info = await prepareSchema(setupClient, resolved);
      setupClient.release();
    } catch (error) {
      setupClient.release(true);
      throw error;
    }
    hooks.onReady?.(info);
    const executor = new PostgresExecutor(pool, info.identifier, info.accounts);
    return await driveLoad(resolved, executor, hooks);
  } finally {
    await pool.end();
  }
}

interface Target {
  host: string;
  port: number;
  database: string;
  user: string;
}

function describeTarget(url: string): Target {
  let probe: pg.Client;
  try {
    // pg.Client resolves the URL and the PG* environment defaults exactly as the pool will; it does not connect.
    probe = new pg.Client({ connectionString: url });
  } catch (error) {
    throw new LoadgenError(
      'SL_ERR_LOADGEN_OPTIONS',
      `url is not a valid connection URL: ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  }
  return {
    host: probe.host,
    port: probe.port,
    database: probe.database ?? '',
    user: probe.user ?? '',
  };
}

function connectError(error: unknown, target: Target): LoadgenError {
  const where = target.host.startsWith('/')
    ? `the socket in ${target.host} (port ${target.port})`
    : `${target.host}:${target.port}`;
  const code = (error as { code?: unknown }).code;
  const message = messageOf(error);
  let what: string;
  switch (code) {
    case 'ECONNREFUSED':
      what =
        'connection refused, nothing listens there; check that PostgreSQL is running and the host and port in --url ' +
        '(listen_addresses and port in postgresql.conf)';
      break;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      what = `the host name ${target.host} does not resolve; check the host in --url`;
      break;
    case 'ENOENT':
      what =
        'there is no socket at that path; check that PostgreSQL is running and the host and port in --url';
      break;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      what = `${message}; check the host and port in --url and any firewall in between`;
      break;
    case '28P01':
      what = `password authentication failed for user "${target.user}"; check the user and password in --url`;
      break;
    case '28000':
      what = `${message}; check that pg_hba.conf admits this client, user and database`;
      break;
    case '3D000':
      what = `database "${target.database}" does not exist; check the database name in --url`;
      break;
    case '53300':
      what = `${message}; the server has no free connection slots (max_connections)`;
      break;
    default:
      what = /timeout/i.test(message)
        ? 'no answer within 10 s; check the host and port in --url and any firewall in between'
        : `${message}; check the host, port, user, password and database in --url`;
  }
  return new LoadgenError('SL_ERR_LOADGEN_CONNECT', `cannot connect to PostgreSQL at ${where}: ${what}`, {
    cause: error,
  });
}

/**
 * Creates the schema, tables, indexes and seed rows if missing (with `reset`, drops them first).
 * Idempotent and safe to run concurrently: one transaction under an advisory lock.
 */
export async function prepareSchema(
  client: pg.ClientBase,
  options: Pick<ResolvedLoadOptions, 'schema' | 'scale' | 'reset'>,
): Promise<SchemaInfo> {
  let s = '';
  const step = async (what: string, sql: string, values?: unknown[]): Promise<pg.QueryResult> => {
    try {
      return await client.query(sql, values);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const hint =
        code === '42501'
          ? `; the user in --url needs the CREATE privilege on the database (GRANT CREATE ON DATABASE ... TO ...)`
          : '';
      throw new LoadgenError(
        'SL_ERR_LOADGEN_SCHEMA',
        `could not ${what} in schema ${options.schema}: ${messageOf(error)}${hint}`,
        { cause: error },
      );
    }
  };

  // quote_ident() quotes only when it must (a keyword, say), so statements read naturally in pg_stat_statements.
  const quoted = await step('quote the schema name', 'SELECT quote_ident($1) AS ident', [options.schema]);
  s = (quoted.rows[0] as { ident: string } | undefined)?.ident ?? '';
  await step('start the setup', 'BEGIN');
  try {
    // Seeding a large --scale takes longer than the run's statement_timeout, and waiting for another
    // loadgen's setup longer than its lock_timeout; both apply to this transaction only.
    await step(
      'lift the timeouts for the setup',
      'SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0',
    );
    await step('take the setup lock', 'SELECT pg_advisory_xact_lock(hashtext($1))', [
      `sightline-loadgen:${options.schema}`,
    ]);
    const existing = await step(
      'look up the schema',
      `SELECT obj_description(oid, 'pg_namespace') AS comment FROM pg_namespace WHERE nspname = $1`,
      [options.schema],
    );
    const found = existing.rows[0] as { comment: string | null } | undefined;
    if (found && found.comment !== SCHEMA_MARKER) {
      throw new LoadgenError(
        'SL_ERR_LOADGEN_SCHEMA_NOT_OURS',
        `schema ${options.schema} exists but sightline loadgen did not create it, so it will neither use nor drop it; ` +
          'choose another --schema',
      );
    }
    let created = !found;
    if (found && options.reset) {
      await step('drop the schema', `DROP SCHEMA ${s} CASCADE`);
      created = true;
    }
    await step('create the schema', `CREATE SCHEMA IF NOT EXISTS ${s}`);
    await step('mark the schema', `COMMENT ON SCHEMA ${s} IS '${SCHEMA_MARKER}'`);
    await step(
      'create the tables',
      `CREATE TABLE IF NOT EXISTS ${s}.accounts (
         id bigint PRIMARY KEY,
         email text NOT NULL UNIQUE,
         name text NOT NULL,
         region text NOT NULL,
         balance numeric(14, 2) NOT NULL DEFAULT 0,
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz
       );
       CREATE INDEX IF NOT EXISTS ${UNUSED_INDEX} ON ${s}.accounts (region, created_at);
       CREATE TABLE IF NOT EXISTS ${s}.orders (
         id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         account_id bigint NOT NULL REFERENCES ${s}.accounts (id),
         amount numeric(12, 2) NOT NULL,
         status text NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now()
       );
       CREATE TABLE IF NOT EXISTS ${s}.events (
         id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         account_id bigint NOT NULL,
         kind text NOT NULL,
         payload jsonb NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    // Ids are 1..n without gaps (the mix never inserts or deletes accounts), so max(id) is the count.
    const max = await step(
      'count the accounts',
      `SELECT coalesce(max(id), 0)::int AS max FROM ${s}.accounts`,
    );
    const have = (max.rows[0] as { max: number } | undefined)?.max ?? 0;
    let insertedAccounts = 0;
    if (have < options.scale) {
      await step(
        'insert accounts',
        `INSERT INTO ${s}.accounts (id, email, name, region, balance, created_at)
         SELECT g, 'user' || g || '@example.com', 'Account ' || g,
                (ARRAY['eu', 'us', 'apac', 'latam'])[1 + g % 4],
                round((random() * 1000)::numeric, 2), now() - (g % 1000) * interval '1 hour'
         FROM generate_series($1::bigint, $2::bigint) AS g`,
        [have + 1, options.scale],
      );
      await step(
        'insert orders',
        `INSERT INTO ${s}.orders (account_id, amount, status, created_at)
         SELECT g, round((random() * 200)::numeric, 2), (ARRAY['new', 'paid', 'shipped'])[1 + g % 3],
                now() - (g % 500) * interval '1 hour'
         FROM generate_series($1::bigint, $2::bigint) AS g`,
        [have + 1, options.scale],
      );
      // Fresh statistics so the planner uses the primary key for point reads from the first second.
      await step('analyze the tables', `ANALYZE ${s}.accounts, ${s}.orders, ${s}.events`);
      insertedAccounts = options.scale - have;
    }
    await step('commit the setup', 'COMMIT');
    return {
      schema: options.schema,
      identifier: s,
      created,
      accounts: Math.max(have, options.scale),
      insertedAccounts,
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

const EXPECTED_ERROR_CODES = new Set(['22012', '23505']);
/** SQLSTATEs that mean the server or the connection went away (classes 08, 57P and 53300). */
const CONNECTION_SQLSTATE = /^(08|57P0[1-3]|53300)/;

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (/^[0-9A-Z]{5}$/.test(code)) return CONNECTION_SQLSTATE.test(code);
    if (/^E[A-Z]+$/.test(code)) return true;
  }
  return /Connection terminated|timeout exceeded when trying to connect|connection error|not queryable/i.test(
    messageOf(error),
  );
}

class PostgresExecutor implements LoadExecutor {
  readonly server = 'PostgreSQL';
  private readonly t: { accounts: string; orders: string; events: string };
  private writes = 0;
  private errorsRun = 0;

  constructor(
    private readonly pool: pg.Pool,
    s: string,
    private readonly accounts: number,
  ) {
    this.t = { accounts: `${s}.accounts`, orders: `${s}.orders`, events: `${s}.events` };
  }

  connectionsFor(kind: LoadKind): number {
    return kind === 'lock' ? 2 : 1;
  }

  async execute(kind: LoadKind, stopping: AbortSignal): Promise<Outcome> {
    try {
      switch (kind) {
        case 'point':
          await this.withClient((c) => this.point(c));
          break;
        case 'scan':
          await this.withClient((c) => this.scan(c));
          break;
        case 'write':
          await this.withClient((c) => this.write(c));
          break;
        case 'lock':
          await this.withClient((holder) => this.withClient((waiter) => this.lock(holder, waiter, stopping)));
          break;
        case 'error':
          return await this.withClient((c) => this.error(c));
        case 'idle':
          await this.withClient((c) => this.idle(c, stopping));
          break;
      }
      return { status: 'ok' };
    } catch (error) {
      return {
        status: 'failed',
        expected: false,
        connection: isConnectionError(error),
        message: messageOf(error),
      };
    }
  }

  /** Checks out a connection and listens for its errors: pg-pool drops its own listener while a client is out. */
  private async withClient<T>(use: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: unknown;
    const onError = (error: Error): void => {
      broken ??= error;
    };
    client.on('error', onError);
    try {
      return await use(client);
    } catch (error) {
      if (isConnectionError(error)) broken ??= error;
      throw error;
    } finally {
      client.off('error', onError);
      // A truthy argument makes the pool close the connection instead of reusing it.
      client.release(broken === undefined ? undefined : true);
    }
  }

  /** Runs `body` in a transaction; on failure rolls back, and closes the connection if that fails too. */
  private async transaction(client: pg.PoolClient, body: () => Promise<void>): Promise<void> {
    await client.query('BEGIN');
    try {
      await body();
      await client.query('COMMIT');
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // A connection that cannot roll back may still be inside the transaction: it must not go back to the pool.
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

  private async point(client: pg.PoolClient): Promise<void> {
    await client.query(
      `SELECT id, email, name, balance FROM ${this.t.accounts} WHERE id = ${intLiteral(this.account())}`,
    );
  }

  private async scan(client: pg.PoolClient): Promise<void> {
    const seconds = 0.05 + Math.random() * 0.15;
    const fragment = Math.floor(Math.random() * 256)
      .toString(16)
      .padStart(2, '0');
    // The leading % rules out every index, so this is a sequential scan; pg_sleep makes it reliably slow.
    await client.query(
      `SELECT count(*) AS matches, pg_sleep($1) FROM ${this.t.accounts} WHERE email LIKE $2`,
      [seconds, `%${fragment}%`],
    );
  }

  private async write(client: pg.PoolClient): Promise<void> {
    const amount = Math.round((Math.random() * 200 - 100) * 100) / 100;
    switch (this.writes++ % 3) {
      case 0:
        await client.query(
          `INSERT INTO ${this.t.orders} (account_id, amount, status) VALUES ($1, $2, 'new')`,
          [this.account(), Math.abs(amount)],
        );
        break;
      case 1:
        await client.query(
          `UPDATE ${this.t.accounts} SET balance = balance + $1, updated_at = now() WHERE id = $2`,
          [amount, this.account()],
        );
        break;
      default:
        await client.query(`INSERT INTO ${this.t.events} (account_id, kind, payload) VALUES ($1, $2, $3)`, [
          this.account(),
          'balance_checked',
          JSON.stringify({ amount, source: APPLICATION_NAME }),
        ]);
    }
  }

  private async lock(holder: pg.PoolClient, waiter: pg.PoolClient, stopping: AbortSignal): Promise<void> {
    const id = this.account();
    const update = `UPDATE ${this.t.accounts} SET balance = balance + $1, updated_at = now() WHERE id = $2`;
    let waited: Promise<Error | undefined> = Promise.resolve(undefined);
    let failure: { error: unknown } | undefined;
    try {
      await this.transaction(holder, async () => {
        await holder.query(update, [1, id]);
        // Blocks on the row lock until the holder commits: a real entry in pg_blocking_pids().
        waited = waiter.query(update, [-1, id]).then(
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

  private async error(client: pg.PoolClient): Promise<Outcome> {
    const id = this.account();
    try {
      if (this.errorsRun++ % 2 === 0) {
        await client.query(`SELECT balance / $1 AS ratio FROM ${this.t.accounts} WHERE id = $2`, [0, id]);
      } else {
        await client.query(
          `INSERT INTO ${this.t.accounts} (id, email, name, region) VALUES ($1, $2, $3, $4)`,
          [id, `duplicate-${id}-${Date.now()}@example.com`, 'Duplicate', 'eu'],
        );
      }
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && EXPECTED_ERROR_CODES.has(code)) {
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

  private async idle(client: pg.PoolClient, stopping: AbortSignal): Promise<void> {
    await this.transaction(client, async () => {
      await client.query(`SELECT id, balance FROM ${this.t.accounts} WHERE id = $1`, [this.account()]);
      await pause(1500 + Math.random() * 1000, stopping);
    });
  }
}
