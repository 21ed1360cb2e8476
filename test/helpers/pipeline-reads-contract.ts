import { describe, expect, it } from 'vitest';
import type { DeadLetterRow } from '../../src/store/rows.js';
import { DEAD_LETTER_HEAD_BYTES, type Store, type UsageReader } from '../../src/store/store.js';
import { ORG_A, ORG_B, T0 } from '../fixtures/rows.js';

/**
 * The pipeline screen's reads (dead letters, usage per day), one set of expectations for every
 * store: write PIPELINE_DEAD_LETTERS with the store and PIPELINE_USAGE with its usage store,
 * then call describePipelineReadsContract.
 */

const S = 1_000_000_000n;

function deadLetter(overrides: Partial<DeadLetterRow>): DeadLetterRow {
  return {
    id: 'dl',
    ts: T0,
    orgId: ORG_A,
    sourceTopic: 'otel-logs',
    reason: 'invalid wire type 7 at offset 1',
    headers: '{"org-id":"org_a","content-type":"application/x-protobuf"}',
    payload: new Uint8Array([0x0f, 0xff, 0x00]),
    ...overrides,
  };
}

/** A payload longer than the head a read returns, with bytes that are not UTF-8. */
const LONG_PAYLOAD = Uint8Array.from({ length: DEAD_LETTER_HEAD_BYTES + 100 }, (_, i) => (i * 7) % 256);

export const PIPELINE_DEAD_LETTERS: DeadLetterRow[] = [
  deadLetter({ id: 'dl-1', ts: T0 }),
  deadLetter({ id: 'dl-2', ts: T0 + 10n * S, payload: LONG_PAYLOAD }),
  // Same time as dl-2: the page order falls back to the id.
  deadLetter({
    id: 'dl-3',
    ts: T0 + 10n * S,
    sourceTopic: 'raw-queries',
    reason: "the raw-queries record is not valid: 'fingerprint' is required",
    payload: new TextEncoder().encode('{"query":"select 1"}'),
  }),
  deadLetter({ id: 'dl-4', ts: T0 + 20n * S }),
  // Outside the range read below, and another org's record inside it.
  deadLetter({ id: 'dl-late', ts: T0 + 3600n * S }),
  deadLetter({ id: 'dl-other-org', ts: T0 + 5n * S, orgId: ORG_B, reason: 'org b only' }),
];

export const PIPELINE_USAGE = [
  { orgId: ORG_A, day: '2024-05-01', signal: 'logs', records: 10, bytes: 1000 },
  { orgId: ORG_A, day: '2024-05-01', signal: 'metrics', records: 3, bytes: 300 },
  { orgId: ORG_A, day: '2024-05-02', signal: 'logs', records: 5, bytes: 500 },
  { orgId: ORG_A, day: '2024-05-04', signal: 'traces', records: 1, bytes: 90 },
  { orgId: ORG_B, day: '2024-05-02', signal: 'logs', records: 99, bytes: 9900 },
];

const RANGE = { fromNs: T0, toNs: T0 + 60n * S };

export function describePipelineReadsContract(
  name: string,
  stores: () => { store: Store; usage: UsageReader },
): void {
  describe(`pipeline reads (${name})`, () => {
    it('pages the org’s dead letters newest first, by time then id, with the payload’s size and head', async () => {
      const { store } = stores();
      const first = await store.listDeadLetters(ORG_A, { ...RANGE, limit: 2 });
      expect(first.records.map((r) => r.id)).toEqual(['dl-4', 'dl-3']);
      expect(first.more).toBe(true);
      expect(first.total).toBe(4);
      const last = first.records[1];
      if (last === undefined) throw new Error('no second record');
      expect(last).toMatchObject({
        ts: T0 + 10n * S,
        sourceTopic: 'raw-queries',
        reason: "the raw-queries record is not valid: 'fingerprint' is required",
        size: 20,
      });
      expect(new TextDecoder().decode(last.payloadHead)).toBe('{"query":"select 1"}');
      expect(JSON.parse(last.headers)).toMatchObject({ 'content-type': 'application/x-protobuf' });

      const second = await store.listDeadLetters(ORG_A, {
        ...RANGE,
        limit: 2,
        after: { ts: last.ts, id: last.id },
      });
      expect(second.records.map((r) => r.id)).toEqual(['dl-2', 'dl-1']);
      expect(second.more).toBe(false);
      const long = second.records[0];
      expect(long?.size).toBe(DEAD_LETTER_HEAD_BYTES + 100);
      expect([...(long?.payloadHead ?? [])]).toEqual([...LONG_PAYLOAD.subarray(0, DEAD_LETTER_HEAD_BYTES)]);
      expect([...(second.records[1]?.payloadHead ?? [])]).toEqual([0x0f, 0xff, 0x00]);
    });

    it('counts the range’s dead letters per source topic and reason, most first', async () => {
      const { store } = stores();
      const page = await store.listDeadLetters(ORG_A, { ...RANGE, limit: 1 });
      expect(page.reasons).toEqual([
        { sourceTopic: 'otel-logs', reason: 'invalid wire type 7 at offset 1', count: 3 },
        {
          sourceTopic: 'raw-queries',
          reason: "the raw-queries record is not valid: 'fingerprint' is required",
          count: 1,
        },
      ]);
    });

    it('sees only the caller’s org and the range', async () => {
      const { store } = stores();
      const b = await store.listDeadLetters(ORG_B, { ...RANGE, limit: 10 });
      expect(b.records.map((r) => r.id)).toEqual(['dl-other-org']);
      expect(b.reasons).toEqual([{ sourceTopic: 'otel-logs', reason: 'org b only', count: 1 }]);
      const later = await store.listDeadLetters(ORG_A, {
        fromNs: T0 + 60n * S,
        toNs: T0 + 7200n * S,
        limit: 10,
      });
      expect(later.records.map((r) => r.id)).toEqual(['dl-late']);
      expect(later.total).toBe(1);
      const none = await store.listDeadLetters(ORG_A, { fromNs: 0n, toNs: T0, limit: 10 });
      expect(none).toEqual({ records: [], more: false, total: 0, reasons: [] });
    });

    it('reads the org’s usage per day and signal over the days asked, oldest first', async () => {
      const { usage } = stores();
      const rows = await usage.usage(ORG_A, '2024-05-01', '2024-05-03');
      expect(rows.map(({ day, signal, records, bytes }) => ({ day, signal, records, bytes }))).toEqual([
        { day: '2024-05-01', signal: 'logs', records: 10, bytes: 1000 },
        { day: '2024-05-01', signal: 'metrics', records: 3, bytes: 300 },
        { day: '2024-05-02', signal: 'logs', records: 5, bytes: 500 },
      ]);
      expect(await usage.usage(ORG_B, '2024-05-03', '2024-05-31')).toEqual([]);
    });
  });
}
