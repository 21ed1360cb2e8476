import { mysqlTargetSchema, type MysqlTargetConfig } from '../../config/schema.js';
import { SightlineError } from '../../core/errors.js';
import { parseTargetUrl, passwordOf, safeName, type UrlParts } from '../target-common.js';

/** A watched MySQL or MariaDB server as the collector uses it. */
export interface MysqlTarget {
  name: string;
  /** `mysql:<name>` (MariaDB too): the entity id of the instance in every record. */
  entityId: string;
  /** host:port, for messages and the server.address resource attribute. */
  address: string;
  host: string;
  port: number;
  user: string;
  password: string | undefined;
  /** The database to connect to, if the URL names one; the collector reads every schema either way. */
  database: string | undefined;
  tls: boolean;
  statementTimeoutMs: number;
  lockWaitTimeoutSeconds: number;
  metricsIntervalMs: number;
  queryStatsIntervalMs: number;
  topTables: number;
  maxDigests: number;
  explain: MysqlTargetConfig['explain'];
  logs: MysqlTargetConfig['logs'];
}

/** The entity id of a schema (database) inside an instance. */
export function schemaEntityId(instanceId: string, schema: string): string {
  return `${instanceId}:${encodeURIComponent(schema)}`;
}

export function resolveMysqlTarget(
  config: MysqlTargetConfig,
  env: NodeJS.ProcessEnv = process.env,
): MysqlTarget {
  const fromUrl = config.url === undefined ? undefined : parseUrl(config.url);
  const host = config.host ?? fromUrl?.host ?? 'localhost';
  const port = config.port ?? fromUrl?.port ?? 3306;
  const user = config.user ?? fromUrl?.user ?? 'sightline';
  const name = config.name ?? safeName(`${host}-${port}`);
  return {
    name,
    entityId: `mysql:${name}`,
    address: `${host}:${port}`,
    host,
    port,
    user,
    password: passwordOf(config, `MySQL target ${name}`, env) ?? fromUrl?.password,
    database: fromUrl?.database,
    tls: fromUrl?.tls ?? false,
    statementTimeoutMs: config.statementTimeoutMs,
    lockWaitTimeoutSeconds: config.lockWaitTimeoutSeconds,
    metricsIntervalMs: config.metricsIntervalSeconds * 1000,
    queryStatsIntervalMs: config.queryStatsIntervalSeconds * 1000,
    topTables: config.topTables,
    maxDigests: config.maxDigests,
    explain: config.explain,
    logs: config.logs,
  };
}

function parseUrl(url: string): UrlParts & { tls?: boolean } {
  const parts = parseTargetUrl(url, 'MySQL', 'mysql://user:password@host:port/');
  // The names MySQL's own clients use (ssl-mode) and the common URL form (ssl=true).
  const sslMode = (parts.params.get('ssl-mode') ?? parts.params.get('sslmode'))?.toUpperCase();
  const ssl = parts.params.get('ssl');
  if (sslMode !== undefined) return { ...parts, tls: !['DISABLED', 'PREFERRED'].includes(sslMode) };
  if (ssl !== null) return { ...parts, tls: ssl === 'true' || ssl === '1' };
  return parts;
}

/** Every target of the config: the full entries, then the quick-path URLs with the schema's defaults. */
export function mysqlTargetsOf(
  mysql: { targets: readonly MysqlTargetConfig[]; urls: readonly string[] },
  env: NodeJS.ProcessEnv = process.env,
): MysqlTarget[] {
  const configs = [...mysql.targets, ...mysql.urls.map((url) => mysqlTargetSchema.parse({ url }))];
  const targets = configs.map((t) => resolveMysqlTarget(t, env));
  const seen = new Set<string>();
  for (const target of targets) {
    if (seen.has(target.name)) {
      throw new SightlineError(
        'SL_ERR_CONFIG_INVALID',
        `two MySQL targets are named ${target.name}: give each a distinct name (collect.mysql.targets[].name in the config file)`,
      );
    }
    seen.add(target.name);
  }
  return targets;
}
