import type pg from 'pg';
import { SightlineError, errorMessage } from '../../core/errors.js';

/** Where the control plane connects, for messages: never the password. */
export interface PostgresEndpoint {
  host: string;
  port: number;
  database: string;
  user: string;
}

/** A connection string (postgresql://user:password@host:port/database) or pg's pool options. */
export type PostgresConnection = string | pg.PoolConfig;

/**
 * The host, port, database and user a connection resolves to, the way pg resolves them
 * (URL or options, then the PG* environment variables, then libpq's defaults). A string that
 * is not a postgres URL is refused here, without echoing it: it may hold a password.
 */
export function endpointOf(
  connection: PostgresConnection,
  env: NodeJS.ProcessEnv = process.env,
): PostgresEndpoint {
  let fields: Partial<PostgresEndpoint>;
  if (typeof connection === 'string') {
    fields = urlFields(connection);
  } else {
    const options = optionFields(connection);
    // pg lets a connectionString win over the discrete options.
    const url = connection.connectionString === undefined ? {} : urlFields(connection.connectionString);
    fields = {
      host: url.host ?? options.host,
      port: url.port ?? options.port,
      database: url.database ?? options.database,
      user: url.user ?? options.user,
    };
  }
  const user = fields.user ?? env.PGUSER ?? env.USER ?? 'postgres';
  return {
    host: fields.host ?? env.PGHOST ?? 'localhost',
    port: fields.port ?? Number(env.PGPORT ?? 5432),
    database: fields.database ?? env.PGDATABASE ?? user,
    user,
  };
}

function urlFields(connection: string): Partial<PostgresEndpoint> {
  let url: URL;
  try {
    url = new URL(connection);
  } catch {
    throw invalidUrl();
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') throw invalidUrl();
  const fields: Partial<PostgresEndpoint> = {};
  const host = url.hostname === '' ? url.searchParams.get('host') : decodeURIComponent(url.hostname);
  if (host !== null && host !== '') fields.host = host;
  if (url.port !== '') fields.port = Number(url.port);
  if (url.pathname.length > 1) fields.database = decodeURIComponent(url.pathname.slice(1));
  if (url.username !== '') fields.user = decodeURIComponent(url.username);
  return fields;
}

function optionFields(options: pg.PoolConfig): Partial<PostgresEndpoint> {
  const fields: Partial<PostgresEndpoint> = {};
  if (typeof options.host === 'string') fields.host = options.host;
  if (options.port !== undefined) fields.port = Number(options.port);
  if (options.database !== undefined) fields.database = options.database;
  if (options.user !== undefined) fields.user = options.user;
  return fields;
}

function invalidUrl(): SightlineError {
  return new SightlineError(
    'SL_ERR_CONFIG_INVALID',
    'control.postgres.url is not a PostgreSQL URL; write it as postgresql://user:password@host:port/database ' +
      '(percent-encode special characters in the password)',
  );
}

export function describeEndpoint(endpoint: PostgresEndpoint): string {
  return `PostgreSQL at ${endpoint.host}:${endpoint.port} (database "${endpoint.database}", user "${endpoint.user}")`;
}

/** What a failure of pg means for the caller. */
export type FailureKind =
  /** The server could not be reached or refused a new session for now. */
  | 'unreachable'
  /** A session that worked broke (server restart, network, terminated backend). */
  | 'lost'
  /** The server is there but busy: a timeout, a deadlock, too many connections. */
  | 'busy'
  | 'credentials'
  | 'no-database'
  | 'privilege'
  /** A statement failed on its own (a constraint, a bug): not about the connection. */
  | 'statement';

const SOCKET_UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
]);

export function failureKind(error: unknown): FailureKind {
  const code = (error as { code?: unknown }).code;
  const message = errorMessage(error);
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    // SQLSTATE classes: https://www.postgresql.org/docs/15/errcodes-appendix.html
    if (code === '28P01' || code === '28000') return 'credentials';
    if (code === '3D000') return 'no-database';
    if (code === '42501') return 'privilege';
    // 57P03: the server is starting up or shutting down; 53300: too many connections.
    if (code === '57P03' || code === '53300') return 'unreachable';
    if (code.startsWith('08') || code.startsWith('57P')) return 'lost';
    // 57014: statement_timeout; 40001/40P01: serialization failure, deadlock; 53: resources.
    if (code === '57014' || code.startsWith('40') || code.startsWith('53')) return 'busy';
    return 'statement';
  }
  if (typeof code === 'string' && SOCKET_UNREACHABLE.has(code)) return 'unreachable';
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return 'lost';
  // pg's own errors carry no code: connect timeouts (pg and pg-pool word them differently),
  // a socket closed under a query, and the SCRAM client refusing a missing password.
  if (/timeout (expired|exceeded)|connection timeout/i.test(message)) return 'unreachable';
  if (/connection terminated|connection error|not queryable/i.test(message)) return 'lost';
  if (/SASL|password/i.test(message)) return 'credentials';
  return 'statement';
}

/**
 * An error at start, naming what to check. Unreachable and busy servers are
 * SL_ERR_STORE_UNAVAILABLE (they may be starting too: a supervisor's restart can succeed);
 * wrong credentials, database or privileges are SL_ERR_CONFIG_INVALID (no retry will help).
 */
export function startError(error: unknown, endpoint: PostgresEndpoint, schema: string): SightlineError {
  if (error instanceof SightlineError) return error;
  const where = describeEndpoint(endpoint);
  const reason = errorMessage(error);
  switch (failureKind(error)) {
    case 'unreachable':
    case 'lost':
    case 'busy':
      return new SightlineError(
        'SL_ERR_STORE_UNAVAILABLE',
        `cannot reach the control-plane ${where}: ${reason}. Check the host and port in control.postgres.url, ` +
          'that the server is running and that it accepts TCP connections from this host.',
        { cause: error, retryAfterSeconds: 5 },
      );
    case 'credentials':
      return new SightlineError(
        'SL_ERR_CONFIG_INVALID',
        `the control-plane ${where} refused the credentials: ${reason}. Check the user and password in ` +
          'control.postgres.url and that pg_hba.conf lets this user in from this host.',
        { cause: error },
      );
    case 'no-database':
      return new SightlineError(
        'SL_ERR_CONFIG_INVALID',
        `the control-plane ${where}: database "${endpoint.database}" does not exist. Create it ` +
          `(CREATE DATABASE "${endpoint.database}") or fix the database in control.postgres.url.`,
        { cause: error },
      );
    case 'privilege':
      return new SightlineError(
        'SL_ERR_CONFIG_INVALID',
        `the control-plane ${where}: user "${endpoint.user}" may not set up schema "${schema}": ${reason}. ` +
          `Grant it CREATE on the database, or create the schema for it (CREATE SCHEMA "${schema}" ` +
          `AUTHORIZATION "${endpoint.user}"), or set control.postgres.schema to a schema it owns.`,
        { cause: error },
      );
    case 'statement':
      return new SightlineError(
        'SL_ERR_CONFIG_INVALID',
        `setting up the control-plane schema "${schema}" in ${where} failed: ${reason}. ` +
          'Check that control.postgres.url points at a PostgreSQL (version 12 or newer) this Sightline may use.',
        { cause: error },
      );
  }
}

/**
 * An error while serving: the server gone or busy is a retryable 503 (the authenticator's
 * callers answer 503, so clients retry and keep their data); anything else is returned as is.
 */
export function serveError(error: unknown, endpoint: PostgresEndpoint, retryAfterSeconds: number): unknown {
  if (error instanceof SightlineError) return error;
  const kind = failureKind(error);
  if (kind === 'statement' || kind === 'privilege' || kind === 'no-database' || kind === 'credentials') {
    if (kind === 'statement') return error;
    return new SightlineError(
      'SL_ERR_STORE_UNAVAILABLE',
      `the control-plane ${describeEndpoint(endpoint)} refuses this Sightline now: ${errorMessage(error)}. ` +
        'Check that its user, password, database and grants were not changed.',
      { cause: error, retryAfterSeconds },
    );
  }
  return new SightlineError(
    'SL_ERR_STORE_UNAVAILABLE',
    `the control-plane ${describeEndpoint(endpoint)} is ${kind === 'busy' ? 'overloaded' : 'unavailable'} ` +
      `(${errorMessage(error)}); API keys cannot be checked until it answers again. Retry after ${retryAfterSeconds} s.`,
    { cause: error, retryAfterSeconds },
  );
}
