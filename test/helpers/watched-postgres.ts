import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, vi } from 'vitest';
import { ApiClient } from '../harness/api-client.js';
import { startPostgres, type PostgresInstance } from '../harness/postgres.js';
import { newDataDir, runCli, startSightlineProcess, type SightlineProcess } from '../harness/sightline.js';
import { API_WAIT, type QueryDetail, type TopQueries } from './database-api.js';

export interface WatchedPostgres {
  postgres: PostgresInstance;
  sightline: SightlineProcess;
  stop(): Promise<void>;
}

export interface PostgresWithPlan extends WatchedPostgres {
  /** A statement whose samples include a plan, with its detail as the API gave it. */
  withPlan: QueryDetail & { fingerprint: string };
}

/**
 * `sightline start` watching a real PostgreSQL 15 (pg_stat_statements and auto_explain, low
 * thresholds, so a short load run logs statements and plans) as target `main`, through the role
 * from `sightline setup-sql postgres`. Resolves once the process is up; the caller runs its load.
 */
export async function startWatchedPostgres(
  /** Extra environment of `sightline start` (a shorter rollup interval, say). */
  env: Record<string, string> = {},
): Promise<WatchedPostgres> {
  const postgres = await startPostgres({
    // auto_explain writes plans to the server log, which the collector reads over SQL.
    settings: {
      shared_preload_libraries: 'pg_stat_statements,auto_explain',
      logging_collector: 'on',
      log_directory: 'log',
    },
  });
  const setup = await runCli(['setup-sql', 'postgres', '--user', 'sightline', '--password', 'ui-password']);
  expect(setup.code).toBe(0);
  await postgres.psql(setup.stdout);
  // Low thresholds, so a short load run has plans to sample.
  await postgres.psql(
    `ALTER SYSTEM SET log_min_duration_statement = '20';
     ALTER SYSTEM SET auto_explain.log_min_duration = '20';
     SELECT pg_reload_conf();`,
  );
  const dataDir = newDataDir();
  const configFile = join(dataDir, 'sightline.yaml');
  writeFileSync(
    configFile,
    [
      'collect:',
      '  postgres:',
      '    targets:',
      '      - name: main',
      `        url: postgresql://sightline:ui-password@${postgres.host}:${postgres.port}/postgres`,
      '        metricsIntervalSeconds: 1',
      '        queryStatsIntervalSeconds: 2',
      '',
    ].join('\n'),
  );
  const sightline = await startSightlineProcess({ dataDir, args: ['--config', configFile], env });
  return {
    postgres,
    sightline,
    stop: async () => {
      await sightline.stop();
      sightline.cleanup();
      await postgres.stop();
    },
  };
}

/**
 * startWatchedPostgres after a short `sightline loadgen postgres`, resolved once a sampled plan
 * is readable through the API: what the database screens' tests look at.
 */
export async function startPostgresWithPlan(
  /** Extra environment of `sightline start` (a shorter rollup interval, say). */
  env: Record<string, string> = {},
): Promise<PostgresWithPlan> {
  const watched = await startWatchedPostgres(env);
  const { postgres, sightline } = watched;
  const load = await runCli(
    ['loadgen', 'postgres', '--url', postgres.url, '--duration', '6', '--rate', '60', '--quiet'],
    { timeoutMs: 60_000 },
  );
  expect(load.code, load.stderr).toBe(0);

  const api = new ApiClient(sightline.apiUrl, sightline.key);
  const withPlan = await vi.waitUntil(async () => {
    const { body } = await api.get<TopQueries>('/api/v1/queries?limit=50');
    for (const query of body.data) {
      const detail = await api.get<QueryDetail>(`/api/v1/queries/${encodeURIComponent(query.fingerprint)}`);
      if (detail.body.samples.some((s) => s.plan !== null))
        return { ...detail.body, fingerprint: query.fingerprint };
    }
    return undefined;
  }, API_WAIT);
  return { ...watched, withPlan };
}
