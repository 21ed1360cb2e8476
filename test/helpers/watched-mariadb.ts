import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { startMariadb, type MariadbInstance } from '../harness/mariadb.js';
import { newDataDir, runCli, startSightlineProcess, type SightlineProcess } from '../harness/sightline.js';

/** The password `setup-sql mysql` gives the monitoring user; tests check it never reaches the stored data. */
const MONITOR_PASSWORD = 'monitor-password';

export interface WatchedMariadb {
  server: MariadbInstance;
  sightline: SightlineProcess;
  /** How the collector connects: as the user `setup-sql mysql` made, with MONITOR_PASSWORD. */
  url: string;
  password: string;
  stop(): Promise<void>;
}

/**
 * `sightline start` watching a real MariaDB as target `main`, through the user from
 * `sightline setup-sql mysql`, with metrics every second. Resolves once the process is up; the
 * caller runs its own load.
 */
export async function startWatchedMariadb(
  options: {
    /** Seconds between statement statistics reads; the collector's default when left out. */
    queryStatsIntervalSeconds?: number;
  } = {},
): Promise<WatchedMariadb> {
  const { queryStatsIntervalSeconds } = options;
  const server = await startMariadb();
  const setup = await runCli([
    'setup-sql',
    'mysql',
    '--user',
    'sightline',
    '--password',
    MONITOR_PASSWORD,
    '--from',
    '127.0.0.1',
  ]);
  expect(setup.code, setup.stderr).toBe(0);
  await server.cli(setup.stdout);
  const url = `mysql://sightline:${MONITOR_PASSWORD}@${server.host}:${server.port}/`;
  const dataDir = newDataDir();
  const configFile = join(dataDir, 'sightline.yaml');
  writeFileSync(
    configFile,
    [
      'collect:',
      '  mysql:',
      '    targets:',
      '      - name: main',
      `        url: ${url}`,
      '        metricsIntervalSeconds: 1',
      ...(queryStatsIntervalSeconds === undefined
        ? []
        : [`        queryStatsIntervalSeconds: ${queryStatsIntervalSeconds}`]),
      '',
    ].join('\n'),
  );
  const sightline = await startSightlineProcess({ dataDir, args: ['--config', configFile] });
  return {
    server,
    sightline,
    url,
    password: MONITOR_PASSWORD,
    stop: async () => {
      await sightline.stop();
      sightline.cleanup();
      await server.stop();
    },
  };
}
