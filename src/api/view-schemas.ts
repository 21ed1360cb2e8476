import {
  ANY,
  NANOS,
  OPEN_OBJECT,
  TIMESTAMP,
  arrayOf,
  nullable,
  object,
  type JsonSchema,
} from './route-schemas.js';

/**
 * JSON Schemas of the shapes views.ts (and the routes) answer with, for the OpenAPI document.
 * openapi.test.ts checks real answers against them with every object closed, so a field added
 * to a view without its schema fails there.
 */

const str: JsonSchema = { type: 'string' };
const num: JsonSchema = { type: 'number' };
const int: JsonSchema = { type: 'integer' };
const bool: JsonSchema = { type: 'boolean' };
const strings: JsonSchema = arrayOf(str);

export const LOG_VIEW = object({
  id: str,
  timestamp: TIMESTAMP,
  timeUnixNano: NANOS,
  observedTimestamp: TIMESTAMP,
  service: str,
  host: str,
  entityId: str,
  severity: { type: 'string', enum: ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL', 'UNSPECIFIED'] },
  severityNumber: int,
  severityText: str,
  body: str,
  traceId: str,
  spanId: str,
  eventName: str,
  scope: str,
  attributes: OPEN_OBJECT,
  resource: OPEN_OBJECT,
});

const SPAN_VIEW = object({
  spanId: str,
  parentSpanId: str,
  depth: { ...int, description: 'Ancestors of the span among the stored spans of the trace.' },
  name: str,
  service: str,
  host: str,
  kind: { type: 'string', enum: ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] },
  status: { type: 'string', enum: ['unset', 'ok', 'error'] },
  statusMessage: str,
  startTime: TIMESTAMP,
  startTimeUnixNano: NANOS,
  endTimeUnixNano: NANOS,
  durationNs: NANOS,
  durationMs: num,
  offsetMs: { ...num, description: 'Start after the start of the trace.' },
  scope: str,
  traceState: str,
  attributes: OPEN_OBJECT,
  resource: OPEN_OBJECT,
  events: { ...ANY, description: 'As received (OTLP span events).' },
  links: { ...ANY, description: 'As received (OTLP span links).' },
  queryFingerprint: {
    type: ['string', 'null'],
    description:
      'For a span that ran a PostgreSQL or MySQL statement (db.query.text or db.statement, with db.system): the fingerprint of its shape, as GET /api/v1/queries/{fingerprint} takes it; null otherwise.',
  },
});

export const TRACE_VIEW = object({
  traceId: str,
  spanCount: int,
  services: strings,
  startTime: TIMESTAMP,
  durationNs: NANOS,
  durationMs: num,
  spans: arrayOf(SPAN_VIEW, 'In start order, a parent before a child that started in the same nanosecond.'),
  truncated: { ...bool, description: 'The trace has more spans than one read returns (10 000).' },
});

const SERIES_VIEW = object({
  name: str,
  kind: { type: 'string', enum: ['gauge', 'sum', 'histogram'] },
  unit: str,
  temporality: { type: 'string', enum: ['', 'delta', 'cumulative'] },
  service: str,
  labels: OPEN_OBJECT,
  resource: OPEN_OBJECT,
  points: arrayOf(
    {
      type: 'array',
      description: '[epoch ms, value]; a histogram’s value is the mean of its observations.',
      prefixItems: [num, nullable(num)],
      minItems: 2,
      maxItems: 2,
    },
    'Oldest first.',
  ),
});

const METRICS_FIELDS = {
  truncated: bool,
  name: str,
  from: TIMESTAMP,
  to: TIMESTAMP,
  stepMs: { ...nullable(num), description: 'null: raw points, no buckets.' },
  aggregation: nullable({ type: 'string', enum: ['avg', 'min', 'max', 'sum', 'count', 'last'] }),
  series: arrayOf(SERIES_VIEW),
};

function withWarning(schema: JsonSchema): JsonSchema {
  return {
    ...schema,
    properties: {
      ...(schema.properties as Record<string, JsonSchema>),
      warning: { ...str, description: 'Present when truncated: what to change.' },
    },
  };
}

export const METRICS_VIEW = withWarning(object(METRICS_FIELDS));

export const ENTITY_METRICS_VIEW = withWarning(object({ entityId: str, ...METRICS_FIELDS }));

const ENTITY_FIELDS = {
  id: str,
  kind: { ...str, examples: ['postgresql.instance', 'postgresql.database', 'mysql.instance'] },
  name: str,
  parentId: str,
  version: str,
  up: { ...bool, description: 'Seen within the last 3 minutes.' },
  firstSeen: TIMESTAMP,
  lastSeen: TIMESTAMP,
  attributes: OPEN_OBJECT,
};

const ENTITY_VIEW = object(ENTITY_FIELDS);

export const INSTANCE_VIEW = object({ ...ENTITY_FIELDS, databases: arrayOf(ENTITY_VIEW) });

/** An instance with its databases, or a database with its instance. */
export const INSTANCE_OR_DATABASE_VIEW: JsonSchema = {
  oneOf: [INSTANCE_VIEW, object({ ...ENTITY_FIELDS, instance: nullable(ENTITY_VIEW) })],
};

export const DATABASES_VIEW = object({ data: arrayOf(INSTANCE_VIEW), meta: object({ count: int }) });

const CATALOG_VIEW = object({
  name: str,
  kind: { type: 'string', enum: ['gauge', 'sum', 'histogram'] },
  unit: str,
  seriesCount: int,
  series: arrayOf(
    object({ labels: OPEN_OBJECT, lastTimestamp: TIMESTAMP, lastValue: nullable(num) }),
    'At most 100 per metric, by labels.',
  ),
});

export const METRIC_CATALOG_VIEW = object({
  entityId: str,
  from: TIMESTAMP,
  to: TIMESTAMP,
  truncated: bool,
  metrics: arrayOf(CATALOG_VIEW),
});

const TOTALS_FIELDS = {
  calls: num,
  totalTimeMs: num,
  meanTimeMs: num,
  maxTimeMs: num,
  rows: num,
  sharedBlksHit: num,
  sharedBlksRead: num,
  sharedBlksDirtied: num,
  sharedBlksWritten: num,
  tempBlksRead: num,
  tempBlksWritten: num,
  walBytes: num,
  rowsExamined: num,
  lockTimeMs: num,
  errors: num,
  noIndexUsed: num,
  tmpDiskTables: num,
  cacheHitRatio: {
    ...nullable(num),
    description: 'Share of blocks found in shared buffers; null without block access.',
  },
  databases: strings,
  users: strings,
  entityIds: strings,
};

export const TOP_QUERIES_VIEW = object({
  entity: nullable(str),
  from: TIMESTAMP,
  to: TIMESTAMP,
  stepMs: num,
  order: { type: 'string', enum: ['total_time', 'calls', 'mean_time', 'rows', 'io', 'rows_examined'] },
  limit: int,
  overall: object({ calls: num, totalTimeMs: num, fingerprints: num }, 'Over every statement in scope.'),
  data: arrayOf(
    object({
      fingerprint: str,
      query: str,
      ...TOTALS_FIELDS,
      shareOfTotalTime: num,
      series: arrayOf(
        {
          type: 'array',
          description: '[epoch ms, calls, total time ms]',
          prefixItems: [num, num, num],
          minItems: 3,
          maxItems: 3,
        },
        'Buckets without calls are left out.',
      ),
    }),
  ),
});

const INTERVAL_VIEW = object({
  intervalStart: TIMESTAMP,
  intervalEnd: TIMESTAMP,
  entityId: str,
  database: str,
  user: str,
  queryId: str,
  calls: num,
  totalTimeMs: num,
  meanTimeMs: num,
  minTimeMs: num,
  maxTimeMs: num,
  rows: num,
  sharedBlksHit: num,
  sharedBlksRead: num,
  sharedBlksDirtied: num,
  sharedBlksWritten: num,
  tempBlksRead: num,
  tempBlksWritten: num,
  walBytes: num,
  rowsExamined: num,
  lockTimeMs: num,
  errors: num,
  noIndexUsed: num,
  tmpDiskTables: num,
});

const SAMPLE_VIEW = object({
  timestamp: TIMESTAMP,
  entityId: str,
  database: str,
  user: str,
  durationMs: num,
  query: str,
  source: str,
  plan: { ...ANY, description: 'JSON plans parsed, text plans as text, null without a plan.' },
});

export const QUERY_DETAIL_VIEW = object({
  entity: nullable(str),
  from: TIMESTAMP,
  to: TIMESTAMP,
  fingerprint: str,
  query: str,
  totals: object(TOTALS_FIELDS),
  intervals: arrayOf(INTERVAL_VIEW, 'Oldest first; the newest 5000 when there are more.'),
  intervalsTruncated: bool,
  samples: arrayOf(SAMPLE_VIEW, 'Newest first, at most 50.'),
});

export const QUERY_SERIES_VIEW = object({
  entity: nullable(str),
  from: TIMESTAMP,
  to: TIMESTAMP,
  stepMs: num,
  fingerprint: str,
  data: arrayOf(
    object({
      timestamp: TIMESTAMP,
      calls: num,
      totalTimeMs: num,
      meanTimeMs: nullable(num),
      rows: num,
      sharedBlksHit: num,
      sharedBlksRead: num,
    }),
    'One bucket per step by interval end, oldest first; buckets without an interval are left out. meanTimeMs is null without calls.',
  ),
});

const SESSION_VIEW = object({
  pid: int,
  database: str,
  user: str,
  application: str,
  clientAddr: str,
  backendType: str,
  state: str,
  waitEventType: str,
  waitEvent: str,
  fingerprint: str,
  query: str,
  durationMs: num,
  xactDurationMs: nullable(num),
  blockedBy: arrayOf(int),
});

const BLOCKING_FIELDS = {
  pid: int,
  sampled: { ...bool, description: 'False for a blocker the snapshot does not hold.' },
  state: str,
  waitEventType: str,
  waitEvent: str,
  database: str,
  user: str,
  application: str,
  query: str,
  durationMs: num,
  xactDurationMs: nullable(num),
  blockedBy: arrayOf(int),
};

/** The tree is recursive; the document spells out two levels and leaves deeper ones open. */
const BLOCKING_VIEW = object({
  ...BLOCKING_FIELDS,
  children: arrayOf(
    object({ ...BLOCKING_FIELDS, children: arrayOf(OPEN_OBJECT) }),
    'Sessions waiting for this one.',
  ),
});

const AVERAGES: JsonSchema = { type: 'object', additionalProperties: { type: 'number' } };

export const ACTIVITY_VIEW = object({
  entityId: str,
  instanceId: str,
  database: nullable(str),
  at: TIMESTAMP,
  from: TIMESTAMP,
  to: TIMESTAMP,
  stepMs: num,
  snapshot: nullable(
    object({
      timestamp: TIMESTAMP,
      sessionCount: int,
      sessions: arrayOf(SESSION_VIEW),
      blocking: arrayOf(BLOCKING_VIEW, 'Roots of the blocking tree.'),
    }),
  ),
  series: arrayOf(
    object({
      timestamp: TIMESTAMP,
      timeMs: num,
      snapshots: int,
      waits: { ...AVERAGES, description: "Average active sessions by wait event type ('CPU': running)." },
      states: { ...AVERAGES, description: 'Average sessions by state.' },
    }),
  ),
});

const TRACE_SUMMARY_VIEW = object({
  traceId: str,
  rootService: str,
  rootOperation: str,
  startTime: TIMESTAMP,
  startTimeUnixNano: NANOS,
  durationNs: NANOS,
  durationMs: num,
  spanCount: int,
  errorCount: int,
});

const RANGE_META = { from: TIMESTAMP, to: TIMESTAMP };

export const TRACE_SEARCH_VIEW = object({
  data: arrayOf(TRACE_SUMMARY_VIEW, 'Newest trace start first.'),
  meta: object({ count: int, limit: int, ...RANGE_META }),
});

const RED_FIELDS = {
  requests: int,
  requestRate: { ...num, description: 'Spans per second over the range.' },
  errors: int,
  errorRate: num,
  meanMs: num,
  p50Ms: { ...num, description: 'Approximate: per-minute quantiles averaged, weighted by span count.' },
  p95Ms: num,
  p99Ms: num,
};

const RED_META = object({ count: int, ...RANGE_META, source: str, quantiles: str });

export const SERVICES_VIEW = object({
  data: arrayOf(object({ service: str, ...RED_FIELDS })),
  meta: RED_META,
});

export const OPERATIONS_VIEW = object({
  data: arrayOf(object({ service: str, operation: str, ...RED_FIELDS })),
  meta: RED_META,
});

export const LOGS_VIEW = object({
  data: arrayOf(LOG_VIEW, 'Newest first.'),
  meta: object({ count: int, limit: int, ...RANGE_META }),
});

export const LOG_SEARCH_VIEW: JsonSchema = {
  oneOf: [
    object({
      data: arrayOf(LOG_VIEW, 'Newest first.'),
      nextCursor: { ...nullable(str), description: 'Pass as `cursor` for the next page; null on the last.' },
      meta: object({ limit: int, ...RANGE_META, count: int }),
    }),
    object(
      {
        buckets: arrayOf({
          ...object({ group: OPEN_OBJECT, count: int }),
          properties: { timestamp: TIMESTAMP, timeUnixNano: NANOS, group: OPEN_OBJECT, count: int },
          description: '`timestamp` and `timeUnixNano` only with `over`.',
        }),
        meta: object({ limit: int, ...RANGE_META, count: int, truncated: bool }),
      },
      'The answer to a query ending in `| count …`.',
    ),
  ],
};

export const STATS_VIEW = object(
  {
    logs: int,
    spans: int,
    metricPoints: int,
    deadLetters: int,
    queryStats: int,
    querySamples: int,
    sessions: int,
    entities: int,
    rumEvents: int,
  },
  'Records stored for the caller’s org, by kind.',
);

/** Sign-in, keys and users (access-routes.ts); times are RFC 3339 with milliseconds. */
const ROLE: JsonSchema = {
  type: 'string',
  enum: ['viewer', 'member', 'admin', 'owner'],
  description: 'viewer < member < admin < owner (docs/auth.md).',
};
const TIME_MS: JsonSchema = { type: 'string', description: 'RFC 3339, UTC, milliseconds.' };

export const ORG_REF_VIEW = object({ id: str, name: str });
export const USER_REF_VIEW = object({ id: str, email: str, role: ROLE });
export const LOGIN_VIEW = object({ user: USER_REF_VIEW, org: ORG_REF_VIEW });
export const ME_VIEW = object({
  org: ORG_REF_VIEW,
  role: ROLE,
  user: nullable(USER_REF_VIEW),
});
export const KEY_VIEW = object({
  id: str,
  name: str,
  prefix: { type: 'string', description: 'The first characters of the key, to tell keys apart.' },
  role: ROLE,
  createdAt: TIME_MS,
  revokedAt: nullable(TIME_MS),
});
export const KEYS_VIEW = object({ data: arrayOf(KEY_VIEW) });
export const NEW_KEY_VIEW = object({
  key: KEY_VIEW,
  secret: { type: 'string', description: 'The key itself: shown only in this answer, never again.' },
});
export const USER_VIEW = object({
  id: str,
  email: str,
  role: ROLE,
  createdAt: TIME_MS,
  disabledAt: nullable(TIME_MS),
});
export const USERS_VIEW = object({ data: arrayOf(USER_VIEW) });
export const NEW_USER_VIEW: JsonSchema = {
  type: 'object',
  required: ['user'],
  properties: {
    user: USER_VIEW,
    password: { type: 'string', description: 'The generated password, when none was sent: shown only here.' },
  },
};
export const CHANGED_USER_VIEW = object({ user: USER_VIEW });

/** GET /api/v1/overview (overview-routes.ts). */
const DATABASE_HEALTH_VIEW = object({
  id: str,
  name: str,
  kind: ENTITY_FIELDS.kind,
  engine: { type: 'string', enum: ['postgresql', 'mysql'] },
  version: str,
  up: ENTITY_FIELDS.up,
  lastSeen: TIMESTAMP,
  collectorUp: { ...nullable(num), description: 'The latest `<engine>.up` point: 1 reached, 0 not.' },
  connections: object({
    used: { ...nullable(num), description: 'Latest client connections (summed over databases).' },
    max: { ...nullable(num), description: 'max_connections.' },
  }),
  transactionsPerSecond: {
    ...nullable(num),
    description:
      'Commits and rollbacks per second, averaged over the range (MySQL: Com_commit + Com_rollback); null without two points of the counters.',
  },
  statements: object({
    calls: num,
    perSecond: num,
    meanTimeMs: { ...nullable(num), description: 'Total time / calls from the statement statistics.' },
  }),
  replicationLagSeconds: {
    ...nullable(num),
    description: 'The largest latest replay lag; null without replication.',
  },
  metricsTruncated: bool,
});

export const OVERVIEW_VIEW = object({
  from: TIMESTAMP,
  to: TIMESTAMP,
  databases: arrayOf(DATABASE_HEALTH_VIEW),
  services: arrayOf(object({ service: str, ...RED_FIELDS }), 'Busiest first, as GET /api/v1/services.'),
  servicesMeta: object({ source: str, quantiles: str }),
  ingest: arrayOf(
    object({ signal: str, records: int, perSecond: num }),
    'Records stored per signal whose own time is in the range.',
  ),
});
