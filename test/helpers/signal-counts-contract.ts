import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { querySampleRow, queryStatRow, sessionRow } from '../fixtures/collector-rows.js';
import { ORG_A, ORG_B, T0, logRow, metricRow, rumEventRow, spanRow } from '../fixtures/rows.js';

/**
 * Store.countSignals, one set of expectations for every store: write SIGNAL_COUNT_ROWS, then
 * call describeSignalCountsContract with the store. Each signal has records before, inside and
 * at the (exclusive) end of the range, and another org's records inside it.
 */

const S = 1_000_000_000n;
/** The range the contract counts over: [T0, T0 + 60 s). */
export const SIGNAL_COUNT_RANGE = { fromNs: T0, toNs: T0 + 60n * S };
const BEFORE = T0 - 1n;
const END = SIGNAL_COUNT_RANGE.toNs;

/** Times of each signal's records: `inside` of them are in the range, the rest just outside it. */
function times(inside: number): bigint[] {
  return [BEFORE, ...Array.from({ length: inside }, (_, i) => T0 + BigInt(i) * S), END];
}

export const SIGNAL_COUNT_ROWS = {
  logs: [
    ...times(3).map((ts, i) => logRow({ id: `log-${i}`, ts })),
    logRow({ id: 'log-b', ts: T0, orgId: ORG_B }),
  ],
  spans: [
    // By start: a span starting before the range and ending inside it is not counted.
    ...times(2).map((startTs, i) =>
      spanRow({ id: `span-${i}`, spanId: `s${i}`, startTs, endTs: startTs + S }),
    ),
    spanRow({ id: 'span-b', spanId: 'sb', startTs: T0, endTs: T0 + S, orgId: ORG_B }),
  ],
  metricPoints: [
    ...times(4).map((ts, i) => metricRow({ id: `point-${i}`, ts })),
    metricRow({ id: 'point-b', ts: T0, orgId: ORG_B }),
  ],
  // By interval end.
  queryStats: [
    ...times(2).map((intervalEnd, i) =>
      queryStatRow({ id: `stat-${i}`, intervalStart: intervalEnd - 60n * S, intervalEnd }),
    ),
    queryStatRow({ id: 'stat-b', intervalEnd: T0, orgId: ORG_B }),
  ],
  querySamples: [
    ...times(1).map((ts, i) => querySampleRow({ id: `sample-${i}`, ts })),
    querySampleRow({ id: 'sample-b', ts: T0, orgId: ORG_B }),
  ],
  sessions: [
    ...times(5).map((ts, i) => sessionRow({ id: `session-${i}`, ts })),
    sessionRow({ id: 'session-b', ts: T0, orgId: ORG_B }),
  ],
  rumEvents: [
    ...times(1).map((ts, i) => rumEventRow({ id: `rum-${i}`, ts })),
    rumEventRow({ id: 'rum-b', ts: T0, orgId: ORG_B }),
  ],
};

export async function writeSignalCountRows(store: Store): Promise<void> {
  const rows = SIGNAL_COUNT_ROWS;
  await store.writeLogs(rows.logs);
  await store.writeSpans(rows.spans);
  await store.writeMetricPoints(rows.metricPoints);
  await store.writeQueryStats(rows.queryStats);
  await store.writeQuerySamples(rows.querySamples);
  await store.writeSessions(rows.sessions);
  await store.writeRumEvents(rows.rumEvents);
}

export function describeSignalCountsContract(storeName: string, store: () => Store): void {
  describe(`countSignals on ${storeName}`, () => {
    it("counts each signal's records of the org with their time in the range, end excluded", async () => {
      expect(await store().countSignals(ORG_A, SIGNAL_COUNT_RANGE)).toEqual({
        logs: 3,
        spans: 2,
        metricPoints: 4,
        queryStats: 2,
        querySamples: 1,
        sessions: 5,
        rumEvents: 1,
      });
    });

    it("sees only the caller's org", async () => {
      expect(await store().countSignals(ORG_B, SIGNAL_COUNT_RANGE)).toEqual({
        logs: 1,
        spans: 1,
        metricPoints: 1,
        queryStats: 1,
        querySamples: 1,
        sessions: 1,
        rumEvents: 1,
      });
    });

    it('answers zeros for a range without records', async () => {
      const empty = await store().countSignals(ORG_A, { fromNs: END + S, toNs: END + 2n * S });
      expect(Object.values(empty)).toEqual([0, 0, 0, 0, 0, 0, 0]);
    });
  });
}
