import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../harness/api-client.js';
import { MARIADB_INSTALL_HINT, mariadbAvailable } from '../harness/mariadb.js';
import { requireService } from '../harness/service-missing.js';
import { newDataDir, runCli, startSightlineProcess } from '../harness/sightline.js';
import {
  API_WAIT,
  type ActivityBody,
  type DatabasesBody,
  type LogsBody,
  type MetricsCatalog,
  type QueryDetail,
  type TopQueries,
} from '../helpers/database-api.js';
import { startWatchedMariadb, type WatchedMariadb } from '../helpers/watched-mariadb.js';

const available = requireService('MariaDB', mariadbAvailable(), MARIADB_INSTALL_HINT);

/**
 * The acceptance path for MySQL/MariaDB, through the built CLI: the user from
 * `setup-sql mysql`, a target with every default but its intervals (so the slow and error logs
 * are found by `auto`), `sightline loadgen mysql`, then the same API routes as PostgreSQL answer
 * with MariaDB's instance, metrics, top queries, samples, sessions and parsed logs.
 */
describe.skipIf(!available)('watching MariaDB end to end', () => {
  let watched: WatchedMariadb;
  let api: ApiClient;

  beforeAll(async () => {
    watched = await startWatchedMariadb({ queryStatsIntervalSeconds: 2 });
    // A lower threshold than the setup's, so the test's short load run fills the slow log.
    await watched.server.sql('SET GLOBAL long_query_time = 0.02');
    api = new ApiClient(watched.sightline.apiUrl, watched.sightline.key);
  }, 60_000);

  afterAll(async () => {
    await watched?.stop();
  });

  it('answers with metrics, top queries, samples, sessions and logs after a load run', async () => {
    const load = await runCli(
      ['loadgen', 'mysql', '--url', watched.server.url, '--duration', '8', '--rate', '60', '--quiet'],
      { timeoutMs: 60_000 },
    );
    expect(load.code, load.stderr).toBe(0);
    const summary = JSON.parse(load.stdout) as { statements: Record<string, number> };
    expect(summary.statements.point).toBeGreaterThan(100);
    expect(watched.sightline.stdout()).toContain('Watching      mysql/main');
    // A failed login, for the error log.
    await expect(
      mysql.createConnection({
        host: watched.server.host,
        port: watched.server.port,
        user: 'intruder',
        password: 'nope',
      }),
    ).rejects.toThrow(/denied/i);

    const instance = await vi.waitUntil(async () => {
      const { body } = await api.get<DatabasesBody>('/api/v1/databases');
      const main = body.data.find((d) => d.id === 'mysql:main');
      return main?.up === true && main.databases.length > 0 ? main : undefined;
    }, API_WAIT);
    expect(instance.kind).toBe('mysql.instance');
    expect(instance.version).toMatch(/MariaDB/);
    expect(instance.databases.map((d) => d.name)).toContain('sightline_loadgen');

    const catalog = await vi.waitUntil(async () => {
      const { body } = await api.get<MetricsCatalog>('/api/v1/databases/mysql:main/metrics');
      const names = body.metrics.map((m) => m.name);
      return names.includes('mysql.row_operations') && names.includes('mysql.table.size') ? names : undefined;
    }, API_WAIT);
    expect(catalog).toEqual(expect.arrayContaining(['mysql.up', 'mysql.threads', 'mysql.buffer_pool.pages']));
    // A schema's page shows that schema's tables only.
    const sizes = await api.get<{ series: Array<{ labels: Record<string, string> }> }>(
      '/api/v1/databases/mysql:main:sightline_loadgen/metrics?name=mysql.table.size',
    );
    expect(sizes.status).toBe(200);
    expect(sizes.body.series.length).toBeGreaterThan(0);
    for (const series of sizes.body.series)
      expect(series.labels['mysql.database.name']).toBe('sightline_loadgen');

    const top = await vi.waitUntil(async () => {
      const { body } = await api.get<TopQueries>('/api/v1/queries?entity=mysql:main&order=calls&limit=20');
      return body.data.some((q) => /accounts/.test(q.query) && q.calls > 50) ? body.data : undefined;
    }, API_WAIT);
    for (const query of top) expect(query.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    const busiest = top.find((q) => /accounts/.test(q.query));
    if (busiest === undefined) throw new Error('no loadgen query on top');
    expect(busiest.query).not.toMatch(/'[^']*'|= \d/);
    expect(busiest.rowsExamined).toBeGreaterThan(0);
    const byRowsExamined = await api.get<TopQueries>(
      '/api/v1/queries?entity=mysql:main&order=rows_examined&limit=5',
    );
    const examined = byRowsExamined.body.data.map((q) => q.rowsExamined);
    expect(examined).toEqual([...examined].sort((a, b) => b - a));
    expect(examined[0]).toBeGreaterThan(0);
    const detail = await api.get<QueryDetail>(`/api/v1/queries/${busiest.fingerprint}`);
    expect(detail.status).toBe(200);
    expect(detail.body.intervals.length).toBeGreaterThan(0);
    const sampled = await vi.waitUntil(async () => {
      for (const query of top) {
        const { body } = await api.get<QueryDetail>(`/api/v1/queries/${query.fingerprint}`);
        if (body.samples.some((s) => s.source === 'history')) return body;
      }
      return undefined;
    }, API_WAIT);
    expect(sampled.samples[0]?.query).not.toMatch(/'[^']*'/);

    const activity = await api.get<ActivityBody>('/api/v1/databases/mysql:main/activity');
    expect(activity.status).toBe(200);
    expect(activity.body.series.length).toBeGreaterThan(0);

    const logs = await vi.waitUntil(async () => {
      const { body } = await api.get<LogsBody>('/api/v1/logs?q=service:mysql&limit=1000');
      const slow = body.data.some((l) => l.attributes.category === 'statement_duration');
      const denied = body.data.some((l) => /Access denied/.test(l.body));
      return slow && denied ? body.data : undefined;
    }, API_WAIT);
    const slow = logs.find((l) => l.attributes.category === 'statement_duration');
    expect(slow?.attributes.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(JSON.stringify(logs)).not.toContain(watched.password);
  }, 120_000);

  it('watches a server given as `start --mysql <url>`, with every default', async () => {
    const quick = await startSightlineProcess({ dataDir: newDataDir(), args: ['--mysql', watched.url] });
    try {
      const quickApi = new ApiClient(quick.apiUrl, quick.key);
      const name = `${watched.server.host}-${watched.server.port}`;
      const instance = await vi.waitUntil(async () => {
        const { body } = await quickApi.get<DatabasesBody>('/api/v1/databases');
        const found = body.data.find((d) => d.id === `mysql:${name}`);
        return found?.up === true ? found : undefined;
      }, API_WAIT);
      expect(instance.kind).toBe('mysql.instance');
      expect(quick.stdout()).toContain(`Watching      mysql/${name}`);
    } finally {
      await quick.stop();
      quick.cleanup();
    }
  }, 60_000);
});
