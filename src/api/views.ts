import { formatNs, nsToMs } from '../core/time.js';
import type { MetricSeries, StoredLog, StoredSpan } from '../store/store.js';

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
    })),
  };
}

export function seriesView(series: MetricSeries) {
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
