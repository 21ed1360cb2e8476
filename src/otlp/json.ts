import Long from 'long';
import { opentelemetry } from './generated/otlp.js';
import type {
  AnyValue,
  Exemplar,
  ExponentialHistogramDataPoint,
  HistogramDataPoint,
  InstrumentationScope,
  KeyValue,
  LogRecord,
  LogsRequest,
  Metric,
  MetricsRequest,
  NumberDataPoint,
  Resource,
  Span,
  SummaryDataPoint,
  TracesRequest,
} from './types.js';

/**
 * OTLP/JSON → the OTLP message shapes (OTLP specification, "JSON Protobuf Encoding"):
 * keys in lowerCamelCase (the original snake_case is accepted too), trace and span ids as
 * hex, other bytes as base64, 64-bit integers as decimal strings or numbers, enums as
 * integers (names accepted too).
 */

/** Attribute values nested deeper than this make the whole body malformed. */
export const MAX_JSON_NESTING = 128;

export class OtlpJsonError extends Error {
  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = 'OtlpJsonError';
  }
}

type JsonObject = Record<string, unknown>;

const pb = opentelemetry.proto;

export function logsRequestFromJson(json: unknown): LogsRequest {
  const root = object(json, '$') ?? {};
  return {
    resourceLogs: list(get(root, 'resourceLogs'), 'resourceLogs').map((item, i) => {
      const path = `resourceLogs[${i}]`;
      const o = object(item, path) ?? {};
      return {
        resource: resource(get(o, 'resource'), `${path}.resource`),
        schemaUrl: string(get(o, 'schemaUrl'), `${path}.schemaUrl`),
        scopeLogs: list(get(o, 'scopeLogs'), `${path}.scopeLogs`).map((scopeItem, j) => {
          const scopePath = `${path}.scopeLogs[${j}]`;
          const s = object(scopeItem, scopePath) ?? {};
          return {
            scope: scope(get(s, 'scope'), `${scopePath}.scope`),
            schemaUrl: string(get(s, 'schemaUrl'), `${scopePath}.schemaUrl`),
            logRecords: list(get(s, 'logRecords'), `${scopePath}.logRecords`).map((record, k) =>
              logRecord(record, `${scopePath}.logRecords[${k}]`),
            ),
          };
        }),
      };
    }),
  };
}

export function tracesRequestFromJson(json: unknown): TracesRequest {
  const root = object(json, '$') ?? {};
  return {
    resourceSpans: list(get(root, 'resourceSpans'), 'resourceSpans').map((item, i) => {
      const path = `resourceSpans[${i}]`;
      const o = object(item, path) ?? {};
      return {
        resource: resource(get(o, 'resource'), `${path}.resource`),
        schemaUrl: string(get(o, 'schemaUrl'), `${path}.schemaUrl`),
        scopeSpans: list(get(o, 'scopeSpans'), `${path}.scopeSpans`).map((scopeItem, j) => {
          const scopePath = `${path}.scopeSpans[${j}]`;
          const s = object(scopeItem, scopePath) ?? {};
          return {
            scope: scope(get(s, 'scope'), `${scopePath}.scope`),
            schemaUrl: string(get(s, 'schemaUrl'), `${scopePath}.schemaUrl`),
            spans: list(get(s, 'spans'), `${scopePath}.spans`).map((span, k) =>
              spanFromJson(span, `${scopePath}.spans[${k}]`),
            ),
          };
        }),
      };
    }),
  };
}

export function metricsRequestFromJson(json: unknown): MetricsRequest {
  const root = object(json, '$') ?? {};
  return {
    resourceMetrics: list(get(root, 'resourceMetrics'), 'resourceMetrics').map((item, i) => {
      const path = `resourceMetrics[${i}]`;
      const o = object(item, path) ?? {};
      return {
        resource: resource(get(o, 'resource'), `${path}.resource`),
        schemaUrl: string(get(o, 'schemaUrl'), `${path}.schemaUrl`),
        scopeMetrics: list(get(o, 'scopeMetrics'), `${path}.scopeMetrics`).map((scopeItem, j) => {
          const scopePath = `${path}.scopeMetrics[${j}]`;
          const s = object(scopeItem, scopePath) ?? {};
          return {
            scope: scope(get(s, 'scope'), `${scopePath}.scope`),
            schemaUrl: string(get(s, 'schemaUrl'), `${scopePath}.schemaUrl`),
            metrics: list(get(s, 'metrics'), `${scopePath}.metrics`).map((m, k) =>
              metric(m, `${scopePath}.metrics[${k}]`),
            ),
          };
        }),
      };
    }),
  };
}

function logRecord(json: unknown, path: string): LogRecord {
  const o = object(json, path) ?? {};
  return {
    timeUnixNano: int64(get(o, 'timeUnixNano'), `${path}.timeUnixNano`, true),
    observedTimeUnixNano: int64(get(o, 'observedTimeUnixNano'), `${path}.observedTimeUnixNano`, true),
    severityNumber: enumValue(get(o, 'severityNumber'), pb.logs.v1.SeverityNumber, `${path}.severityNumber`),
    severityText: string(get(o, 'severityText'), `${path}.severityText`),
    body: optionalAnyValue(get(o, 'body'), `${path}.body`),
    attributes: keyValues(get(o, 'attributes'), `${path}.attributes`, 1),
    droppedAttributesCount: uint32(get(o, 'droppedAttributesCount'), `${path}.droppedAttributesCount`),
    flags: uint32(get(o, 'flags'), `${path}.flags`),
    traceId: hexBytes(get(o, 'traceId'), `${path}.traceId`),
    spanId: hexBytes(get(o, 'spanId'), `${path}.spanId`),
    eventName: string(get(o, 'eventName'), `${path}.eventName`),
  };
}

function spanFromJson(json: unknown, path: string): Span {
  const o = object(json, path) ?? {};
  const status = object(get(o, 'status'), `${path}.status`);
  return {
    traceId: hexBytes(get(o, 'traceId'), `${path}.traceId`),
    spanId: hexBytes(get(o, 'spanId'), `${path}.spanId`),
    traceState: string(get(o, 'traceState'), `${path}.traceState`),
    parentSpanId: hexBytes(get(o, 'parentSpanId'), `${path}.parentSpanId`),
    flags: uint32(get(o, 'flags'), `${path}.flags`),
    name: string(get(o, 'name'), `${path}.name`),
    kind: enumValue(get(o, 'kind'), pb.trace.v1.Span.SpanKind, `${path}.kind`),
    startTimeUnixNano: int64(get(o, 'startTimeUnixNano'), `${path}.startTimeUnixNano`, true),
    endTimeUnixNano: int64(get(o, 'endTimeUnixNano'), `${path}.endTimeUnixNano`, true),
    attributes: keyValues(get(o, 'attributes'), `${path}.attributes`, 1),
    droppedAttributesCount: uint32(get(o, 'droppedAttributesCount'), `${path}.droppedAttributesCount`),
    events: list(get(o, 'events'), `${path}.events`).map((e, i) => {
      const eventPath = `${path}.events[${i}]`;
      const event = object(e, eventPath) ?? {};
      return {
        timeUnixNano: int64(get(event, 'timeUnixNano'), `${eventPath}.timeUnixNano`, true),
        name: string(get(event, 'name'), `${eventPath}.name`),
        attributes: keyValues(get(event, 'attributes'), `${eventPath}.attributes`, 1),
        droppedAttributesCount: uint32(
          get(event, 'droppedAttributesCount'),
          `${eventPath}.droppedAttributesCount`,
        ),
      };
    }),
    droppedEventsCount: uint32(get(o, 'droppedEventsCount'), `${path}.droppedEventsCount`),
    links: list(get(o, 'links'), `${path}.links`).map((l, i) => {
      const linkPath = `${path}.links[${i}]`;
      const link = object(l, linkPath) ?? {};
      return {
        traceId: hexBytes(get(link, 'traceId'), `${linkPath}.traceId`),
        spanId: hexBytes(get(link, 'spanId'), `${linkPath}.spanId`),
        traceState: string(get(link, 'traceState'), `${linkPath}.traceState`),
        attributes: keyValues(get(link, 'attributes'), `${linkPath}.attributes`, 1),
        droppedAttributesCount: uint32(
          get(link, 'droppedAttributesCount'),
          `${linkPath}.droppedAttributesCount`,
        ),
        flags: uint32(get(link, 'flags'), `${linkPath}.flags`),
      };
    }),
    droppedLinksCount: uint32(get(o, 'droppedLinksCount'), `${path}.droppedLinksCount`),
    status:
      status === undefined
        ? null
        : {
            message: string(get(status, 'message'), `${path}.status.message`),
            code: enumValue(get(status, 'code'), pb.trace.v1.Status.StatusCode, `${path}.status.code`),
          },
  };
}

function metric(json: unknown, path: string): Metric {
  const o = object(json, path) ?? {};
  const out: Metric = {
    name: string(get(o, 'name'), `${path}.name`),
    description: string(get(o, 'description'), `${path}.description`),
    unit: string(get(o, 'unit'), `${path}.unit`),
    metadata: keyValues(get(o, 'metadata'), `${path}.metadata`, 1),
  };
  const temporality = (data: JsonObject, dataPath: string): number =>
    enumValue(
      get(data, 'aggregationTemporality'),
      pb.metrics.v1.AggregationTemporality,
      `${dataPath}.aggregationTemporality`,
    );
  const gauge = object(get(o, 'gauge'), `${path}.gauge`);
  const sum = object(get(o, 'sum'), `${path}.sum`);
  const histogram = object(get(o, 'histogram'), `${path}.histogram`);
  const exponential = object(get(o, 'exponentialHistogram'), `${path}.exponentialHistogram`);
  const summary = object(get(o, 'summary'), `${path}.summary`);
  if (gauge !== undefined) {
    out.gauge = { dataPoints: points(gauge, `${path}.gauge`, numberPoint) };
  } else if (sum !== undefined) {
    out.sum = {
      dataPoints: points(sum, `${path}.sum`, numberPoint),
      aggregationTemporality: temporality(sum, `${path}.sum`),
      isMonotonic: boolean(get(sum, 'isMonotonic'), `${path}.sum.isMonotonic`),
    };
  } else if (histogram !== undefined) {
    out.histogram = {
      dataPoints: points(histogram, `${path}.histogram`, histogramPoint),
      aggregationTemporality: temporality(histogram, `${path}.histogram`),
    };
  } else if (exponential !== undefined) {
    out.exponentialHistogram = {
      dataPoints: points(exponential, `${path}.exponentialHistogram`, exponentialPoint),
      aggregationTemporality: temporality(exponential, `${path}.exponentialHistogram`),
    };
  } else if (summary !== undefined) {
    out.summary = { dataPoints: points(summary, `${path}.summary`, summaryPoint) };
  }
  return out;
}

function points<T>(data: JsonObject, path: string, convert: (o: JsonObject, path: string) => T): T[] {
  return list(get(data, 'dataPoints'), `${path}.dataPoints`).map((p, i) => {
    const pointPath = `${path}.dataPoints[${i}]`;
    return convert(object(p, pointPath) ?? {}, pointPath);
  });
}

function pointBase(o: JsonObject, path: string): NumberDataPoint {
  return {
    attributes: keyValues(get(o, 'attributes'), `${path}.attributes`, 1),
    startTimeUnixNano: int64(get(o, 'startTimeUnixNano'), `${path}.startTimeUnixNano`, true),
    timeUnixNano: int64(get(o, 'timeUnixNano'), `${path}.timeUnixNano`, true),
    flags: uint32(get(o, 'flags'), `${path}.flags`),
  };
}

function numberPoint(o: JsonObject, path: string): NumberDataPoint {
  const point = pointBase(o, path);
  const asDouble = get(o, 'asDouble');
  const asInt = get(o, 'asInt');
  if (asDouble !== undefined && asDouble !== null) point.asDouble = double(asDouble, `${path}.asDouble`);
  else if (asInt !== undefined && asInt !== null) point.asInt = int64(asInt, `${path}.asInt`, false);
  point.exemplars = exemplars(o, path);
  return point;
}

function histogramPoint(o: JsonObject, path: string): HistogramDataPoint {
  return {
    ...pointBase(o, path),
    count: int64(get(o, 'count'), `${path}.count`, true),
    sum: optionalDouble(get(o, 'sum'), `${path}.sum`),
    bucketCounts: list(get(o, 'bucketCounts'), `${path}.bucketCounts`).map((c, i) =>
      int64(c, `${path}.bucketCounts[${i}]`, true),
    ),
    explicitBounds: list(get(o, 'explicitBounds'), `${path}.explicitBounds`).map((b, i) =>
      double(b, `${path}.explicitBounds[${i}]`),
    ),
    exemplars: exemplars(o, path),
    min: optionalDouble(get(o, 'min'), `${path}.min`),
    max: optionalDouble(get(o, 'max'), `${path}.max`),
  };
}

function exponentialPoint(o: JsonObject, path: string): ExponentialHistogramDataPoint {
  const buckets = (name: string): { offset: number; bucketCounts: Long[] } | null => {
    const b = object(get(o, name), `${path}.${name}`);
    if (b === undefined) return null;
    return {
      offset: int32(get(b, 'offset'), `${path}.${name}.offset`),
      bucketCounts: list(get(b, 'bucketCounts'), `${path}.${name}.bucketCounts`).map((c, i) =>
        int64(c, `${path}.${name}.bucketCounts[${i}]`, true),
      ),
    };
  };
  return {
    ...pointBase(o, path),
    count: int64(get(o, 'count'), `${path}.count`, true),
    sum: optionalDouble(get(o, 'sum'), `${path}.sum`),
    scale: int32(get(o, 'scale'), `${path}.scale`),
    zeroCount: int64(get(o, 'zeroCount'), `${path}.zeroCount`, true),
    positive: buckets('positive'),
    negative: buckets('negative'),
    exemplars: exemplars(o, path),
    min: optionalDouble(get(o, 'min'), `${path}.min`),
    max: optionalDouble(get(o, 'max'), `${path}.max`),
    zeroThreshold: double(get(o, 'zeroThreshold') ?? 0, `${path}.zeroThreshold`),
  };
}

function summaryPoint(o: JsonObject, path: string): SummaryDataPoint {
  return {
    ...pointBase(o, path),
    count: int64(get(o, 'count'), `${path}.count`, true),
    sum: double(get(o, 'sum') ?? 0, `${path}.sum`),
    quantileValues: list(get(o, 'quantileValues'), `${path}.quantileValues`).map((q, i) => {
      const qPath = `${path}.quantileValues[${i}]`;
      const v = object(q, qPath) ?? {};
      return {
        quantile: double(get(v, 'quantile') ?? 0, `${qPath}.quantile`),
        value: double(get(v, 'value') ?? 0, `${qPath}.value`),
      };
    }),
  };
}

function exemplars(o: JsonObject, path: string): Exemplar[] {
  return list(get(o, 'exemplars'), `${path}.exemplars`).map((e, i) => {
    const ePath = `${path}.exemplars[${i}]`;
    const ex = object(e, ePath) ?? {};
    const out: Exemplar = {
      filteredAttributes: keyValues(get(ex, 'filteredAttributes'), `${ePath}.filteredAttributes`, 1),
      timeUnixNano: int64(get(ex, 'timeUnixNano'), `${ePath}.timeUnixNano`, true),
      spanId: hexBytes(get(ex, 'spanId'), `${ePath}.spanId`),
      traceId: hexBytes(get(ex, 'traceId'), `${ePath}.traceId`),
    };
    const asDouble = get(ex, 'asDouble');
    const asInt = get(ex, 'asInt');
    if (asDouble !== undefined && asDouble !== null) out.asDouble = double(asDouble, `${ePath}.asDouble`);
    else if (asInt !== undefined && asInt !== null) out.asInt = int64(asInt, `${ePath}.asInt`, false);
    return out;
  });
}

function resource(json: unknown, path: string): Resource | null {
  const o = object(json, path);
  if (o === undefined) return null;
  return {
    attributes: keyValues(get(o, 'attributes'), `${path}.attributes`, 1),
    droppedAttributesCount: uint32(get(o, 'droppedAttributesCount'), `${path}.droppedAttributesCount`),
  };
}

function scope(json: unknown, path: string): InstrumentationScope | null {
  const o = object(json, path);
  if (o === undefined) return null;
  return {
    name: string(get(o, 'name'), `${path}.name`),
    version: string(get(o, 'version'), `${path}.version`),
    attributes: keyValues(get(o, 'attributes'), `${path}.attributes`, 1),
    droppedAttributesCount: uint32(get(o, 'droppedAttributesCount'), `${path}.droppedAttributesCount`),
  };
}

function keyValues(json: unknown, path: string, depth: number): KeyValue[] {
  return list(json, path).map((item, i) => {
    const itemPath = `${path}[${i}]`;
    const o = object(item, itemPath) ?? {};
    return {
      key: string(get(o, 'key'), `${itemPath}.key`),
      value: optionalAnyValue(get(o, 'value'), `${itemPath}.value`, depth),
    };
  });
}

function optionalAnyValue(json: unknown, path: string, depth = 1): AnyValue | null {
  if (json === undefined || json === null) return null;
  return anyValue(json, path, depth);
}

function anyValue(json: unknown, path: string, depth: number): AnyValue {
  if (depth > MAX_JSON_NESTING) {
    throw new OtlpJsonError(path, `attribute values are nested deeper than ${MAX_JSON_NESTING} levels`);
  }
  const o = object(json, path) ?? {};
  const has = (key: string): boolean => get(o, key) !== undefined && get(o, key) !== null;
  if (has('stringValue')) return { stringValue: string(get(o, 'stringValue'), `${path}.stringValue`) };
  if (has('boolValue')) return { boolValue: boolean(get(o, 'boolValue'), `${path}.boolValue`) };
  if (has('intValue')) return { intValue: int64(get(o, 'intValue'), `${path}.intValue`, false) };
  if (has('doubleValue')) return { doubleValue: double(get(o, 'doubleValue'), `${path}.doubleValue`) };
  if (has('bytesValue')) return { bytesValue: base64Bytes(get(o, 'bytesValue'), `${path}.bytesValue`) };
  if (has('arrayValue')) {
    const array = object(get(o, 'arrayValue'), `${path}.arrayValue`) ?? {};
    return {
      arrayValue: {
        values: list(get(array, 'values'), `${path}.arrayValue.values`).map((v, i) =>
          anyValue(v, `${path}.arrayValue.values[${i}]`, depth + 1),
        ),
      },
    };
  }
  if (has('kvlistValue')) {
    const kvlist = object(get(o, 'kvlistValue'), `${path}.kvlistValue`) ?? {};
    return {
      kvlistValue: { values: keyValues(get(kvlist, 'values'), `${path}.kvlistValue.values`, depth + 1) },
    };
  }
  return {};
}

function get(o: JsonObject, camelKey: string): unknown {
  const value = o[camelKey];
  if (value !== undefined) return value;
  return o[camelKey.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
}

function object(json: unknown, path: string): JsonObject | undefined {
  if (json === undefined || json === null) return undefined;
  if (typeof json !== 'object' || Array.isArray(json))
    throw new OtlpJsonError(path, `expected an object, got ${describe(json)}`);
  return json as JsonObject;
}

function list(json: unknown, path: string): unknown[] {
  if (json === undefined || json === null) return [];
  if (!Array.isArray(json)) throw new OtlpJsonError(path, `expected an array, got ${describe(json)}`);
  return json;
}

function string(json: unknown, path: string): string {
  if (json === undefined || json === null) return '';
  if (typeof json !== 'string') throw new OtlpJsonError(path, `expected a string, got ${describe(json)}`);
  return json;
}

function boolean(json: unknown, path: string): boolean {
  if (json === undefined || json === null) return false;
  if (typeof json !== 'boolean')
    throw new OtlpJsonError(path, `expected true or false, got ${describe(json)}`);
  return json;
}

function uint32(json: unknown, path: string): number {
  const n = json === undefined || json === null ? 0 : json;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new OtlpJsonError(path, `expected an unsigned 32-bit integer, got ${describe(json)}`);
  }
  return n;
}

function int32(json: unknown, path: string): number {
  const n = json === undefined || json === null ? 0 : json;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < -0x80000000 || n > 0x7fffffff) {
    throw new OtlpJsonError(path, `expected a 32-bit integer, got ${describe(json)}`);
  }
  return n;
}

const DECIMAL = /^-?\d{1,20}$/;

/** 64-bit integers: decimal strings (the OTLP/JSON encoding) or numbers. */
function int64(json: unknown, path: string, unsigned: boolean): Long {
  if (json === undefined || json === null) return Long.fromInt(0, unsigned);
  if (typeof json === 'number' && Number.isInteger(json) && (!unsigned || json >= 0)) {
    return Long.fromNumber(json, unsigned);
  }
  if (typeof json === 'string' && DECIMAL.test(json) && !(unsigned && json.startsWith('-'))) {
    const value = Long.fromString(json, unsigned);
    if (value.toString() === json.replace(/^(-?)0+(?=\d)/, '$1').replace(/^-0$/, '0')) return value;
  }
  throw new OtlpJsonError(
    path,
    `expected a${unsigned ? 'n unsigned' : ''} 64-bit integer (a decimal string or number), got ${describe(json)}`,
  );
}

function double(json: unknown, path: string): number {
  if (typeof json === 'number') return json;
  if (json === 'NaN') return NaN;
  if (json === 'Infinity') return Infinity;
  if (json === '-Infinity') return -Infinity;
  if (typeof json === 'string' && json.trim() !== '' && !Number.isNaN(Number(json))) return Number(json);
  throw new OtlpJsonError(path, `expected a number, got ${describe(json)}`);
}

function optionalDouble(json: unknown, path: string): number | null {
  return json === undefined || json === null ? null : double(json, path);
}

/** `values` is a generated enum: names map to numbers (and numbers back to names). */
function enumValue(json: unknown, values: Record<string, string | number>, path: string): number {
  if (json === undefined || json === null) return 0;
  if (typeof json === 'number' && Number.isInteger(json)) return json;
  const named = typeof json === 'string' ? values[json] : undefined;
  if (typeof named === 'number') return named;
  throw new OtlpJsonError(path, `expected an enum number or name, got ${describe(json)}`);
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Trace and span ids are hex in OTLP/JSON, not base64 as protobuf's JSON mapping would have it. */
function hexBytes(json: unknown, path: string): Uint8Array {
  if (json === undefined || json === null || json === '') return new Uint8Array(0);
  if (typeof json !== 'string' || !HEX.test(json)) {
    throw new OtlpJsonError(path, `expected a hex-encoded id, got ${describe(json)}`);
  }
  return Buffer.from(json, 'hex');
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function base64Bytes(json: unknown, path: string): Uint8Array {
  if (typeof json !== 'string' || !BASE64.test(json))
    throw new OtlpJsonError(path, `expected base64 bytes, got ${describe(json)}`);
  return Buffer.from(json, 'base64');
}

function describe(json: unknown): string {
  if (json === null) return 'null';
  if (Array.isArray(json)) return 'an array';
  if (typeof json === 'object') return 'an object';
  const shown = JSON.stringify(json);
  return shown.length > 40 ? `${shown.slice(0, 40)}…` : shown;
}
