import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../harness/api-client.js';
import { MARIADB_INSTALL_HINT, mariadbAvailable } from '../harness/mariadb.js';
import { requireService } from '../harness/service-missing.js';
import type { MetricSeries, MetricsLastValues, OverviewBody } from '../helpers/database-api.js';
import { startWatchedMariadb, type WatchedMariadb } from '../helpers/watched-mariadb.js';

const available = requireService('MariaDB', mariadbAvailable(), MARIADB_INSTALL_HINT);

const TRANSACTIONS = 40;
const RANGE_MS = 600_000;
/** The overview's counter step for a 10 min range (RANGE_MS / 120 buckets). */
const STEP = '5s';

/**
 * GET /api/v1/overview for a MariaDB instance watched by the collector, after explicit
 * transactions: the MySQL metrics it reads (threads connected, max_connections, Com_commit and
 * Com_rollback) against the stored points and the server itself.
 */
describe.skipIf(!available)('GET /api/v1/overview on a watched MariaDB', () => {
  let watched: WatchedMariadb;
  let api: ApiClient;

  beforeAll(async () => {
    watched = await startWatchedMariadb();
    api = new ApiClient(watched.sightline.apiUrl, watched.sightline.key);
    await vi.waitUntil(
      async () => (await api.get<OverviewBody>('/api/v1/overview')).body.databases.length > 0,
      { timeout: 30_000, interval: 500 },
    );
    // The increase is read per 5 s bucket (the last point of each): the transactions must come
    // after the bucket of the first Com_commit point has ended, or that point's bucket (the first
    // of the range) already holds them and the increase misses them.
    await vi.waitUntil(
      async () =>
        (
          await api.get<MetricSeries>('/api/v1/databases/mysql%3Amain/metrics?name=mysql.commands')
        ).body.series.some((s) => s.labels.command === 'commit' && s.points.some((p) => p[1] !== null)),
      { timeout: 30_000, interval: 500 },
    );
    await sleep(6_000);
    await watched.server.sql(
      'CREATE DATABASE IF NOT EXISTS overview; CREATE TABLE IF NOT EXISTS overview.t (n INT)',
    );
    for (let i = 0; i < TRANSACTIONS; i += 1) {
      await watched.server.sql(
        `BEGIN; INSERT INTO overview.t VALUES (${i}); ${i % 4 === 0 ? 'ROLLBACK' : 'COMMIT'}`,
      );
    }
    // Two more collection cycles, so the counters' last points hold every transaction.
    await sleep(3_000);
  }, 120_000);

  afterAll(async () => {
    await watched?.stop();
  });

  it('answers the instance with its connections and transactions as the store holds them', async () => {
    const to = Date.now() - 1_000;
    const from = to - RANGE_MS;
    await sleep(2_000);
    const range = `from=${from}&to=${to}`;
    const { status, body } = await api.get<OverviewBody>(`/api/v1/overview?${range}`);
    expect(status).toBe(200);
    const db = body.databases.find((d) => d.id === 'mysql:main');
    expect(db, JSON.stringify(body.databases)).toBeDefined();
    if (db === undefined) return;
    expect(db).toMatchObject({ engine: 'mysql', up: true, collectorUp: 1, replicationLagSeconds: null });

    const catalog = (await api.get<MetricsLastValues>(`/api/v1/databases/mysql%3Amain/metrics?${range}`))
      .body;
    const connected = catalog.metrics
      .find((m) => m.name === 'mysql.threads')
      ?.series.find((s) => s.labels.kind === 'connected')?.lastValue;
    expect(connected).toBeGreaterThan(0);
    expect(db.connections.used).toBe(connected);
    const [maxRow] = await watched.server.sql('SELECT @@max_connections AS max');
    expect(db.connections.max).toBe(Number(maxRow?.max));

    // Com_commit and Com_rollback: their increase over the range's seconds.
    const { body: commands } = await api.get<MetricSeries>(
      `/api/v1/databases/mysql%3Amain/metrics?name=mysql.commands&${range}&step=${STEP}&agg=last`,
    );
    let increase = 0;
    for (const series of commands.series.filter((s) =>
      ['commit', 'rollback'].includes(String(s.labels.command)),
    )) {
      const points = series.points.filter((p) => p[1] !== null);
      increase += (points[points.length - 1]?.[1] ?? 0) - (points[0]?.[1] ?? 0);
    }
    // At least the test's own transactions; other sessions may add theirs.
    expect(increase).toBeGreaterThanOrEqual(TRANSACTIONS);
    expect(db.transactionsPerSecond).toBeCloseTo(increase / (RANGE_MS / 1000), 9);
  });
});
