import { existsSync } from 'node:fs';
import { startExporterProcess, type ExporterInstance } from './exporter-process.js';

/** Where Debian's `prometheus-mysqld-exporter` package puts it; overridable for other installs. */
const EXPORTER_BIN = process.env.SIGHTLINE_TEST_MYSQLD_EXPORTER ?? '/usr/bin/prometheus-mysqld-exporter';

export const MYSQLD_EXPORTER_INSTALL_HINT =
  'run `bash .ci/run` or `apt-get install prometheus-mysqld-exporter` ' +
  `(or set SIGHTLINE_TEST_MYSQLD_EXPORTER to the binary; looked for ${EXPORTER_BIN})`;

/** A running exporter (see ExporterInstance in exporter-process.ts). */
export type MysqldExporterInstance = ExporterInstance;

export interface StartMysqldExporterOptions {
  /** The MySQL or MariaDB to watch (a harness instance fits): reached over TCP. */
  server: { host: string; port: number };
  user: string;
  /** Goes into the exporter's DSN as is: keep it to letters, digits and `-`. */
  password: string;
}

export function mysqldExporterAvailable(): boolean {
  return existsSync(EXPORTER_BIN);
}

/**
 * Runs prometheus-mysqld-exporter (Debian 0.14, its default collectors) on a free loopback port
 * against one server, as an operator would beside it, and resolves once /metrics answers. The
 * exporter connects on each scrape, so a wrong password shows in the scrape (mysql_up 0).
 */
export async function startMysqldExporter(
  options: StartMysqldExporterOptions,
): Promise<MysqldExporterInstance> {
  if (!mysqldExporterAvailable()) {
    throw new Error(`prometheus-mysqld-exporter was not found; ${MYSQLD_EXPORTER_INSTALL_HINT}`);
  }
  if (!/^[A-Za-z0-9_-]*$/.test(options.password)) {
    throw new Error('the mysqld-exporter harness takes passwords of letters, digits, - and _ only');
  }
  // go-sql-driver DSN: user:password@tcp(host:port)/
  const dataSourceName = `${options.user}:${options.password}@tcp(${options.server.host}:${options.server.port})/`;

  return startExporterProcess({
    name: 'prometheus-mysqld-exporter',
    binary: EXPORTER_BIN,
    args: [],
    dataSourceName,
    // MYSQL_* in a developer's shell would change what the exporter reaches.
    dropEnv: (name) => name.startsWith('MYSQL'),
  });
}
