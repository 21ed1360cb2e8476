import type { FastifyInstance } from 'fastify';
import { authOf } from '../auth/http.js';
import { SightlineError } from '../core/errors.js';
import { formatNs, msToNs, nsToMs } from '../core/time.js';
import { parseActivityQuery, type ActivityParams } from '../query/activity-query.js';
import { parseMetricQuery, type MetricQueryParams } from '../query/metric-query.js';
import {
  parseFingerprint,
  parseQueryScope,
  parseQuerySeries,
  parseTopQueries,
  type QueryDetailParams,
  type QuerySeriesParams,
  type TopQueriesParams,
} from '../query/query-stats.js';
import { parseTimeRange } from '../query/time-range.js';
import type { OrgId } from '../store/rows.js';
import type { Store, StoredEntity } from '../store/store.js';
import {
  STEP_PARAM,
  TIME_RANGE_PARAMS,
  describedQuery,
  errorResponses,
  ok,
  pathParams,
  type ParamDoc,
} from './route-schemas.js';
import {
  ACTIVITY_VIEW,
  DATABASES_VIEW,
  ENTITY_METRICS_VIEW,
  INSTANCE_OR_DATABASE_VIEW,
  METRIC_CATALOG_VIEW,
  QUERY_DETAIL_VIEW,
  QUERY_SERIES_VIEW,
  TOP_QUERIES_VIEW,
} from './view-schemas.js';
import {
  activityView,
  entityView,
  instanceView,
  metricCatalogView,
  metricsView,
  queryDetailView,
  querySeriesView,
  topQueriesView,
} from './views.js';

/** The entity kinds the database views show: instances at the top, their databases nested. */
const INSTANCE_KINDS = ['postgresql.instance', 'mysql.instance'];
const DATABASE_KINDS = ['postgresql.database', 'mysql.database'];

/**
 * Where an entity's data is stored. Collectors record statements, sessions and metrics
 * against the instance; a database is the instance's data for that database (query and
 * session rows by their `database` column, metric points by the `<system>.database.name`
 * label, e.g. `postgresql.database.name`).
 */
interface EntityScope {
  entity: StoredEntity;
  instanceId: string;
  database?: string;
  labels?: Record<string, string>;
}

async function resolveEntity(store: Store, org: OrgId, id: string): Promise<EntityScope> {
  const entity = await store.getEntity(org, id);
  if (entity === undefined) {
    throw new SightlineError(
      'SL_ERR_NOT_FOUND',
      `no database or instance ${JSON.stringify(id)} is known: GET /api/v1/databases lists them ` +
        '(ids look like pg:<target> and pg:<target>:<database>; percent-encode them in a path)',
    );
  }
  if (INSTANCE_KINDS.includes(entity.kind)) return { entity, instanceId: entity.id };
  if (DATABASE_KINDS.includes(entity.kind)) {
    const system = entity.kind.split('.', 1)[0] ?? '';
    return {
      entity,
      instanceId: entity.parentId,
      database: entity.name,
      labels: { [`${system}.database.name`]: entity.name },
    };
  }
  throw new SightlineError(
    'SL_ERR_NOT_FOUND',
    `${id} is a ${entity.kind}, not a database or a database instance: GET /api/v1/databases lists those`,
  );
}

const ENTITY_ID = {
  description:
    'An instance (pg:<target>, mysql:<target>) or one of its databases (pg:<target>:<database>), ' +
    'percent-encoded in a path. GET /api/v1/databases lists them.',
  examples: ['pg:main', 'pg:main:shop'],
} satisfies ParamDoc;
const ENTITY_PARAMS = pathParams({ id: ENTITY_ID });
const TAGS = ['databases'];

function entityParam(request: { params: unknown }): string {
  return (request.params as { id: string }).id;
}

/** The `entity` a statement read may be narrowed to; left out, the read covers everything. */
const STATEMENT_ENTITY = {
  entity: { ...ENTITY_ID, description: 'An instance or database id; leave out for all.' },
};
const FINGERPRINT_PARAMS = pathParams({
  fingerprint: 'As listed by GET /api/v1/queries (1 to 256 characters).',
});

function fingerprintParam(request: { params: unknown }): string {
  return parseFingerprint((request.params as { fingerprint: string }).fingerprint);
}

/**
 * A statement read's optional `entity`: the entity it names (undefined for all) and the store
 * filter it stands for (statements are stored against the instance, narrowed by database).
 */
async function statementScope(
  store: Store,
  org: OrgId,
  entityId: string | undefined,
): Promise<{ scope: EntityScope | undefined; filter: { entityId?: string; database?: string } }> {
  if (entityId === undefined) return { scope: undefined, filter: {} };
  const scope = await resolveEntity(store, org, entityId);
  return { scope, filter: { entityId: scope.instanceId, database: scope.database } };
}

/** The database views: instances and databases, their metrics, statements and sessions. */
export function registerDatabaseRoutes(
  app: FastifyInstance,
  store: Store,
  now: () => number,
  maxRangeMs: number,
): void {
  app.get(
    '/api/v1/databases',
    {
      schema: {
        summary: 'Database instances',
        description:
          'PostgreSQL and MySQL instances with their databases nested; `up` when seen within 3 minutes.',
        tags: TAGS,
        response: { 200: ok('The instances.', DATABASES_VIEW), ...errorResponses(401) },
      },
    },
    async (request) => {
      const entities = await store.listEntities(authOf(request).orgId);
      const nowNs = msToNs(now());
      const instances = entities.filter((e) => INSTANCE_KINDS.includes(e.kind));
      return {
        data: instances.map((i) => instanceView(i, entities, nowNs)),
        meta: { count: instances.length },
      };
    },
  );

  app.get(
    '/api/v1/databases/:id',
    {
      schema: {
        summary: 'One instance or database',
        description: 'An instance with its databases, or a database with its instance.',
        tags: TAGS,
        params: ENTITY_PARAMS,
        response: { 200: ok('The entity.', INSTANCE_OR_DATABASE_VIEW), ...errorResponses(401, 404) },
      },
    },
    async (request) => {
      const org = authOf(request).orgId;
      const { entity, instanceId } = await resolveEntity(store, org, entityParam(request));
      const nowNs = msToNs(now());
      if (entity.id === instanceId) return instanceView(entity, await store.listEntities(org), nowNs);
      const instance = await store.getEntity(org, instanceId);
      return {
        ...entityView(entity, nowNs),
        instance: instance === undefined ? null : entityView(instance, nowNs),
      };
    },
  );

  app.get(
    '/api/v1/databases/:id/metrics',
    {
      schema: {
        summary: 'An instance’s or database’s metrics',
        description:
          'Without `name`: the metrics it reports, with the latest point of each series (at most 100 ' +
          'per metric). With `name`: that metric’s series, as GET /api/v1/metrics. A database reads ' +
          'its instance’s points labelled with it (`postgresql.database.name`).',
        tags: TAGS,
        params: ENTITY_PARAMS,
        querystring: describedQuery({
          name: 'The metric to read; leave out to list the metrics.',
          ...TIME_RANGE_PARAMS,
          step: STEP_PARAM,
          agg: 'With `name` and `step`: avg (default), min, max, sum, count or last.',
        }),
        response: {
          200: ok('The metric list (without `name`) or the series (with it).', {
            oneOf: [METRIC_CATALOG_VIEW, ENTITY_METRICS_VIEW],
          }),
          ...errorResponses(400, 401, 404, 422, 503),
        },
      },
    },
    async (request) => {
      const org = authOf(request).orgId;
      const scope = await resolveEntity(store, org, entityParam(request));
      const params = request.query as MetricQueryParams;
      const filter = {
        entityId: scope.instanceId,
        ...(scope.labels === undefined ? {} : { labels: scope.labels }),
      };
      if (params.name === undefined || params.name.trim() === '') {
        if ((params.step ?? '') !== '' || (params.agg ?? '') !== '') {
          throw new SightlineError(
            'SL_ERR_BAD_REQUEST',
            'step and agg apply to one metric: add name=<metric>, or leave them out to list the metrics',
          );
        }
        const range = parseTimeRange(params.from, params.to, now(), maxRangeMs);
        const { metrics, truncated } = await store.listMetrics(org, { ...range, ...filter });
        return {
          entityId: scope.entity.id,
          from: formatNs(range.fromNs),
          to: formatNs(range.toNs),
          truncated,
          metrics: metrics.map(metricCatalogView),
        };
      }
      const query = { ...parseMetricQuery(params, now(), maxRangeMs), ...filter };
      return { entityId: scope.entity.id, ...metricsView(query, await store.queryMetrics(org, query)) };
    },
  );

  app.get(
    '/api/v1/databases/:id/activity',
    {
      schema: {
        summary: 'Sessions and wait events',
        description:
          'The sessions of the snapshot at or before `at` with the blocking tree, and average active ' +
          'sessions by wait event type (and sessions by state) per bucket of the range.',
        tags: TAGS,
        params: ENTITY_PARAMS,
        querystring: describedQuery({
          at: 'The snapshot shown is the last one at or before this time (RFC 3339 or epoch ms). Default: `to`.',
          ...TIME_RANGE_PARAMS,
          step: { ...STEP_PARAM, description: `${STEP_PARAM.description} Default: about 60 buckets.` },
        }),
        response: { 200: ok('The activity.', ACTIVITY_VIEW), ...errorResponses(400, 401, 404, 422, 503) },
      },
    },
    async (request) => {
      const org = authOf(request).orgId;
      const scope = await resolveEntity(store, org, entityParam(request));
      const query = parseActivityQuery(request.query as ActivityParams, now(), maxRangeMs);
      const activity = await store.activity(org, scope.instanceId, {
        ...query,
        ...(scope.database === undefined ? {} : { database: scope.database }),
      });
      return {
        entityId: scope.entity.id,
        instanceId: scope.instanceId,
        database: scope.database ?? null,
        at: formatNs(query.atNs),
        from: formatNs(query.fromNs),
        to: formatNs(query.toNs),
        stepMs: nsToMs(query.stepNs),
        ...activityView(activity),
      };
    },
  );

  app.get(
    '/api/v1/queries',
    {
      schema: {
        summary: 'Top statements',
        description:
          'Statements (by fingerprint) of an instance, a database or everything, ordered by a total, ' +
          'with a series per statement.',
        tags: TAGS,
        querystring: describedQuery({
          ...STATEMENT_ENTITY,
          ...TIME_RANGE_PARAMS,
          order: 'total_time (default), calls, mean_time, rows, io or rows_examined.',
          limit: 'Statements at most, 1 to 500. Default 50.',
          step: { ...STEP_PARAM, description: `${STEP_PARAM.description} Default: about 60 buckets.` },
        }),
        response: {
          200: ok('The statements.', TOP_QUERIES_VIEW),
          ...errorResponses(400, 401, 404, 422, 503),
        },
      },
    },
    async (request) => {
      const org = authOf(request).orgId;
      const query = parseTopQueries(request.query as TopQueriesParams, now(), maxRangeMs);
      const { scope, filter } = await statementScope(store, org, query.entityId);
      const top = await store.topQueries(org, { ...query, ...filter });
      return {
        entity: scope?.entity.id ?? null,
        from: formatNs(query.fromNs),
        to: formatNs(query.toNs),
        stepMs: nsToMs(query.stepNs),
        order: query.order,
        limit: query.limit,
        ...topQueriesView(top),
      };
    },
  );

  app.get(
    '/api/v1/queries/:fingerprint/series',
    {
      schema: {
        summary: 'One statement over time',
        description:
          'Calls, time, rows and blocks of a statement summed per bucket of `step` (by interval end): ' +
          'the over-time charts of a statement, for any range (GET /api/v1/queries/:fingerprint lists ' +
          'the intervals themselves, the newest 5000).',
        tags: TAGS,
        params: FINGERPRINT_PARAMS,
        querystring: describedQuery({
          ...STATEMENT_ENTITY,
          ...TIME_RANGE_PARAMS,
          step: { ...STEP_PARAM, description: `${STEP_PARAM.description} Default: about 120 buckets.` },
        }),
        response: {
          200: ok('The buckets.', QUERY_SERIES_VIEW),
          ...errorResponses(400, 401, 404, 422, 503),
        },
      },
    },
    async (request) => {
      const org = authOf(request).orgId;
      const fingerprint = fingerprintParam(request);
      const query = parseQuerySeries(request.query as QuerySeriesParams, now(), maxRangeMs);
      const { scope, filter } = await statementScope(store, org, query.entityId);
      const buckets = await store.querySeries(org, fingerprint, { ...query, ...filter });
      return {
        entity: scope?.entity.id ?? null,
        from: formatNs(query.fromNs),
        to: formatNs(query.toNs),
        stepMs: nsToMs(query.stepNs),
        fingerprint,
        data: querySeriesView(buckets),
      };
    },
  );

  app.get(
    '/api/v1/queries/:fingerprint',
    {
      schema: {
        summary: 'One statement',
        description: 'A statement’s totals, its intervals as collected, and sampled plans.',
        tags: TAGS,
        params: FINGERPRINT_PARAMS,
        querystring: describedQuery({
          ...STATEMENT_ENTITY,
          ...TIME_RANGE_PARAMS,
        }),
        response: {
          200: ok('The statement.', QUERY_DETAIL_VIEW),
          ...errorResponses(400, 401, 404, 422, 503),
        },
      },
    },
    async (request) => {
      const org = authOf(request).orgId;
      const fingerprint = fingerprintParam(request);
      const range = parseQueryScope(request.query as QueryDetailParams, now(), maxRangeMs);
      const { scope, filter } = await statementScope(store, org, range.entityId);
      const detail = await store.queryDetail(org, fingerprint, { ...range, ...filter });
      if (detail === undefined) {
        throw new SightlineError(
          'SL_ERR_NOT_FOUND',
          `no statement with fingerprint ${fingerprint} is stored${scope === undefined ? '' : ` for ${scope.entity.id}`}: ` +
            'GET /api/v1/queries lists the statements seen',
        );
      }
      return {
        entity: scope?.entity.id ?? null,
        from: formatNs(range.fromNs),
        to: formatNs(range.toNs),
        ...queryDetailView(detail),
      };
    },
  );
}
