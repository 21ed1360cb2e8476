// ajv comes with fastify; the 2020 draft is the dialect of OpenAPI 3.1 schemas.
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryControlStore } from '../../test/helpers/memory-control-store.js';
import { hashApiKey } from '../auth/api-key.js';
import { ApiKeyAuthenticator } from '../auth/authenticator.js';
import { hashPassword } from '../auth/passwords.js';
import { silentLogger } from '../core/logger.js';
import { SelfMetrics } from '../core/telemetry.js';
import { msToNs } from '../core/time.js';
import type { LogQuery } from '../store/log-query.js';
import type { OrgId } from '../store/rows.js';
import type {
  Activity,
  MetricQuery,
  QueryDetail,
  QueryTotals,
  SeriesPointsQuery,
  Store,
  StoredEntity,
  StoredLog,
  StoredSpan,
  TopQueries,
} from '../store/store.js';
import { buildApiApp } from './api-app.js';
import { OPENAPI_PATH } from './openapi.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const KEY = 'sl_openapi_test_key';
const VIEWER_KEY = 'sl_openapi_viewer_key';
const EMAIL = 'owner@example.com';
const PASSWORD = 'correct horse battery';
const TRACE_ID = 'ab'.repeat(16);
const AUTH = { authorization: `Bearer ${KEY}` };
const FORM = 'application/x-www-form-urlencoded';
const FORM_AUTH = { ...AUTH, 'content-type': FORM };
const NOW_S = String(NOW / 1000);
const PROM = '/prometheus/api/v1';

/** Routes the document leaves out on purpose: the UI's pages and assets. */
const HIDDEN = ['GET /', 'GET /*'];
/** POSTs that take no body. */
const NO_BODY = ['POST /api/v1/auth/logout'];

interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ in: string; name: string; required?: boolean }>;
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema: Schema }> }>;
}
interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown> };
  security: Array<Record<string, string[]>>;
}
type Schema = Record<string, unknown>;

const ns = (iso: string) => msToNs(Date.parse(iso));

function log(id: string): StoredLog {
  return {
    id,
    ts: ns('2024-05-01T11:59:00Z') + 123n,
    observedTs: ns('2024-05-01T11:59:01Z'),
    service: 'checkout',
    host: 'h1',
    entityId: '',
    severity: 'ERROR',
    severityNumber: 17,
    severityText: 'error',
    body: 'payment timed out',
    traceId: TRACE_ID,
    spanId: 'cd'.repeat(8),
    eventName: '',
    scopeName: 'app',
    attributes: '{"order.id":42,"nested":{"a":[1,2]}}',
    resource: '{"service.name":"checkout"}',
  };
}

function span(spanId: string, parentSpanId: string, offsetMs: number): StoredSpan {
  const startTs = ns('2024-05-01T11:58:00Z') + msToNs(offsetMs);
  return {
    id: spanId,
    startTs,
    endTs: startTs + 1_500_000n,
    durationNs: 1_500_000n,
    traceId: TRACE_ID,
    spanId,
    parentSpanId,
    traceState: '',
    service: 'checkout',
    host: 'h1',
    entityId: '',
    name: 'GET /pay',
    kind: 'server',
    status: 'error',
    statusMessage: 'boom',
    scopeName: 'http',
    attributes: '{"http.status_code":500}',
    resource: '{}',
    events: '[{"name":"exception","attributes":{}}]',
    // An empty column parses to {}: the schema must take it as well as a list.
    links: '',
  };
}

const entity = (id: string, kind: string, name: string, parentId: string): StoredEntity => ({
  id,
  kind,
  name,
  parentId,
  version: '16.2',
  attributes: '{"host":"db1"}',
  firstSeen: ns('2024-05-01T10:00:00Z'),
  lastSeen: ns('2024-05-01T11:59:30Z'),
});
const ENTITIES = [
  entity('pg:main', 'postgresql.instance', 'main', ''),
  entity('pg:main:shop', 'postgresql.database', 'shop', 'pg:main'),
];

const totals = (over: Partial<QueryTotals> = {}): QueryTotals => ({
  calls: 10,
  totalTimeMs: 25.5,
  meanTimeMs: 2.55,
  maxTimeMs: 9.1,
  rows: 10,
  sharedBlksHit: 90,
  sharedBlksRead: 10,
  sharedBlksDirtied: 0,
  sharedBlksWritten: 0,
  tempBlksRead: 0,
  tempBlksWritten: 0,
  walBytes: 0,
  rowsExamined: 0,
  lockTimeMs: 0,
  errors: 0,
  noIndexUsed: 0,
  tmpDiskTables: 0,
  databases: ['shop'],
  users: ['app'],
  entityIds: ['pg:main'],
  ...over,
});

const TOP: TopQueries = {
  overall: { calls: 12, totalTimeMs: 30, fingerprints: 2 },
  queries: [
    {
      fingerprint: 'fp1',
      query: 'SELECT $1',
      ...totals(),
      series: [{ ts: ns('2024-05-01T11:30:00Z'), calls: 10, totalTimeMs: 25.5 }],
    },
    // Without block access: cacheHitRatio is null.
    { fingerprint: 'fp2', query: 'SELECT 2', ...totals({ sharedBlksHit: 0, sharedBlksRead: 0 }), series: [] },
  ],
};

const DETAIL: QueryDetail = {
  fingerprint: 'fp1',
  query: 'SELECT $1',
  totals: totals(),
  intervals: [
    {
      id: 'i1',
      intervalStart: ns('2024-05-01T11:00:00Z'),
      intervalEnd: ns('2024-05-01T11:01:00Z'),
      entityId: 'pg:main',
      database: 'shop',
      userName: 'app',
      queryId: '-42',
      fingerprint: 'fp1',
      query: 'SELECT $1',
      calls: 10,
      totalTimeMs: 25.5,
      minTimeMs: 0.1,
      maxTimeMs: 9.1,
      meanTimeMs: 2.55,
      rows: 10,
      sharedBlksHit: 90,
      sharedBlksRead: 10,
      sharedBlksDirtied: 0,
      sharedBlksWritten: 0,
      tempBlksRead: 0,
      tempBlksWritten: 0,
      walBytes: 0,
      rowsExamined: 0,
      lockTimeMs: 0,
      errors: 0,
      noIndexUsed: 0,
      tmpDiskTables: 0,
    },
  ],
  intervalsTruncated: false,
  samples: [
    {
      id: 's1',
      ts: ns('2024-05-01T11:00:30Z'),
      entityId: 'pg:main',
      database: 'shop',
      userName: 'app',
      fingerprint: 'fp1',
      query: 'SELECT 1',
      durationMs: 9.1,
      plan: '{"Plan":{"Node Type":"Result"}}',
      source: 'plan',
    },
    {
      id: 's2',
      ts: 0n,
      entityId: 'pg:main',
      database: 'shop',
      userName: 'app',
      fingerprint: 'fp1',
      query: 'SELECT 1',
      durationMs: 1,
      plan: '',
      source: 'log',
    },
  ],
};

const session = (pid: number, blockedBy: number[]) => ({
  id: `s${pid}`,
  ts: ns('2024-05-01T11:59:00Z'),
  entityId: 'pg:main',
  pid,
  database: 'shop',
  userName: 'app',
  application: 'psql',
  clientAddr: '10.0.0.1',
  backendType: 'client backend',
  state: 'active',
  waitEventType: blockedBy.length > 0 ? 'Lock' : '',
  waitEvent: blockedBy.length > 0 ? 'transactionid' : '',
  fingerprint: 'fp1',
  query: 'UPDATE t SET x = 1',
  durationMs: 1200,
  xactDurationMs: pid === 1 ? null : 1500,
  blockedBy,
});

const ACTIVITY: Activity = {
  snapshot: {
    ts: ns('2024-05-01T11:59:00Z'),
    sessions: [session(1, []), session(2, [1]), session(3, [2])],
    blocking: [
      {
        pid: 1,
        sampled: true,
        state: 'idle in transaction',
        waitEventType: '',
        waitEvent: '',
        database: 'shop',
        userName: 'app',
        application: 'psql',
        query: 'UPDATE t SET x = 1',
        durationMs: 1200,
        xactDurationMs: null,
        blockedBy: [],
        children: [
          {
            pid: 2,
            sampled: true,
            state: 'active',
            waitEventType: 'Lock',
            waitEvent: 'transactionid',
            database: 'shop',
            userName: 'app',
            application: 'psql',
            query: 'UPDATE t SET x = 2',
            durationMs: 900,
            xactDurationMs: 950,
            blockedBy: [1],
            children: [
              {
                pid: 3,
                sampled: false,
                state: '',
                waitEventType: '',
                waitEvent: '',
                database: '',
                userName: '',
                application: '',
                query: '',
                durationMs: 0,
                xactDurationMs: null,
                blockedBy: [2],
                children: [],
              },
            ],
          },
        ],
      },
    ],
  },
  series: [
    { ts: ns('2024-05-01T11:59:00Z'), snapshots: 3, waits: { CPU: 1.3333, Lock: 1 }, states: { active: 2 } },
  ],
};

/** A store answering every read with data that exercises each field (nulls included). */
function fakeStore(): Store {
  const store: Partial<Store> = {
    searchLogs: async () => [log('l1'), log('l2')],
    queryLogs: async (_org: OrgId, query: LogQuery) =>
      query.aggregate === null
        ? { kind: 'logs', logs: [log('l1'), log('l2')], more: true }
        : {
            kind: 'counts',
            truncated: false,
            buckets: [
              {
                ts: query.aggregate.stepNs === null ? null : ns('2024-05-01T11:55:00Z'),
                group: ['checkout'],
                count: 3,
              },
              {
                ts: query.aggregate.stepNs === null ? null : ns('2024-05-01T11:55:00Z'),
                group: [null],
                count: 1,
              },
            ],
          },
    getTrace: async (_org: OrgId, traceId: string) =>
      traceId === TRACE_ID
        ? { spans: [span('s1', '', 0), span('s2', 's1', 1), span('s3', 'elsewhere', 2)], truncated: false }
        : { spans: [], truncated: false },
    searchTraces: async () => [
      {
        traceId: TRACE_ID,
        rootService: 'checkout',
        rootOperation: 'GET /pay',
        startTs: ns('2024-05-01T11:58:00Z'),
        durationNs: 3_500_000n,
        spanCount: 3,
        errorCount: 3,
      },
    ],
    spanRed: async (_org: OrgId, _range, service?: string) => [
      {
        service: service ?? 'checkout',
        operation: service === undefined ? '' : 'GET /pay',
        count: 100,
        errors: 3,
        meanNs: 2e6,
        p50Ns: 1e6,
        p95Ns: 5e6,
        p99Ns: 9e6,
      },
    ],
    queryMetrics: async (_org: OrgId, query: MetricQuery) => ({
      truncated: query.name === 'big',
      series: [
        {
          seriesId: 'x',
          name: query.name,
          kind: 'histogram',
          unit: 'ms',
          temporality: 'delta',
          service: 'checkout',
          labels: '{"route":"/pay"}',
          resource: '{}',
          points: [
            { ts: ns('2024-05-01T11:58:00Z'), value: 1.5 },
            { ts: ns('2024-05-01T11:59:00Z'), value: null },
          ],
        },
      ],
    }),
    countRecords: async () => ({
      logs: 2,
      spans: 3,
      metricPoints: 4,
      deadLetters: 0,
      queryStats: 1,
      querySamples: 2,
      sessions: 3,
      entities: 2,
      rumEvents: 0,
    }),
    countSignals: async () => ({
      logs: 2,
      spans: 3,
      metricPoints: 4,
      queryStats: 1,
      querySamples: 0,
      sessions: 3,
      rumEvents: 0,
    }),
    listEntities: async () => ENTITIES,
    getEntity: async (_org: OrgId, id: string) => ENTITIES.find((e) => e.id === id),
    listMetrics: async () => ({
      truncated: false,
      metrics: [
        {
          name: 'postgresql.backends',
          kind: 'gauge',
          unit: '1',
          seriesCount: 2,
          series: [
            { seriesId: 'a', labels: '{}', ts: ns('2024-05-01T11:59:00Z'), value: 3 },
            { seriesId: 'b', labels: '{"x":"y"}', ts: ns('2024-05-01T11:59:00Z'), value: null },
          ],
        },
      ],
    }),
    topQueries: async () => TOP,
    queryDetail: async (_org: OrgId, fingerprint: string) => (fingerprint === 'fp1' ? DETAIL : undefined),
    querySeries: async () => [
      {
        ts: ns('2024-05-01T11:00:00Z'),
        calls: 3,
        totalTimeMs: 12,
        rows: 3,
        sharedBlksHit: 9,
        sharedBlksRead: 1,
      },
      {
        ts: ns('2024-05-01T11:05:00Z'),
        calls: 0,
        totalTimeMs: 0,
        rows: 0,
        sharedBlksHit: 0,
        sharedBlksRead: 0,
      },
    ],
    activity: async () => ACTIVITY,
    listMetricNames: async () => [
      { name: 'http.duration', kind: 'gauge', unit: 'ms', temporality: '', monotonic: false },
    ],
    listSeries: async () => ({
      truncated: false,
      series: [
        {
          seriesId: 's1',
          name: 'http.duration',
          kind: 'gauge',
          unit: 'ms',
          temporality: '',
          monotonic: false,
          service: 'checkout',
          host: 'h1',
          entityId: 'service/checkout',
          labels: '{"route":"/pay"}',
        },
      ],
    }),
    listDeadLetters: async () => ({
      records: [
        {
          id: 'dl1',
          ts: ns('2024-05-01T11:59:00Z'),
          sourceTopic: 'otel-logs',
          reason: 'invalid wire type 7',
          headers: '{"content-type":"application/x-protobuf"}',
          size: 3,
          payloadHead: new Uint8Array([0x0f, 0xff, 0x00]),
        },
        {
          id: 'dl2',
          ts: ns('2024-05-01T11:58:00Z'),
          sourceTopic: 'raw-queries',
          reason: 'not a query record',
          headers: '{}',
          size: 9,
          payloadHead: new TextEncoder().encode('{"a":"b"}'),
        },
      ],
      more: true,
      total: 7,
      reasons: [{ sourceTopic: 'otel-logs', reason: 'invalid wire type 7', count: 6 }],
    }),
    readSeriesPoints: async (_org: OrgId, query: SeriesPointsQuery) =>
      query.seriesIds.map(() => ({
        timestampsMs: Float64Array.from([NOW - 60_000, NOW - 30_000]),
        values: Float64Array.from([1.5, 2.5]),
      })),
  };
  return store as Store;
}

/** The org's keys (owner, viewer) and users (the owner who signs in, a member to change), in memory. */
const control = new MemoryControlStore();
const ids = { spareKey: '', member: '', owner: '', spareUser: '' };
/** Filled in beforeAll: the cookie of the owner's session, with and without the CSRF header. */
const SESSION: Record<string, string> = {};
const SESSION_NO_CSRF: Record<string, string> = {};

async function setUpControl(): Promise<void> {
  const org = await control.createOrg('default');
  const key = (secret: string, role: 'owner' | 'viewer' | 'member') =>
    control.createApiKey({
      orgId: org.id,
      name: role,
      prefix: secret.slice(0, 9),
      keyHash: hashApiKey(secret),
      role,
    });
  await key(KEY, 'owner');
  await key(VIEWER_KEY, 'viewer');
  ids.spareKey = (await key('sl_openapi_spare_key', 'member')).id;
  const passwordHash = await hashPassword(PASSWORD);
  ids.owner = (await control.createUser({ orgId: org.id, email: EMAIL, passwordHash, role: 'owner' })).id;
  ids.member = (
    await control.createUser({ orgId: org.id, email: 'm@example.com', passwordHash, role: 'member' })
  ).id;
  ids.spareUser = (
    await control.createUser({ orgId: org.id, email: 's@example.com', passwordHash, role: 'viewer' })
  ).id;
}

/** Every object that lists its properties is closed, so an undocumented field fails validation. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== 'object') return schema;
  const out = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, closed(value)]));
  if ('properties' in out && !('additionalProperties' in out)) out.additionalProperties = false;
  return out;
}

/** fastify's route list, from printRoutes' tree: `METHOD /path` for every method but HEAD. */
function registeredRoutes(app: FastifyInstance): string[] {
  const routes: string[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^(.*?)(?:└── |├── )(\S+)(?: \(([^)]*)\))?$/.exec(line);
    if (match === null) continue;
    const depth = (match[1] ?? '').length / 4;
    const segment = match[2] ?? '';
    stack.length = depth;
    const parent = stack[depth - 1] ?? '';
    // The tree splits at any shared prefix ("query" then "_range"): a path is its parts joined.
    const path = parent + segment;
    stack[depth] = path;
    for (const method of (match[3] ?? '').split(', ').filter((m) => m !== '' && m !== 'HEAD')) {
      routes.push(`${method} ${path}`);
    }
  }
  return routes.sort();
}

const asOpenApiPath = (route: string) => route.replace(/:(\w+)/g, '{$1}');

describe('the OpenAPI document', () => {
  let app: FastifyInstance;
  let doc: OpenApiDocument;

  beforeAll(async () => {
    await setUpControl();
    app = buildApiApp({
      authenticator: new ApiKeyAuthenticator(control),
      control,
      store: fakeStore(),
      metrics: new SelfMetrics({ processMetrics: false }),
      logger: silentLogger(),
      readiness: () => ({ ready: true }),
      now: () => NOW,
      usage: {
        usage: async () => [
          { day: '2024-05-01', signal: 'logs', records: 10, bytes: 1000 },
          { day: '2024-05-01', signal: 'metrics', records: 3, bytes: 300 },
        ],
      },
      throughput: {
        current: () => ({
          windowSeconds: 60,
          topics: [
            { topic: 'otel-logs', lag: { messages: 2, bytes: 900 }, messagesPerSecond: 1.5 },
            { topic: 'dead-letter', lag: null, messagesPerSecond: null },
          ],
        }),
      },
    });
    const response = await app.inject({ url: OPENAPI_PATH });
    expect(response.statusCode).toBe(200);
    doc = response.json<OpenApiDocument>();
    const login = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: EMAIL, password: PASSWORD },
    });
    expect(login.statusCode, login.body).toBe(200);
    const cookie = String(login.headers['set-cookie']).split(';')[0] ?? '';
    Object.assign(SESSION_NO_CSRF, { cookie });
    Object.assign(SESSION, { cookie, 'x-sightline-csrf': '1' });
  });
  afterAll(() => app.close());

  it('is served without a key as OpenAPI 3.1 with info, the key schemes and paths', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('Sightline query API');
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual([
      'apiKeyHeader',
      'bearerKey',
      'sessionCookie',
    ]);
    expect(doc.security).toEqual([{ bearerKey: [] }, { apiKeyHeader: [] }, { sessionCookie: [] }]);
    expect(Object.keys(doc.paths).length).toBeGreaterThan(10);
  });

  it('lists every route fastify serves except the hidden ones, and nothing else', () => {
    const served = registeredRoutes(app).filter((route) => !HIDDEN.includes(route));
    const documented = Object.entries(doc.paths)
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    expect(served.length).toBeGreaterThan(15);
    expect(documented).toEqual(served.map(asOpenApiPath).sort());
  });

  it('gives every operation a summary, a description, a tag, a 2xx and its path parameters', () => {
    const tagNames = new Set(
      ((doc as unknown as { tags: Array<{ name: string }> }).tags ?? []).map((t) => t.name),
    );
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(op.summary, where).toBeTruthy();
        expect(op.description, where).toBeTruthy();
        expect(op.tags?.length, where).toBeGreaterThan(0);
        for (const tag of op.tags ?? []) expect(tagNames.has(tag), `${where}: tag ${tag}`).toBe(true);
        expect(
          Object.keys(op.responses ?? {}).filter((status) => /^2\d\d$/.test(status)),
          where,
        ).toHaveLength(1);
        for (const response of Object.values(op.responses ?? {}))
          expect(response.description, where).toBeTruthy();
        const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
        const declared = (op.parameters ?? []).filter((p) => p.in === 'path');
        expect(declared.map((p) => p.name).sort(), where).toEqual(inPath);
        for (const p of declared) expect(p.required, `${where} ${p.name}`).toBe(true);
        if (method === 'post' && !NO_BODY.includes(where)) {
          const content = op.requestBody?.content ?? {};
          expect(content['application/json']?.schema ?? content[FORM]?.schema, where).toBeDefined();
        }
      }
    }
  });

  it('marks exactly the routes that answer without a key as public, and gives the others a 401', async () => {
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const url = path.replace(/\{\w+\}/g, 'x');
        const response = await app.inject({ method: method.toUpperCase() as 'GET' | 'POST', url });
        const where = `${method.toUpperCase()} ${path}`;
        if (op.security !== undefined && op.security.length === 0) {
          expect(response.statusCode, where).not.toBe(401);
        } else {
          expect(op.security, where).toBeUndefined();
          expect(response.statusCode, where).toBe(401);
          expect(op.responses?.['401'], where).toBeDefined();
        }
      }
    }
  });

  /** A real answer of each documented route, checked against the document with objects closed. */
  const cases: Array<{
    route: string;
    url: string | (() => string);
    body?: unknown;
    status?: number;
    headers?: Record<string, string>;
  }> = [
    { route: 'GET /healthz', url: '/healthz' },
    { route: 'GET /readyz', url: '/readyz' },
    { route: 'GET /api/v1/logs', url: '/api/v1/logs?q=timeout' },
    { route: 'GET /api/v1/logs', url: '/api/v1/logs?q=level:nope', status: 400 },
    { route: 'GET /api/v1/traces/{traceId}', url: `/api/v1/traces/${TRACE_ID}` },
    { route: 'GET /api/v1/traces/{traceId}', url: `/api/v1/traces/${'0'.repeat(32)}`, status: 404 },
    { route: 'GET /api/v1/traces/{traceId}', url: '/api/v1/traces/nothex', status: 400 },
    { route: 'GET /api/v1/metrics', url: '/api/v1/metrics?name=http.duration' },
    { route: 'GET /api/v1/metrics', url: '/api/v1/metrics?name=big&step=1m&agg=max' },
    { route: 'GET /api/v1/metrics', url: '/api/v1/metrics?name=x&agg=median', status: 400 },
    { route: 'GET /api/v1/stats', url: '/api/v1/stats' },
    { route: 'GET /api/v1/dead-letters', url: '/api/v1/dead-letters?limit=2' },
    {
      route: 'GET /api/v1/dead-letters',
      url: '/api/v1/dead-letters',
      headers: { authorization: `Bearer ${VIEWER_KEY}` },
    },
    { route: 'GET /api/v1/dead-letters', url: '/api/v1/dead-letters?cursor=%21', status: 400 },
    { route: 'GET /api/v1/usage', url: '/api/v1/usage?from=2024-04-28T00:00:00Z' },
    { route: 'GET /api/v1/usage', url: '/api/v1/usage?from=2020-01-01T00:00:00Z', status: 422 },
    { route: 'GET /api/v1/pipeline', url: '/api/v1/pipeline' },
    { route: 'GET /api/v1/stats', url: '/api/v1/stats', headers: {}, status: 401 },
    { route: 'GET /api/v1/databases', url: '/api/v1/databases' },
    { route: 'GET /api/v1/databases/{id}', url: '/api/v1/databases/pg%3Amain' },
    { route: 'GET /api/v1/databases/{id}', url: '/api/v1/databases/pg%3Amain%3Ashop' },
    { route: 'GET /api/v1/databases/{id}', url: '/api/v1/databases/pg%3Anope', status: 404 },
    { route: 'GET /api/v1/databases/{id}/metrics', url: '/api/v1/databases/pg%3Amain/metrics' },
    {
      route: 'GET /api/v1/databases/{id}/metrics',
      url: '/api/v1/databases/pg%3Amain%3Ashop/metrics?name=m&step=1m',
    },
    { route: 'GET /api/v1/databases/{id}/activity', url: '/api/v1/databases/pg%3Amain/activity' },
    { route: 'GET /api/v1/databases/{id}/activity', url: '/api/v1/databases/pg%3Amain%3Ashop/activity' },
    { route: 'GET /api/v1/queries', url: '/api/v1/queries' },
    { route: 'GET /api/v1/queries', url: '/api/v1/queries?entity=pg%3Amain%3Ashop&order=calls' },
    { route: 'GET /api/v1/queries/{fingerprint}', url: '/api/v1/queries/fp1?entity=pg%3Amain' },
    { route: 'GET /api/v1/queries/{fingerprint}', url: '/api/v1/queries/fp9', status: 404 },
    { route: 'GET /api/v1/queries/{fingerprint}/series', url: '/api/v1/queries/fp1/series?entity=pg%3Amain' },
    {
      route: 'GET /api/v1/queries/{fingerprint}/series',
      url: '/api/v1/queries/fp1/series?step=1ms',
      status: 400,
    },
    { route: 'POST /api/v1/logs/search', url: '/api/v1/logs/search', body: { query: 'timeout', limit: 2 } },
    {
      route: 'POST /api/v1/logs/search',
      url: '/api/v1/logs/search',
      body: { query: '| count by service over 5m' },
    },
    { route: 'POST /api/v1/logs/search', url: '/api/v1/logs/search', body: { query: '| count by service' } },
    { route: 'POST /api/v1/logs/search', url: '/api/v1/logs/search', body: { nope: 1 }, status: 400 },
    {
      route: 'POST /api/v1/traces/search',
      url: '/api/v1/traces/search',
      body: { service: 'checkout', minDurationMs: 1 },
    },
    {
      route: 'POST /api/v1/traces/search',
      url: '/api/v1/traces/search',
      body: { status: 'bad' },
      status: 400,
    },
    { route: 'GET /api/v1/services', url: '/api/v1/services' },
    { route: 'GET /api/v1/overview', url: '/api/v1/overview' },
    { route: 'GET /api/v1/overview', url: '/api/v1/overview?from=soon', status: 400 },
    {
      route: 'POST /api/v1/metrics/query',
      url: '/api/v1/metrics/query',
      body: { query: 'sum by (route) (http_duration)', time: NOW_S },
    },
    {
      route: 'POST /api/v1/metrics/query',
      url: '/api/v1/metrics/query',
      body: { query: 'http_duration{' },
      status: 400,
    },
    {
      route: 'POST /api/v1/metrics/query_range',
      url: '/api/v1/metrics/query_range',
      body: { query: 'http_duration * 2', start: NOW / 1000 - 300, end: NOW_S, step: '1m' },
    },
    {
      route: 'POST /api/v1/metrics/query_range',
      url: '/api/v1/metrics/query_range',
      body: { query: 'http_duration', start: NOW / 1000 - 400 * 86_400, end: NOW_S, step: '1d' },
      status: 422,
    },
    { route: `GET ${PROM}/query`, url: `${PROM}/query?query=1%2B1&time=${NOW_S}` },
    { route: `GET ${PROM}/query`, url: `${PROM}/query?query=rate(`, status: 400 },
    { route: `GET ${PROM}/query`, url: `${PROM}/query?query=up`, headers: {}, status: 401 },
    {
      route: `POST ${PROM}/query`,
      url: `${PROM}/query`,
      body: `query=http_duration&time=${NOW_S}`,
      headers: FORM_AUTH,
    },
    {
      route: `GET ${PROM}/query_range`,
      url: `${PROM}/query_range?query=http_duration&start=${NOW / 1000 - 120}&end=${NOW_S}&step=30`,
    },
    {
      route: `POST ${PROM}/query_range`,
      url: `${PROM}/query_range`,
      body: `query=http_duration&start=${NOW / 1000 - 40 * 86_400}&end=${NOW_S}&step=3600`,
      headers: FORM_AUTH,
      status: 422,
    },
    { route: `GET ${PROM}/series`, url: `${PROM}/series?match[]=http_duration` },
    {
      route: `POST ${PROM}/series`,
      url: `${PROM}/series`,
      body: 'match[]=http_duration&match[]=up',
      headers: FORM_AUTH,
    },
    { route: `GET ${PROM}/labels`, url: `${PROM}/labels` },
    { route: `POST ${PROM}/labels`, url: `${PROM}/labels`, body: '', headers: FORM_AUTH },
    { route: `GET ${PROM}/label/{name}/values`, url: `${PROM}/label/__name__/values` },
    { route: `GET ${PROM}/metadata`, url: `${PROM}/metadata` },
    {
      route: `POST ${PROM}/metadata`,
      url: `${PROM}/metadata`,
      body: 'metric=http_duration',
      headers: FORM_AUTH,
    },
    { route: `GET ${PROM}/query_exemplars`, url: `${PROM}/query_exemplars?query=up` },
    {
      route: `POST ${PROM}/query_exemplars`,
      url: `${PROM}/query_exemplars`,
      body: 'query=up',
      headers: FORM_AUTH,
    },
    { route: `GET ${PROM}/status/buildinfo`, url: `${PROM}/status/buildinfo` },
    { route: `POST ${PROM}/status/buildinfo`, url: `${PROM}/status/buildinfo`, body: '', headers: FORM_AUTH },
    { route: 'GET /api/v1/services/{service}/operations', url: '/api/v1/services/checkout/operations' },
    // Sign-in, keys, users.
    {
      route: 'POST /api/v1/auth/login',
      url: '/api/v1/auth/login',
      body: { email: 'OWNER@example.com ', password: PASSWORD },
      headers: {},
    },
    {
      route: 'POST /api/v1/auth/login',
      url: '/api/v1/auth/login',
      body: { email: EMAIL, password: 'wrong password!' },
      headers: {},
      status: 401,
    },
    {
      route: 'POST /api/v1/auth/login',
      url: '/api/v1/auth/login',
      body: { email: EMAIL },
      headers: {},
      status: 400,
    },
    { route: 'GET /api/v1/auth/me', url: '/api/v1/auth/me' },
    { route: 'GET /api/v1/auth/me', url: '/api/v1/auth/me', headers: SESSION_NO_CSRF },
    { route: 'POST /api/v1/auth/logout', url: '/api/v1/auth/logout', status: 204 },
    { route: 'GET /api/v1/keys', url: '/api/v1/keys' },
    { route: 'GET /api/v1/keys', url: '/api/v1/keys', headers: SESSION_NO_CSRF },
    { route: 'POST /api/v1/keys', url: '/api/v1/keys', body: { name: 'ci', role: 'member' }, status: 201 },
    { route: 'POST /api/v1/keys', url: '/api/v1/keys', body: { name: 'ui' }, headers: SESSION, status: 201 },
    { route: 'POST /api/v1/keys', url: '/api/v1/keys', body: { name: '' }, status: 400 },
    {
      route: 'POST /api/v1/keys',
      url: '/api/v1/keys',
      body: { name: 'x' },
      headers: { authorization: `Bearer ${VIEWER_KEY}` },
      status: 403,
    },
    {
      route: 'POST /api/v1/keys',
      url: '/api/v1/keys',
      body: { name: 'x' },
      headers: SESSION_NO_CSRF,
      status: 403,
    },
    { route: 'DELETE /api/v1/keys/{id}', url: () => `/api/v1/keys/${ids.spareKey}`, status: 204 },
    { route: 'DELETE /api/v1/keys/{id}', url: '/api/v1/keys/key_nope', status: 404 },
    { route: 'GET /api/v1/users', url: '/api/v1/users' },
    {
      route: 'POST /api/v1/users',
      url: '/api/v1/users',
      body: { email: 'New@Example.com', role: 'member' },
      status: 201,
    },
    {
      route: 'POST /api/v1/users',
      url: '/api/v1/users',
      body: { email: 'given@example.com', role: 'viewer', password: 'a long passphrase' },
      status: 201,
    },
    {
      route: 'POST /api/v1/users',
      url: '/api/v1/users',
      body: { email: EMAIL, role: 'viewer' },
      status: 409,
    },
    {
      route: 'POST /api/v1/users',
      url: '/api/v1/users',
      body: { email: 'short@example.com', role: 'viewer', password: 'short' },
      status: 400,
    },
    { route: 'PATCH /api/v1/users/{id}', url: () => `/api/v1/users/${ids.member}`, body: { role: 'admin' } },
    {
      route: 'PATCH /api/v1/users/{id}',
      url: () => `/api/v1/users/${ids.owner}`,
      body: { role: 'admin' },
      status: 409,
    },
    {
      route: 'PATCH /api/v1/users/{id}',
      url: '/api/v1/users/usr_nope',
      body: { role: 'admin' },
      status: 404,
    },
    {
      route: 'PATCH /api/v1/users/{id}',
      url: () => `/api/v1/users/${ids.member}`,
      body: { role: 'x' },
      status: 400,
    },
    { route: 'DELETE /api/v1/users/{id}', url: () => `/api/v1/users/${ids.spareUser}`, status: 204 },
    { route: 'DELETE /api/v1/users/{id}', url: () => `/api/v1/users/${ids.owner}`, status: 409 },
    { route: 'DELETE /api/v1/users/{id}', url: '/api/v1/users/usr_nope', status: 404 },
    {
      route: 'DELETE /api/v1/users/{id}',
      url: () => `/api/v1/users/${ids.owner}`,
      headers: SESSION,
      status: 409,
    },
    { route: 'GET /api/v1/settings/retention', url: '/api/v1/settings/retention' },
    {
      route: 'GET /api/v1/settings/retention',
      url: '/api/v1/settings/retention',
      headers: { authorization: `Bearer ${VIEWER_KEY}` },
      status: 403,
    },
    {
      route: 'POST /api/v1/auth/password',
      url: '/api/v1/auth/password',
      body: { currentPassword: PASSWORD, newPassword: 'a new long passphrase' },
      status: 400,
    },
    {
      route: 'POST /api/v1/auth/password',
      url: '/api/v1/auth/password',
      body: { currentPassword: 'not the password', newPassword: 'a new long passphrase' },
      headers: SESSION,
      status: 400,
    },
    {
      route: 'POST /api/v1/auth/password',
      url: '/api/v1/auth/password',
      body: { currentPassword: PASSWORD, newPassword: 'a new long passphrase' },
      headers: SESSION,
      status: 204,
    },
  ];

  it.each(cases)(
    '$route answers $status as documented',
    async ({ route, url, body, status = 200, headers = AUTH }) => {
      const [method = '', path = ''] = route.split(' ');
      const op = doc.paths[path]?.[method.toLowerCase()];
      expect(op, route).toBeDefined();
      const response = await app.inject({
        method: method as 'GET' | 'POST' | 'PATCH' | 'DELETE',
        url: typeof url === 'string' ? url : url(),
        headers,
        ...(body === undefined
          ? {}
          : { payload: typeof body === 'string' ? body : (body as Record<string, unknown>) }),
      });
      expect(response.statusCode, response.body).toBe(status);
      if (status === 204) {
        expect(op?.responses?.['204'], `${route} documents no 204`).toBeDefined();
        expect(response.body).toBe('');
        return;
      }
      const schema = op?.responses?.[String(status)]?.content?.['application/json']?.schema;
      expect(schema, `${route} documents no ${status}`).toBeDefined();
      const validate = new Ajv2020({ strict: false, allErrors: true }).compile(closed(schema) as Schema);
      const valid = validate(response.json());
      expect(validate.errors ?? [], JSON.stringify(response.json()).slice(0, 500)).toEqual([]);
      expect(valid).toBe(true);
    },
  );

  it('has a checked answer for every JSON operation', () => {
    const checked = new Set(cases.map((c) => c.route));
    // An event stream, a text exposition and the document itself: no JSON answer to check.
    const exempt = ['GET /api/v1/logs/tail', 'GET /metrics', `GET ${OPENAPI_PATH}`];
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.filter((op) => !checked.has(op) && !exempt.includes(op))).toEqual([]);
  });

  it('keeps the body parsers as the validators: shape errors are the parsers’ messages', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/traces/search',
      headers: AUTH,
      payload: { minDurationMs: '5' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json<{ error: { message: string } }>().error.message).toMatch(
      /^minDurationMs: .*; send JSON/,
    );
  });
});
