import type { FastifyInstance } from 'fastify';
import { authOf } from '../auth/http.js';
import { formatNs, msToNs } from '../core/time.js';
import { parseTimeRange } from '../query/time-range.js';
import type { OrgId } from '../store/rows.js';
import type { SignalCounts, Store, StoredEntity, TimeRange } from '../store/store.js';
import {
  ENGINE_METRICS,
  counterIncrease,
  largest,
  latestValues,
  matches,
  sum,
  type EngineMetrics,
  type MetricSelector,
} from './database-health.js';
import { TIME_RANGE_PARAMS, describedQuery, errorResponses, ok } from './route-schemas.js';
import { redView } from './trace-routes.js';
import { OVERVIEW_VIEW } from './view-schemas.js';
import { entityView } from './views.js';

/**
 * Buckets of a counter read for its increase: enough to see resets, few enough for a 24 h range.
 * The increase runs from the last point of the first bucket, so what the counter gained inside
 * that bucket (at most 1/120 of the range) is not counted.
 */
const COUNTER_BUCKETS = 120n;
const MIN_COUNTER_STEP_NS = 1_000_000_000n;
/** Points of one counter read at most (COUNTER_BUCKETS per series, up to 100 databases each). */
const MAX_COUNTER_POINTS = 100_000;

/** Ingest volume per signal, named as usage_daily names them (src/process/stages/usage.ts). */
const SIGNALS: ReadonlyArray<readonly [signal: string, key: keyof SignalCounts]> = [
  ['logs', 'logs'],
  ['spans', 'spans'],
  ['metrics', 'metricPoints'],
  ['query_stats', 'queryStats'],
  ['query_samples', 'querySamples'],
  ['sessions', 'sessions'],
  ['rum', 'rumEvents'],
];

/**
 * `GET /api/v1/overview` — one answer for the landing screen: every watched database instance
 * with its health, every service seen in spans with its RED figures, and the records stored per
 * signal over the range. Each part is a read the detailed views make too (the entity list and
 * metric catalogue of GET /api/v1/databases/{id}/metrics, the statement totals of
 * GET /api/v1/queries, the span rollup of GET /api/v1/services), so the figures agree with them.
 */
export function registerOverviewRoutes(
  app: FastifyInstance,
  store: Store,
  now: () => number,
  maxRangeMs: number,
): void {
  app.get(
    '/api/v1/overview',
    {
      schema: {
        summary: 'Overview',
        description:
          'Every watched database instance with its health (up, connections used of max, ' +
          'transactions per second, statement rate and mean time, replication lag), every service ' +
          'seen in spans with its rate, error rate and p95 (as GET /api/v1/services), and the ' +
          'records stored per signal whose time is in the range.',
        tags: ['overview'],
        querystring: describedQuery(TIME_RANGE_PARAMS),
        response: { 200: ok('The overview.', OVERVIEW_VIEW), ...errorResponses(400, 401, 422, 503) },
      },
    },
    async (request) => {
      const org = authOf(request).orgId;
      const query = request.query as { from?: string; to?: string };
      const range = parseTimeRange(query.from, query.to, now(), maxRangeMs);
      const entities = await store.listEntities(org);
      const databases = [];
      // One instance at a time: the embedded store runs one read at a time anyway.
      for (const instance of entities) {
        const engine = ENGINE_METRICS[instance.kind];
        if (engine !== undefined)
          databases.push(await databaseHealth(store, org, instance, engine, range, now()));
      }
      const services = redView(range, await store.spanRed(org, range), (r) => ({ service: r.service }));
      const counts = await store.countSignals(org, range);
      const seconds = Number(range.toNs - range.fromNs) / 1e9;
      return {
        from: formatNs(range.fromNs),
        to: formatNs(range.toNs),
        databases,
        services: services.data,
        servicesMeta: { source: services.meta.source, quantiles: services.meta.quantiles },
        ingest: SIGNALS.map(([signal, key]) => ({
          signal,
          records: counts[key],
          perSecond: counts[key] / seconds,
        })),
      };
    },
  );
}

async function databaseHealth(
  store: Store,
  org: OrgId,
  instance: StoredEntity,
  engine: EngineMetrics,
  range: TimeRange,
  nowMs: number,
) {
  const { metrics, truncated } = await store.listMetrics(org, { ...range, entityId: instance.id });
  const latest = (selector: MetricSelector) => latestValues(metrics, selector);
  const statements = await store.topQueries(org, {
    ...range,
    entityId: instance.id,
    order: 'total_time',
    limit: 1,
    stepNs: range.toNs - range.fromNs,
  });
  const seconds = Number(range.toNs - range.fromNs) / 1e9;
  const { calls, totalTimeMs } = statements.overall;
  const view = entityView(instance, msToNs(nowMs));
  return {
    id: view.id,
    name: view.name,
    kind: view.kind,
    engine: engine.engine,
    version: view.version,
    up: view.up,
    lastSeen: view.lastSeen,
    collectorUp: latest(engine.up)[0] ?? null,
    connections: { used: sum(latest(engine.connectionsUsed)), max: largest(latest(engine.connectionsMax)) },
    transactionsPerSecond: await transactionRate(store, org, instance.id, engine, range),
    statements: {
      calls,
      perSecond: calls / seconds,
      meanTimeMs: calls === 0 ? null : totalTimeMs / calls,
    },
    replicationLagSeconds: largest(engine.replicationLag.flatMap(latest)),
    metricsTruncated: truncated,
  };
}

async function transactionRate(
  store: Store,
  org: OrgId,
  entityId: string,
  engine: EngineMetrics,
  range: TimeRange,
): Promise<number | null> {
  const span = range.toNs - range.fromNs;
  const stepNs = span / COUNTER_BUCKETS > MIN_COUNTER_STEP_NS ? span / COUNTER_BUCKETS : MIN_COUNTER_STEP_NS;
  let increase: number | null = null;
  for (const selector of engine.transactions) {
    const { series } = await store.queryMetrics(org, {
      ...range,
      name: selector.name,
      entityId,
      stepNs,
      aggregation: 'last',
      maxPoints: MAX_COUNTER_POINTS,
    });
    const part = counterIncrease(series.filter((s) => matches(selector, s.labels)));
    if (part !== null) increase = (increase ?? 0) + part;
  }
  // Per second of the whole range, as the statement and request rates beside it.
  return increase === null ? null : increase / (Number(span) / 1e9);
}
