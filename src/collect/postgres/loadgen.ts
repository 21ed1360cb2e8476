/**
 * A load simulator for PostgreSQL: creates a small schema of its own and runs a weighted mix of
 * statements against it at a fixed rate, so demos and tests have fast reads, slow scans, writes,
 * blocked sessions, errors and idle-in-transaction sessions to look at.
 *
 * The engine has no CLI parsing: `runLoad()` is driven by `sightline loadgen postgres` and the
 * integration tests. The mix, the options, the run and its scheduling core are shared with the
 * MySQL load simulator in `../loadgen/`; this file is PostgreSQL's connections, setup and SQL.
 */
import pg from 'pg';
import {
  APPLICATION_NAME,
  LoadgenError,
  SCHEMA_MARKER,
  UNUSED_INDEX,
  connectError,
  messageOf,
  runLoadOn,
  schemaInfo,
  setupSteps,
  type ConnectAttempt,
  type LoadEngine,
  type LoadHooks,
  type LoadKind,
  type LoadOptions,
  type LoadPool,
  type LoadSummary,
  type LoadTarget,
  type ResolvedLoadOptions,
  type SchemaInfo,
} from '../loadgen/driver.js';
import {
  SqlExecutor,
  duplicateAccount,
  type MixSql,
  type Query,
  type SqlDatabase,
} from '../loadgen/sql-executor.js';

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

const POSTGRES_ENGINE: LoadEngine<pg.PoolClient> = { target: POSTGRES_TARGET, open: openPool };

/**
 * Runs the mix against `options.url` until `options.durationS` passes or `hooks.signal` aborts,
 * then lets in-flight operations finish (cutting deliberate waits short) and returns the counts.
 */
export function runLoad(options: LoadOptions, hooks: LoadHooks = {}): Promise<LoadSummary> {
  return runLoadOn(POSTGRES_ENGINE, options, hooks);
}

function openPool(options: ResolvedLoadOptions): LoadPool<pg.PoolClient> {
  const target = describeTarget(options.url);
  const pool = new pg.Pool({
    connectionString: options.url,
    application_name: APPLICATION_NAME,
    max: options.connections,
    connectionTimeoutMillis: 10_000,
    // Safety nets: nothing in the mix runs or waits this long, and a crashed run must not leave locks behind.
    statement_timeout: 30_000,
    lock_timeout: 10_000,
    idle_in_transaction_session_timeout: 30_000,
  });
  // An idle pooled connection the server closes is reported here, and without a listener it would crash
  // the process; the pool has already discarded it and the next checkout opens a new one.
  pool.on('error', () => undefined);
  return {
    connect: async () => {
      try {
        return await pool.connect();
      } catch (error) {
        throw connectError(error, target, (code, message) => explainConnectError(code, message, target));
      }
    },
    prepareSchema,
    // A truthy argument makes the pool close the connection instead of reusing it.
    release: (client, failed) => client.release(failed),
    executor: (info) => new SqlExecutor(new PostgresDatabase(pool, info.identifier), info.accounts),
    close: () => pool.end(),
  };
}

interface Target extends ConnectAttempt {
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
    server: 'PostgreSQL',
    where: probe.host.startsWith('/')
      ? `the socket in ${probe.host} (port ${probe.port})`
      : `${probe.host}:${probe.port}`,
    host: probe.host,
    port: probe.port,
    database: probe.database ?? '',
    user: probe.user ?? '',
  };
}

/** What PostgreSQL's own reasons for refusing a connection mean (connectError explains network errors). */
function explainConnectError(code: unknown, message: string, target: Target): string | undefined {
  switch (code) {
    case 'ECONNREFUSED':
      return (
        'connection refused, nothing listens there; check that PostgreSQL is running and the host and port in --url ' +
        '(listen_addresses and port in postgresql.conf)'
      );
    case 'ENOENT':
      return 'there is no socket at that path; check that PostgreSQL is running and the host and port in --url';
    case '28P01':
      return `password authentication failed for user "${target.user}"; check the user and password in --url`;
    case '28000':
      return `${message}; check that pg_hba.conf admits this client, user and database`;
    case '3D000':
      return `database "${target.database}" does not exist; check the database name in --url`;
    case '53300':
      return `${message}; the server has no free connection slots (max_connections)`;
    default:
      return /timeout/i.test(message)
        ? 'no answer within 10 s; check the host and port in --url and any firewall in between'
        : undefined;
  }
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
  const step = setupSteps(
    (sql, values) => client.query(sql, values),
    `schema ${options.schema}`,
    (code) =>
      code === '42501'
        ? 'the user in --url needs the CREATE privilege on the database (GRANT CREATE ON DATABASE ... TO ...)'
        : undefined,
  );

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
    }
    await step('commit the setup', 'COMMIT');
    return schemaInfo(options, s, created, have);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

const EXPECTED_ERROR_CODES: ReadonlySet<string> = new Set(['22012', '23505']);
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

/** The mix in PostgreSQL's SQL against the tables in schema `s` (quoted as needed). */
function mixSql(s: string): MixSql {
  const t = { accounts: `${s}.accounts`, orders: `${s}.orders`, events: `${s}.events` };
  return {
    begin: 'BEGIN',
    point: (id) => `SELECT id, email, name, balance FROM ${t.accounts} WHERE id = ${id}`,
    // The leading % rules out every index, so this is a sequential scan; pg_sleep makes it reliably slow.
    scan: `SELECT count(*) AS matches, pg_sleep($1) FROM ${t.accounts} WHERE email LIKE $2`,
    insertOrder: `INSERT INTO ${t.orders} (account_id, amount, status) VALUES ($1, $2, 'new')`,
    updateBalance: `UPDATE ${t.accounts} SET balance = balance + $1, updated_at = now() WHERE id = $2`,
    insertEvent: `INSERT INTO ${t.events} (account_id, kind, payload) VALUES ($1, $2, $3)`,
    readAccount: `SELECT id, balance FROM ${t.accounts} WHERE id = $1`,
    failing: [
      { sql: `SELECT balance / $1 AS ratio FROM ${t.accounts} WHERE id = $2`, values: (id) => [0, id] },
      {
        sql: `INSERT INTO ${t.accounts} (id, email, name, region) VALUES ($1, $2, $3, $4)`,
        values: duplicateAccount,
      },
    ],
  };
}

class PostgresDatabase implements SqlDatabase {
  readonly server = 'PostgreSQL';
  readonly sql: MixSql;
  readonly expectedErrorCodes = EXPECTED_ERROR_CODES;

  constructor(
    private readonly pool: pg.Pool,
    s: string,
  ) {
    this.sql = mixSql(s);
  }

  isConnectionError(error: unknown): boolean {
    return isConnectionError(error);
  }

  /** Checks out a connection and listens for its errors: pg-pool drops its own listener while a client is out. */
  async withConnection<T>(use: (query: Query) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: unknown;
    const onError = (error: Error): void => {
      broken ??= error;
    };
    client.on('error', onError);
    try {
      return await use((sql, values) => client.query(sql, values));
    } catch (error) {
      if (isConnectionError(error)) broken ??= error;
      throw error;
    } finally {
      client.off('error', onError);
      // A truthy argument makes the pool close the connection instead of reusing it.
      client.release(broken === undefined ? undefined : true);
    }
  }
}
