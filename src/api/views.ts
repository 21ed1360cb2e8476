import { formatNs, nsToMs } from '../core/time.js';
import { statementFingerprint } from '../sql/statement-fingerprint.js';
import type {
  Activity,
  BlockingNode,
  MetricCatalogEntry,
  MetricQuery,
  MetricSeries,
  QueryDetail,
  QuerySeriesBucket,
  QueryTotals,
  StoredEntity,
  StoredLog,
  StoredQuerySample,
  StoredQueryStat,
  StoredSession,
  StoredSpan,
  TopQueries,
  TopQuery,
} from '../store/store.js';

/** The JSON shapes of the query API. Nanosecond times are decimal strings; JSON numbers would round them. */

function parse(json: string): unknown {
  return json === '' ? {} : JSON.parse(json);
}

export function logView(log: StoredLog) {
  return {
    id: log.id,
    timestamp: formatNs(log.ts),
    timeUnixNano: String(log.ts),
    observedTimestamp: formatNs(log.observedTs),
    service: log.service,
    host: log.host,
    entityId: log.entityId,
    severity: log.severity,
    severityNumber: log.severityNumber,
    severityText: log.severityText,
    body: log.body,
    traceId: log.traceId,
    spanId: log.spanId,
    eventName: log.eventName,
    scope: log.scopeName,
    attributes: parse(log.attributes),
    resource: parse(log.resource),
  };
}

export function traceView(traceId: string, spans: readonly StoredSpan[]) {
  const ids = new Set(spans.map((s) => s.spanId));
  const parents = new Map(spans.map((s) => [s.spanId, s.parentSpanId]));
  const depthOf = (spanId: string): number => {
    let depth = 0;
    let parent = parents.get(spanId) ?? '';
    // A parent outside this trace's stored spans (or a cycle) ends the walk.
    while (parent !== '' && ids.has(parent) && depth < spans.length) {
      depth++;
      parent = parents.get(parent) ?? '';
    }
    return depth;
  };
  const start = spans.reduce((min, s) => (s.startTs < min ? s.startTs : min), spans[0]?.startTs ?? 0n);
  const end = spans.reduce((max, s) => (s.endTs > max ? s.endTs : max), 0n);
  // Start order, with a parent before a child that started in the same nanosecond.
  const ordered = spans
    .map((span) => ({ span, depth: depthOf(span.spanId) }))
    .sort((a, b) =>
      a.span.startTs === b.span.startTs ? a.depth - b.depth : a.span.startTs < b.span.startTs ? -1 : 1,
    );
  return {
    traceId,
    spanCount: spans.length,
    services: [...new Set(spans.map((s) => s.service))].sort(),
    startTime: formatNs(start),
    durationNs: String(end - start),
    durationMs: Number(end - start) / 1e6,
    spans: ordered.map(({ span: s, depth }) => ({
      spanId: s.spanId,
      parentSpanId: s.parentSpanId,
      depth,
      name: s.name,
      service: s.service,
      host: s.host,
      kind: s.kind,
      status: s.status,
      statusMessage: s.statusMessage,
      startTime: formatNs(s.startTs),
      startTimeUnixNano: String(s.startTs),
      endTimeUnixNano: String(s.endTs),
      durationNs: String(s.durationNs),
      durationMs: Number(s.durationNs) / 1e6,
      offsetMs: Number(s.startTs - start) / 1e6,
      scope: s.scopeName,
      traceState: s.traceState,
      attributes: parse(s.attributes),
      resource: parse(s.resource),
      events: parse(s.events),
      links: parse(s.links),
      queryFingerprint: queryFingerprintOf(s),
    })),
  };
}

const STATEMENT_KEYS = ['db.query.text', 'db.statement'];
const SYSTEM_KEYS = ['db.system.name', 'db.system'];

/**
 * The fingerprint of the statement a span ran (OTel database semconv, old and new names), the key
 * of that statement's page (`/queries/<fingerprint>`); null for a span without one.
 */
function queryFingerprintOf(span: StoredSpan): string | null {
  if (!span.attributes.includes('"db.')) return null;
  const attributes = parse(span.attributes);
  if (typeof attributes !== 'object' || attributes === null) return null;
  const record = attributes as Record<string, unknown>;
  const statement = firstText(record, STATEMENT_KEYS);
  const system = firstText(record, SYSTEM_KEYS) || firstText(parse(span.resource), SYSTEM_KEYS);
  if (statement === '' || system === '') return null;
  return statementFingerprint(statement, system) || null;
}

function firstText(map: unknown, keys: readonly string[]): string {
  if (typeof map !== 'object' || map === null) return '';
  for (const key of keys) {
    const value = (map as Record<string, unknown>)[key];
    if (typeof value === 'string' && value !== '') return value;
  }
  return '';
}

/** The answer of a metric query (GET /api/v1/metrics and an entity's metrics). */
export function metricsView(query: MetricQuery, result: { series: MetricSeries[]; truncated: boolean }) {
  return {
    truncated: result.truncated,
    ...(result.truncated
      ? { warning: `more than ${query.maxPoints} points: use a larger step or a shorter range` }
      : {}),
    name: query.name,
    from: formatNs(query.fromNs),
    to: formatNs(query.toNs),
    stepMs: query.stepNs === undefined ? null : Number(query.stepNs / 1_000_000n),
    aggregation: query.stepNs === undefined ? null : query.aggregation,
    series: result.series.map(seriesView),
  };
}

function seriesView(series: MetricSeries) {
  return {
    name: series.name,
    kind: series.kind,
    unit: series.unit,
    temporality: series.temporality,
    service: series.service,
    labels: parse(series.labels),
    resource: parse(series.resource),
    points: series.points.map((p) => [nsToMs(p.ts), p.value]),
  };
}

/** Collectors report their entities every minute; three missed reports mean the target is down. */
const UP_WITHIN_NS = 3n * 60_000_000_000n;

export function entityView(entity: StoredEntity, nowNs: bigint) {
  return {
    id: entity.id,
    kind: entity.kind,
    name: entity.name,
    parentId: entity.parentId,
    version: entity.version,
    up: nowNs - entity.lastSeen <= UP_WITHIN_NS,
    firstSeen: formatNs(entity.firstSeen),
    lastSeen: formatNs(entity.lastSeen),
    attributes: parse(entity.attributes),
  };
}

/** An instance with its databases nested. */
export function instanceView(instance: StoredEntity, all: readonly StoredEntity[], nowNs: bigint) {
  return {
    ...entityView(instance, nowNs),
    databases: all.filter((e) => e.parentId === instance.id).map((e) => entityView(e, nowNs)),
  };
}

function totalsView(t: QueryTotals) {
  return {
    calls: t.calls,
    totalTimeMs: t.totalTimeMs,
    meanTimeMs: t.meanTimeMs,
    maxTimeMs: t.maxTimeMs,
    rows: t.rows,
    sharedBlksHit: t.sharedBlksHit,
    sharedBlksRead: t.sharedBlksRead,
    sharedBlksDirtied: t.sharedBlksDirtied,
    sharedBlksWritten: t.sharedBlksWritten,
    tempBlksRead: t.tempBlksRead,
    tempBlksWritten: t.tempBlksWritten,
    walBytes: t.walBytes,
    rowsExamined: t.rowsExamined,
    lockTimeMs: t.lockTimeMs,
    errors: t.errors,
    noIndexUsed: t.noIndexUsed,
    tmpDiskTables: t.tmpDiskTables,
    /** Share of the blocks found in shared buffers; null without block access. */
    cacheHitRatio:
      t.sharedBlksHit + t.sharedBlksRead === 0
        ? null
        : t.sharedBlksHit / (t.sharedBlksHit + t.sharedBlksRead),
    databases: t.databases,
    users: t.users,
    entityIds: t.entityIds,
  };
}

function topQueryView(query: TopQuery, overallTimeMs: number) {
  return {
    fingerprint: query.fingerprint,
    query: query.query,
    ...totalsView(query),
    shareOfTotalTime: overallTimeMs === 0 ? 0 : query.totalTimeMs / overallTimeMs,
    /** [epoch ms, calls, total time ms] per bucket; buckets without calls are left out. */
    series: query.series.map((b) => [nsToMs(b.ts), b.calls, b.totalTimeMs]),
  };
}

export function topQueriesView(top: TopQueries) {
  return {
    overall: top.overall,
    data: top.queries.map((q) => topQueryView(q, top.overall.totalTimeMs)),
  };
}

/** JSON plans parsed, text plans as text, no plan as null. */
function planOf(plan: string): unknown {
  if (plan.trim() === '') return null;
  try {
    return JSON.parse(plan) as unknown;
  } catch {
    return plan;
  }
}

function sampleView(s: StoredQuerySample) {
  return {
    timestamp: formatNs(s.ts),
    entityId: s.entityId,
    database: s.database,
    user: s.userName,
    durationMs: s.durationMs,
    query: s.query,
    source: s.source,
    plan: planOf(s.plan),
  };
}

function intervalView(i: StoredQueryStat) {
  return {
    intervalStart: formatNs(i.intervalStart),
    intervalEnd: formatNs(i.intervalEnd),
    entityId: i.entityId,
    database: i.database,
    user: i.userName,
    queryId: i.queryId,
    calls: i.calls,
    totalTimeMs: i.totalTimeMs,
    meanTimeMs: i.calls === 0 ? 0 : i.totalTimeMs / i.calls,
    minTimeMs: i.minTimeMs,
    maxTimeMs: i.maxTimeMs,
    rows: i.rows,
    sharedBlksHit: i.sharedBlksHit,
    sharedBlksRead: i.sharedBlksRead,
    sharedBlksDirtied: i.sharedBlksDirtied,
    sharedBlksWritten: i.sharedBlksWritten,
    tempBlksRead: i.tempBlksRead,
    tempBlksWritten: i.tempBlksWritten,
    walBytes: i.walBytes,
    rowsExamined: i.rowsExamined,
    lockTimeMs: i.lockTimeMs,
    errors: i.errors,
    noIndexUsed: i.noIndexUsed,
    tmpDiskTables: i.tmpDiskTables,
  };
}

export function querySeriesView(buckets: readonly QuerySeriesBucket[]) {
  return buckets.map((b) => ({
    timestamp: formatNs(b.ts),
    calls: b.calls,
    totalTimeMs: b.totalTimeMs,
    meanTimeMs: b.calls === 0 ? null : b.totalTimeMs / b.calls,
    rows: b.rows,
    sharedBlksHit: b.sharedBlksHit,
    sharedBlksRead: b.sharedBlksRead,
  }));
}

export function queryDetailView(detail: QueryDetail) {
  return {
    fingerprint: detail.fingerprint,
    query: detail.query,
    totals: totalsView(detail.totals),
    intervals: detail.intervals.map(intervalView),
    intervalsTruncated: detail.intervalsTruncated,
    samples: detail.samples.map(sampleView),
  };
}

function sessionView(s: StoredSession) {
  return {
    pid: s.pid,
    database: s.database,
    user: s.userName,
    application: s.application,
    clientAddr: s.clientAddr,
    backendType: s.backendType,
    state: s.state,
    waitEventType: s.waitEventType,
    waitEvent: s.waitEvent,
    fingerprint: s.fingerprint,
    query: s.query,
    durationMs: s.durationMs,
    xactDurationMs: s.xactDurationMs,
    blockedBy: s.blockedBy,
  };
}

type BlockingView = Omit<BlockingNode, 'userName' | 'children'> & { user: string; children: BlockingView[] };

function blockingView(node: BlockingNode): BlockingView {
  const { userName, children, ...rest } = node;
  return { ...rest, user: userName, children: children.map(blockingView) };
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function rounded(values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, round3(value)]));
}

export function activityView(activity: Activity) {
  const snapshot = activity.snapshot;
  return {
    snapshot:
      snapshot === null
        ? null
        : {
            timestamp: formatNs(snapshot.ts),
            sessionCount: snapshot.sessions.length,
            sessions: snapshot.sessions.map(sessionView),
            blocking: snapshot.blocking.map(blockingView),
          },
    /** Per bucket: average active sessions by wait event type ('CPU': running), average sessions by state. */
    series: activity.series.map((b) => ({
      timestamp: formatNs(b.ts),
      timeMs: nsToMs(b.ts),
      snapshots: b.snapshots,
      waits: rounded(b.waits),
      states: rounded(b.states),
    })),
  };
}

export function metricCatalogView(entry: MetricCatalogEntry) {
  return {
    name: entry.name,
    kind: entry.kind,
    unit: entry.unit,
    seriesCount: entry.seriesCount,
    series: entry.series.map((s) => ({
      labels: parse(s.labels),
      lastTimestamp: formatNs(s.ts),
      lastValue: s.value,
    })),
  };
}
