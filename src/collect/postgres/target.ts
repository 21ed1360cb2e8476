import type { ClientConfig } from 'pg';
import { postgresTargetSchema, type PostgresTargetConfig } from '../../config/schema.js';
import { SightlineError } from '../../core/errors.js';
import { parseTargetUrl, passwordOf, safeName, type UrlParts } from '../target-common.js';

/** A watched PostgreSQL server as the collector uses it. */
export interface PostgresTarget {
  name: string;
  /** `pg:<name>`: the entity id of the instance in every record. */
  entityId: string;
  /** host:port, for messages and the server.address resource attribute. */
  address: string;
  host: string;
  port: number;
  database: string;
  user: string;
  connection: ClientConfig;
  metricsIntervalMs: number;
  queryStatsIntervalMs: number;
  topTables: number;
  logs: PostgresTargetConfig['logs'];
}

const APPLICATION_NAME = 'sightline';

/** The entity id of a database inside an instance. */
export function databaseEntityId(instanceId: string, database: string): string {
  return `${instanceId}:${encodeURIComponent(database)}`;
}

/**
 * Resolves a configured target: reads the password from where it is kept and builds the
 * session settings every connection gets (read-only, statement and lock timeouts, our
 * application_name), so no query the collector runs can write or wait long on a lock.
 */
export function resolveTarget(
  config: PostgresTargetConfig,
  env: NodeJS.ProcessEnv = process.env,
): PostgresTarget {
  const fromUrl = config.url === undefined ? undefined : parseUrl(config.url);
  const host = config.host ?? fromUrl?.host ?? 'localhost';
  const port = config.port ?? fromUrl?.port ?? 5432;
  const database = config.database ?? fromUrl?.database ?? 'postgres';
  const user = config.user ?? fromUrl?.user ?? 'sightline';
  const name = config.name ?? safeName(`${host}-${port}`);
  const password = passwordOf(config, `PostgreSQL target ${name}`, env) ?? fromUrl?.password;
  const sessionOptions = [
    '-c default_transaction_read_only=on',
    `-c statement_timeout=${config.statementTimeoutMs}`,
    `-c lock_timeout=${config.lockTimeoutMs}`,
    // A collector session never sits inside a transaction; if it ever does, the server ends it.
    '-c idle_in_transaction_session_timeout=10000',
  ].join(' ');
  const connection: ClientConfig = {
    // Discrete fields only: pg lets a connectionString override them, password included.
    host,
    port,
    database,
    user,
    ...(password === undefined ? {} : { password }),
    ...sslOf(fromUrl?.sslmode),
    application_name: APPLICATION_NAME,
    options: sessionOptions,
    connectionTimeoutMillis: Math.max(config.statementTimeoutMs, 5000),
    // Client-side guard beside the server's statement_timeout, for a server that stops answering.
    query_timeout: config.statementTimeoutMs + 5000,
    keepAlive: true,
  };
  return {
    name,
    entityId: `pg:${name}`,
    address: `${host}:${port}`,
    host,
    port,
    database,
    user,
    connection,
    metricsIntervalMs: config.metricsIntervalSeconds * 1000,
    queryStatsIntervalMs: config.queryStatsIntervalSeconds * 1000,
    topTables: config.topTables,
    logs: config.logs,
  };
}

/** libpq's sslmode: require encrypts, verify-ca/verify-full also check the server's certificate. */
function sslOf(sslmode: string | undefined): Pick<ClientConfig, 'ssl'> {
  if (sslmode === undefined || sslmode === 'disable' || sslmode === 'allow' || sslmode === 'prefer')
    return {};
  return { ssl: { rejectUnauthorized: sslmode.startsWith('verify') } };
}

function parseUrl(url: string): UrlParts & { sslmode?: string } {
  const parts = parseTargetUrl(url, 'PostgreSQL', 'postgresql://user:password@host:port/database');
  // A socket directory may come as ?host=/var/run/postgresql instead of in the authority.
  const socketHost = parts.params.get('host');
  const sslmode = parts.params.get('sslmode');
  return {
    ...parts,
    ...(parts.host === undefined && socketHost !== null ? { host: socketHost } : {}),
    ...(sslmode === null ? {} : { sslmode }),
  };
}

/** Every target of the config: the full entries, then the quick-path URLs with the schema's defaults. */
export function targetsOf(
  postgres: { targets: readonly PostgresTargetConfig[]; urls: readonly string[] },
  env: NodeJS.ProcessEnv = process.env,
): PostgresTarget[] {
  const configs = [...postgres.targets, ...postgres.urls.map((url) => postgresTargetSchema.parse({ url }))];
  const resolved = configs.map((t) => resolveTarget(t, env));
  const count = (name: string) => resolved.filter((t) => t.name === name).length;
  // Two unnamed targets on one server (different databases) are told apart by their database.
  const targets = resolved.map((target, i) =>
    configs[i]?.name === undefined && count(target.name) > 1
      ? resolveTarget(
          { ...configs[i], name: safeName(`${target.name}-${target.database}`) } as PostgresTargetConfig,
          env,
        )
      : target,
  );
  const seen = new Set<string>();
  for (const target of targets) {
    if (seen.has(target.name)) {
      throw new SightlineError(
        'SL_ERR_CONFIG_INVALID',
        `two PostgreSQL targets are named ${target.name}: give each a distinct name (collect.postgres.targets[].name in the config file)`,
      );
    }
    seen.add(target.name);
  }
  return targets;
}
