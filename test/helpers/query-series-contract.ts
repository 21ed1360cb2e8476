import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { MINUTE, queryStatRow } from '../fixtures/collector-rows.js';
import { ORG_A, ORG_B, T0 } from '../fixtures/rows.js';

/**
 * One statement over time (Store.querySeries), the same expectations for every store: each
 * case gets a fresh, empty store from `open` and writes its intervals through it.
 */

const FIVE_MINUTES = 5n * MINUTE;
/** A five-minute boundary: the buckets below start here. */
const B0 = (T0 / FIVE_MINUTES) * FIVE_MINUTES;

export function describeQuerySeriesContract(storeName: string, open: () => Promise<Store>): void {
  describe(`a statement over time on ${storeName}`, () => {
    it('sums intervals per bucket by interval end, across databases and users, oldest first', async () => {
      const store = await open();
      await store.writeQueryStats([
        queryStatRow({ id: 'a', intervalEnd: B0 + MINUTE, calls: 10, totalTimeMs: 50, rows: 10 }),
        queryStatRow({
          id: 'b',
          intervalEnd: B0 + 2n * MINUTE,
          calls: 5,
          totalTimeMs: 100,
          rows: 1,
          userName: 'batch',
        }),
        queryStatRow({
          id: 'c',
          intervalEnd: B0 + 2n * MINUTE,
          calls: 1,
          totalTimeMs: 10,
          rows: 3,
          database: 'billing',
        }),
        // Next bucket; an empty bucket between this and the last is left out.
        queryStatRow({
          id: 'd',
          intervalEnd: B0 + 15n * MINUTE,
          calls: 4,
          totalTimeMs: 8,
          rows: 4,
          sharedBlksRead: 7,
        }),
        // Another statement, and the same one in another org: neither is counted.
        queryStatRow({ id: 'e', intervalEnd: B0 + MINUTE, fingerprint: 'fp-other' }),
        queryStatRow({ id: 'f', intervalEnd: B0 + MINUTE, orgId: ORG_B }),
      ]);
      const buckets = await store.querySeries(ORG_A, 'fp-orders', {
        fromNs: B0,
        toNs: B0 + 20n * MINUTE,
        stepNs: FIVE_MINUTES,
      });
      expect(buckets).toEqual([
        { ts: B0, calls: 16, totalTimeMs: 160, rows: 14, sharedBlksHit: 270, sharedBlksRead: 30 },
        { ts: B0 + 15n * MINUTE, calls: 4, totalTimeMs: 8, rows: 4, sharedBlksHit: 90, sharedBlksRead: 7 },
      ]);
    });

    it('narrows to an instance and a database, and to the range', async () => {
      const store = await open();
      await store.writeQueryStats([
        queryStatRow({ id: 'a', intervalEnd: B0 + MINUTE, calls: 10 }),
        queryStatRow({ id: 'b', intervalEnd: B0 + MINUTE, calls: 20, database: 'billing' }),
        queryStatRow({ id: 'c', intervalEnd: B0 + MINUTE, calls: 40, entityId: 'pg:other' }),
        queryStatRow({ id: 'd', intervalEnd: B0 + 30n * MINUTE, calls: 80 }),
      ]);
      const range = { fromNs: B0, toNs: B0 + 10n * MINUTE, stepNs: FIVE_MINUTES };
      const calls = async (scope: { entityId?: string; database?: string }) =>
        (await store.querySeries(ORG_A, 'fp-orders', { ...range, ...scope })).map((b) => b.calls);
      expect(await calls({})).toEqual([70]);
      expect(await calls({ entityId: 'pg:main' })).toEqual([30]);
      expect(await calls({ entityId: 'pg:main', database: 'billing' })).toEqual([20]);
      expect(await store.querySeries(ORG_A, 'fp-unknown', range)).toEqual([]);
    });
  });
}
