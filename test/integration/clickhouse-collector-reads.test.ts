import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickhouseDatabase } from '../../src/store/clickhouse/database.js';
import { rawSql } from '../../src/store/clickhouse/sql.js';
import type { ClickhouseStore } from '../../src/store/clickhouse/telemetry-store.js';
import { orgId } from '../../src/store/rows.js';
import type { TopQueriesQuery } from '../../src/store/store.js';
import {
  MINUTE,
  entityRow,
  queryStatRow,
  querySampleRow,
  sessionRow,
  snapshotRow,
} from '../fixtures/collector-rows.js';
import { ORG_A, ORG_B, T0 } from '../fixtures/rows.js';
import { CLICKHOUSE_INSTALL_HINT, clickhouseAvailable } from '../harness/clickhouse.js';
import { startClickhouseStores, type ClickhouseStores } from '../helpers/clickhouse-stores.js';
import { requireService } from '../harness/service-missing.js';

/*
 * topQueries, queryDetail, activity, listEntities and getEntity on ClickHouse, with the cases of
 * collector-store.test.ts (DuckDB), plus hostile strings in every string input.
 */

const available = requireService('ClickHouse', clickhouseAvailable(), CLICKHOUSE_INSTALL_HINT);

const HOUR = 60n * MINUTE;
const RANGE = { fromNs: T0 - HOUR, toNs: T0 + HOUR };

const HOSTILE = [
  "'; DROP TABLE query_stats; --",
  "\\'; DROP TABLE query_stats; --",
  "x' OR 1=1 OR 'a'='a",
  "fp-orders' OR fingerprint != '",
  'back\\slash \\x41 \\n \\\\ \\',
  Array.from({ length: 32 }, (_, code) => String.fromCharCode(code)).join('') + '\u007f',
  'zażółć gęślą jaźń — 日本語 — 🚀',
  "') FORMAT TabSeparated\nSELECT 1",
];

describe.skipIf(!available)('collector reads on ClickHouse', () => {
  let clickhouse: ClickhouseStores;
  let database: ClickhouseDatabase;
  let store: ClickhouseStore;

  beforeAll(async () => {
    clickhouse = await startClickhouseStores();
    ({ database, store } = await clickhouse.openStore());
  });

  afterAll(async () => {
    await clickhouse?.stop();
  });

  describe('query statistics', () => {
    const top = (overrides: Partial<TopQueriesQuery> = {}) =>
      store.topQueries(ORG_A, {
        ...RANGE,
        order: 'total_time',
        limit: 10,
        stepNs: 5n * MINUTE,
        ...overrides,
      });

    beforeAll(async () => {
      const rows = [
        // fp-orders: 2 intervals on shop, 1 on billing; 30 calls, 150 ms.
        queryStatRow({ id: 'o1', intervalEnd: T0 - 2n * MINUTE }),
        queryStatRow({
          id: 'o2',
          intervalEnd: T0 - MINUTE,
          query: 'SELECT * FROM orders WHERE id = $1 -- newest',
        }),
        queryStatRow({ id: 'o3', intervalEnd: T0 - 2n * MINUTE, database: 'billing', userName: 'batch' }),
        // fp-report: few calls, slow, heavy on IO and rows.
        queryStatRow({
          id: 'r1',
          fingerprint: 'fp-report',
          query: 'SELECT sum(total) FROM invoices',
          intervalEnd: T0 - 10n * MINUTE,
          calls: 1,
          totalTimeMs: 120,
          rows: 5000,
          sharedBlksRead: 900,
          tempBlksWritten: 300,
        }),
        // fp-ping: many cheap calls, on another instance.
        queryStatRow({
          id: 'p1',
          entityId: 'pg:replica',
          fingerprint: 'fp-ping',
          query: 'SELECT $1',
          calls: 1000,
          totalTimeMs: 10,
          rows: 1000,
          sharedBlksRead: 0,
        }),
        // Outside the range and in another org: never counted.
        queryStatRow({ id: 'old', intervalEnd: T0 - 3n * HOUR, calls: 99999 }),
        queryStatRow({ id: 'b1', orgId: ORG_B, fingerprint: 'fp-secret', totalTimeMs: 1e9 }),
      ];
      expect(await store.writeQueryStats(rows)).toEqual({ inserted: 7, duplicates: 0 });
    });

    it('stores a replayed interval once', async () => {
      const replay = queryStatRow({ id: 'o1', intervalEnd: T0 - 2n * MINUTE });
      expect(await store.writeQueryStats([replay])).toEqual({ inserted: 0, duplicates: 1 });
      expect((await store.countRecords(ORG_A)).queryStats).toBe(6);
    });

    it('ranks statements by total time with their totals, mean, text and where they ran', async () => {
      const { overall, queries } = await top();
      expect(overall).toEqual({ calls: 1031, totalTimeMs: 280, fingerprints: 3 });
      expect(queries.map((q) => q.fingerprint)).toEqual(['fp-orders', 'fp-report', 'fp-ping']);
      expect(queries[0]).toMatchObject({
        query: 'SELECT * FROM orders WHERE id = $1 -- newest',
        calls: 30,
        totalTimeMs: 150,
        meanTimeMs: 5,
        maxTimeMs: 20,
        rows: 30,
        sharedBlksHit: 270,
        sharedBlksRead: 30,
        databases: ['billing', 'shop'],
        users: ['app', 'batch'],
        entityIds: ['pg:main'],
      });
    });

    it('orders by calls, mean time, rows, IO and rows examined', async () => {
      const order = async (o: TopQueriesQuery['order']) =>
        (await top({ order: o })).queries.map((q) => q.fingerprint);
      expect(await order('calls')).toEqual(['fp-ping', 'fp-orders', 'fp-report']);
      expect(await order('mean_time')).toEqual(['fp-report', 'fp-orders', 'fp-ping']);
      expect(await order('rows')).toEqual(['fp-report', 'fp-ping', 'fp-orders']);
      expect(await order('io')).toEqual(['fp-report', 'fp-orders', 'fp-ping']);
      // All zero: ties broken by fingerprint.
      expect(await order('rows_examined')).toEqual(['fp-orders', 'fp-ping', 'fp-report']);
      expect((await top({ limit: 1 })).queries).toHaveLength(1);
    });

    it('gives each statement calls and time per bucket', async () => {
      const orders = (await top()).queries[0];
      const bucket = (ts: bigint) => (ts / (5n * MINUTE)) * 5n * MINUTE;
      const expected =
        bucket(T0 - 2n * MINUTE) === bucket(T0 - MINUTE)
          ? [{ ts: bucket(T0 - MINUTE), calls: 30, totalTimeMs: 150 }]
          : [
              { ts: bucket(T0 - 2n * MINUTE), calls: 20, totalTimeMs: 100 },
              { ts: bucket(T0 - MINUTE), calls: 10, totalTimeMs: 50 },
            ];
      expect(orders?.series).toEqual(expected);
    });

    it('narrows to one instance and one database', async () => {
      const main = await top({ entityId: 'pg:main' });
      expect(main.queries.map((q) => q.fingerprint)).toEqual(['fp-orders', 'fp-report']);
      const billing = await top({ entityId: 'pg:main', database: 'billing' });
      expect(billing.queries.map((q) => [q.fingerprint, q.calls])).toEqual([['fp-orders', 10]]);
    });

    it('answers an empty scope with zeros and no statements', async () => {
      expect(await top({ fromNs: T0 + 5n * HOUR, toNs: T0 + 6n * HOUR })).toEqual({
        overall: { calls: 0, totalTimeMs: 0, fingerprints: 0 },
        queries: [],
      });
    });

    it("never shows another org's statements", async () => {
      const asB = await store.topQueries(ORG_B, { ...RANGE, order: 'total_time', limit: 10, stepNs: MINUTE });
      expect(asB.queries.map((q) => q.fingerprint)).toEqual(['fp-secret']);
      expect(await store.queryDetail(ORG_A, 'fp-secret', RANGE)).toBeUndefined();
    });

    it('details one statement: totals, intervals oldest first, samples newest first with plans', async () => {
      await store.writeQuerySamples([
        querySampleRow({ id: 's1', ts: T0 - 5n * MINUTE, durationMs: 900 }),
        querySampleRow({ id: 's2', ts: T0 - MINUTE, durationMs: 1500 }),
        querySampleRow({ id: 's3', ts: T0 - 3n * HOUR }),
        querySampleRow({ id: 'sb', orgId: ORG_B }),
      ]);
      expect(await store.writeQuerySamples([querySampleRow({ id: 's2', ts: T0 - MINUTE })])).toEqual({
        inserted: 0,
        duplicates: 1,
      });
      const detail = await store.queryDetail(ORG_A, 'fp-orders', RANGE);
      expect(detail?.query).toBe('SELECT * FROM orders WHERE id = $1 -- newest');
      expect(detail?.totals).toMatchObject({ calls: 30, totalTimeMs: 150, databases: ['billing', 'shop'] });
      expect(detail?.intervals.map((i) => i.id)).toEqual(['o1', 'o3', 'o2']);
      expect(detail?.intervals[0]).toEqual({
        ...queryStatRow({ id: 'o1', intervalEnd: T0 - 2n * MINUTE }),
        orgId: undefined,
      });
      expect(detail?.intervalsTruncated).toBe(false);
      expect(detail?.samples.map((s) => s.id)).toEqual(['s2', 's1']);
      expect(detail?.samples[0]).toEqual({
        ...querySampleRow({ id: 's2', ts: T0 - MINUTE }),
        orgId: undefined,
      });
      expect(detail?.samples[0]?.plan).toContain('Seq Scan');
      const shop = await store.queryDetail(ORG_A, 'fp-orders', {
        ...RANGE,
        entityId: 'pg:main',
        database: 'shop',
      });
      expect(shop?.totals.calls).toBe(20);
    });

    it('knows a statement seen outside the range, and not one never seen', async () => {
      const earlier = await store.queryDetail(ORG_A, 'fp-report', {
        fromNs: T0 + HOUR,
        toNs: T0 + 2n * HOUR,
      });
      expect(earlier).toMatchObject({ query: 'SELECT sum(total) FROM invoices', intervals: [], samples: [] });
      expect(earlier?.totals).toMatchObject({ calls: 0, maxTimeMs: 0, databases: [], users: [] });
      expect(await store.queryDetail(ORG_A, 'fp-never', RANGE)).toBeUndefined();
      // Known only from a sample (no statistics ever): still known, with the sample's text.
      await store.writeQuerySamples([
        querySampleRow({ id: 'only-sample', fingerprint: 'fp-sampled', query: 'VACUUM', ts: T0 - 4n * HOUR }),
      ]);
      expect(await store.queryDetail(ORG_A, 'fp-sampled', RANGE)).toMatchObject({
        query: 'VACUUM',
        intervals: [],
        samples: [],
      });
    });

    it('sees a replayed interval once in every total, before any merge (FINAL)', async () => {
      await database.run(rawSql('SYSTEM STOP MERGES query_stats'));
      try {
        // A second writer racing the first inserts the same row again (README: not atomic).
        const row = queryStatRow({ id: 'race', fingerprint: 'fp-race', calls: 7, intervalEnd: T0 });
        await store.writeQueryStats([row]);
        await database.run(
          rawSql(`INSERT INTO query_stats SELECT * FROM query_stats WHERE org_id = 'org_a' AND id = 'race'`),
        );
        const raw = await database.select<{ n: string }>(
          rawSql(`SELECT count() AS n FROM query_stats WHERE id = 'race'`),
        );
        expect(Number(raw[0]?.n)).toBe(2);
        const race = (await top({ limit: 100 })).queries.find((q) => q.fingerprint === 'fp-race');
        expect(race?.calls).toBe(7);
        expect((await store.queryDetail(ORG_A, 'fp-race', RANGE))?.intervals).toHaveLength(1);
      } finally {
        await database.run(rawSql('SYSTEM START MERGES query_stats'));
      }
    });

    it('treats hostile fingerprints, instances, databases and orgs as values', async () => {
      const org = orgId('hostile-stats');
      await store.writeQueryStats(
        HOSTILE.map((text, index) =>
          queryStatRow({
            id: `h${index}`,
            orgId: org,
            fingerprint: text,
            entityId: text,
            database: text,
            query: text,
          }),
        ),
      );
      await store.writeQuerySamples(
        HOSTILE.map((text, index) =>
          querySampleRow({ id: `hs${index}`, orgId: org, fingerprint: text, entityId: text, database: text }),
        ),
      );
      for (const text of HOSTILE) {
        const scoped = await store.topQueries(org, {
          ...RANGE,
          entityId: text,
          database: text,
          order: 'calls',
          limit: 10,
          stepNs: MINUTE,
        });
        expect(scoped.queries.map((q) => [q.fingerprint, q.query, q.calls])).toEqual([[text, text, 10]]);
        const detail = await store.queryDetail(org, text, { ...RANGE, entityId: text, database: text });
        expect(detail?.intervals.map((i) => i.fingerprint)).toEqual([text]);
        expect(detail?.samples.map((s) => s.fingerprint)).toEqual([text]);
        // The hostile string as the org: sees nothing, including org_a's statements.
        expect(
          (await store.topQueries(orgId(text), { ...RANGE, order: 'calls', limit: 10, stepNs: MINUTE }))
            .queries,
        ).toEqual([]);
        expect(await store.queryDetail(orgId(text), 'fp-orders', RANGE)).toBeUndefined();
        expect(await store.queryDetail(ORG_A, text, RANGE)).toBeUndefined();
      }
      // The statements ran as data: the tables are still there and hold what they held.
      expect((await store.countRecords(ORG_A)).queryStats).toBe(7);
    });
  });

  describe('sessions', () => {
    const ENTITY = 'pg:activity';
    const s = (ts: bigint, pid: number, extra: Parameters<typeof sessionRow>[0] = {}) =>
      sessionRow({ id: `${ts}-${pid}`, ts, pid, entityId: ENTITY, ...extra });

    beforeAll(async () => {
      const t1 = T0 - 2n * MINUTE;
      const t2 = T0 - MINUTE;
      await store.writeSessions([
        s(t1, 1, { waitEventType: 'IO', waitEvent: 'DataFileRead' }),
        s(t1, 2),
        s(t1, 3, { state: 'idle', waitEventType: 'Client', waitEvent: 'ClientRead', xactDurationMs: null }),
        // At t2: 10 holds a lock while idle in transaction, 11 waits for it, 12 waits for 11.
        s(t2, 10, { state: 'idle in transaction', waitEventType: 'Client', waitEvent: 'ClientRead' }),
        s(t2, 11, { waitEventType: 'Lock', waitEvent: 'transactionid', blockedBy: [10] }),
        s(t2, 12, { waitEventType: 'Lock', waitEvent: 'relation', blockedBy: [11], database: 'billing' }),
        s(t2, 13, { orgId: ORG_B, query: 'secret' }),
      ]);
      await store.writeActivitySnapshots([
        snapshotRow({ id: 'a1', ts: t1, entityId: ENTITY, sessions: 3 }),
        snapshotRow({ id: 'a2', ts: t2, entityId: ENTITY, sessions: 3 }),
        // The server went idle: a snapshot without sessions.
        snapshotRow({ id: 'a3', ts: T0, entityId: ENTITY, sessions: 0 }),
      ]);
    });

    it('shows the snapshot at or before the moment asked for, with its blocking tree', async () => {
      const activity = await store.activity(ORG_A, ENTITY, {
        ...RANGE,
        atNs: T0 - 30n * 1_000_000_000n,
        stepNs: HOUR,
      });
      expect(activity.snapshot?.ts).toBe(T0 - MINUTE);
      expect(activity.snapshot?.sessions.map((x) => x.pid)).toEqual([10, 11, 12]);
      expect(activity.snapshot?.sessions[1]).toEqual({
        ...s(T0 - MINUTE, 11, { waitEventType: 'Lock', waitEvent: 'transactionid', blockedBy: [10] }),
        orgId: undefined,
      });
      const root = activity.snapshot?.blocking[0];
      expect(root).toMatchObject({ pid: 10, state: 'idle in transaction', waitEvent: 'ClientRead' });
      expect(root?.children.map((c) => c.pid)).toEqual([11]);
      expect(root?.children[0]?.children.map((c) => [c.pid, c.waitEventType, c.query])).toEqual([
        [12, 'Lock', 'SELECT * FROM orders WHERE id = $1'],
      ]);
    });

    it('keeps a session without a transaction as null, not 0', async () => {
      const activity = await store.activity(ORG_A, ENTITY, {
        ...RANGE,
        atNs: T0 - 2n * MINUTE,
        stepNs: HOUR,
      });
      expect(activity.snapshot?.sessions.map((x) => [x.pid, x.xactDurationMs])).toEqual([
        [1, 12],
        [2, 12],
        [3, null],
      ]);
    });

    it('shows an idle server as idle, not as its last busy snapshot', async () => {
      const activity = await store.activity(ORG_A, ENTITY, { ...RANGE, atNs: T0 + MINUTE, stepNs: HOUR });
      expect(activity.snapshot).toEqual({ ts: T0, sessions: [], blocking: [] });
      const before = await store.activity(ORG_A, ENTITY, { ...RANGE, atNs: T0 - 3n * HOUR, stepNs: HOUR });
      expect(before.snapshot).toBeNull();
    });

    it('counts active sessions by what they wait for, running ones as CPU, per snapshot', async () => {
      const { series } = await store.activity(ORG_A, ENTITY, {
        fromNs: T0 - 2n * MINUTE,
        toNs: T0 + MINUTE,
        atNs: T0,
        stepNs: MINUTE,
      });
      // Buckets start at whole minutes since the epoch; T0 is 20 s past one.
      const bucket = (ts: bigint) => (ts / MINUTE) * MINUTE;
      expect(series).toEqual([
        {
          ts: bucket(T0 - 2n * MINUTE),
          snapshots: 1,
          waits: { IO: 1, CPU: 1 },
          states: { active: 2, idle: 1 },
        },
        {
          ts: bucket(T0 - MINUTE),
          snapshots: 1,
          waits: { Lock: 2 },
          states: { active: 2, 'idle in transaction': 1 },
        },
        { ts: bucket(T0), snapshots: 1, waits: {}, states: {} },
      ]);
    });

    it("narrows to one database's sessions", async () => {
      const activity = await store.activity(ORG_A, ENTITY, {
        ...RANGE,
        atNs: T0 - MINUTE,
        stepNs: HOUR,
        database: 'billing',
      });
      expect(activity.snapshot?.sessions.map((x) => x.pid)).toEqual([12]);
      // Its blocker is on another database: shown, but as not sampled in this view.
      expect(activity.snapshot?.blocking[0]).toMatchObject({ pid: 11, sampled: false });
    });

    it("never shows another org's sessions", async () => {
      const asB = await store.activity(ORG_B, ENTITY, { ...RANGE, atNs: T0, stepNs: HOUR });
      expect(asB.snapshot).toBeNull();
      expect(asB.series).toEqual([]);
      expect((await store.countRecords(ORG_A)).sessions).toBe(6);
    });

    it('stores a replayed snapshot once', async () => {
      expect(await store.writeSessions([s(T0 - MINUTE, 10)])).toEqual({ inserted: 0, duplicates: 1 });
      expect(
        await store.writeActivitySnapshots([snapshotRow({ id: 'a3', ts: T0, entityId: ENTITY })]),
      ).toEqual({
        inserted: 0,
        duplicates: 1,
      });
    });

    it('treats hostile instances, databases and orgs as values', async () => {
      const org = orgId('hostile-sessions');
      await store.writeSessions(
        HOSTILE.map((text, index) =>
          sessionRow({ id: `hs${index}`, orgId: org, entityId: text, database: text, query: text, ts: T0 }),
        ),
      );
      await store.writeActivitySnapshots(
        HOSTILE.map((text, index) => snapshotRow({ id: `hn${index}`, orgId: org, entityId: text, ts: T0 })),
      );
      for (const text of HOSTILE) {
        const activity = await store.activity(org, text, {
          ...RANGE,
          atNs: T0,
          stepNs: HOUR,
          database: text,
        });
        expect(activity.snapshot?.sessions.map((x) => [x.entityId, x.database, x.query])).toEqual([
          [text, text, text],
        ]);
        expect(activity.series.map((b) => b.snapshots)).toEqual([1]);
        const asHostileOrg = await store.activity(orgId(text), ENTITY, { ...RANGE, atNs: T0, stepNs: HOUR });
        expect(asHostileOrg).toEqual({ snapshot: null, series: [] });
        const otherDatabase = await store.activity(ORG_A, ENTITY, {
          ...RANGE,
          atNs: T0 - MINUTE,
          stepNs: HOUR,
          database: text,
        });
        expect(otherDatabase.snapshot?.sessions).toEqual([]);
      }
      expect((await store.countRecords(ORG_A)).sessions).toBe(6);
    });
  });

  describe('entities', () => {
    it('inserts new entities and merges sightings, the newest record describing the entity', async () => {
      const first = await store.upsertEntities([
        entityRow({ firstSeen: T0, lastSeen: T0, version: '16.4' }),
        entityRow({
          id: 'pg:main:shop',
          kind: 'postgresql.database',
          name: 'shop',
          parentId: 'pg:main',
          attributes: '{"size_bytes":1}',
        }),
        entityRow({ orgId: ORG_B, attributes: '{"secret":true}' }),
      ]);
      expect(first).toEqual({ inserted: 3, duplicates: 0 });
      const later = await store.upsertEntities([
        entityRow({ firstSeen: T0 + MINUTE, lastSeen: T0 + MINUTE, version: '17.2' }),
        // Same entity twice in one batch, and an old replay: first seen moves back, the description stays.
        entityRow({ firstSeen: T0 + 2n * MINUTE, lastSeen: T0 + 2n * MINUTE, version: '17.3' }),
        entityRow({ firstSeen: T0 - HOUR, lastSeen: T0 - HOUR, version: '15.0', attributes: '{"old":true}' }),
      ]);
      expect(later).toEqual({ inserted: 0, duplicates: 3 });
      expect(await store.getEntity(ORG_A, 'pg:main')).toEqual({
        id: 'pg:main',
        kind: 'postgresql.instance',
        name: 'main',
        parentId: '',
        version: '17.3',
        attributes: '{"host":"db-1","port":5432}',
        firstSeen: T0 - HOUR,
        lastSeen: T0 + 2n * MINUTE,
      });
      await store.upsertEntities([
        entityRow({ firstSeen: T0 - 2n * HOUR, lastSeen: T0 - 2n * HOUR, name: 'x' }),
      ]);
      expect(await store.getEntity(ORG_A, 'pg:main')).toMatchObject({
        name: 'main',
        firstSeen: T0 - 2n * HOUR,
      });
    });

    it("lists and gets only the org's own entities", async () => {
      expect((await store.listEntities(ORG_A)).map((e) => e.id)).toEqual(['pg:main', 'pg:main:shop']);
      expect((await store.listEntities(ORG_B)).map((e) => [e.id, e.attributes])).toEqual([
        ['pg:main', '{"secret":true}'],
      ]);
      expect(await store.getEntity(ORG_B, 'pg:main:shop')).toBeUndefined();
      expect((await store.countRecords(ORG_A)).entities).toBe(2);
    });

    it('treats hostile entity ids and orgs as values', async () => {
      const org = orgId('hostile-entities');
      await store.upsertEntities(HOSTILE.map((text) => entityRow({ orgId: org, id: text, name: text })));
      expect((await store.listEntities(org)).map((e) => e.id)).toEqual([...HOSTILE].sort(byBytes));
      for (const text of HOSTILE) {
        expect(await store.getEntity(org, text)).toMatchObject({ id: text, name: text });
        expect(await store.getEntity(ORG_A, text)).toBeUndefined();
        expect(await store.listEntities(orgId(text))).toEqual([]);
        expect(await store.getEntity(orgId(text), 'pg:main')).toBeUndefined();
      }
      expect((await store.listEntities(ORG_A)).map((e) => e.id)).toEqual(['pg:main', 'pg:main:shop']);
    });
  });
});

/** ClickHouse orders strings by their UTF-8 bytes. */
function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
