import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MINUTE, queryStatRow } from '../fixtures/collector-rows.js';
import { ApiClient } from '../harness/api-client.js';
import { newDataDir, startSightlineProcess, testKey, type SightlineProcess } from '../harness/sightline.js';
import { withStoppedStore } from '../helpers/stopped-store.js';

interface SeriesBody {
  entity: string | null;
  stepMs: number;
  fingerprint: string;
  data: Array<{
    timestamp: string;
    calls: number;
    totalTimeMs: number;
    meanTimeMs: number | null;
    rows: number;
  }>;
}

const FIVE_MINUTES = 5n * MINUTE;

/**
 * GET /api/v1/queries/:fingerprint/series through a real `sightline start`: statement intervals
 * written into its store while it was stopped (as a collector would have stored them), read
 * back in buckets over HTTP with an API key.
 */
describe('a statement over time through the API', () => {
  let sightline: SightlineProcess;
  let api: ApiClient;
  /** A five-minute boundary an hour ago: the intervals below end after it. */
  const b0 = ((BigInt(Date.now() - 3_600_000) * 1_000_000n) / FIVE_MINUTES) * FIVE_MINUTES;
  const b0Ms = Number(b0 / 1_000_000n);

  beforeAll(async () => {
    const dataDir = newDataDir();
    const key = testKey();
    const first = await startSightlineProcess({ dataDir, key });
    await first.stop();
    await withStoppedStore(dataDir, async ({ store, orgId }) => {
      await store.upsertEntities([
        {
          orgId,
          id: 'pg:main',
          kind: 'postgresql.instance',
          name: 'main',
          parentId: '',
          version: '16',
          attributes: '{}',
          firstSeen: b0,
          lastSeen: b0,
        },
      ]);
      await store.writeQueryStats([
        queryStatRow({ id: 'a', orgId, intervalEnd: b0 + MINUTE, calls: 10, totalTimeMs: 50, rows: 10 }),
        queryStatRow({ id: 'b', orgId, intervalEnd: b0 + 2n * MINUTE, calls: 30, totalTimeMs: 150, rows: 2 }),
        queryStatRow({ id: 'c', orgId, intervalEnd: b0 + 6n * MINUTE, calls: 4, totalTimeMs: 40, rows: 1 }),
        queryStatRow({ id: 'd', orgId, intervalEnd: b0 + 6n * MINUTE, calls: 1, fingerprint: 'fp-other' }),
      ]);
    });
    sightline = await startSightlineProcess({ dataDir, key: 'existing' });
    api = new ApiClient(sightline.apiUrl, key);
  }, 120_000);

  afterAll(async () => {
    await sightline?.stop();
    sightline?.cleanup();
  });

  const range = () => `from=${b0Ms}&to=${b0Ms + 10 * 60_000}`;

  it('sums the intervals per step, oldest first, with the mean of each bucket', async () => {
    const { status, body } = await api.get<SeriesBody>(`/api/v1/queries/fp-orders/series?${range()}&step=5m`);
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ entity: null, stepMs: 300_000, fingerprint: 'fp-orders' });
    expect(body.data.map(({ timestamp, ...rest }) => ({ at: Date.parse(timestamp), ...rest }))).toEqual([
      expect.objectContaining({ at: b0Ms, calls: 40, totalTimeMs: 200, meanTimeMs: 5, rows: 12 }),
      expect.objectContaining({ at: b0Ms + 300_000, calls: 4, totalTimeMs: 40, meanTimeMs: 10, rows: 1 }),
    ]);
  });

  it('narrows to an instance, and says what to do with an unknown one or a bad step', async () => {
    const scoped = await api.get<SeriesBody>(`/api/v1/queries/fp-orders/series?${range()}&entity=pg%3Amain`);
    expect(scoped.status).toBe(200);
    expect(scoped.body.entity).toBe('pg:main');
    expect(scoped.body.data.reduce((sum, b) => sum + b.calls, 0)).toBe(44);

    const unknown = await api.get<{ error: { message: string } }>(
      `/api/v1/queries/fp-orders/series?${range()}&entity=pg%3Anone`,
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain('GET /api/v1/databases lists them');

    const badStep = await api.get<{ error: { message: string } }>(
      `/api/v1/queries/fp-orders/series?${range()}&step=10ms`,
    );
    expect(badStep.status).toBe(400);
    expect(badStep.body.error.message).toContain('step must be at least');
  });

  it('refuses a caller without a key', async () => {
    const response = await fetch(`${sightline.apiUrl}/api/v1/queries/fp-orders/series`);
    expect(response.status).toBe(401);
  });
});
