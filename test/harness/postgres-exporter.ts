import { existsSync } from 'node:fs';
import { startExporterProcess, type ExporterInstance } from './exporter-process.js';

/** Where Debian's `prometheus-postgres-exporter` package puts it; overridable for other installs. */
const EXPORTER_BIN = process.env.SIGHTLINE_TEST_PG_EXPORTER ?? '/usr/bin/prometheus-postgres-exporter';
/** The query file Debian ships as an example (pg_stat_user_tables, pg_statio_user_tables, …). */
export const EXPORTER_EXAMPLE_QUERIES = '/usr/share/doc/prometheus-postgres-exporter/examples/queries.yaml';

export const POSTGRES_EXPORTER_INSTALL_HINT =
  'run `bash .ci/run` or `apt-get install prometheus-postgres-exporter` ' +
  `(or set SIGHTLINE_TEST_PG_EXPORTER to the binary; looked for ${EXPORTER_BIN})`;

/** A running exporter (see ExporterInstance in exporter-process.ts). */
export type PostgresExporterInstance = ExporterInstance;

export interface StartPostgresExporterOptions {
  /** The PostgreSQL to watch (a harness instance fits): reached over TCP. */
  postgres: { host: string; port: number };
  user: string;
  password: string;
  database?: string;
  /** --extend.query-path: extra queries on top of the built-in collectors. */
  queriesFile?: string;
}

export function postgresExporterAvailable(): boolean {
  return existsSync(EXPORTER_BIN);
}

/**
 * Runs prometheus-postgres-exporter on a free loopback port against one PostgreSQL, as an
 * operator would beside a server, and resolves once /metrics answers. The exporter only
 * connects to PostgreSQL when scraped, so a wrong password shows in the scrape (pg_up 0).
 */
export async function startPostgresExporter(
  options: StartPostgresExporterOptions,
): Promise<PostgresExporterInstance> {
  if (!postgresExporterAvailable()) {
    throw new Error(`prometheus-postgres-exporter was not found; ${POSTGRES_EXPORTER_INSTALL_HINT}`);
  }
  const database = options.database ?? 'postgres';
  const dataSourceName =
    `postgresql://${encodeURIComponent(options.user)}:${encodeURIComponent(options.password)}` +
    `@${options.postgres.host}:${options.postgres.port}/${encodeURIComponent(database)}?sslmode=disable`;

  return startExporterProcess({
    name: 'prometheus-postgres-exporter',
    binary: EXPORTER_BIN,
    args: options.queriesFile === undefined ? [] : [`--extend.query-path=${options.queriesFile}`],
    dataSourceName,
    // PG* would redirect lib/pq, and PG_EXPORTER_* in a developer's shell changes the exporter.
    dropEnv: (name) => name.startsWith('PG'),
  });
}
