/**
 * A load simulator for MySQL and MariaDB, the counterpart of `../postgres/loadgen.ts` with the same
 * mix: creates a small database of its own and runs a weighted mix of statements against it at a
 * fixed rate, so demos and tests have fast reads, slow scans, writes, lock waits, errors and
 * idle-in-transaction sessions to look at.
 *
 * The mix, the options, the run and its scheduling core are shared in `../loadgen/`; this file is
 * MySQL's connections, setup and SQL. `runLoad()` is driven by `sightline loadgen mysql` and the
 * integration tests. In MySQL a schema is a database, so `--schema` names the database.
 */
import { userInfo } from 'node:os';
import mysql from 'mysql2/promise';
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
import type { MysqlTarget } from './target.js';

export const KIND_DESCRIPTIONS: Record<LoadKind, string> = {
  point: 'fast read of one account by primary key, with the id inlined as a random literal',
  scan: 'full table scan of accounts with a LIKE predicate no index serves, plus SLEEP(0.05-0.2)',
  write: 'in turn: insert an order, update an account balance, insert an event',
  lock: 'one connection updates an account and holds the row lock 1-2 s in a transaction; a second updates the same row and waits for the lock until then',
  error:
    'in turn: duplicate primary key (ER_DUP_ENTRY), a read from a table that does not exist (ER_NO_SUCH_TABLE); counted as errors',
  idle: 'START TRANSACTION, read one account, stay idle in transaction ~2 s, COMMIT',
};

/**
 * MySQL has no comment on a database (MariaDB has one since 10.5, MySQL 8 does not), so loadgen marks
 * its database with this table, whose table comment is SCHEMA_MARKER.
 */
export const MARKER_TABLE = 'loadgen_marker';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,63}$/;
const SYSTEM_SCHEMAS = new Set(['mysql', 'sys', 'information_schema', 'performance_schema']);

export const MYSQL_TARGET: LoadTarget = {
  server: 'MySQL or MariaDB',
  urlSchemes: ['mysql', 'mariadb'],
  // Lower case only: with lower_case_table_names=0 (Linux) `Foo` and `foo` would be two databases.
  schemaProblem: (name) =>
    SCHEMA_NAME.test(name) && !SYSTEM_SCHEMAS.has(name)
      ? undefined
      : 'use lower-case letters, digits and _ (at most 64), not mysql, sys, information_schema or performance_schema',
};

const DEFAULT_PORT = 3306;

/**
 * A connection URL read: what a collector's target connects with (the database, if any, is only
 * connected to: loadgen works in its own, --schema), and what the scheme calls the server.
 */
export interface MysqlUrl extends Pick<
  MysqlTarget,
  'host' | 'port' | 'user' | 'password' | 'database' | 'tls'
> {
  /** MariaDB for mariadb:// URLs, otherwise MySQL: what connection errors call the server. */
  server: 'MySQL' | 'MariaDB';
}

/** The TLS parameters the collector's MySQL URLs take too (collect/mysql/target.ts), so one URL serves both. */
const TLS_PARAMETERS = ['ssl-mode', 'sslmode', 'ssl'];

/** Reads mysql://user:password@host:port/database (or mariadb://…); the scheme is checked by resolveLoadOptions. */
export function parseMysqlUrl(url: string): MysqlUrl {
  const invalid = (message: string, cause?: unknown): never => {
    throw new LoadgenError('SL_ERR_LOADGEN_OPTIONS', message, { cause });
  };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    return invalid(`url is not a valid connection URL: ${messageOf(error)}`, error);
  }
  const unknown = [...parsed.searchParams.keys()].filter((name) => !TLS_PARAMETERS.includes(name));
  if (unknown.length > 0) {
    invalid(
      `url parameter ${unknown.join(', ')} is not supported; besides user, password, host, port and database ` +
        `loadgen reads only ${TLS_PARAMETERS.join(', ')} from the URL`,
    );
  }
  // MySQL's own clients say ssl-mode=REQUIRED (or VERIFY_CA, VERIFY_IDENTITY); URLs often say ssl=true.
  const sslMode = (parsed.searchParams.get('ssl-mode') ?? parsed.searchParams.get('sslmode'))?.toUpperCase();
  const ssl = parsed.searchParams.get('ssl');
  const tls =
    sslMode !== undefined ? !['DISABLED', 'PREFERRED'].includes(sslMode) : ssl === 'true' || ssl === '1';
  const decode = (part: string, what: string): string => {
    try {
      return decodeURIComponent(part);
    } catch (error) {
      return invalid(`the ${what} in url is not valid percent-encoding: ${messageOf(error)}`, error);
    }
  };
  const database = decode(parsed.pathname.replace(/^\//, ''), 'database');
  if (database.includes('/')) invalid(`"${database}" in url is not a database name`);
  const password = decode(parsed.password, 'password');
  return {
    server: parsed.protocol === 'mariadb:' ? 'MariaDB' : 'MySQL',
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost',
    port: parsed.port === '' ? DEFAULT_PORT : Number(parsed.port),
    // The mysql client's default when no user is given: the login name.
    user: decode(parsed.username, 'user') || loginName(),
    password: password === '' ? undefined : password,
    database: database === '' ? undefined : database,
    tls,
  };
}

function loginName(): string {
  try {
    return userInfo().username;
  } catch {
    return '';
  }
}

const MYSQL_ENGINE: LoadEngine<mysql.PoolConnection> = { target: MYSQL_TARGET, open: openPool };

/**
 * Runs the mix against `options.url` until `options.durationS` passes or `hooks.signal` aborts,
 * then lets in-flight operations finish (cutting deliberate waits short) and returns the counts.
 */
export function runLoad(options: LoadOptions, hooks: LoadHooks = {}): Promise<LoadSummary> {
  return runLoadOn(MYSQL_ENGINE, options, hooks);
}

function openPool(options: ResolvedLoadOptions): LoadPool<mysql.PoolConnection> {
  const target = parseMysqlUrl(options.url);
  const pool = mysql.createPool({
    host: target.host,
    port: target.port,
    user: target.user,
    ...(target.password === undefined ? {} : { password: target.password }),
    ...(target.database === undefined ? {} : { database: target.database }),
    // Verifies the server certificate against Node's CA store.
    ...(target.tls ? { ssl: {} } : {}),
    connectionLimit: options.connections,
    connectTimeout: 10_000,
    supportBigNumbers: true,
    bigNumberStrings: true,
    // Shown in performance_schema.session_connect_attrs, as application_name is in pg_stat_activity.
    connectAttributes: { program_name: APPLICATION_NAME },
  });
  // What the server says it is, once connected: the session settings differ (MysqlDatabase), and
  // messages should name the server it is.
  let server = target.server;
  return {
    connect: async () => {
      try {
        const setup = await pool.getConnection();
        const [rows] = await setup.query<mysql.RowDataPacket[]>('SELECT VERSION() AS version');
        server = /mariadb/i.test(String(rows[0]?.version)) ? 'MariaDB' : 'MySQL';
        return setup;
      } catch (error) {
        throw connectError(
          error,
          { server: target.server, where: `${hostForUrl(target.host)}:${target.port}`, host: target.host },
          (code, message) => explainConnectError(code, message, target),
        );
      }
    },
    prepareSchema,
    release: (connection, failed) => (failed ? connection.destroy() : connection.release()),
    executor: (info) => new SqlExecutor(new MysqlDatabase(pool, server, info.identifier), info.accounts),
    close: () => pool.end(),
  };
}

/** An IPv6 address in brackets, as a URL writes it. */
function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** What MySQL's own reasons for refusing a connection mean (connectError explains network errors). */
function explainConnectError(code: unknown, message: string, target: MysqlUrl): string | undefined {
  switch (code) {
    case 'ECONNREFUSED':
      return (
        `connection refused, nothing listens there; check that ${target.server} is running and the host and port in --url ` +
        '(bind-address and port in the server configuration)'
      );
    case 'ER_ACCESS_DENIED_ERROR':
      return `access denied for user "${target.user}" (${message}); check the user and password in --url`;
    case 'ER_HOST_NOT_PRIVILEGED':
      return `${message}; the server has no account for this user connecting from this host`;
    case 'ER_BAD_DB_ERROR':
      return (
        `database "${target.database}" does not exist; check the database name in --url, or leave it out ` +
        '(loadgen creates its own database)'
      );
    case 'ER_DBACCESS_DENIED_ERROR':
      return `${message}; check the database name in --url, or leave it out (loadgen creates its own database)`;
    case 'ER_CON_COUNT_ERROR':
      return `${message}; the server has no free connection slots (max_connections)`;
    default:
      return undefined;
  }
}

/** Names loadgen accepts (MYSQL_TARGET) hold no backquote, so quoting cannot be broken out of. */
function quoteIdentifier(name: string): string {
  return `\`${name}\``;
}

/** GET_LOCK names longer than 64 characters are an error in MySQL 5.7+; a shared prefix only serializes setups. */
function setupLockName(schema: string): string {
  return `sightline-loadgen:${schema}`.slice(0, 64);
}

/**
 * loadgen's tables and their columns, created in this order. No foreign key from orders to accounts:
 * InnoDB would add an index on account_id that nothing reads (a second "unused index"), and its
 * shared lock on the account would make inserts wait behind the lock kind.
 */
const TABLES = {
  accounts: `
    id bigint NOT NULL PRIMARY KEY,
    email varchar(255) NOT NULL,
    name varchar(255) NOT NULL,
    region varchar(16) NOT NULL,
    balance decimal(14, 2) NOT NULL DEFAULT 0,
    created_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at datetime(6) NULL,
    UNIQUE KEY accounts_email_key (email),
    KEY ${UNUSED_INDEX} (region, created_at)`,
  orders: `
    id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account_id bigint NOT NULL,
    amount decimal(12, 2) NOT NULL,
    status varchar(16) NOT NULL,
    created_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)`,
  events: `
    id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account_id bigint NOT NULL,
    kind varchar(64) NOT NULL,
    payload json NOT NULL,
    created_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)`,
} as const;

const SETUP_LOCK_WAIT_S = 600;
/** Rows per INSERT when seeding: well under the 4 MB max_allowed_packet of MySQL 5.7. */
const SEED_BATCH = 2_000;
const REGIONS = ['eu', 'us', 'apac', 'latam'] as const;
const STATUSES = ['new', 'paid', 'shipped'] as const;
const HOUR_MS = 3_600_000;

/**
 * Creates the database, tables, indexes and seed rows if missing (with `reset`, drops them first).
 * Idempotent and safe to run concurrently: under a named lock (GET_LOCK). MySQL commits DDL
 * implicitly, so unlike PostgreSQL this is not one transaction; each seed batch is.
 */
export async function prepareSchema(
  connection: mysql.Connection,
  options: Pick<ResolvedLoadOptions, 'schema' | 'scale' | 'reset'>,
): Promise<SchemaInfo> {
  const s = quoteIdentifier(options.schema);
  const step = setupSteps(
    async (sql, values) => (await connection.query<mysql.RowDataPacket[]>(sql, values))[0],
    `database ${options.schema}`,
    (code) =>
      typeof code === 'string' && /ACCESS_DENIED/.test(code)
        ? `the user in --url needs all privileges on the database (GRANT ALL ON ${s}.* TO ...)`
        : undefined,
  );

  const lock = setupLockName(options.schema);
  const locked = await step('take the setup lock', 'SELECT GET_LOCK(?, ?) AS locked', [
    lock,
    SETUP_LOCK_WAIT_S,
  ]);
  if (Number(locked[0]?.locked) !== 1) {
    throw new LoadgenError(
      'SL_ERR_LOADGEN_SCHEMA',
      `another sightline loadgen has been setting up database ${options.schema} for ${SETUP_LOCK_WAIT_S} s; ` +
        'try again once it is done',
    );
  }
  try {
    const found =
      (
        await step(
          'look up the database',
          'SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
          [options.schema],
        )
      ).length > 0;
    if (found) {
      const marker = await step(
        'look for the marker',
        'SELECT TABLE_COMMENT AS comment FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
        [options.schema, MARKER_TABLE],
      );
      if (marker[0]?.comment !== SCHEMA_MARKER) {
        throw new LoadgenError(
          'SL_ERR_LOADGEN_SCHEMA_NOT_OURS',
          `database ${options.schema} exists but sightline loadgen did not create it (it has no ${MARKER_TABLE} table ` +
            `with loadgen's comment), so it will neither use nor drop it; choose another --schema`,
        );
      }
    }
    let created = !found;
    if (found && options.reset) {
      await step('drop the database', `DROP DATABASE ${s}`);
      created = true;
    }
    await step('create the database', `CREATE DATABASE IF NOT EXISTS ${s} CHARACTER SET utf8mb4`);
    try {
      await step(
        'mark the database',
        `CREATE TABLE IF NOT EXISTS ${s}.${MARKER_TABLE} (id tinyint NOT NULL PRIMARY KEY) ENGINE=InnoDB COMMENT = ?`,
        [SCHEMA_MARKER],
      );
    } catch (error) {
      // Left unmarked, the empty database would be refused by every later run.
      if (created) await connection.query(`DROP DATABASE IF EXISTS ${s}`).catch(() => undefined);
      throw error;
    }
    for (const [table, columns] of Object.entries(TABLES)) {
      await step(
        `create the ${table} table`,
        `CREATE TABLE IF NOT EXISTS ${s}.${table} (${columns}) ENGINE=InnoDB`,
      );
    }
    // Ids are 1..n without gaps (the mix never inserts or deletes accounts, and each seed batch is
    // one transaction), so max(id) is the count.
    const max = await step('count the accounts', `SELECT COALESCE(MAX(id), 0) AS max FROM ${s}.accounts`);
    const have = Number(max[0]?.max ?? 0);
    if (have < options.scale) {
      const now = Date.now();
      for (let first = have + 1; first <= options.scale; first += SEED_BATCH) {
        const ids = Array.from(
          { length: Math.min(SEED_BATCH, options.scale - first + 1) },
          (_, i) => first + i,
        );
        await step('start a seed batch', 'START TRANSACTION');
        // `VALUES ?` with an array of rows: mysql2 expands it into escaped values.
        await step(
          'insert accounts',
          `INSERT INTO ${s}.accounts (id, email, name, region, balance, created_at) VALUES ?`,
          [
            ids.map((g) => [
              g,
              `user${g}@example.com`,
              `Account ${g}`,
              REGIONS[g % REGIONS.length],
              cents(Math.random() * 1000),
              new Date(now - (g % 1000) * HOUR_MS),
            ]),
          ],
        );
        await step(
          'insert orders',
          `INSERT INTO ${s}.orders (account_id, amount, status, created_at) VALUES ?`,
          [
            ids.map((g) => [
              g,
              cents(Math.random() * 200),
              STATUSES[g % STATUSES.length],
              new Date(now - (g % 500) * HOUR_MS),
            ]),
          ],
        );
        await step('commit a seed batch', 'COMMIT');
      }
      // Fresh statistics at once rather than from InnoDB's background recalculation. It does not count
      // as a read of any index in performance_schema, so the unused index stays unused.
      await step('analyze the tables', `ANALYZE TABLE ${s}.accounts, ${s}.orders, ${s}.events`);
    }
    return schemaInfo(options, s, created, have);
  } catch (error) {
    await connection.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await connection.query('SELECT RELEASE_LOCK(?)', [lock]).catch(() => undefined);
  }
}

function cents(value: number): number {
  return Math.round(value * 100) / 100;
}

/** The error kind's statements fail with these, by design. */
const EXPECTED_ERROR_CODES: ReadonlySet<string> = new Set(['ER_DUP_ENTRY', 'ER_NO_SUCH_TABLE']);
/** Server errors that mean the connection is gone or cannot be had. */
const CONNECTION_ERROR_CODES = new Set([
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_ABORTING_CONNECTION',
  'ER_NET_READ_ERROR',
  'ER_NET_READ_INTERRUPTED',
  'ER_NET_ERROR_ON_WRITE',
  'ER_NET_WRITE_INTERRUPTED',
  'ER_CLIENT_INTERACTION_TIMEOUT',
]);
/** MariaDB's ER_CONNECTION_KILLED, which mysql2 has no name for. */
const ERRNO_CONNECTION_KILLED = 1927;

function isConnectionError(error: unknown): boolean {
  const { code, errno, fatal } = error as { code?: unknown; errno?: unknown; fatal?: unknown };
  // mysql2 marks errors after which the connection is unusable as fatal.
  if (fatal === true || errno === ERRNO_CONNECTION_KILLED) return true;
  if (typeof code === 'string') {
    if (CONNECTION_ERROR_CODES.has(code) || code.startsWith('PROTOCOL_')) return true;
    // Node's socket errors (ECONNREFUSED, ECONNRESET, …) and the executor's EROLLBACK; server codes start with ER_.
    if (/^E[A-Z]+$/.test(code)) return true;
  }
  return /Pool is closed|closed state|Connection lost/i.test(messageOf(error));
}

/** The mix in MySQL's SQL against the tables in database `s` (quoted). */
function mixSql(s: string): MixSql {
  const t = { accounts: `${s}.accounts`, orders: `${s}.orders`, events: `${s}.events` };
  return {
    begin: 'START TRANSACTION',
    point: (id) => `SELECT id, email, name, balance FROM ${t.accounts} WHERE id = ${id}`,
    // The leading % rules out every index and SUM(balance) needs the rows, so this is a full table
    // scan (EXPLAIN: type ALL); SLEEP, evaluated once for the one result row, makes it reliably slow.
    scan: `SELECT COUNT(*) AS matches, SUM(balance) AS balance, SLEEP(?) AS slept FROM ${t.accounts} WHERE email LIKE ?`,
    insertOrder: `INSERT INTO ${t.orders} (account_id, amount, status) VALUES (?, ?, 'new')`,
    updateBalance: `UPDATE ${t.accounts} SET balance = balance + ?, updated_at = NOW(6) WHERE id = ?`,
    insertEvent: `INSERT INTO ${t.events} (account_id, kind, payload) VALUES (?, ?, ?)`,
    readAccount: `SELECT id, balance FROM ${t.accounts} WHERE id = ?`,
    failing: [
      {
        sql: `INSERT INTO ${t.accounts} (id, email, name, region) VALUES (?, ?, ?, ?)`,
        values: duplicateAccount,
      },
      { sql: `SELECT id, balance FROM ${s}.accounts_archive WHERE id = ?`, values: (id) => [id] },
    ],
  };
}

class MysqlDatabase implements SqlDatabase {
  readonly sql: MixSql;
  readonly expectedErrorCodes = EXPECTED_ERROR_CODES;
  /** The connections (mysql2's own objects, one per server session) that have had the session settings. */
  private readonly prepared = new WeakSet<object>();
  private readonly sessionSettings: string;

  constructor(
    private readonly pool: mysql.Pool,
    readonly server: MysqlUrl['server'],
    s: string,
  ) {
    this.sql = mixSql(s);
    // Safety nets: nothing in the mix waits or runs this long, and a stuck run must not hold locks for
    // long. MySQL has no idle-in-transaction timeout, and its max_execution_time covers SELECT only.
    this.sessionSettings =
      server === 'MariaDB'
        ? 'SET SESSION innodb_lock_wait_timeout = 10, SESSION max_statement_time = 30, SESSION idle_transaction_timeout = 30'
        : 'SET SESSION innodb_lock_wait_timeout = 10, SESSION max_execution_time = 30000';
  }

  isConnectionError(error: unknown): boolean {
    return isConnectionError(error);
  }

  /** Checks out a connection, gives a new one the session settings, and discards one that broke. */
  async withConnection<T>(use: (query: Query) => Promise<T>): Promise<T> {
    const connection = await this.pool.getConnection();
    let broken = false;
    try {
      if (!this.prepared.has(connection.connection)) {
        await connection.query(this.sessionSettings);
        this.prepared.add(connection.connection);
      }
      return await use((sql, values) => connection.query(sql, values));
    } catch (error) {
      broken = isConnectionError(error);
      throw error;
    } finally {
      if (broken) connection.destroy();
      else connection.release();
    }
  }
}
