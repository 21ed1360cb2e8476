import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  orgId,
  type ActivitySnapshotRow,
  type DeadLetterRow,
  type EntityRow,
  type LogRow,
  type QuerySampleRow,
  type QueryStatRow,
  type SessionRow,
} from '../../src/store/rows.js';
import type { ClickhouseDatabase } from '../../src/store/clickhouse/database.js';
import { runMigrations } from '../../src/store/clickhouse/migrations.js';
import {
  dropExpiredPartitions,
  firstKeptDay,
  listDayPartitions,
} from '../../src/store/clickhouse/retention.js';
import { literal, rawSql, sql } from '../../src/store/clickhouse/sql.js';
import * as tables from '../../src/store/clickhouse/tables.js';
import type { TableSpec } from '../../src/store/clickhouse/table-writer.js';
import type { ClickhouseStore } from '../../src/store/clickhouse/telemetry-store.js';
import { orgScoped } from '../../src/store/clickhouse/telemetry-store.js';
import type { RetentionDays } from '../../src/store/maintenance.js';
import { ORG_A, ORG_B, T0, logRow, metricRow, rumEventRow, spanRow } from '../fixtures/rows.js';
import { CLICKHOUSE_INSTALL_HINT, clickhouseAvailable } from '../harness/clickhouse.js';
import { startClickhouseStores, type ClickhouseStores } from '../helpers/clickhouse-stores.js';
import { requireService } from '../harness/service-missing.js';

const available = requireService('ClickHouse', clickhouseAvailable(), CLICKHOUSE_INSTALL_HINT);

const DAY_NS = 86_400_000_000_000n;
/** Every byte a string can hold that needs care in a literal, plus text that looks like SQL. */
const HOSTILE = [
  "'; DROP TABLE logs; --",
  "\\'; DROP TABLE logs; --",
  "x' OR 1=1 OR 'a'='a",
  'back\\slash \\x41 \\n \\\\ \\',
  Array.from({ length: 32 }, (_, code) => String.fromCharCode(code)).join('') + '\u007f',
  'zażółć gęślą jaźń — 日本語 — 🚀',
  '{"json":"with \\"quotes\\" and \\\\ backslashes"}',
  "') FORMAT TabSeparated\nSELECT 1",
];

function statRow(overrides: Partial<QueryStatRow> = {}): QueryStatRow {
  return {
    id: 'qs-1',
    intervalStart: T0 - 60_000_000_000n,
    intervalEnd: T0,
    orgId: ORG_A,
    entityId: 'postgresql/db1',
    database: 'shop',
    userName: 'app',
    queryId: '-123456789',
    fingerprint: 'fp1',
    query: 'SELECT * FROM orders WHERE id = $1',
    calls: 10,
    totalTimeMs: 12.5,
    minTimeMs: 0.5,
    maxTimeMs: 3.25,
    meanTimeMs: 1.25,
    rows: 10,
    sharedBlksHit: 100,
    sharedBlksRead: 2,
    sharedBlksDirtied: 1,
    sharedBlksWritten: 0,
    tempBlksRead: 0,
    tempBlksWritten: 0,
    walBytes: 4096,
    rowsExamined: 0,
    lockTimeMs: 0,
    errors: 0,
    noIndexUsed: 0,
    tmpDiskTables: 0,
    ...overrides,
  };
}

function sampleRow(overrides: Partial<QuerySampleRow> = {}): QuerySampleRow {
  return {
    id: 'sample-1',
    ts: T0,
    orgId: ORG_A,
    entityId: 'postgresql/db1',
    database: 'shop',
    userName: 'app',
    fingerprint: 'fp1',
    query: 'SELECT pg_sleep(2)',
    durationMs: 2001.5,
    plan: '{"Plan":{"Node Type":"Result"}}',
    source: 'plan',
    ...overrides,
  };
}

function sessionRow(overrides: Partial<SessionRow> = {}): SessionRow {
  return {
    id: 'session-1',
    ts: T0,
    orgId: ORG_A,
    entityId: 'postgresql/db1',
    pid: 4242,
    database: 'shop',
    userName: 'app',
    application: 'psql',
    clientAddr: '10.0.0.5',
    backendType: 'client backend',
    state: 'active',
    waitEventType: 'Lock',
    waitEvent: 'relation',
    fingerprint: 'fp1',
    query: 'UPDATE orders SET x = 1',
    durationMs: 1500,
    xactDurationMs: null,
    blockedBy: [4241, 4240],
    ...overrides,
  };
}

function entityRow(overrides: Partial<EntityRow> = {}): EntityRow {
  return {
    orgId: ORG_A,
    id: 'postgresql/db1',
    kind: 'postgresql',
    name: 'db1',
    parentId: '',
    version: '16.2',
    attributes: '{"port":5432}',
    firstSeen: T0,
    lastSeen: T0,
    ...overrides,
  };
}

describe.skipIf(!available)('ClickHouse store', () => {
  let clickhouse: ClickhouseStores;
  let database: ClickhouseDatabase;
  let store: ClickhouseStore;

  beforeAll(async () => {
    clickhouse = await startClickhouseStores();
    ({ database, store } = await clickhouse.openStore());
  }, 60_000);

  afterAll(async () => {
    await clickhouse?.stop();
  });

  /** Every column of the org's rows, deduplicated and org-scoped like the store's own reads. */
  async function readBack(table: string, org = ORG_A): Promise<Record<string, unknown>[]> {
    return await database.select(sql`SELECT * ${orgScoped(table, org, [])} ORDER BY id`);
  }

  /** What a row should read back as: Int64 as strings (JSON output), booleans 0/1. */
  function expected<Row>(spec: TableSpec<Row>, row: Row): Record<string, unknown> {
    return Object.fromEntries(
      spec.columns.map((column) => {
        const value = column.value(row);
        const plain =
          typeof value === 'bigint'
            ? value.toString()
            : typeof value === 'boolean'
              ? Number(value)
              : value instanceof Uint8Array
                ? Buffer.from(value).toString('latin1')
                : Array.isArray(value)
                  ? value.map((item: unknown) => (typeof item === 'bigint' ? item.toString() : item))
                  : value;
        return [column.name, plain];
      }),
    );
  }

  it('migrates idempotently and refuses nothing on a second run', async () => {
    const again = await runMigrations(database);
    expect(again.applied).toEqual([]);
    expect(again.current).toBe(1);
    expect(again.serverVersion).toBe(clickhouse.ch.version);
    const recorded = await database.select<{ n: string }>(
      rawSql('SELECT count() AS n FROM schema_migrations'),
    );
    expect(recorded[0]?.n).toBe('1');
    const names = await database.select<{ name: string }>(
      rawSql('SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name'),
    );
    expect(names.map((row) => row.name)).toEqual(
      expect.arrayContaining([
        'logs',
        'spans',
        'spans_trace_index',
        'metric_points',
        'dead_letters',
        'query_stats',
        'query_samples',
        'activity_samples',
        'activity_snapshots',
        'entities',
        'rum_events',
        'metric_rollups_1m',
        'metric_rollups_5m',
        'metric_rollups_1h',
        'log_counts_1m',
        'span_latency_1m',
        'rollup_progress',
        'usage_daily',
      ]),
    );
  });

  it('writes every record table and reads each row back unchanged', async () => {
    const org = orgId('roundtrip');
    const cases: Array<{
      spec: TableSpec<never>;
      rows: unknown[];
      write: (rows: never[]) => Promise<unknown>;
    }> = [];
    const add = <Row>(spec: TableSpec<Row>, rows: Row[], write: (rows: Row[]) => Promise<unknown>) =>
      cases.push({
        spec: spec,
        rows,
        write: write,
      });
    add(
      tables.LOGS,
      [
        logRow({ orgId: org, body: HOSTILE.join(' | '), attributes: HOSTILE[6] ?? '' }),
        logRow({ orgId: org, id: 'log-2' }),
      ],
      (rows) => store.writeLogs(rows),
    );
    add(tables.SPANS, [spanRow({ orgId: org, statusMessage: HOSTILE[0] ?? '' })], (rows) =>
      store.writeSpans(rows),
    );
    add(
      tables.METRIC_POINTS,
      [
        metricRow({ orgId: org, value: 0.1, monotonic: true }),
        metricRow({
          orgId: org,
          id: 'metric-2',
          kind: 'histogram',
          value: null,
          histCount: 18446744073709551615n,
          histSum: 1 / 3,
          histMin: -1e300,
          histMax: Infinity,
          bucketBounds: [0.5, 1, 2.5],
          bucketCounts: [1n, 0n, 9007199254740993n, 4n],
        }),
        metricRow({ orgId: org, id: 'metric-3', value: NaN }),
      ],
      (rows) => store.writeMetricPoints(rows),
    );
    const deadLetter: DeadLetterRow = {
      id: 'dl-1',
      ts: T0,
      orgId: org,
      sourceTopic: 'otel-logs',
      reason: 'protobuf: invalid wire type',
      headers: '{"org-id":"roundtrip"}',
      payload: Uint8Array.from({ length: 256 }, (_, byte) => byte),
    };
    add(tables.DEAD_LETTERS, [deadLetter], (rows) => store.writeDeadLetters(rows));
    add(tables.QUERY_STATS, [statRow({ orgId: org, totalTimeMs: 123456.789 })], (rows) =>
      store.writeQueryStats(rows),
    );
    add(
      tables.QUERY_SAMPLES,
      [sampleRow({ orgId: org, plan: 'Seq Scan on "t"\n  Filter: (x = \'a\')' })],
      (rows) => store.writeQuerySamples(rows),
    );
    add(
      tables.ACTIVITY_SAMPLES,
      [
        sessionRow({ orgId: org }),
        sessionRow({ orgId: org, id: 'session-2', xactDurationMs: 12.5, blockedBy: [] }),
      ],
      (rows) => store.writeSessions(rows),
    );
    const snapshot: ActivitySnapshotRow = {
      id: 'snap-1',
      ts: T0,
      orgId: org,
      entityId: 'postgresql/db1',
      sessions: 2,
    };
    add(tables.ACTIVITY_SNAPSHOTS, [snapshot], (rows) => store.writeActivitySnapshots(rows));
    add(
      tables.RUM_EVENTS,
      [
        rumEventRow({ orgId: org, stack: HOSTILE[4] ?? '' }),
        rumEventRow({ orgId: org, id: 'rum-2', value: null, durationMs: null }),
      ],
      (rows) => store.writeRumEvents(rows),
    );

    for (const { spec, rows, write } of cases) {
      const result = await write(rows as never[]);
      expect(result, spec.table).toEqual({ inserted: rows.length, duplicates: 0 });
      const back = await readBack(spec.table, org);
      const want = (rows as never[]).map((row) => expected(spec, row));
      if (spec.table === 'dead_letters') {
        // JSON output cannot carry bytes that are not UTF-8: reads of payload go through hex().
        const hex = await database.select<{ h: string }>(
          sql`SELECT hex(payload) AS h ${orgScoped('dead_letters', org, [])}`,
        );
        expect(hex[0]?.h).toBe(Buffer.from(deadLetter.payload).toString('hex').toUpperCase());
        for (const record of [...back, ...want]) delete record.payload;
      }
      // JSON output renders NaN and ±Infinity as strings (output_format_json_quote_denormals).
      const normalise = (record: Record<string, unknown>) =>
        Object.fromEntries(
          Object.entries(record).map(([key, value]) => [
            key,
            typeof value === 'number' && !Number.isFinite(value)
              ? String(value).replace('Infinity', 'inf').replace('NaN', 'nan')
              : value,
          ]),
        );
      expect(back, spec.table).toEqual(
        want.map(normalise).sort((a, b) => String(a.id).localeCompare(String(b.id))),
      );
    }

    await store.upsertEntities([entityRow({ orgId: org, attributes: HOSTILE[1] ?? '' })]);
    expect(await store.listEntities(org)).toEqual([
      {
        id: 'postgresql/db1',
        kind: 'postgresql',
        name: 'db1',
        parentId: '',
        version: '16.2',
        attributes: HOSTILE[1],
        firstSeen: T0,
        lastSeen: T0,
      },
    ]);
    expect(await store.countRecords(org)).toEqual({
      logs: 2,
      spans: 1,
      metricPoints: 3,
      deadLetters: 1,
      queryStats: 1,
      querySamples: 1,
      sessions: 2,
      entities: 1,
      rumEvents: 2,
    });
  });

  it('stores a replayed batch once, before any merge, and reports the replay as duplicates', async () => {
    const org = orgId('replay');
    const batch: LogRow[] = Array.from({ length: 2000 }, (_, i) =>
      logRow({
        orgId: org,
        id: `replay-${i}`,
        ts: T0 + BigInt(i) * 1_000_000n,
        service: `svc-${i % 3}`,
        body: `line ${i}`,
      }),
    );
    await database.run(rawSql('SYSTEM STOP MERGES logs'));
    try {
      expect(await store.writeLogs(batch)).toEqual({ inserted: 2000, duplicates: 0 });
      expect(await store.writeLogs(batch)).toEqual({ inserted: 0, duplicates: 2000 });
      // A batch repeating one of its own rows, and a replay mixing old and new rows.
      const mixed = [
        ...batch.slice(0, 10),
        logRow({ orgId: org, id: 'replay-new', ts: T0 }),
        logRow({ orgId: org, id: 'replay-new', ts: T0 }),
      ];
      expect(await store.writeLogs(mixed)).toEqual({ inserted: 1, duplicates: 11 });

      // Two writers racing (or a check that missed) insert real copies; reads still see one.
      const raceCopy = batch.slice(0, 500);
      const columns = tables.LOGS.columns;
      const values = raceCopy
        .map((row) => `(${columns.map((c) => literal(c.value(row))).join(', ')})`)
        .join(',');
      await database.run(
        rawSql(`INSERT INTO logs (${columns.map((c) => c.name).join(', ')}) VALUES ${values}`),
      );
      await database.run(
        rawSql(`INSERT INTO logs (${columns.map((c) => c.name).join(', ')}) VALUES ${values}`),
      );
      const raw = await database.select<{ n: string }>(
        sql`SELECT count() AS n FROM logs WHERE org_id = ${org}`,
      );
      expect(Number(raw[0]?.n)).toBe(2001 + 1000);
      expect((await store.countRecords(org)).logs).toBe(2001);
      const perService = await database.select<{ service: string; n: string }>(
        sql`SELECT service, count() AS n ${orgScoped('logs', org, [])} GROUP BY service ORDER BY service`,
      );
      // 'checkout' is replay-new's service; svc-0..2 split the 2000 rows 667/667/666.
      expect(perService.map((row) => [row.service, Number(row.n)])).toEqual([
        ['checkout', 1],
        ['svc-0', 667],
        ['svc-1', 667],
        ['svc-2', 666],
      ]);
    } finally {
      await database.run(rawSql('SYSTEM START MERGES logs'));
    }
  });

  it('merges entity sightings: earliest first seen, latest last seen, newest description', async () => {
    const org = orgId('entities');
    const old = entityRow({ orgId: org, version: '15.0', firstSeen: T0, lastSeen: T0 + 10n });
    const newer = entityRow({ orgId: org, version: '16.2', firstSeen: T0 + 5n, lastSeen: T0 + 20n });
    expect(await store.upsertEntities([newer])).toEqual({ inserted: 1, duplicates: 0 });
    // An old sighting replayed after a newer one must not win the description.
    expect(
      await store.upsertEntities([old, old, entityRow({ orgId: org, id: 'host/web-1', kind: 'host' })]),
    ).toEqual({
      inserted: 1,
      duplicates: 2,
    });
    const entity = await store.getEntity(org, 'postgresql/db1');
    expect(entity).toMatchObject({ version: '16.2', firstSeen: T0, lastSeen: T0 + 20n });
    expect((await store.listEntities(org)).map((e) => e.id)).toEqual(['host/web-1', 'postgresql/db1']);
    expect((await store.countRecords(org)).entities).toBe(2);
    expect(await store.getEntity(ORG_B, 'postgresql/db1')).toBeUndefined();
  });

  it('reads a trace across a day boundary once, in start order, only for its org', async () => {
    const org = orgId('traces');
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const midnight = (T0 / DAY_NS + 1n) * DAY_NS;
    const spans = [
      spanRow({
        orgId: org,
        id: 'root',
        traceId,
        spanId: 'a1',
        startTs: midnight - 1_000_000n,
        service: 'gateway',
      }),
      spanRow({
        orgId: org,
        id: 'child',
        traceId,
        spanId: 'a2',
        parentSpanId: 'a1',
        startTs: midnight + 1_000_000n,
        service: 'db',
      }),
      spanRow({ orgId: org, id: 'other', traceId: 'ffffffffffffffffffffffffffffffff', spanId: 'b1' }),
    ];
    await store.writeSpans(spans);
    await store.writeSpans(spans);
    const trace = await store.getTrace(org, traceId);
    expect(trace.truncated).toBe(false);
    expect(trace.spans.map((s) => [s.id, s.service, s.startTs])).toEqual([
      ['root', 'gateway', midnight - 1_000_000n],
      ['child', 'db', midnight + 1_000_000n],
    ]);
    expect(await store.getTrace(orgId('someone-else'), traceId)).toEqual({ spans: [], truncated: false });
    expect(await store.getTrace(org, "' OR 1=1 --")).toEqual({ spans: [], truncated: false });
  });

  it('scopes every count by org, even for hostile org ids', async () => {
    await store.writeLogs([logRow({ orgId: ORG_A, id: 'scoped-a' })]);
    await store.writeLogs([
      logRow({ orgId: ORG_B, id: 'scoped-b1' }),
      logRow({ orgId: ORG_B, id: 'scoped-b2' }),
    ]);
    expect((await store.countRecords(ORG_A)).logs).toBe(1);
    expect((await store.countRecords(ORG_B)).logs).toBe(2);
    for (const hostile of HOSTILE) {
      const counts = await store.countRecords(orgId(hostile));
      expect(Object.values(counts).every((n) => n === 0)).toBe(true);
    }
    // A hostile org id is stored as data and scoped like any other.
    const hostileOrg = orgId(HOSTILE[0] ?? '');
    await store.writeLogs([logRow({ orgId: hostileOrg, id: 'hostile-1' })]);
    expect((await store.countRecords(hostileOrg)).logs).toBe(1);
    expect((await store.countRecords(ORG_A)).logs).toBe(1);
  });

  it('round-trips every hostile string through a real INSERT and SELECT', async () => {
    await database.run(
      rawSql(
        'CREATE TABLE IF NOT EXISTS escaping_probe (k UInt32, s String, a Array(String)) ENGINE = MergeTree() ORDER BY k',
      ),
    );
    const values = HOSTILE.map((text, k) => sql`(${k}, ${text}, ${[text, '', text.slice(0, 3)]})`);
    await database.run(rawSql(`INSERT INTO escaping_probe VALUES ${values.map((v) => v.text).join(', ')}`));
    for (const [k, text] of HOSTILE.entries()) {
      const rows = await database.select<{ s: string; a: string[]; same: number }>(
        sql`SELECT s, a, s = ${text} AS same FROM escaping_probe WHERE k = ${k}`,
      );
      expect(rows).toEqual([{ s: text, a: [text, '', text.slice(0, 3)], same: 1 }]);
    }
    // Floats in their shortest form come back as the same double (18.16 flushes subnormals to 0).
    const floats = [
      0.1,
      1 / 3,
      123456.789,
      -1e300,
      2 ** 53 + 2,
      1.7976931348623157e308,
      Number.MIN_VALUE * 2 ** 60,
    ];
    const rows = await database.select<{ v: number[] }>(sql`SELECT ${floats} AS v`);
    expect(rows[0]?.v).toEqual(floats);
    const special = await database.select<{ v: string[] }>(sql`SELECT ${[NaN, Infinity, -Infinity]} AS v`);
    expect(special[0]?.v).toEqual(['nan', 'inf', '-inf']);
    await database.run(rawSql('DROP TABLE escaping_probe'));
  });

  it('drops only the day partitions older than the retention', async () => {
    const org = orgId('retention');
    const now = T0 + 30n * DAY_NS;
    const day = (ns: bigint) => firstKeptDay(ns + DAY_NS, 1) ?? 0;
    // In days: 3.75 is older than the 3.5-day retention but shares its UTC day with rows inside it.
    const ages = [10, 4, 3.75, 3, 0];
    const at = (age: number) => now - BigInt(Math.round(age * 24)) * (DAY_NS / 24n);
    await store.writeLogs(ages.map((age) => logRow({ orgId: org, id: `ret-${age}`, ts: at(age) })));
    await store.writeSpans(
      ages.map((age) => spanRow({ orgId: org, id: `ret-${age}`, traceId: `t${age}`, startTs: at(age) })),
    );
    const before = await listDayPartitions(database, 'logs');
    for (const age of ages) expect(before).toContain(day(at(age)));

    const days: RetentionDays = {
      logs: 3.5,
      spans: 3.5,
      metricPoints: 0,
      deadLetters: 0,
      queryStats: 0,
      querySamples: 0,
      activitySamples: 0,
      activitySnapshots: 0,
      rumEvents: 0,
      metricRollups1m: 0,
      metricRollups5m: 0,
      metricRollups1h: 0,
      logCounts1m: 0,
      spanLatency1m: 0,
    };
    const report = await dropExpiredPartitions(database, days, now);
    expect(report.failed).toEqual({});
    const firstKept = firstKeptDay(now, 3.5) ?? 0;
    expect(firstKept).toBe(day(at(3.5)));
    expect(day(at(3.75))).toBe(firstKept);
    expect(report.dropped.logs).toEqual(before.filter((d) => d < firstKept));
    expect(report.dropped.logs).toEqual(expect.arrayContaining([day(at(10)), day(at(4))]));
    // Earlier tests left other days in spans; each table drops its own old days.
    expect(report.dropped.spans).toEqual(expect.arrayContaining([day(at(10)), day(at(4))]));
    expect(report.dropped.spans?.every((d) => d < firstKept)).toBe(true);
    expect(report.dropped.spans_trace_index).toEqual(expect.arrayContaining([day(at(10)), day(at(4))]));
    const after = await listDayPartitions(database, 'logs');
    expect(after.every((d) => d >= firstKept)).toBe(true);
    const left = await readBack('logs', org);
    expect(left.map((row) => row.id)).toEqual(['ret-0', 'ret-3', 'ret-3.75']);
    expect(await store.getTrace(org, 't10')).toEqual({ spans: [], truncated: false });
    expect(await store.getTrace(org, 't4')).toEqual({ spans: [], truncated: false });
    expect((await store.getTrace(org, 't3.75')).spans).toHaveLength(1);
    // Other tables keep everything (0 days).
    expect((await listDayPartitions(database, 'metric_points')).length).toBeGreaterThan(0);
  });

  it('writes a 20,000-row log batch in one pass', async () => {
    const org = orgId('bulk');
    const batch = Array.from({ length: 20_000 }, (_, i) =>
      logRow({
        orgId: org,
        id: `bulk-${i}`,
        ts: T0 + BigInt(i) * 1_000_000n,
        service: `svc-${i % 5}`,
        body: `request ${i} took ${i % 97} ms`,
        attributes: `{"i":${i},"path":"/api/v1/items/${i}"}`,
      }),
    );
    const started = performance.now();
    expect(await store.writeLogs(batch)).toEqual({ inserted: 20_000, duplicates: 0 });
    const firstMs = performance.now() - started;
    const replayStarted = performance.now();
    expect(await store.writeLogs(batch)).toEqual({ inserted: 0, duplicates: 20_000 });
    const replayMs = performance.now() - replayStarted;
    console.log(
      `ClickHouse ${clickhouse.ch.version}: 20k logs written in ${firstMs.toFixed(0)} ms, replay checked in ${replayMs.toFixed(0)} ms`,
    );
    expect((await store.countRecords(org)).logs).toBe(20_000);
  });

  it('reports an unreachable server as SL_ERR_STORE_UNAVAILABLE and writes again after a restart', async () => {
    await clickhouse.ch.kill();
    await expect(store.writeLogs([logRow({ orgId: orgId('outage'), id: 'during' })])).rejects.toMatchObject({
      code: 'SL_ERR_STORE_UNAVAILABLE',
    });
    await clickhouse.ch.restart();
    expect(await store.writeLogs([logRow({ orgId: orgId('outage'), id: 'after' })])).toEqual({
      inserted: 1,
      duplicates: 0,
    });
    expect((await store.countRecords(orgId('outage'))).logs).toBe(1);
  });
});
