import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../harness/api-client.js';
import { POSTGRES_INSTALL_HINT, postgresAvailable } from '../harness/postgres.js';
import { requireService } from '../harness/service-missing.js';
import type { MetricSeries, MetricsLastValues, OverviewBody } from '../helpers/database-api.js';
import { startPostgresWithPlan, type PostgresWithPlan } from '../helpers/watched-postgres.js';
import { sendServiceSpans } from '../helpers/overview-spans.js';

const available = requireService('PostgreSQL 15', postgresAvailable(), POSTGRES_INSTALL_HINT);

const SERVICE = 'checkout-overview';
const SPANS = 10;
const ERRORS = 3;
const RANGE_MS = 600_000;
/** The overview's counter step for a 10 min range (RANGE_MS / 120 buckets). */
const STEP = '5s';

/**
 * GET /api/v1/overview through `sightline start` watching a real PostgreSQL 15 after a load run,
 * with spans sent over OTLP: each figure is checked against what the store holds, read through
 * the detailed routes (the metric catalogue and series, the statements, the services).
 */
describe.skipIf(!available)('GET /api/v1/overview on a watched PostgreSQL', () => {
  let watched: PostgresWithPlan;
  let api: ApiClient;

  beforeAll(async () => {
    // Rollups every second, so span_latency_1m (the services' figures) has the spans soon.
    watched = await startPostgresWithPlan({ SIGHTLINE_STORE__RETENTION__ROLLUPS__INTERVAL_SECONDS: '1' });
    api = new ApiClient(watched.sightline.apiUrl, watched.sightline.key);
    await sendServiceSpans(watched.sightline.ingestUrl, watched.sightline.key, SERVICE, SPANS, ERRORS);
    await vi.waitUntil(
      async () => {
        const { body } = await api.get<{ data: Array<{ service: string; requests: number }> }>(
          '/api/v1/services',
        );
        return body.data.some((s) => s.service === SERVICE && s.requests === SPANS);
      },
      { timeout: 90_000, interval: 500 },
    );
  }, 180_000);

  afterAll(async () => {
    await watched?.stop();
  });

  it('answers the instance, the service and the ingest volumes as the store holds them', async () => {
    // A range that ended a moment ago, so every read below sees the same stored points.
    const to = Date.now() - 3_000;
    const from = to - RANGE_MS;
    await sleep(3_000);
    const range = `from=${from}&to=${to}`;
    const { status, body: overview } = await api.get<OverviewBody>(`/api/v1/overview?${range}`);
    expect(status).toBe(200);

    const db = overview.databases.find((d) => d.id === 'pg:main');
    expect(db, JSON.stringify(overview.databases)).toBeDefined();
    if (db === undefined) return;
    expect(db).toMatchObject({ engine: 'postgresql', up: true, collectorUp: 1, replicationLagSeconds: null });

    // Connections: the latest points of the catalogue, and max_connections of the server itself.
    const catalog = (await api.get<MetricsLastValues>(`/api/v1/databases/pg%3Amain/metrics?${range}`)).body;
    const latest = (name: string) =>
      (catalog.metrics.find((m) => m.name === name)?.series ?? []).flatMap((s) =>
        s.lastValue === null ? [] : [s.lastValue],
      );
    expect(db.connections.used).toBe(latest('postgresql.backends').reduce((a, b) => a + b, 0));
    expect(db.connections.max).toBe(Number(await watched.postgres.psql('SHOW max_connections')));
    expect(latest('postgresql.wal.lag')).toEqual([]);

    // Transactions per second: the commits' and rollbacks' increase, over the whole range.
    let increase = 0;
    for (const name of ['postgresql.commits', 'postgresql.rollbacks']) {
      const { body } = await api.get<MetricSeries>(
        `/api/v1/databases/pg%3Amain/metrics?name=${name}&${range}&step=${STEP}&agg=last`,
      );
      for (const series of body.series) {
        const points = series.points.filter((p) => p[1] !== null);
        const first = points[0];
        const last = points[points.length - 1];
        if (first === undefined || last === undefined) continue;
        increase += (last[1] ?? 0) - (first[1] ?? 0);
      }
    }
    expect(increase).toBeGreaterThan(0);
    expect(db.transactionsPerSecond).toBeCloseTo(increase / (RANGE_MS / 1000), 9);

    // Statements: the totals GET /api/v1/queries reports for the instance.
    const queries = await api.get<{ overall: { calls: number; totalTimeMs: number } }>(
      `/api/v1/queries?entity=pg%3Amain&${range}&limit=1`,
    );
    const { calls, totalTimeMs } = queries.body.overall;
    expect(calls).toBeGreaterThan(0);
    expect(db.statements.calls).toBe(calls);
    expect(db.statements.perSecond).toBeCloseTo(calls / (RANGE_MS / 1000), 9);
    expect(db.statements.meanTimeMs).toBeCloseTo(totalTimeMs / calls, 9);

    // Services: what GET /api/v1/services answers, and what was sent.
    const services = await api.get<{ data: OverviewBody['services'] }>(`/api/v1/services?${range}`);
    expect(overview.services).toEqual(services.body.data);
    expect(overview.services.find((s) => s.service === SERVICE)).toMatchObject({
      requests: SPANS,
      errors: ERRORS,
      errorRate: ERRORS / SPANS,
    });

    // Ingest: every span sent, and the collector's metric points, statistics and sessions.
    const ingest = Object.fromEntries(overview.ingest.map((i) => [i.signal, i.records]));
    expect(ingest.spans).toBe(SPANS);
    for (const signal of ['metrics', 'query_stats', 'sessions']) expect(ingest[signal]).toBeGreaterThan(0);
    const stats = (await api.get<Record<string, number>>('/api/v1/stats')).body;
    expect(ingest.metrics).toBeLessThanOrEqual(stats.metricPoints ?? 0);
    expect(ingest.query_stats).toBeLessThanOrEqual(stats.queryStats ?? 0);
  });

  it('answers a 24 h range (timed, not asserted)', async () => {
    const started = performance.now();
    const { status, body } = await api.get<OverviewBody>(
      '/api/v1/overview?from=' + String(Date.now() - 86_400_000),
    );
    console.log(`[overview] GET /api/v1/overview over 24 h: ${(performance.now() - started).toFixed(0)} ms`);
    expect(status).toBe(200);
    expect(body.databases.map((d) => d.id)).toEqual(['pg:main']);
  });

  it('refuses a range it cannot read, saying what to send', async () => {
    const { status, body } = await api.get<{ error: { code: string; message: string } }>(
      '/api/v1/overview?from=yesterday',
    );
    expect(status).toBe(400);
    expect(body.error.message).toContain('from');
  });
});
