import Long from 'long';
import { describe, expect, it } from 'vitest';
import { logsOf, metricsOf, tracesOf } from '../../test/helpers/otlp.js';
import type {
  AnyValue,
  KeyValue,
  LogRecord,
  Metric,
  NumberDataPoint,
  OtlpRequest,
  Span,
} from '../otlp/types.js';
import { bytesToHex } from '../otlp/values.js';
import { describeRejections, validateRequest } from './validate.js';

const limits = { maxAttributeDepth: 4 };
const TS = Long.fromString('1700000000123456789', true);

function bytes(length: number, fill = 1): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

function nested(levels: number): AnyValue {
  let value: AnyValue = { stringValue: 'leaf' };
  for (let i = 1; i < levels; i++) value = { arrayValue: { values: [value] } };
  return value;
}

function deepAttributes(levels: number): KeyValue[] {
  return [{ key: 'deep', value: nested(levels) }];
}

function log(text: string, extra: Partial<LogRecord> = {}): LogRecord {
  return { timeUnixNano: TS, body: { stringValue: text }, ...extra };
}

function logsRequest(records: LogRecord[], resourceAttributes: KeyValue[] = []): OtlpRequest {
  return {
    signal: 'logs',
    message: {
      resourceLogs: [{ resource: { attributes: resourceAttributes }, scopeLogs: [{ logRecords: records }] }],
    },
  };
}

function span(name: string, extra: Partial<Span> = {}): Span {
  return { traceId: bytes(16), spanId: bytes(8), name, startTimeUnixNano: TS, endTimeUnixNano: TS, ...extra };
}

function tracesRequest(spans: Span[]): OtlpRequest {
  return { signal: 'traces', message: { resourceSpans: [{ scopeSpans: [{ spans }] }] } };
}

function point(value: number, extra: Partial<NumberDataPoint> = {}): NumberDataPoint {
  return { timeUnixNano: TS, asDouble: value, ...extra };
}

function metricsRequest(metrics: Metric[], resourceAttributes: KeyValue[] = []): OtlpRequest {
  return {
    signal: 'metrics',
    message: {
      resourceMetrics: [{ resource: { attributes: resourceAttributes }, scopeMetrics: [{ metrics }] }],
    },
  };
}

function keptBodies(request: OtlpRequest): string[] {
  return (logsOf(request).resourceLogs ?? []).flatMap((rl) =>
    (rl.scopeLogs ?? []).flatMap((sl) => (sl.logRecords ?? []).map((r) => r.body?.stringValue ?? '')),
  );
}

function keptSpanNames(request: OtlpRequest): string[] {
  return (tracesOf(request).resourceSpans ?? []).flatMap((rs) =>
    (rs.scopeSpans ?? []).flatMap((ss) => (ss.spans ?? []).map((s) => s.name ?? '')),
  );
}

function keptMetrics(request: OtlpRequest): Metric[] {
  return (metricsOf(request).resourceMetrics ?? []).flatMap((rm) =>
    (rm.scopeMetrics ?? []).flatMap((sm) => sm.metrics ?? []),
  );
}

function reasons(validated: ReturnType<typeof validateRequest>): Record<string, number> {
  return Object.fromEntries([...validated.reasons].map(([reason, { count }]) => [reason, count]));
}

describe('validateRequest: logs', () => {
  it('passes a valid request through untouched and counts every record', () => {
    const request = logsRequest([
      log('a', { traceId: bytes(16), spanId: bytes(8) }),
      log('b'),
      log('c', { attributes: deepAttributes(4) }),
    ]);
    const validated = validateRequest(request, limits);
    expect(validated.received).toBe(3);
    expect(validated.rejected).toBe(0);
    expect(validated.reasons.size).toBe(0);
    expect(validated.request.signal).toBe('logs');
    expect(validated.request.message).toBe(request.message);
  });

  it('rejects records with wrong-sized ids, naming the reason, and keeps the rest', () => {
    const request = logsRequest([
      log('short trace', { traceId: bytes(3) }),
      log('ok', { traceId: bytes(16), spanId: bytes(8) }),
      log('short span', { spanId: bytes(4) }),
      log('also ok'),
    ]);
    const validated = validateRequest(request, limits);
    expect(validated.received).toBe(4);
    expect(validated.rejected).toBe(2);
    expect(reasons(validated)).toEqual({ invalid_trace_id: 1, invalid_span_id: 1 });
    expect(validated.reasons.get('invalid_trace_id')?.detail).toBe('trace_id must be 16 bytes, got 3');
    expect(validated.reasons.get('invalid_span_id')?.detail).toBe('span_id must be 8 bytes, got 4');
    expect(keptBodies(validated.request)).toEqual(['ok', 'also ok']);
  });

  it('leaves the original request unchanged when it filters records out', () => {
    const request = logsRequest([log('bad', { traceId: bytes(3) }), log('ok')]);
    validateRequest(request, limits);
    expect(keptBodies(request)).toEqual(['bad', 'ok']);
  });

  it('rejects an all-zero trace id on a log record', () => {
    const validated = validateRequest(logsRequest([log('zero', { traceId: bytes(16, 0) })]), limits);
    expect(validated.reasons.get('invalid_trace_id')?.detail).toBe('trace_id must not be all zeros');
    expect(keptBodies(validated.request)).toEqual([]);
  });

  it('rejects a record whose attributes or body nest deeper than the limit', () => {
    const validated = validateRequest(
      logsRequest([
        log('deep attributes', { attributes: deepAttributes(5) }),
        { timeUnixNano: TS, body: nested(5) },
        log('ok', { attributes: deepAttributes(4) }),
      ]),
      limits,
    );
    expect(reasons(validated)).toEqual({ attribute_too_deep: 2 });
    expect(validated.reasons.get('attribute_too_deep')?.detail).toBe(
      'attributes of a log record nest deeper than 4 levels (ingest.maxAttributeDepth)',
    );
    expect(keptBodies(validated.request)).toEqual(['ok']);
  });

  it('rejects every record of a resource whose attributes nest too deep, and keeps other resources', () => {
    const request: OtlpRequest = {
      signal: 'logs',
      message: {
        resourceLogs: [
          {
            resource: { attributes: deepAttributes(5) },
            scopeLogs: [{ logRecords: [log('r1'), log('r2')] }],
          },
          { resource: { attributes: [] }, scopeLogs: [{ logRecords: [log('r3')] }] },
        ],
      },
    };
    const validated = validateRequest(request, limits);
    expect(validated.received).toBe(3);
    expect(validated.rejected).toBe(2);
    expect(validated.reasons.get('attribute_too_deep')).toEqual({
      count: 2,
      detail: 'attributes of resource nest deeper than 4 levels (ingest.maxAttributeDepth)',
    });
    expect(keptBodies(validated.request)).toEqual(['r3']);
  });

  it('rejects every record of a scope whose attributes nest too deep', () => {
    const request: OtlpRequest = {
      signal: 'logs',
      message: {
        resourceLogs: [
          {
            scopeLogs: [
              { scope: { name: 'bad', attributes: deepAttributes(9) }, logRecords: [log('s1'), log('s2')] },
              { scope: { name: 'good' }, logRecords: [log('s3')] },
            ],
          },
        ],
      },
    };
    const validated = validateRequest(request, limits);
    expect(reasons(validated)).toEqual({ attribute_too_deep: 2 });
    expect(keptBodies(validated.request)).toEqual(['s3']);
  });
});

describe('validateRequest: traces', () => {
  it('passes valid spans through untouched', () => {
    const request = tracesRequest([span('a'), span('b', { parentSpanId: bytes(8, 2) })]);
    const validated = validateRequest(request, limits);
    expect(validated.received).toBe(2);
    expect(validated.rejected).toBe(0);
    expect(validated.request.message).toBe(request.message);
  });

  it('rejects spans with a missing or zero trace id and keeps the valid ones', () => {
    const request = tracesRequest([
      span('missing', { traceId: new Uint8Array(0) }),
      span('zero', { traceId: bytes(16, 0) }),
      span('ok'),
    ]);
    const validated = validateRequest(request, limits);
    expect(validated.rejected).toBe(2);
    expect(reasons(validated)).toEqual({ invalid_trace_id: 2 });
    expect(validated.reasons.get('invalid_trace_id')?.detail).toBe('trace_id must be 16 bytes, got 0');
    expect(keptSpanNames(validated.request)).toEqual(['ok']);
  });

  it('rejects a missing span id and a wrong-sized parent span id', () => {
    const validated = validateRequest(
      tracesRequest([
        span('no span id', { spanId: null }),
        span('bad parent', { parentSpanId: bytes(3) }),
        span('ok', { parentSpanId: new Uint8Array(0) }),
      ]),
      limits,
    );
    expect(reasons(validated)).toEqual({ invalid_span_id: 1, invalid_parent_span_id: 1 });
    expect(validated.reasons.get('invalid_parent_span_id')?.detail).toBe(
      'parent_span_id must be 8 bytes, got 3',
    );
    expect(keptSpanNames(validated.request)).toEqual(['ok']);
  });

  it('rejects a span whose event attributes or link ids are invalid', () => {
    const validated = validateRequest(
      tracesRequest([
        span('deep event', { events: [{ name: 'e', attributes: deepAttributes(5) }] }),
        span('bad link', { links: [{ traceId: bytes(16), spanId: bytes(2) }] }),
        span('ok', { links: [{ traceId: bytes(16), spanId: bytes(8) }] }),
      ]),
      limits,
    );
    expect(reasons(validated)).toEqual({ attribute_too_deep: 1, invalid_span_id: 1 });
    expect(validated.reasons.get('invalid_span_id')?.detail).toBe('a link span_id must be 8 bytes, got 2');
    expect(keptSpanNames(validated.request)).toEqual(['ok']);
  });
});

describe('validateRequest: metrics', () => {
  it('passes valid gauges, sums and histograms through untouched, counting data points', () => {
    const request = metricsRequest([
      { name: 'g', gauge: { dataPoints: [point(1), point(2)] } },
      { name: 's', sum: { dataPoints: [point(3)], aggregationTemporality: 2, isMonotonic: true } },
      {
        name: 'h',
        histogram: { dataPoints: [{ timeUnixNano: TS, count: Long.UONE, bucketCounts: [Long.UONE] }] },
      },
    ]);
    const validated = validateRequest(request, limits);
    expect(validated.received).toBe(4);
    expect(validated.rejected).toBe(0);
    expect(validated.request.message).toBe(request.message);
  });

  it('rejects every data point of a metric without a name', () => {
    const validated = validateRequest(
      metricsRequest([
        { name: '', gauge: { dataPoints: [point(1), point(2)] } },
        { name: 'ok', gauge: { dataPoints: [point(3)] } },
      ]),
      limits,
    );
    expect(validated.received).toBe(3);
    expect(validated.reasons.get('missing_metric_name')).toEqual({
      count: 2,
      detail: 'a metric has no name',
    });
    expect(keptMetrics(validated.request).map((m) => m.name)).toEqual(['ok']);
  });

  it('rejects summaries and exponential histograms as unsupported, counted per data point', () => {
    const validated = validateRequest(
      metricsRequest([
        { name: 'latency', summary: { dataPoints: [{ timeUnixNano: TS }, { timeUnixNano: TS }] } },
        { name: 'size', exponentialHistogram: { dataPoints: [{ timeUnixNano: TS }] } },
        { name: 'ok', gauge: { dataPoints: [point(1)] } },
      ]),
      limits,
    );
    expect(validated.received).toBe(4);
    expect(validated.rejected).toBe(3);
    expect(reasons(validated)).toEqual({ unsupported_metric_type: 3 });
    expect(validated.reasons.get('unsupported_metric_type')?.detail).toBe(
      'metric "latency" is a summary, which Sightline does not store yet (send explicit-bucket histograms)',
    );
    expect(keptMetrics(validated.request).map((m) => m.name)).toEqual(['ok']);
  });

  it('names an exponential histogram as such', () => {
    const validated = validateRequest(
      metricsRequest([{ name: 'size', exponentialHistogram: { dataPoints: [{ timeUnixNano: TS }] } }]),
      limits,
    );
    expect(validated.reasons.get('unsupported_metric_type')?.detail).toContain(
      'metric "size" is an exponential histogram',
    );
  });

  it('rejects a data point with time 0 or no time and keeps the other points of the metric', () => {
    const request = metricsRequest([
      {
        name: 'temp',
        gauge: {
          dataPoints: [
            point(1),
            point(2, { timeUnixNano: Long.UZERO }),
            point(3, { timeUnixNano: null }),
            point(4, { timeUnixNano: Long.ZERO }),
            point(5),
          ],
        },
      },
    ]);
    const validated = validateRequest(request, limits);
    expect(validated.received).toBe(5);
    expect(validated.rejected).toBe(3);
    expect(validated.reasons.get('missing_timestamp')).toEqual({
      count: 3,
      detail: 'a data point of "temp" has no time_unix_nano',
    });
    const kept = keptMetrics(validated.request);
    expect(kept).toHaveLength(1);
    expect(kept[0]?.gauge?.dataPoints?.map((p) => p.asDouble)).toEqual([1, 5]);
  });

  it('keeps the temporality of a sum whose points are partly rejected', () => {
    const validated = validateRequest(
      metricsRequest([
        {
          name: 'requests',
          sum: {
            aggregationTemporality: 1,
            isMonotonic: true,
            dataPoints: [point(1), point(2, { attributes: deepAttributes(5) })],
          },
        },
      ]),
      limits,
    );
    expect(reasons(validated)).toEqual({ attribute_too_deep: 1 });
    expect(validated.reasons.get('attribute_too_deep')?.detail).toBe(
      'attributes of data point of "requests" nest deeper than 4 levels (ingest.maxAttributeDepth)',
    );
    const sum = keptMetrics(validated.request)[0]?.sum;
    expect(sum?.aggregationTemporality).toBe(1);
    expect(sum?.isMonotonic).toBe(true);
    expect(sum?.dataPoints?.map((p) => p.asDouble)).toEqual([1]);
  });

  it('rejects every data point under a resource whose attributes nest too deep', () => {
    const validated = validateRequest(
      metricsRequest([{ name: 'g', gauge: { dataPoints: [point(1), point(2)] } }], deepAttributes(5)),
      limits,
    );
    expect(validated.reasons.get('attribute_too_deep')?.count).toBe(2);
    expect(keptMetrics(validated.request)).toEqual([]);
  });
});

describe('describeRejections', () => {
  it('says how many of how many were rejected and why, with a count per reason', () => {
    const validated = validateRequest(
      logsRequest([
        log('a', { traceId: bytes(3) }),
        log('b', { spanId: bytes(4) }),
        log('c'),
        log('d'),
        log('e'),
      ]),
      limits,
    );
    expect(describeRejections(validated, 'log records')).toBe(
      '2 of 5 log records rejected: trace_id must be 16 bytes, got 3 (1); span_id must be 8 bytes, got 4 (1)',
    );
  });

  it('keeps the first detail of a reason and adds up its count', () => {
    const validated = validateRequest(
      logsRequest([log('a', { traceId: bytes(3) }), log('b', { traceId: bytes(5) }), log('c')]),
      limits,
    );
    expect(describeRejections(validated, 'log records')).toBe(
      '2 of 3 log records rejected: trace_id must be 16 bytes, got 3 (2)',
    );
  });

  it('cuts a long message to about 1 KB', () => {
    const name = 'm'.repeat(2000);
    const validated = validateRequest(
      metricsRequest([{ name, summary: { dataPoints: [{ timeUnixNano: TS }] } }]),
      limits,
    );
    const text = describeRejections(validated, 'data points');
    expect(text).toHaveLength(1000);
    expect(text.endsWith('…')).toBe(true);
    expect(text.startsWith('1 of 1 data points rejected: metric "mmm')).toBe(true);
  });
});

describe('validated ids', () => {
  it('keeps the exact id bytes of kept records', () => {
    const traceId = Buffer.from('5b8efff798038103d269b633813fc60c', 'hex');
    const validated = validateRequest(
      logsRequest([log('ok', { traceId }), log('bad', { traceId: bytes(3) })]),
      limits,
    );
    const kept = logsOf(validated.request).resourceLogs?.[0]?.scopeLogs?.[0]?.logRecords?.[0];
    expect(bytesToHex(kept?.traceId)).toBe('5b8efff798038103d269b633813fc60c');
  });
});

describe('timestamps the store cannot hold', () => {
  const beyond = Long.fromString('18446744073709551615', true);
  const latest = Long.fromString('9223372036854775807', true);

  it('rejects log records, spans and data points timed after 2262, and keeps the rest', () => {
    const logs = validateRequest(
      logsRequest([
        log('ok'),
        log('late', { timeUnixNano: beyond }),
        log('edge', { observedTimeUnixNano: latest }),
      ]),
      limits,
    );
    expect(keptBodies(logs.request)).toEqual(['ok', 'edge']);
    expect(reasons(logs)).toEqual({ invalid_timestamp: 1 });
    expect(describeRejections(logs, 'log records')).toContain('time_unix_nano is after the year 2262');

    const traces = validateRequest(
      tracesRequest([span('ok'), span('late', { endTimeUnixNano: beyond })]),
      limits,
    );
    expect(keptSpanNames(traces.request)).toEqual(['ok']);
    expect(reasons(traces)).toEqual({ invalid_timestamp: 1 });

    const metrics = validateRequest(
      metricsRequest([
        { name: 'm', gauge: { dataPoints: [point(1), point(2, { startTimeUnixNano: beyond })] } },
      ]),
      limits,
    );
    expect(keptMetrics(metrics.request)[0]?.gauge?.dataPoints).toHaveLength(1);
    expect(reasons(metrics)).toEqual({ invalid_timestamp: 1 });
  });
});
