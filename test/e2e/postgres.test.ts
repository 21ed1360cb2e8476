import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../harness/api-client.js';
import { POSTGRES_INSTALL_HINT, postgresAvailable } from '../harness/postgres.js';
import { requireService } from '../harness/service-missing.js';
import { runCli } from '../harness/sightline.js';
import {
  API_WAIT,
  type ActivityBody,
  type DatabasesBody,
  type LogsBody,
  type MetricsCatalog,
  type QueryDetail,
  type TopQueries,
} from '../helpers/database-api.js';
import { startWatchedPostgres, type WatchedPostgres } from '../helpers/watched-postgres.js';

const available = requireService('PostgreSQL 15', postgresAvailable(), POSTGRES_INSTALL_HINT);

/**
 * The acceptance path, through the built CLI: the role from `setup-sql`, a target with
 * every default but its intervals (so the server log is found over SQL by `logs.source: auto`),
 * `sightline loadgen postgres`, then the API answers with database metrics, top queries with
 * fingerprints, sessions and parsed server logs.
 */
describe.skipIf(!available)('watching PostgreSQL end to end', () => {
  let watched: WatchedPostgres;
  let api: ApiClient;

  beforeAll(async () => {
    watched = await startWatchedPostgres();
    api = new ApiClient(watched.sightline.apiUrl, watched.sightline.key);
  }, 60_000);

  afterAll(async () => {
    await watched?.stop();
  });

  it('answers with metrics, top queries, sessions and logs after a load run', async () => {
    const load = await runCli(
      ['loadgen', 'postgres', '--url', watched.postgres.url, '--duration', '8', '--rate', '60', '--quiet'],
      { timeoutMs: 60_000 },
    );
    expect(load.code, load.stderr).toBe(0);
    const summary = JSON.parse(load.stdout) as { statements: Record<string, number> };
    expect(summary.statements.point).toBeGreaterThan(100);
    expect(watched.sightline.stdout()).toContain('Watching      postgres/main');

    const databases = await vi.waitUntil(async () => {
      const { body } = await api.get<DatabasesBody>('/api/v1/databases');
      const main = body.data.find((d) => d.id === 'pg:main');
      return main?.up === true ? main : undefined;
    }, API_WAIT);
    expect(databases.kind).toBe('postgresql.instance');
    expect(databases.version).toMatch(/^15\./);
    expect(databases.databases.map((d) => d.name)).toContain('postgres');

    const catalog = await vi.waitUntil(async () => {
      const { body } = await api.get<MetricsCatalog>('/api/v1/databases/pg:main/metrics');
      const names = body.metrics.map((m) => m.name);
      return names.includes('postgresql.commits') && names.includes('postgresql.table.size')
        ? names
        : undefined;
    }, API_WAIT);
    expect(catalog).toEqual(
      expect.arrayContaining(['postgresql.up', 'postgresql.backends', 'postgresql.sessions']),
    );
    const commits = await api.get<{ series: Array<{ points: unknown[] }> }>(
      '/api/v1/databases/pg:main/metrics?name=postgresql.commits',
    );
    expect(commits.status).toBe(200);
    expect(commits.body.series.length).toBeGreaterThan(0);

    const top = await vi.waitUntil(async () => {
      const { body } = await api.get<TopQueries>('/api/v1/queries?entity=pg:main&order=calls&limit=20');
      return body.data.some((q) => /sightline_loadgen/.test(q.query) && q.calls > 50) ? body.data : undefined;
    }, API_WAIT);
    for (const query of top) expect(query.fingerprint).toMatch(/^([0-9a-f]{16}|queryid:-?\d+)$/);
    const busiest = top[0];
    if (busiest === undefined) throw new Error('no top query');
    expect(busiest.query).not.toMatch(/'[^']*'/);
    const detail = await api.get<QueryDetail>(`/api/v1/queries/${busiest.fingerprint}`);
    expect(detail.status).toBe(200);
    expect(detail.body.query).toBe(busiest.query);
    expect(detail.body.intervals.length).toBeGreaterThan(0);

    const activity = await api.get<ActivityBody>('/api/v1/databases/pg:main/activity');
    expect(activity.status).toBe(200);
    expect(activity.body.series.some((point) => Object.values(point.waits).some((n) => n > 0))).toBe(true);

    const logs = await vi.waitUntil(async () => {
      const { body } = await api.get<LogsBody>('/api/v1/logs?q=service:postgresql&limit=1000');
      return body.data.some((l) => l.attributes.category === 'statement_duration') ? body.data : undefined;
    }, API_WAIT);
    expect(logs.some((l) => l.severity === 'ERROR' && typeof l.attributes.sqlstate === 'string')).toBe(true);

    const withPlans = await vi.waitUntil(async () => {
      for (const query of top) {
        const { body } = await api.get<QueryDetail>(`/api/v1/queries/${query.fingerprint}`);
        if (body.samples.length > 0) return body;
      }
      return undefined;
    }, API_WAIT);
    expect(withPlans.samples[0]?.plan).toHaveProperty('Plan');
  }, 120_000);
});
