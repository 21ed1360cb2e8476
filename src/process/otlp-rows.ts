import { recordId } from '../core/ids.js';
import { severityOf } from '../core/severity.js';
import { MAX_TIME_NS } from '../core/time.js';
import type {
  HistogramDataPoint,
  KeyValue,
  LogsRequest,
  MetricsRequest,
  NumberDataPoint,
  Resource,
  TracesRequest,
} from '../otlp/types.js';
import {
  anyValueToJson,
  attributesToObject,
  bytesToHex,
  canonicalJson,
  stringAttribute,
  toBigInt,
  toNumber,
  type Int64,
} from '../otlp/values.js';
import type {
  LogRow,
  MetricKind,
  MetricPointRow,
  OrgId,
  SpanKind,
  SpanRow,
  SpanStatus,
  Temporality,
} from '../store/rows.js';

/**
 * OTLP → table rows (DESIGN.md "Tables"): resource attributes give service, host and entity;
 * timestamps stay nanoseconds; every row gets an id derived from its content, so the same
 * record stored twice is one row.
 */

export interface RowContext {
  orgId: OrgId;
  /** When the gateway received the request: the time of records that carry none. */
  receivedAtNs: bigint;
}

/** A time field as stored: signed 64-bit nanoseconds. Later times cannot be stored and make the message unreadable. */
function nanos(value: Int64, field: string): bigint {
  const ns = toBigInt(value);
  if (ns > MAX_TIME_NS)
    throw new Error(`${field} ${ns} is after the latest storable time (2^63-1 ns, year 2262)`);
  return ns;
}

interface ResourceInfo {
  service: string;
  host: string;
  entityId: string;
  json: string;
  /** The same attributes with sorted keys, for identities that must not depend on order. */
  canonical: string;
}

function resourceInfo(resource: Resource | null | undefined): ResourceInfo {
  const attributes = resource?.attributes;
  const service = stringAttribute(attributes, 'service.name');
  const host = stringAttribute(attributes, 'host.name');
  const explicit = stringAttribute(attributes, 'sightline.entity.id');
  const entityId =
    explicit !== '' ? explicit : service !== '' ? `service/${service}` : host !== '' ? `host/${host}` : '';
  const object = attributesToObject(attributes);
  return { service, host, entityId, json: JSON.stringify(object), canonical: canonicalJson(object) };
}

function attributesJson(attributes: readonly KeyValue[] | null | undefined): string {
  return JSON.stringify(attributesToObject(attributes));
}

export function logsToRows(message: LogsRequest, context: RowContext): LogRow[] {
  const rows: LogRow[] = [];
  // Indexed loops: `entries()` made an iterator and a pair per record.
  const resourceLogs = message.resourceLogs ?? [];
  for (let r = 0; r < resourceLogs.length; r++) {
    const rl = resourceLogs[r]!;
    const resource = resourceInfo(rl.resource);
    const scopeLogs = rl.scopeLogs ?? [];
    for (let s = 0; s < scopeLogs.length; s++) {
      const sl = scopeLogs[s]!;
      const scopeName = sl.scope?.name ?? '';
      const logRecords = sl.logRecords ?? [];
      for (let k = 0; k < logRecords.length; k++) {
        const record = logRecords[k]!;
        const time = nanos(record.timeUnixNano, 'time_unix_nano');
        const observed = nanos(record.observedTimeUnixNano, 'observed_time_unix_nano');
        const severityText = record.severityText ?? '';
        const { severity, number } = severityOf(record.severityNumber ?? 0, severityText);
        const bodyJson = anyValueToJson(record.body);
        const body =
          typeof bodyJson === 'string' ? bodyJson : bodyJson === null ? '' : JSON.stringify(bodyJson);
        const attributes = attributesJson(record.attributes);
        const traceId = bytesToHex(record.traceId);
        const spanId = bytesToHex(record.spanId);
        const eventName = record.eventName ?? '';
        rows.push({
          // Content plus position in the request: two equal records in one request are two records,
          // and the same request sent again (a retry, a replayed message) has the same ids.
          // A record without timestamps takes the receive time, so a retry of it may be stored twice.
          id: recordId([
            context.orgId,
            `${r}.${s}.${k}`,
            String(time),
            String(observed),
            String(record.severityNumber ?? 0),
            severityText,
            body,
            traceId,
            spanId,
            eventName,
            attributes,
            resource.json,
            scopeName,
          ]),
          ts: time !== 0n ? time : observed !== 0n ? observed : context.receivedAtNs,
          observedTs: observed !== 0n ? observed : context.receivedAtNs,
          orgId: context.orgId,
          service: resource.service,
          host: resource.host,
          entityId: resource.entityId,
          severity,
          severityNumber: number,
          severityText,
          body,
          traceId,
          spanId,
          eventName,
          scopeName,
          attributes,
          resource: resource.json,
        });
      }
    }
  }
  return rows;
}

const SPAN_KINDS: readonly SpanKind[] = [
  'unspecified',
  'internal',
  'server',
  'client',
  'producer',
  'consumer',
];
const SPAN_STATUSES: readonly SpanStatus[] = ['unset', 'ok', 'error'];

export function spansToRows(message: TracesRequest, context: RowContext): SpanRow[] {
  const rows: SpanRow[] = [];
  for (const rs of message.resourceSpans ?? []) {
    const resource = resourceInfo(rs.resource);
    for (const ss of rs.scopeSpans ?? []) {
      const scopeName = ss.scope?.name ?? '';
      for (const span of ss.spans ?? []) {
        const traceId = bytesToHex(span.traceId);
        const spanId = bytesToHex(span.spanId);
        const start = nanos(span.startTimeUnixNano, 'start_time_unix_nano');
        const end = nanos(span.endTimeUnixNano, 'end_time_unix_nano');
        rows.push({
          id: recordId([context.orgId, traceId, spanId]),
          startTs: start,
          endTs: end,
          durationNs: end > start ? end - start : 0n,
          orgId: context.orgId,
          traceId,
          spanId,
          parentSpanId: bytesToHex(span.parentSpanId),
          traceState: span.traceState ?? '',
          service: resource.service,
          host: resource.host,
          entityId: resource.entityId,
          name: span.name ?? '',
          kind: SPAN_KINDS[span.kind ?? 0] ?? 'unspecified',
          status: SPAN_STATUSES[span.status?.code ?? 0] ?? 'unset',
          statusMessage: span.status?.message ?? '',
          scopeName,
          attributes: attributesJson(span.attributes),
          resource: resource.json,
          events: JSON.stringify(
            (span.events ?? []).map((event) => ({
              timeUnixNano: String(toBigInt(event.timeUnixNano)),
              name: event.name ?? '',
              attributes: attributesToObject(event.attributes),
            })),
          ),
          links: JSON.stringify(
            (span.links ?? []).map((link) => ({
              traceId: bytesToHex(link.traceId),
              spanId: bytesToHex(link.spanId),
              traceState: link.traceState ?? '',
              attributes: attributesToObject(link.attributes),
            })),
          ),
        });
      }
    }
  }
  return rows;
}

const TEMPORALITIES: readonly Temporality[] = ['', 'delta', 'cumulative'];

export interface MetricRows {
  rows: MetricPointRow[];
  /** Data points of kinds the store does not hold (the gateway rejects them before they get here). */
  unsupported: number;
}

export function metricsToRows(message: MetricsRequest, context: RowContext): MetricRows {
  const rows: MetricPointRow[] = [];
  let unsupported = 0;
  for (const rm of message.resourceMetrics ?? []) {
    const resource = resourceInfo(rm.resource);
    for (const sm of rm.scopeMetrics ?? []) {
      const scopeName = sm.scope?.name ?? '';
      for (const metric of sm.metrics ?? []) {
        const name = metric.name ?? '';
        const base = {
          orgId: context.orgId,
          entityId: resource.entityId,
          service: resource.service,
          host: resource.host,
          name,
          unit: metric.unit ?? '',
          resource: resource.json,
          scopeName,
        };
        const point = (
          kind: MetricKind,
          temporality: Temporality,
          monotonic: boolean,
          p: NumberDataPoint | HistogramDataPoint,
        ) => {
          // Labels are stored with sorted keys: a series is the same whatever order its attributes came in.
          const labels = canonicalJson(attributesToObject(p.attributes));
          const seriesId = recordId([context.orgId, name, kind, resource.canonical, scopeName, labels]);
          const ts = nanos(p.timeUnixNano, 'time_unix_nano');
          const startTs = nanos(p.startTimeUnixNano, 'start_time_unix_nano');
          return {
            ...base,
            id: recordId([seriesId, String(ts), String(startTs)]),
            ts,
            startTs,
            seriesId,
            kind,
            temporality,
            monotonic,
            labels,
          };
        };
        const numberRow = (
          kind: MetricKind,
          temporality: Temporality,
          monotonic: boolean,
          p: NumberDataPoint,
        ): MetricPointRow => ({
          ...point(kind, temporality, monotonic, p),
          value:
            p.asDouble !== null && p.asDouble !== undefined
              ? p.asDouble
              : p.asInt !== null && p.asInt !== undefined
                ? toNumber(p.asInt, true)
                : null,
          histCount: null,
          histSum: null,
          histMin: null,
          histMax: null,
          bucketBounds: null,
          bucketCounts: null,
        });
        if (metric.gauge) {
          for (const p of metric.gauge.dataPoints ?? []) rows.push(numberRow('gauge', '', false, p));
        } else if (metric.sum) {
          const temporality = TEMPORALITIES[metric.sum.aggregationTemporality ?? 0] ?? '';
          for (const p of metric.sum.dataPoints ?? [])
            rows.push(numberRow('sum', temporality, metric.sum.isMonotonic ?? false, p));
        } else if (metric.histogram) {
          const temporality = TEMPORALITIES[metric.histogram.aggregationTemporality ?? 0] ?? '';
          for (const p of metric.histogram.dataPoints ?? []) {
            rows.push({
              ...point('histogram', temporality, false, p),
              value: null,
              histCount: toBigInt(p.count),
              histSum: p.sum ?? null,
              histMin: p.min ?? null,
              histMax: p.max ?? null,
              bucketBounds: [...(p.explicitBounds ?? [])],
              bucketCounts: (p.bucketCounts ?? []).map((c) => toBigInt(c)),
            });
          }
        } else {
          unsupported += (metric.exponentialHistogram?.dataPoints ?? metric.summary?.dataPoints ?? []).length;
        }
      }
    }
  }
  return { rows, unsupported };
}
