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
import { ingestLimitsSchema } from '../config/ingest-limits.js';
import { decodeRequest, encodeRequest } from '../otlp/codec.js';
import { bytesToHex } from '../otlp/values.js';
import {
  DEFAULT_RECORD_LIMITS,
  describeRejections,
  validateRequest,
  type ValidationLimits,
} from './validate.js';

const limits: ValidationLimits = { maxAttributeDepth: 4, ...DEFAULT_RECORD_LIMITS };
const TS = Long.fromString('1700000000123456789', true);
const S = 1_000_000_000n;
/** The server's clock in these tests: a minute after the records' time. */
const NOW = 1700000000123456789n + 60n * S;

function validate(request: OtlpRequest, overrides: Partial<ValidationLimits> = {}) {
  return validateRequest(request, { ...limits, ...overrides }, NOW);
}

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
    const validated = validate(request);
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
    const validated = validate(request);
    expect(validated.received).toBe(4);
    expect(validated.rejected).toBe(2);
    expect(reasons(validated)).toEqual({ invalid_trace_id: 1, invalid_span_id: 1 });
    expect(validated.reasons.get('invalid_trace_id')?.detail).toBe('trace_id must be 16 bytes, got 3');
    expect(validated.reasons.get('invalid_span_id')?.detail).toBe('span_id must be 8 bytes, got 4');
    expect(keptBodies(validated.request)).toEqual(['ok', 'also ok']);
  });

  it('leaves the original request unchanged when it filters records out', () => {
    const request = logsRequest([log('bad', { traceId: bytes(3) }), log('ok')]);
    validate(request);
    expect(keptBodies(request)).toEqual(['bad', 'ok']);
  });

  it('rejects an all-zero trace id on a log record', () => {
    const validated = validate(logsRequest([log('zero', { traceId: bytes(16, 0) })]));
    expect(validated.reasons.get('invalid_trace_id')?.detail).toBe('trace_id must not be all zeros');
    expect(keptBodies(validated.request)).toEqual([]);
  });

  it('rejects a record whose attributes or body nest deeper than the limit', () => {
    const validated = validate(
      logsRequest([
        log('deep attributes', { attributes: deepAttributes(5) }),
        { timeUnixNano: TS, body: nested(5) },
        log('ok', { attributes: deepAttributes(4) }),
      ]),
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
    const validated = validate(request);
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
    const validated = validate(request);
    expect(reasons(validated)).toEqual({ attribute_too_deep: 2 });
    expect(keptBodies(validated.request)).toEqual(['s3']);
  });
});

describe('validateRequest: traces', () => {
  it('passes valid spans through untouched', () => {
    const request = tracesRequest([span('a'), span('b', { parentSpanId: bytes(8, 2) })]);
    const validated = validate(request);
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
    const validated = validate(request);
    expect(validated.rejected).toBe(2);
    expect(reasons(validated)).toEqual({ invalid_trace_id: 2 });
    expect(validated.reasons.get('invalid_trace_id')?.detail).toBe('trace_id must be 16 bytes, got 0');
    expect(keptSpanNames(validated.request)).toEqual(['ok']);
  });

  it('rejects a missing span id and a wrong-sized parent span id', () => {
    const validated = validate(
      tracesRequest([
        span('no span id', { spanId: null }),
        span('bad parent', { parentSpanId: bytes(3) }),
        span('ok', { parentSpanId: new Uint8Array(0) }),
      ]),
    );
    expect(reasons(validated)).toEqual({ invalid_span_id: 1, invalid_parent_span_id: 1 });
    expect(validated.reasons.get('invalid_parent_span_id')?.detail).toBe(
      'parent_span_id must be 8 bytes, got 3',
    );
    expect(keptSpanNames(validated.request)).toEqual(['ok']);
  });

  it('rejects a span whose event attributes or link ids are invalid', () => {
    const validated = validate(
      tracesRequest([
        span('deep event', { events: [{ name: 'e', attributes: deepAttributes(5) }] }),
        span('bad link', { links: [{ traceId: bytes(16), spanId: bytes(2) }] }),
        span('ok', { links: [{ traceId: bytes(16), spanId: bytes(8) }] }),
      ]),
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
    const validated = validate(request);
    expect(validated.received).toBe(4);
    expect(validated.rejected).toBe(0);
    expect(validated.request.message).toBe(request.message);
  });

  it('rejects every data point of a metric without a name', () => {
    const validated = validate(
      metricsRequest([
        { name: '', gauge: { dataPoints: [point(1), point(2)] } },
        { name: 'ok', gauge: { dataPoints: [point(3)] } },
      ]),
    );
    expect(validated.received).toBe(3);
    expect(validated.reasons.get('missing_metric_name')).toEqual({
      count: 2,
      detail: 'a metric has no name',
    });
    expect(keptMetrics(validated.request).map((m) => m.name)).toEqual(['ok']);
  });

  it('rejects summaries and exponential histograms as unsupported, counted per data point', () => {
    const validated = validate(
      metricsRequest([
        { name: 'latency', summary: { dataPoints: [{ timeUnixNano: TS }, { timeUnixNano: TS }] } },
        { name: 'size', exponentialHistogram: { dataPoints: [{ timeUnixNano: TS }] } },
        { name: 'ok', gauge: { dataPoints: [point(1)] } },
      ]),
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
    const validated = validate(
      metricsRequest([{ name: 'size', exponentialHistogram: { dataPoints: [{ timeUnixNano: TS }] } }]),
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
    const validated = validate(request);
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
    const validated = validate(
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
    const validated = validate(
      metricsRequest([{ name: 'g', gauge: { dataPoints: [point(1), point(2)] } }], deepAttributes(5)),
    );
    expect(validated.reasons.get('attribute_too_deep')?.count).toBe(2);
    expect(keptMetrics(validated.request)).toEqual([]);
  });
});

describe('describeRejections', () => {
  it('says how many of how many were rejected and why, with a count per reason', () => {
    const validated = validate(
      logsRequest([
        log('a', { traceId: bytes(3) }),
        log('b', { spanId: bytes(4) }),
        log('c'),
        log('d'),
        log('e'),
      ]),
    );
    expect(describeRejections(validated, 'log records')).toBe(
      '2 of 5 log records rejected: invalid_trace_id (1): trace_id must be 16 bytes, got 3; invalid_span_id (1): span_id must be 8 bytes, got 4',
    );
  });

  it('keeps the first detail of a reason and adds up its count', () => {
    const validated = validate(
      logsRequest([log('a', { traceId: bytes(3) }), log('b', { traceId: bytes(5) }), log('c')]),
    );
    expect(describeRejections(validated, 'log records')).toBe(
      '2 of 3 log records rejected: invalid_trace_id (2): trace_id must be 16 bytes, got 3',
    );
  });

  it('cuts a long message to about 1 KB', () => {
    const name = 'm'.repeat(2000);
    const validated = validate(metricsRequest([{ name, summary: { dataPoints: [{ timeUnixNano: TS }] } }]), {
      maxNameBytes: 4096,
    });
    const text = describeRejections(validated, 'data points');
    expect(text).toHaveLength(1000);
    expect(text.endsWith('…')).toBe(true);
    expect(text.startsWith('1 of 1 data points rejected: unsupported_metric_type (1): metric "mmm')).toBe(
      true,
    );
  });
});

describe('validated ids', () => {
  it('keeps the exact id bytes of kept records', () => {
    const traceId = Buffer.from('5b8efff798038103d269b633813fc60c', 'hex');
    const validated = validate(logsRequest([log('ok', { traceId }), log('bad', { traceId: bytes(3) })]));
    const kept = logsOf(validated.request).resourceLogs?.[0]?.scopeLogs?.[0]?.logRecords?.[0];
    expect(bytesToHex(kept?.traceId)).toBe('5b8efff798038103d269b633813fc60c');
  });
});

describe('timestamps the store cannot hold', () => {
  const beyond = Long.fromString('18446744073709551615', true);
  const latest = Long.fromString('9223372036854775807', true);

  // A window wide enough (about 317 years) that only the 2262 bound applies.
  const wide = { maxFutureSeconds: 10_000_000_000 };

  it('rejects log records, spans and data points timed after 2262, and keeps the rest', () => {
    const logs = validate(
      logsRequest([
        log('ok'),
        log('late', { timeUnixNano: beyond }),
        log('edge', { observedTimeUnixNano: latest }),
      ]),
      wide,
    );
    expect(keptBodies(logs.request)).toEqual(['ok', 'edge']);
    expect(reasons(logs)).toEqual({ invalid_timestamp: 1 });
    expect(describeRejections(logs, 'log records')).toContain('time_unix_nano is after the year 2262');

    const traces = validate(tracesRequest([span('ok'), span('late', { endTimeUnixNano: beyond })]), wide);
    expect(keptSpanNames(traces.request)).toEqual(['ok']);
    expect(reasons(traces)).toEqual({ invalid_timestamp: 1 });

    const metrics = validate(
      metricsRequest([
        { name: 'm', gauge: { dataPoints: [point(1), point(2, { startTimeUnixNano: beyond })] } },
      ]),
      wide,
    );
    expect(keptMetrics(metrics.request)[0]?.gauge?.dataPoints).toHaveLength(1);
    expect(reasons(metrics)).toEqual({ invalid_timestamp: 1 });
  });
});

const DAY = 86_400n * S;

function attributes(count: number, value = 'v'): KeyValue[] {
  return Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: { stringValue: value } }));
}

function text(key: string, value: string): KeyValue {
  return { key, value: { stringValue: value } };
}

function at(ns: bigint): Long {
  return Long.fromString(ns.toString(), true);
}

function keptLogAttributes(request: OtlpRequest): KeyValue[][] {
  return (logsOf(request).resourceLogs ?? []).flatMap((rl) =>
    (rl.scopeLogs ?? []).flatMap((sl) => (sl.logRecords ?? []).map((r) => r.attributes ?? [])),
  );
}

function keptPoints(request: OtlpRequest): number[] {
  return keptMetrics(request).flatMap((m) => (m.gauge?.dataPoints ?? []).map((p) => p.asDouble ?? NaN));
}

describe('ingest.limits defaults', () => {
  it('are the config defaults, so the gateway and the config agree', () => {
    expect(ingestLimitsSchema.parse({})).toEqual(DEFAULT_RECORD_LIMITS);
  });

  it('refuse values that would reject everything, and take 0 as "any age"', () => {
    expect(ingestLimitsSchema.safeParse({ maxAttributes: 0 }).success).toBe(false);
    expect(ingestLimitsSchema.safeParse({ maxFutureSeconds: 0 }).success).toBe(false);
    expect(ingestLimitsSchema.safeParse({ maxNameBytes: 1.5 }).success).toBe(false);
    expect(ingestLimitsSchema.safeParse({ maxAtributes: 10 }).success).toBe(false);
    expect(ingestLimitsSchema.parse({ maxPastSeconds: 0 }).maxPastSeconds).toBe(0);
  });
});

describe('limits: attributes per set (ingest.limits.maxAttributes)', () => {
  const where: Array<[string, (attrs: KeyValue[]) => OtlpRequest, string]> = [
    ['a log record', (attrs) => logsRequest([log('r', { attributes: attrs })]), 'a log record'],
    ['the resource of a log', (attrs) => logsRequest([log('r')], attrs), 'resource'],
    [
      'the scope of a log',
      (attrs) => ({
        signal: 'logs',
        message: {
          resourceLogs: [{ scopeLogs: [{ scope: { attributes: attrs }, logRecords: [log('r')] }] }],
        },
      }),
      'scope',
    ],
    ['a span', (attrs) => tracesRequest([span('s', { attributes: attrs })]), 'a span'],
    [
      'a span event',
      (attrs) => tracesRequest([span('s', { events: [{ attributes: attrs }] })]),
      'a span event',
    ],
    [
      'a span link',
      (attrs) =>
        tracesRequest([span('s', { links: [{ traceId: bytes(16), spanId: bytes(8), attributes: attrs }] })]),
      'a span link',
    ],
    [
      'a data point',
      (attrs) => metricsRequest([{ name: 'g', gauge: { dataPoints: [point(1, { attributes: attrs })] } }]),
      'data point of "g"',
    ],
    [
      'the resource of a metric',
      (attrs) => metricsRequest([{ name: 'g', gauge: { dataPoints: [point(1)] } }], attrs),
      'resource',
    ],
  ];

  it.each(where)('keeps %s with exactly the limit, rejects it with one more', (_name, build, named) => {
    const atLimit = validate(build(attributes(3)), { maxAttributes: 3 });
    expect(atLimit.rejected).toBe(0);
    const over = validate(build(attributes(4)), { maxAttributes: 3 });
    expect(over.received).toBe(1);
    expect(reasons(over)).toEqual({ too_many_attributes: 1 });
    expect(over.reasons.get('too_many_attributes')?.detail).toBe(
      `${named} has 4 attributes; at most 3 are accepted (ingest.limits.maxAttributes)`,
    );
  });

  it('counts each set on its own: a record at the limit under a resource at the limit is kept', () => {
    const validated = validate(logsRequest([log('r', { attributes: attributes(128) })], attributes(128)));
    expect(validated.rejected).toBe(0);
  });

  it('rejects a record with a huge attribute map quickly, and keeps its neighbours', () => {
    const huge = attributes(200_000);
    const started = performance.now();
    const validated = validate(
      logsRequest([log('huge', { attributes: huge }), log('ok', { attributes: attributes(5) })]),
    );
    expect(performance.now() - started).toBeLessThan(200);
    expect(reasons(validated)).toEqual({ too_many_attributes: 1 });
    expect(validated.reasons.get('too_many_attributes')?.detail).toContain(
      'has 200000 attributes; at most 128',
    );
    expect(keptBodies(validated.request)).toEqual(['ok']);
  });

  it('rejects every record under a resource with too many attributes', () => {
    const validated = validate(logsRequest([log('a'), log('b')], attributes(129)));
    expect(validated.reasons.get('too_many_attributes')?.count).toBe(2);
    expect(keptBodies(validated.request)).toEqual([]);
  });
});

describe('limits: attribute value length (ingest.limits.maxAttributeValueBytes)', () => {
  // [what, value, maxAttributeValueBytes, kept value or undefined when it fits]
  const cases: Array<[string, string, number, string | undefined]> = [
    ['ASCII at the limit', 'a'.repeat(10), 10, undefined],
    ['ASCII one byte over', 'a'.repeat(11), 10, 'a'.repeat(10)],
    ['2-byte characters at the limit', 'é'.repeat(5), 10, undefined],
    ['2-byte characters: 10 characters are 20 bytes', 'é'.repeat(10), 10, 'é'.repeat(5)],
    ['3-byte characters never cut in half', '€€€', 5, '€'],
    ['4-byte characters (surrogate pairs) never cut in half', '😀😀', 6, '😀'],
    ['mixed, cut at the last whole character', 'ab€de', 4, 'ab'],
  ];

  it.each(cases)('logs: %s', (_what, value, max, kept) => {
    const request = logsRequest([log('r', { attributes: [text('k', value), text('short', 'x')] })]);
    const validated = validate(request, { maxAttributeValueBytes: max });
    expect(validated.rejected).toBe(0);
    const attrs = keptLogAttributes(validated.request)[0];
    if (kept === undefined) {
      expect(validated.truncated).toBe(0);
      expect(validated.request).toBe(request);
    } else {
      expect(validated.truncated).toBe(1);
      expect(attrs?.[0]?.value?.stringValue).toBe(kept);
      expect(Buffer.byteLength(kept)).toBeLessThanOrEqual(max);
      expect(attrs?.[1]?.value?.stringValue).toBe('x');
      expect(validated.truncations.get('attribute_value_too_long')?.detail).toBe(
        `attribute "k" of a log record has a value of ${Buffer.byteLength(value)} bytes, cut to ${max} (ingest.limits.maxAttributeValueBytes)`,
      );
      // The caller's request is not changed.
      expect(keptLogAttributes(request)[0]?.[0]?.value?.stringValue).toBe(value);
    }
  });

  it('cuts strings nested in arrays and maps, and bytes values', () => {
    const validated = validate(
      logsRequest([
        log('r', {
          attributes: [
            {
              key: 'list',
              value: { arrayValue: { values: [{ stringValue: 'short' }, { stringValue: 'x'.repeat(20) }] } },
            },
            {
              key: 'map',
              value: {
                kvlistValue: {
                  values: [
                    text('inner', 'y'.repeat(20)),
                    { key: 'n', value: { intValue: Long.fromNumber(7) } },
                  ],
                },
              },
            },
            { key: 'raw', value: { bytesValue: bytes(20) } },
          ],
        }),
      ]),
      { maxAttributeValueBytes: 8 },
    );
    const attrs = keptLogAttributes(validated.request)[0] ?? [];
    expect(attrs[0]?.value?.arrayValue?.values?.map((v) => v.stringValue)).toEqual(['short', 'xxxxxxxx']);
    expect(
      attrs[1]?.value?.kvlistValue?.values?.map((kv) => kv.value?.stringValue ?? Number(kv.value?.intValue)),
    ).toEqual(['yyyyyyyy', 7]);
    expect(attrs[2]?.value?.bytesValue).toHaveLength(8);
    expect(validated.truncated).toBe(1);
  });

  it('cuts a long exception stack trace on a span event and keeps the span', () => {
    const stack = 'at frame\n'.repeat(5000);
    const request = tracesRequest([
      span('failing', { events: [{ name: 'exception', attributes: [text('exception.stacktrace', stack)] }] }),
      span('fine'),
    ]);
    const validated = validate(request);
    expect(validated.rejected).toBe(0);
    expect(validated.truncated).toBe(1);
    const spans = tracesOf(validated.request).resourceSpans?.[0]?.scopeSpans?.[0]?.spans ?? [];
    expect(spans.map((s) => s.name)).toEqual(['failing', 'fine']);
    const kept = spans[0]?.events?.[0]?.attributes?.[0]?.value?.stringValue ?? '';
    expect(kept).toHaveLength(32 * 1024);
    expect(stack.startsWith(kept)).toBe(true);
    expect(validated.truncations.get('attribute_value_too_long')?.detail).toBe(
      'attribute "exception.stacktrace" of a span event has a value of 45000 bytes, cut to 32768 (ingest.limits.maxAttributeValueBytes)',
    );
    expect(request.message).not.toBe(validated.request.message);
  });

  it('counts every record under a resource whose attribute was cut', () => {
    const validated = validate(logsRequest([log('a'), log('b')], [text('k8s.pod.labels', 'z'.repeat(40))]), {
      maxAttributeValueBytes: 16,
    });
    expect(validated.truncated).toBe(2);
    expect(logsOf(validated.request).resourceLogs?.[0]?.resource?.attributes?.[0]?.value?.stringValue).toBe(
      'z'.repeat(16),
    );
    expect(keptBodies(validated.request)).toEqual(['a', 'b']);
  });

  it('rejects, not cuts, a data point whose label value or resource value is too long (it names the series)', () => {
    const labels = validate(
      metricsRequest([
        {
          name: 'g',
          gauge: {
            dataPoints: [
              point(1, { attributes: [text('path', 'p'.repeat(11))] }),
              point(2, { attributes: [text('path', 'p'.repeat(10))] }),
            ],
          },
        },
      ]),
      { maxAttributeValueBytes: 10 },
    );
    expect(reasons(labels)).toEqual({ attribute_value_too_long: 1 });
    expect(labels.truncated).toBe(0);
    expect(keptPoints(labels.request)).toEqual([2]);
    expect(labels.reasons.get('attribute_value_too_long')?.detail).toBe(
      'attribute "path" of data point of "g" has a value of 11 bytes; at most 10 are accepted (ingest.limits.maxAttributeValueBytes), and metric values are not cut since they identify a series',
    );

    const resource = validate(
      metricsRequest(
        [{ name: 'g', gauge: { dataPoints: [point(1), point(2)] } }],
        [text('host.name', 'é'.repeat(6))],
      ),
      {
        maxAttributeValueBytes: 10,
      },
    );
    expect(reasons(resource)).toEqual({ attribute_value_too_long: 2 });
  });
});

describe('limits: log body size (ingest.limits.maxLogBodyBytes)', () => {
  const cases: Array<[string, AnyValue, boolean]> = [
    ['a string at the limit', { stringValue: 'b'.repeat(16) }, true],
    ['a string one byte over', { stringValue: 'b'.repeat(17) }, false],
    ['multi-byte text measured in bytes, not characters', { stringValue: 'ü'.repeat(9) }, false],
    ['multi-byte text within the limit', { stringValue: 'ü'.repeat(8) }, true],
    ['bytes at the limit', { bytesValue: bytes(16) }, true],
    ['bytes over', { bytesValue: bytes(17) }, false],
    [
      'a map whose keys and values add up to over the limit',
      { kvlistValue: { values: [text('message', 'm'.repeat(6)), text('user', 'u'.repeat(4))] } },
      false,
    ],
    [
      'a map within the limit (3 + 6 + 1 + 1 bytes)',
      { kvlistValue: { values: [text('msg', 'm'.repeat(6)), { key: 'n', value: { boolValue: true } }] } },
      true,
    ],
    [
      'an array of many small strings over the limit',
      { arrayValue: { values: Array.from({ length: 100 }, () => ({ stringValue: 'x' })) } },
      false,
    ],
  ];

  it.each(cases)('%s', (_what, body, kept) => {
    const validated = validate(logsRequest([{ timeUnixNano: TS, body }, log('neighbour')]), {
      maxLogBodyBytes: 16,
    });
    expect(validated.received).toBe(2);
    expect(reasons(validated)).toEqual(kept ? {} : { body_too_large: 1 });
    expect(keptBodies(validated.request)).toHaveLength(kept ? 2 : 1);
  });

  it('says how large the body is and what the limit is', () => {
    const validated = validate(logsRequest([log('€'.repeat(100_000))]));
    expect(validated.reasons.get('body_too_large')?.detail).toBe(
      'the body is 300000 bytes; at most 262144 are accepted (ingest.limits.maxLogBodyBytes): split the record or move data to attributes',
    );
  });
});

describe('limits: metric names, label names and attribute keys', () => {
  // [name, problem or undefined when valid]
  const metricNames: Array<[string, string | undefined]> = [
    ['http.server.request.duration', undefined],
    ['process_cpu_seconds_total', undefined],
    ['job:http_requests:rate5m', undefined],
    ['db.client.operation/duration-ms', undefined],
    ['température.moyenne', undefined],
    ['x'.repeat(255), undefined],
    ['x'.repeat(256), 'is 256 bytes long; at most 255 are accepted (ingest.limits.maxNameBytes)'],
    ['é'.repeat(128), 'is 256 bytes long; at most 255 are accepted (ingest.limits.maxNameBytes)'],
    ['requests\ntotal', 'contains the control character U+000A'],
    ['requests\u0000', 'contains the control character U+0000'],
    ['requests\u0085', 'contains the control character U+0085'],
  ];

  it.each(metricNames)('metric name %j', (name, problem) => {
    const validated = validate(
      metricsRequest([
        { name, gauge: { dataPoints: [point(1), point(2)] } },
        { name: 'ok', gauge: { dataPoints: [point(3)] } },
      ]),
    );
    expect(keptPoints(validated.request)).toEqual(problem === undefined ? [1, 2, 3] : [3]);
    if (problem !== undefined) {
      expect(validated.reasons.get('invalid_metric_name')).toEqual({
        count: 2,
        detail: `metric name ${JSON.stringify(name.length > 64 ? `${name.slice(0, 63)}…` : name)} ${problem}`,
      });
    }
  });

  const labelNames: Array<[string, string | undefined]> = [
    ['http.request.method', undefined],
    ['_private', undefined],
    ['le', undefined],
    ['', 'is empty'],
    ['__name__', 'starts with "__", which Prometheus reserves for its own labels'],
    ['a\tb', 'contains the control character U+0009'],
    ['k'.repeat(256), 'is 256 bytes long; at most 255 are accepted (ingest.limits.maxNameBytes)'],
  ];

  it.each(labelNames)('label name %j', (key, problem) => {
    const validated = validate(
      metricsRequest([
        { name: 'g', gauge: { dataPoints: [point(1, { attributes: [text(key, 'v')] }), point(2)] } },
      ]),
    );
    expect(keptPoints(validated.request)).toEqual(problem === undefined ? [1, 2] : [2]);
    if (problem !== undefined) {
      expect(validated.reasons.get('invalid_label_name')?.detail).toMatch(
        /^label name ".*" of data point of "g" /,
      );
      expect(validated.reasons.get('invalid_label_name')?.detail.endsWith(problem)).toBe(true);
    }
  });

  it.each<[string, string | undefined]>([
    ['user.id', undefined],
    ['__internal', undefined],
    ['', 'attribute key "" of a log record is empty'],
    ['bell\u0007', 'attribute key "bell\\u0007" of a log record contains the control character U+0007'],
  ])('log attribute key %j', (key, detail) => {
    const validated = validate(logsRequest([log('r', { attributes: [text(key, 'v')] }), log('ok')]));
    expect(keptBodies(validated.request)).toEqual(detail === undefined ? ['r', 'ok'] : ['ok']);
    expect(validated.reasons.get('invalid_attribute_key')?.detail).toBe(detail);
  });

  it('checks resource attribute keys once, for all its records', () => {
    const validated = validate(tracesRequest([span('a')]));
    expect(validated.rejected).toBe(0);
    const bad = validate(logsRequest([log('a'), log('b')], [text('', 'v')]));
    expect(bad.reasons.get('invalid_attribute_key')).toEqual({
      count: 2,
      detail: 'attribute key "" of resource is empty',
    });
  });
});

describe('limits: time window (ingest.limits.maxFutureSeconds, maxPastSeconds)', () => {
  // [what, the record, overrides, reason or undefined when kept]
  const cases: Array<[string, () => OtlpRequest, Partial<ValidationLimits>, string | undefined]> = [
    [
      'a log 2 days ahead',
      () => logsRequest([log('r', { timeUnixNano: at(NOW + 2n * DAY) })]),
      {},
      'timestamp_in_future',
    ],
    [
      'a log exactly 1 h ahead',
      () => logsRequest([log('r', { timeUnixNano: at(NOW + 3600n * S) })]),
      {},
      undefined,
    ],
    [
      'a log 1 h and 1 ns ahead',
      () => logsRequest([log('r', { timeUnixNano: at(NOW + 3600n * S + 1n) })]),
      {},
      'timestamp_in_future',
    ],
    [
      'a log exactly 7 days old',
      () => logsRequest([log('r', { timeUnixNano: at(NOW - 7n * DAY) })]),
      {},
      undefined,
    ],
    [
      'a log 7 days and 1 ns old',
      () => logsRequest([log('r', { timeUnixNano: at(NOW - 7n * DAY - 1n) })]),
      {},
      'timestamp_too_old',
    ],
    [
      'a log from 2001 when any age goes',
      () => logsRequest([log('r', { timeUnixNano: at(1_000_000_000n * S) })]),
      { maxPastSeconds: 0 },
      undefined,
    ],
    [
      'a log whose observed time is ahead',
      () => logsRequest([log('r', { observedTimeUnixNano: at(NOW + DAY) })]),
      {},
      'timestamp_in_future',
    ],
    [
      'a log with only an observed time, old',
      () => logsRequest([{ observedTimeUnixNano: at(NOW - 30n * DAY), body: { stringValue: 'r' } }]),
      {},
      'timestamp_too_old',
    ],
    [
      'a log without any time (takes the receive time)',
      () => logsRequest([{ body: { stringValue: 'r' } }]),
      {},
      undefined,
    ],
    [
      'a span that ends 2 days ahead',
      () => tracesRequest([span('s', { endTimeUnixNano: at(NOW + 2n * DAY) })]),
      {},
      'timestamp_in_future',
    ],
    [
      'a span that started a year ago',
      () => tracesRequest([span('s', { startTimeUnixNano: at(NOW - 365n * DAY) })]),
      {},
      'timestamp_too_old',
    ],
    [
      'a data point 2 days ahead',
      () =>
        metricsRequest([
          { name: 'g', gauge: { dataPoints: [point(1, { timeUnixNano: at(NOW + 2n * DAY) })] } },
        ]),
      {},
      'timestamp_in_future',
    ],
    [
      'a data point 8 days old',
      () =>
        metricsRequest([
          { name: 'g', gauge: { dataPoints: [point(1, { timeUnixNano: at(NOW - 8n * DAY) })] } },
        ]),
      {},
      'timestamp_too_old',
    ],
    [
      'a cumulative sum that started counting 90 days ago',
      () =>
        metricsRequest([
          {
            name: 's',
            sum: {
              aggregationTemporality: 2,
              isMonotonic: true,
              dataPoints: [point(1, { startTimeUnixNano: at(NOW - 90n * DAY) })],
            },
          },
        ]),
      {},
      undefined,
    ],
    [
      'a log 2 days ahead with a 3-day allowance',
      () => logsRequest([log('r', { timeUnixNano: at(NOW + 2n * DAY) })]),
      { maxFutureSeconds: 3 * 86_400 },
      undefined,
    ],
  ];

  it.each(cases)('%s', (_what, build, overrides, reason) => {
    const validated = validate(build(), overrides);
    expect(validated.received).toBe(1);
    expect(reasons(validated)).toEqual(reason === undefined ? {} : { [reason]: 1 });
  });

  it('names the field, the time, how far off it is and the limit', () => {
    const ahead = validate(
      logsRequest([log('before'), log('ahead', { timeUnixNano: at(NOW + 2n * DAY) }), log('after')]),
    );
    expect(keptBodies(ahead.request)).toEqual(['before', 'after']);
    expect(describeRejections(ahead, 'log records')).toBe(
      "1 of 3 log records rejected: timestamp_in_future (1): time_unix_nano 2023-11-16T22:14:20.123456789Z is 2 days ahead of the server's clock; at most 1 h ahead is accepted (ingest.limits.maxFutureSeconds): check the sender's clock",
    );
    const old = validate(logsRequest([log('old', { timeUnixNano: at(NOW - 30n * DAY - 12n * 3600n * S) })]));
    expect(old.reasons.get('timestamp_too_old')?.detail).toBe(
      'time_unix_nano 2023-10-15T10:14:20.123456789Z is 30.5 days old; records older than 7 days are not accepted (ingest.limits.maxPastSeconds)',
    );
    const point90 = validate(
      metricsRequest([
        { name: 'cpu', gauge: { dataPoints: [point(1, { timeUnixNano: at(NOW + 90n * 60n * S) })] } },
      ]),
    );
    expect(point90.reasons.get('timestamp_in_future')?.detail).toContain(
      'time_unix_nano of a data point of "cpu" 2023-11-14T23:44:20.123456789Z is 1.5 h ahead',
    );
  });

  it('takes the clock from the caller, not from the machine', () => {
    const request = logsRequest([log('r')]);
    expect(validateRequest(request, limits, NOW).rejected).toBe(0);
    expect(validateRequest(request, limits, NOW + 30n * DAY).reasons.has('timestamp_too_old')).toBe(true);
  });
});

describe('describeRejections with values cut short', () => {
  it('reports cuts as a warning after the rejections', () => {
    const validated = validate(
      logsRequest([
        log('cut', { attributes: [text('sql', 'q'.repeat(40))] }),
        log('ahead', { timeUnixNano: at(NOW + DAY) }),
        log('fine'),
      ]),
      { maxAttributeValueBytes: 32 },
    );
    expect(describeRejections(validated, 'log records')).toBe(
      "1 of 3 log records rejected: timestamp_in_future (1): time_unix_nano 2023-11-15T22:14:20.123456789Z is 1 day ahead of the server's clock; at most 1 h ahead is accepted (ingest.limits.maxFutureSeconds): check the sender's clock. " +
        '1 of 3 log records stored with values cut short: attribute_value_too_long (1): attribute "sql" of a log record has a value of 40 bytes, cut to 32 (ingest.limits.maxAttributeValueBytes)',
    );
  });

  it('reports cuts alone when nothing was rejected', () => {
    const validated = validate(
      logsRequest([log('cut', { attributes: [text('sql', 'q'.repeat(40))] }), log('fine')]),
      {
        maxAttributeValueBytes: 32,
      },
    );
    expect(validated.rejected).toBe(0);
    expect(describeRejections(validated, 'log records')).toMatch(
      /^1 of 2 log records stored with values cut short: attribute_value_too_long \(1\)/,
    );
  });
});

describe('validated requests as the gateway handles them (decoded protobuf, re-encoded)', () => {
  it('re-encodes a request with a record left out and a value cut', () => {
    const sent = encodeRequest(
      logsRequest(
        [
          log('cut', {
            attributes: [text('sql', 'q'.repeat(40)), { key: 'n', value: { intValue: Long.fromNumber(3) } }],
            severityNumber: 9,
          }),
          log('ahead', { timeUnixNano: at(NOW + DAY) }),
          log('fine', { traceId: bytes(16, 7) }),
        ],
        [text('service.name', 'checkout')],
      ),
    );
    const decoded = decodeRequest('logs', 'protobuf', sent);
    const validated = validate(decoded, { maxAttributeValueBytes: 32 });
    const again = decodeRequest('logs', 'protobuf', encodeRequest(validated.request));
    const records = logsOf(again).resourceLogs?.[0]?.scopeLogs?.[0]?.logRecords ?? [];
    expect(records.map((r) => r.body?.stringValue)).toEqual(['cut', 'fine']);
    expect(records[0]?.attributes?.[0]?.value?.stringValue).toBe('q'.repeat(32));
    expect(Number(records[0]?.attributes?.[1]?.value?.intValue)).toBe(3);
    expect(records[0]?.severityNumber).toBe(9);
    expect(bytesToHex(records[1]?.traceId)).toBe('07'.repeat(16));
    expect(logsOf(again).resourceLogs?.[0]?.resource?.attributes?.[0]?.value?.stringValue).toBe('checkout');
  });
});
