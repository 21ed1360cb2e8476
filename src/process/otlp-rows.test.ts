import Long from 'long';
import { describe, expect, it } from 'vitest';
import type {
  HistogramDataPoint,
  KeyValue,
  LogRecord,
  Metric,
  NumberDataPoint,
  Span,
} from '../otlp/types.js';
import { orgId } from '../store/rows.js';
import type { LogRow, MetricPointRow, SpanRow } from '../store/rows.js';
import { logsToRows, metricsToRows, spansToRows } from './otlp-rows.js';
import type { RowContext } from './otlp-rows.js';

const context: RowContext = { orgId: orgId('org_1'), receivedAtNs: 1_800_000_000_000_000_000n };
const TS = 1_700_000_000_123_456_789n;
const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const SPAN_ID = 'eee19b7ec3c1b174';

function ns(value: bigint): Long {
  return Long.fromString(String(value), true);
}

function str(key: string, value: string): KeyValue {
  return { key, value: { stringValue: value } };
}

const apiResource: KeyValue[] = [str('service.name', 'api'), str('host.name', 'web-1')];

function logRows(records: LogRecord[], resource: KeyValue[] = apiResource, ctx = context): LogRow[] {
  return logsToRows(
    {
      resourceLogs: [
        { resource: { attributes: resource }, scopeLogs: [{ scope: { name: 'lib' }, logRecords: records }] },
      ],
    },
    ctx,
  );
}

function oneLog(record: LogRecord, resource: KeyValue[] = apiResource, ctx = context): LogRow {
  const rows = logRows([record], resource, ctx);
  expect(rows).toHaveLength(1);
  const [row] = rows;
  if (row === undefined) throw new Error('no row');
  return row;
}

function spanRows(spans: Span[], resource: KeyValue[] = apiResource): SpanRow[] {
  return spansToRows(
    {
      resourceSpans: [
        { resource: { attributes: resource }, scopeSpans: [{ scope: { name: 'http' }, spans }] },
      ],
    },
    context,
  );
}

function oneSpan(span: Span): SpanRow {
  const [row] = spanRows([span]);
  if (row === undefined) throw new Error('no row');
  return row;
}

function metricRows(metrics: Metric[], resource: KeyValue[] = apiResource): MetricPointRow[] {
  return metricsToRows(
    {
      resourceMetrics: [
        { resource: { attributes: resource }, scopeMetrics: [{ scope: { name: 'meter' }, metrics }] },
      ],
    },
    context,
  ).rows;
}

function point(value: number, time: bigint, attributes: KeyValue[] = []): NumberDataPoint {
  return { timeUnixNano: ns(time), startTimeUnixNano: ns(TS - 1_000n), asDouble: value, attributes };
}

describe('logsToRows', () => {
  it('takes service, host and entity from the resource attributes', () => {
    const row = oneLog({ timeUnixNano: ns(TS), body: { stringValue: 'hi' } }, [
      ...apiResource,
      str('sightline.entity.id', 'postgres/main'),
    ]);
    expect(row.service).toBe('api');
    expect(row.host).toBe('web-1');
    expect(row.entityId).toBe('postgres/main');
    expect(row.orgId).toBe('org_1');
    expect(row.scopeName).toBe('lib');
    expect(JSON.parse(row.resource)).toEqual({
      'service.name': 'api',
      'host.name': 'web-1',
      'sightline.entity.id': 'postgres/main',
    });
  });

  it('derives the entity from the service, then from the host, when none is given', () => {
    expect(oneLog({ timeUnixNano: ns(TS) }).entityId).toBe('service/api');
    expect(oneLog({ timeUnixNano: ns(TS) }, [str('host.name', 'db-2')]).entityId).toBe('host/db-2');
    const bare = oneLog({ timeUnixNano: ns(TS) }, []);
    expect([bare.entityId, bare.service, bare.host, bare.resource]).toEqual(['', '', '', '{}']);
  });

  it('takes the severity from the number when there is one', () => {
    const row = oneLog({ timeUnixNano: ns(TS), severityNumber: 18, severityText: 'info' });
    expect(row.severity).toBe('ERROR');
    expect(row.severityNumber).toBe(18);
    expect(row.severityText).toBe('info');
  });

  it('falls back to the severity text and fills in its number', () => {
    const row = oneLog({ timeUnixNano: ns(TS), severityText: 'warning' });
    expect(row.severity).toBe('WARN');
    expect(row.severityNumber).toBe(13);
    expect(row.severityText).toBe('warning');
    const none = oneLog({ timeUnixNano: ns(TS) });
    expect([none.severity, none.severityNumber]).toEqual(['UNSPECIFIED', 0]);
  });

  it('stores a string body as text and a structured body as JSON', () => {
    expect(oneLog({ timeUnixNano: ns(TS), body: { stringValue: 'disk full' } }).body).toBe('disk full');
    const structured = oneLog({
      timeUnixNano: ns(TS),
      body: {
        kvlistValue: {
          values: [str('msg', 'slow'), { key: 'ms', value: { intValue: Long.fromInt(1500) } }],
        },
      },
    });
    expect(JSON.parse(structured.body)).toEqual({ msg: 'slow', ms: 1500 });
    expect(oneLog({ timeUnixNano: ns(TS), body: { intValue: Long.fromInt(42) } }).body).toBe('42');
    expect(oneLog({ timeUnixNano: ns(TS) }).body).toBe('');
  });

  it('writes ids as lowercase hex and attributes as JSON', () => {
    const row = oneLog({
      timeUnixNano: ns(TS),
      traceId: Buffer.from(TRACE_ID.toUpperCase(), 'hex'),
      spanId: Buffer.from(SPAN_ID, 'hex'),
      eventName: 'db.slow',
      attributes: [
        str('db', 'main'),
        { key: 'big', value: { intValue: Long.fromString('9007199254740993') } },
      ],
    });
    expect(row.traceId).toBe(TRACE_ID);
    expect(row.spanId).toBe(SPAN_ID);
    expect(row.eventName).toBe('db.slow');
    expect(JSON.parse(row.attributes)).toEqual({ db: 'main', big: '9007199254740993' });
    const bare = oneLog({ timeUnixNano: ns(TS) });
    expect([bare.traceId, bare.spanId, bare.attributes]).toEqual(['', '', '{}']);
  });

  it('keeps the record time exactly, in nanoseconds', () => {
    const row = oneLog({ timeUnixNano: ns(TS), observedTimeUnixNano: ns(TS + 5n) });
    expect(row.ts).toBe(TS);
    expect(row.observedTs).toBe(TS + 5n);
  });

  it('falls back to the observed time, then to the receive time', () => {
    const observedOnly = oneLog({ observedTimeUnixNano: ns(TS + 5n) });
    expect(observedOnly.ts).toBe(TS + 5n);
    expect(observedOnly.observedTs).toBe(TS + 5n);
    const neither = oneLog({ body: { stringValue: 'x' } });
    expect(neither.ts).toBe(context.receivedAtNs);
    expect(neither.observedTs).toBe(context.receivedAtNs);
    const timeOnly = oneLog({ timeUnixNano: ns(TS) });
    expect(timeOnly.ts).toBe(TS);
    expect(timeOnly.observedTs).toBe(context.receivedAtNs);
  });

  it('gives the same record the same id, and a different body a different id', () => {
    const record: LogRecord = {
      timeUnixNano: ns(TS),
      body: { stringValue: 'a' },
      attributes: [str('k', 'v')],
    };
    const first = oneLog(record);
    expect(oneLog({ ...record }).id).toBe(first.id);
    expect(oneLog({ ...record, body: { stringValue: 'b' } }).id).not.toBe(first.id);
    expect(oneLog({ ...record, attributes: [str('k', 'w')] }).id).not.toBe(first.id);
    expect(oneLog(record, [str('service.name', 'other')]).id).not.toBe(first.id);
    expect(oneLog(record, apiResource, { ...context, orgId: orgId('org_2') }).id).not.toBe(first.id);
  });

  it('leaves the receive time out of the id, so a retried record without timestamps keeps its id', () => {
    const record: LogRecord = { body: { stringValue: 'no time' } };
    const first = oneLog(record, apiResource, context);
    const retried = oneLog(record, apiResource, {
      ...context,
      receivedAtNs: context.receivedAtNs + 1_000_000_000n,
    });
    expect(retried.id).toBe(first.id);
    expect(retried.ts).not.toBe(first.ts);
  });

  it('makes one row per record across resources and scopes', () => {
    const rows = logsToRows(
      {
        resourceLogs: [
          {
            resource: { attributes: [str('service.name', 'a')] },
            scopeLogs: [{ logRecords: [{ body: { stringValue: '1' } }, { body: { stringValue: '2' } }] }],
          },
          {
            resource: { attributes: [str('service.name', 'b')] },
            scopeLogs: [{ logRecords: [{ body: { stringValue: '3' } }] }],
          },
        ],
      },
      context,
    );
    expect(rows.map((r) => [r.service, r.body])).toEqual([
      ['a', '1'],
      ['a', '2'],
      ['b', '3'],
    ]);
  });
});

describe('spansToRows', () => {
  const base: Span = {
    traceId: Buffer.from(TRACE_ID, 'hex'),
    spanId: Buffer.from(SPAN_ID, 'hex'),
    name: 'GET /users',
    startTimeUnixNano: ns(TS),
    endTimeUnixNano: ns(TS + 1_500_000n),
  };

  it('maps ids, times, duration and resource fields', () => {
    const row = oneSpan({ ...base, parentSpanId: Buffer.from('0102030405060708', 'hex'), traceState: 'k=v' });
    expect(row.traceId).toBe(TRACE_ID);
    expect(row.spanId).toBe(SPAN_ID);
    expect(row.parentSpanId).toBe('0102030405060708');
    expect(row.traceState).toBe('k=v');
    expect(row.startTs).toBe(TS);
    expect(row.endTs).toBe(TS + 1_500_000n);
    expect(row.durationNs).toBe(1_500_000n);
    expect(row.name).toBe('GET /users');
    expect([row.service, row.host, row.entityId, row.scopeName]).toEqual([
      'api',
      'web-1',
      'service/api',
      'http',
    ]);
  });

  it('gives a span that ends before it starts a zero duration', () => {
    expect(oneSpan({ ...base, endTimeUnixNano: ns(TS - 10n) }).durationNs).toBe(0n);
  });

  it('maps every span kind and unknown kinds to unspecified', () => {
    const kinds = [0, 1, 2, 3, 4, 5, 99].map((kind) => oneSpan({ ...base, kind }).kind);
    expect(kinds).toEqual([
      'unspecified',
      'internal',
      'server',
      'client',
      'producer',
      'consumer',
      'unspecified',
    ]);
  });

  it('maps status codes and keeps the status message', () => {
    expect(oneSpan(base).status).toBe('unset');
    expect(oneSpan({ ...base, status: { code: 1 } }).status).toBe('ok');
    const failed = oneSpan({ ...base, status: { code: 2, message: 'timeout' } });
    expect(failed.status).toBe('error');
    expect(failed.statusMessage).toBe('timeout');
  });

  it('writes attributes, events and links as JSON', () => {
    const row = oneSpan({
      ...base,
      attributes: [str('http.method', 'GET')],
      events: [{ timeUnixNano: ns(TS + 1n), name: 'retry', attributes: [str('attempt', '2')] }],
      links: [
        {
          traceId: Buffer.from(TRACE_ID, 'hex'),
          spanId: Buffer.from('0807060504030201', 'hex'),
          traceState: 'a=b',
          attributes: [str('why', 'batch')],
        },
      ],
    });
    expect(JSON.parse(row.attributes)).toEqual({ 'http.method': 'GET' });
    expect(JSON.parse(row.events)).toEqual([
      { timeUnixNano: String(TS + 1n), name: 'retry', attributes: { attempt: '2' } },
    ]);
    expect(JSON.parse(row.links)).toEqual([
      { traceId: TRACE_ID, spanId: '0807060504030201', traceState: 'a=b', attributes: { why: 'batch' } },
    ]);
    const bare = oneSpan(base);
    expect([bare.events, bare.links, bare.attributes]).toEqual(['[]', '[]', '{}']);
  });

  it('identifies a span by org, trace id and span id', () => {
    const first = oneSpan(base);
    expect(oneSpan({ ...base, name: 'renamed' }).id).toBe(first.id);
    expect(oneSpan({ ...base, spanId: Buffer.from('0000000000000001', 'hex') }).id).not.toBe(first.id);
  });
});

describe('metricsToRows', () => {
  it('maps a gauge point with its value, labels and times', () => {
    const [row, ...rest] = metricRows([
      { name: 'cpu', unit: '1', gauge: { dataPoints: [point(0.25, TS, [str('core', '0')])] } },
    ]);
    expect(rest).toEqual([]);
    expect(row).toMatchObject({
      name: 'cpu',
      unit: '1',
      kind: 'gauge',
      temporality: '',
      monotonic: false,
      value: 0.25,
      ts: TS,
      startTs: TS - 1_000n,
      service: 'api',
      host: 'web-1',
      entityId: 'service/api',
      scopeName: 'meter',
      histCount: null,
      bucketCounts: null,
    });
    expect(JSON.parse(row?.labels ?? '')).toEqual({ core: '0' });
  });

  it('maps int and double sums with temporality and monotonicity', () => {
    const rows = metricRows([
      {
        name: 'requests',
        sum: {
          aggregationTemporality: 2,
          isMonotonic: true,
          dataPoints: [{ timeUnixNano: ns(TS), asInt: Long.fromString('-12') }],
        },
      },
      {
        name: 'bytes',
        sum: { aggregationTemporality: 1, isMonotonic: false, dataPoints: [point(2.5, TS)] },
      },
      { name: 'unknown', sum: { dataPoints: [point(1, TS)] } },
    ]);
    expect(rows.map((r) => [r.name, r.kind, r.temporality, r.monotonic, r.value])).toEqual([
      ['requests', 'sum', 'cumulative', true, -12],
      ['bytes', 'sum', 'delta', false, 2.5],
      ['unknown', 'sum', '', false, 1],
    ]);
  });

  it('gives a point with neither int nor double a null value', () => {
    const [row] = metricRows([{ name: 'empty', gauge: { dataPoints: [{ timeUnixNano: ns(TS) }] } }]);
    expect(row?.value).toBeNull();
  });

  it('maps a histogram point with bigint bucket counts, sum, min and max', () => {
    const p: HistogramDataPoint = {
      timeUnixNano: ns(TS),
      count: Long.fromString('9007199254740993', true),
      sum: 12.5,
      min: 0.5,
      max: 9,
      explicitBounds: [1, 5, 10],
      bucketCounts: [
        Long.fromInt(1, true),
        Long.fromInt(0, true),
        Long.fromInt(2, true),
        Long.fromString('9007199254740990', true),
      ],
    };
    const [row] = metricRows([
      { name: 'latency', histogram: { aggregationTemporality: 1, dataPoints: [p] } },
    ]);
    expect(row).toMatchObject({
      kind: 'histogram',
      temporality: 'delta',
      monotonic: false,
      value: null,
      histCount: 9_007_199_254_740_993n,
      histSum: 12.5,
      histMin: 0.5,
      histMax: 9,
      bucketBounds: [1, 5, 10],
      bucketCounts: [1n, 0n, 2n, 9_007_199_254_740_990n],
    });
  });

  it('gives a histogram without sum, min or max nulls for them', () => {
    const [row] = metricRows([
      {
        name: 'latency',
        histogram: { dataPoints: [{ timeUnixNano: ns(TS), count: Long.UZERO, bucketCounts: [] }] },
      },
    ]);
    expect([row?.histSum, row?.histMin, row?.histMax, row?.histCount]).toEqual([null, null, null, 0n]);
    expect(row?.bucketCounts).toEqual([]);
  });

  it('puts points of the same series under one series id, with a distinct id per point', () => {
    const rows = metricRows([
      {
        name: 'cpu',
        gauge: {
          dataPoints: [point(1, TS, [str('core', '0')]), point(2, TS + 1_000n, [str('core', '0')])],
        },
      },
    ]);
    expect(rows).toHaveLength(2);
    expect(rows[0]?.seriesId).toBe(rows[1]?.seriesId);
    expect(rows[0]?.id).not.toBe(rows[1]?.id);
    const again = metricRows([
      { name: 'cpu', gauge: { dataPoints: [point(3, TS + 5_000n, [str('core', '0')])] } },
    ]);
    expect(again[0]?.seriesId).toBe(rows[0]?.seriesId);
  });

  it('puts different labels, names or resources in different series', () => {
    const [core0, core1] = metricRows([
      {
        name: 'cpu',
        gauge: { dataPoints: [point(1, TS, [str('core', '0')]), point(1, TS, [str('core', '1')])] },
      },
    ]);
    expect(core0?.seriesId).not.toBe(core1?.seriesId);
    const [otherName] = metricRows([
      { name: 'mem', gauge: { dataPoints: [point(1, TS, [str('core', '0')])] } },
    ]);
    expect(otherName?.seriesId).not.toBe(core0?.seriesId);
    const [otherService] = metricRows(
      [{ name: 'cpu', gauge: { dataPoints: [point(1, TS, [str('core', '0')])] } }],
      [str('service.name', 'worker')],
    );
    expect(otherService?.seriesId).not.toBe(core0?.seriesId);
  });

  it('gives the same point sent twice the same id', () => {
    const metric: Metric = { name: 'cpu', gauge: { dataPoints: [point(1, TS)] } };
    expect(metricRows([metric])[0]?.id).toBe(metricRows([metric])[0]?.id);
  });

  it('counts summary and exponential histogram points as unsupported and makes no rows for them', () => {
    const result = metricsToRows(
      {
        resourceMetrics: [
          {
            scopeMetrics: [
              {
                metrics: [
                  {
                    name: 's',
                    summary: { dataPoints: [{ timeUnixNano: ns(TS) }, { timeUnixNano: ns(TS) }] },
                  },
                  { name: 'e', exponentialHistogram: { dataPoints: [{ timeUnixNano: ns(TS) }] } },
                  { name: 'g', gauge: { dataPoints: [point(1, TS)] } },
                ],
              },
            ],
          },
        ],
      },
      context,
    );
    expect(result.unsupported).toBe(3);
    expect(result.rows.map((r) => r.name)).toEqual(['g']);
  });
});

describe('metric series identity', () => {
  it('is the same series whatever order the attributes come in', () => {
    const point = (attributes: Array<[string, string]>) =>
      metricsToRows(
        {
          resourceMetrics: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: 's' } }] },
              scopeMetrics: [
                {
                  metrics: [
                    {
                      name: 'm',
                      gauge: {
                        dataPoints: [
                          {
                            timeUnixNano: Long.fromString('1700000000000000000', true),
                            asDouble: 1,
                            attributes: attributes.map(([key, value]) => ({
                              key,
                              value: { stringValue: value },
                            })),
                          },
                        ],
                      },
                    },
                  ],
                },
              ],
            },
          ],
        },
        { orgId: orgId('o'), receivedAtNs: 0n },
      ).rows[0];
    const ab = point([
      ['a', '1'],
      ['b', '2'],
    ]);
    const ba = point([
      ['b', '2'],
      ['a', '1'],
    ]);
    expect(ab?.seriesId).toBe(ba?.seriesId);
    expect(ab?.labels).toBe('{"a":"1","b":"2"}');
    expect(ba?.labels).toBe('{"a":"1","b":"2"}');
  });
});
