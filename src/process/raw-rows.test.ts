import { describe, expect, it } from 'vitest';
import {
  activitySnapshot,
  queryStatsRecord,
  rumEventRecord,
  serverLogRecord,
  type ActivitySnapshot,
  type EntityRecord,
  type QueryStatsRecord,
  type ServerLogRecord,
} from '../bus/raw-records.js';
import { orgId } from '../store/rows.js';
import type { RowContext } from './otlp-rows.js';
import {
  activityToRows,
  entityToRow,
  parseRawRecord,
  queryStatsToRow,
  rawQueryToRow,
  rumEventToRow,
  serverLogSeverity,
  serverLogToRows,
  serviceOfEntity,
} from './raw-rows.js';

const context: RowContext = { orgId: orgId('org_1'), receivedAtNs: 1_800_000_000_000_000_000n };
const TS = '1700000000123456789';

function stats(overrides: Partial<QueryStatsRecord> = {}): QueryStatsRecord {
  return {
    type: 'query_stats',
    entityId: 'pg:main',
    database: 'shop',
    user: 'app',
    queryId: '-4242',
    fingerprint: 'fp1',
    query: 'SELECT * FROM orders WHERE id = $1',
    intervalStart: '1699999940000000000',
    intervalEnd: '1700000000000000000',
    calls: 10,
    totalTimeMs: 25.5,
    minTimeMs: 1,
    maxTimeMs: 9,
    meanTimeMs: 2.55,
    rows: 10,
    sharedBlksHit: 100,
    sharedBlksRead: 3,
    sharedBlksDirtied: 1,
    sharedBlksWritten: 0,
    tempBlksRead: 0,
    tempBlksWritten: 0,
    walBytes: 512,
    rowsExamined: 0,
    lockTimeMs: 0,
    errors: 0,
    noIndexUsed: 0,
    tmpDiskTables: 0,
    ...overrides,
  };
}

function log(overrides: Partial<ServerLogRecord> = {}): ServerLogRecord {
  return {
    type: 'server_log',
    entityId: 'pg:main',
    host: 'db-1',
    ts: TS,
    level: 'ERROR',
    message: 'duplicate key value violates unique constraint "orders_pkey"',
    database: 'shop',
    user: 'app',
    application: 'api',
    pid: 4711,
    sqlstate: '23505',
    category: 'error',
    durationMs: null,
    fingerprint: 'fp1',
    statement: 'INSERT INTO orders VALUES ($1)',
    sample: null,
    attributes: { 'log.file': 'postgresql.json', line: 7 },
    ...overrides,
  };
}

function bytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
}

describe('parseRawRecord', () => {
  it('returns the record when it fits the schema', () => {
    expect(parseRawRecord(queryStatsRecord, 'query_stats', bytes(stats()))).toEqual(stats());
  });

  it('says which fields are wrong, and how', () => {
    const bad = { ...stats(), calls: -1, intervalEnd: 'yesterday' };
    expect(() => parseRawRecord(queryStatsRecord, 'query_stats', bytes(bad))).toThrow(
      /^not a valid query_stats record: intervalEnd: must be nanoseconds since the epoch as a decimal string; calls: .*>=0/,
    );
  });

  it('names a record of another type and unknown fields', () => {
    expect(() => parseRawRecord(serverLogRecord, 'server_log', bytes(stats()))).toThrow(
      /^not a valid server_log record: type: .*"server_log"/,
    );
    expect(() => parseRawRecord(queryStatsRecord, 'query_stats', bytes({ ...stats(), extra: 1 }))).toThrow(
      'not a valid query_stats record: (record): Unrecognized key: "extra"',
    );
  });

  it('rejects what is not JSON or not UTF-8', () => {
    expect(() => parseRawRecord(queryStatsRecord, 'query_stats', bytes('{"type":'))).toThrow(
      /^not a query_stats record: the value is not UTF-8 JSON/,
    );
    expect(() => parseRawRecord(queryStatsRecord, 'query_stats', new Uint8Array([0x7b, 0xff, 0x7d]))).toThrow(
      /not UTF-8 JSON/,
    );
  });

  it('lists at most five problems and counts the rest', () => {
    const message = (() => {
      try {
        parseRawRecord(activitySnapshot, 'activity', bytes({ type: 'activity', sessions: [{}] }));
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })();
    expect(message.split('; ').length).toBeLessThanOrEqual(6);
    expect(message).toMatch(/and \d+ more$/);
  });
});

describe('queryStatsToRow', () => {
  it('keeps every counter and derives the id from the record identity', () => {
    const row = queryStatsToRow(stats(), context);
    expect(row).toMatchObject({
      orgId: 'org_1',
      entityId: 'pg:main',
      database: 'shop',
      userName: 'app',
      queryId: '-4242',
      intervalStart: 1_699_999_940_000_000_000n,
      intervalEnd: 1_700_000_000_000_000_000n,
      calls: 10,
      totalTimeMs: 25.5,
      walBytes: 512,
    });
    expect(queryStatsToRow(stats({ calls: 11 }), context).id).toBe(row.id);
    expect(queryStatsToRow(stats({ intervalEnd: '1700000060000000000' }), context).id).not.toBe(row.id);
    expect(queryStatsToRow(stats({ database: 'other' }), context).id).not.toBe(row.id);
  });

  it('refuses a time after 2262', () => {
    expect(() => queryStatsToRow(stats({ intervalEnd: '9999999999999999999' }), context)).toThrow(
      /intervalEnd 9999999999999999999 is after the latest storable time/,
    );
  });
});

describe('rawQueryToRow', () => {
  const sample = {
    type: 'query_sample' as const,
    entityId: 'mysql:main',
    database: 'shop',
    user: '',
    ts: TS,
    fingerprint: '0123456789abcdef',
    query: 'SELECT * FROM items WHERE id = ?',
    durationMs: 12.5,
    plan: '{"query_block":{}}',
    source: 'explain',
  };

  it('turns statistics into a query_stats row and a sample into a query_samples row', () => {
    expect(rawQueryToRow(stats(), context).stat).toMatchObject({ fingerprint: stats().fingerprint });
    expect(rawQueryToRow(sample, context)).toEqual({
      sample: {
        id: expect.any(String) as unknown,
        ts: BigInt(TS),
        orgId: context.orgId,
        entityId: 'mysql:main',
        database: 'shop',
        userName: '',
        fingerprint: '0123456789abcdef',
        query: 'SELECT * FROM items WHERE id = ?',
        durationMs: 12.5,
        plan: '{"query_block":{}}',
        source: 'explain',
      },
    });
  });

  it('gives a replayed sample the same id, and another moment another one', () => {
    const id = rawQueryToRow(sample, context).sample?.id;
    expect(rawQueryToRow(sample, context).sample?.id).toBe(id);
    expect(rawQueryToRow({ ...sample, ts: '1700000000999999999' }, context).sample?.id).not.toBe(id);
  });
});

describe('serverLogSeverity', () => {
  it('maps PostgreSQL and MySQL levels', () => {
    const cases: Array<[string, string]> = [
      ['DEBUG1', 'DEBUG'],
      ['DEBUG5', 'DEBUG'],
      ['LOG', 'INFO'],
      ['INFO', 'INFO'],
      ['NOTICE', 'INFO'],
      ['WARNING', 'WARN'],
      ['ERROR', 'ERROR'],
      ['FATAL', 'FATAL'],
      ['PANIC', 'FATAL'],
      ['Note', 'INFO'],
      ['Warning', 'WARN'],
      ['System', 'INFO'],
      ['whatever', 'UNSPECIFIED'],
    ];
    for (const [level, severity] of cases) expect(serverLogSeverity(level).severity, level).toBe(severity);
    expect(serverLogSeverity('PANIC').number).toBe(24);
    expect(serverLogSeverity('warning').number).toBe(13);
  });
});

describe('serverLogToRows', () => {
  it('makes a log row with the parsed fields as attributes', () => {
    const { log: row, sample } = serverLogToRows(log(), context);
    expect(sample).toBeNull();
    expect(row).toMatchObject({
      ts: 1_700_000_000_123_456_789n,
      observedTs: context.receivedAtNs,
      orgId: 'org_1',
      service: 'postgresql',
      host: 'db-1',
      entityId: 'pg:main',
      severity: 'ERROR',
      severityNumber: 17,
      severityText: 'ERROR',
      body: 'duplicate key value violates unique constraint "orders_pkey"',
    });
    expect(JSON.parse(row.attributes)).toEqual({
      'log.file': 'postgresql.json',
      line: 7,
      database: 'shop',
      user: 'app',
      application: 'api',
      pid: 4711,
      sqlstate: '23505',
      category: 'error',
      fingerprint: 'fp1',
      statement: 'INSERT INTO orders VALUES ($1)',
    });
    expect(JSON.parse(row.resource)).toEqual({
      'service.name': 'postgresql',
      'host.name': 'db-1',
      'sightline.entity.id': 'pg:main',
    });
  });

  it('gives the same line the same id, and another line another', () => {
    const id = serverLogToRows(log(), context).log.id;
    expect(serverLogToRows(log(), { ...context, receivedAtNs: 1n }).log.id).toBe(id);
    expect(serverLogToRows(log({ message: 'other' }), context).log.id).not.toBe(id);
    expect(serverLogToRows(log({ pid: 1 }), context).log.id).not.toBe(id);
  });

  it('keeps apart two lines of one backend in the same millisecond with the same text', () => {
    const line = (n: number) => log({ attributes: { session_id: '6b04.1', session_line: n } });
    expect(serverLogToRows(line(1), context).log.id).not.toBe(serverLogToRows(line(2), context).log.id);
    const statement = (text: string) => log({ category: 'statement_duration', statement: text });
    expect(serverLogToRows(statement('SELECT $1'), context).log.id).not.toBe(
      serverLogToRows(statement('UPDATE t SET a = $1'), context).log.id,
    );
  });

  it('adds a query sample when the line carries a plan', () => {
    const plan = '[{"Plan":{"Node Type":"Seq Scan"}}]';
    const { log: row, sample } = serverLogToRows(
      log({
        level: 'LOG',
        category: 'plan',
        durationMs: 1234.5,
        message: 'duration: 1234.5 ms  plan: ...',
        sample: { fingerprint: '', query: 'SELECT * FROM orders', durationMs: 1234.5, plan },
      }),
      context,
    );
    expect(JSON.parse(row.attributes)).toMatchObject({ duration_ms: 1234.5, category: 'plan' });
    expect(sample).toMatchObject({
      ts: row.ts,
      orgId: 'org_1',
      entityId: 'pg:main',
      database: 'shop',
      userName: 'app',
      fingerprint: 'fp1',
      query: 'SELECT * FROM orders',
      durationMs: 1234.5,
      plan,
      source: 'plan',
    });
    expect(sample?.id).not.toBe(row.id);
  });

  it('names the service after the collector of the entity', () => {
    expect(serviceOfEntity('pg:main')).toBe('postgresql');
    expect(serviceOfEntity('mysql:orders')).toBe('mysql');
    expect(serviceOfEntity('mariadb:x:db')).toBe('mariadb');
    expect(serviceOfEntity('something')).toBe('postgresql');
  });
});

describe('activityToRows', () => {
  const snapshot: ActivitySnapshot = {
    type: 'activity',
    entityId: 'pg:main',
    ts: TS,
    sessions: [
      {
        pid: 10,
        database: 'shop',
        user: 'app',
        application: 'api',
        clientAddr: '10.0.0.5',
        backendType: 'client backend',
        state: 'idle in transaction',
        waitEventType: 'Client',
        waitEvent: 'ClientRead',
        fingerprint: 'fp2',
        query: 'UPDATE orders SET status = $1',
        durationMs: 5000,
        xactDurationMs: 6000,
        blockedBy: [],
      },
      {
        pid: 11,
        database: 'shop',
        user: 'app',
        application: 'api',
        clientAddr: '10.0.0.6',
        backendType: 'client backend',
        state: 'active',
        waitEventType: 'Lock',
        waitEvent: 'transactionid',
        fingerprint: 'fp2',
        query: 'UPDATE orders SET status = $1',
        durationMs: 4000,
        xactDurationMs: null,
        blockedBy: [10],
      },
    ],
  };

  it('makes a snapshot row and one row per session', () => {
    const { snapshot: snap, sessions } = activityToRows(snapshot, context);
    expect(snap).toMatchObject({ ts: 1_700_000_000_123_456_789n, entityId: 'pg:main', sessions: 2 });
    expect(sessions).toHaveLength(2);
    expect(sessions[1]).toMatchObject({
      pid: 11,
      userName: 'app',
      clientAddr: '10.0.0.6',
      backendType: 'client backend',
      waitEventType: 'Lock',
      xactDurationMs: null,
      blockedBy: [10],
      ts: snap.ts,
    });
    expect(new Set(sessions.map((s) => s.id)).size).toBe(2);
    expect(activityToRows(snapshot, context).sessions.map((s) => s.id)).toEqual(sessions.map((s) => s.id));
  });

  it('records an empty snapshot, so an idle server shows as idle', () => {
    const { snapshot: snap, sessions } = activityToRows({ ...snapshot, sessions: [] }, context);
    expect(snap.sessions).toBe(0);
    expect(sessions).toEqual([]);
  });
});

describe('entityToRow', () => {
  it('makes first and last seen the record time and keeps the attributes as JSON', () => {
    const record: EntityRecord = {
      type: 'entity',
      entityId: 'pg:main:shop',
      kind: 'postgresql.database',
      name: 'shop',
      parentId: 'pg:main',
      ts: TS,
      version: '17.2',
      attributes: { encoding: 'UTF8', size_bytes: 1024, template: false, owner: null },
    };
    expect(entityToRow(record, context)).toEqual({
      orgId: 'org_1',
      id: 'pg:main:shop',
      kind: 'postgresql.database',
      name: 'shop',
      parentId: 'pg:main',
      version: '17.2',
      attributes: '{"encoding":"UTF8","size_bytes":1024,"template":false,"owner":null}',
      firstSeen: 1_700_000_000_123_456_789n,
      lastSeen: 1_700_000_000_123_456_789n,
    });
  });
});

describe('rumEventToRow', () => {
  const record = (overrides: Record<string, unknown> = {}) =>
    rumEventRecord.parse({
      type: 'error',
      sessionId: 's-1',
      viewId: 'v-1',
      ts: TS,
      url: 'https://shop.example/cart/pay?step=2#card',
      message: 'boom',
      stack: 'Error: boom',
      errorType: 'TypeError',
      userAgent: 'Mozilla/5.0',
      clientAddress: '8.8.8.8',
      service: 'shop-web',
      release: '1.2.3',
      attributes: { component: 'checkout' },
      ...overrides,
    });

  it('maps a browser event, with the URL path, and leaves the derived columns to the enrich stage', () => {
    const row = rumEventToRow(record(), context);
    expect(row).toMatchObject({
      ts: 1_700_000_000_123_456_789n,
      orgId: 'org_1',
      sessionId: 's-1',
      viewId: 'v-1',
      type: 'error',
      name: '',
      value: null,
      url: 'https://shop.example/cart/pay?step=2#card',
      urlPath: '/cart/pay',
      referrer: '',
      title: '',
      message: 'boom',
      stack: 'Error: boom',
      errorType: 'TypeError',
      durationMs: null,
      service: 'shop-web',
      release: '1.2.3',
      userAgent: 'Mozilla/5.0',
      browserName: '',
      country: '',
      city: '',
      clientAddress: '8.8.8.8',
      attributes: '{"component":"checkout"}',
    });
    expect(row.id).toMatch(/^[\w-]{22}$/);
  });

  it('gives the same event the same id wherever it came from, and another event another id', () => {
    const id = rumEventToRow(record(), context).id;
    expect(rumEventToRow(record({ clientAddress: '1.1.1.1', userAgent: 'other' }), context).id).toBe(id);
    expect(rumEventToRow(record({ ts: '1700000000123456790' }), context).id).not.toBe(id);
    expect(rumEventToRow(record({ attributes: { component: 'cart' } }), context).id).not.toBe(id);
    expect(rumEventToRow(record({ type: 'web_vital', name: 'LCP', value: 1 }), context).id).not.toBe(
      rumEventToRow(record({ type: 'web_vital', name: 'LCP', value: 2 }), context).id,
    );
  });

  it('has an empty path for a URL it cannot parse', () => {
    expect(rumEventToRow(record({ url: 'not a url' }), context).urlPath).toBe('');
  });

  it('reads only records that fit the raw-rum schema', () => {
    const bytes = Buffer.from(JSON.stringify({ ...record(), ts: 1700000000123 }));
    expect(() => parseRawRecord(rumEventRecord, 'raw-rum', bytes)).toThrow(
      /not a valid raw-rum record: ts: /,
    );
  });
});
