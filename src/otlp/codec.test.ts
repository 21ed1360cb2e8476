import Long from 'long';
import { describe, expect, it } from 'vitest';
import { logsOf, metricsOf, tracesOf } from '../../test/helpers/otlp.js';
import { thrown } from '../../test/helpers/thrown.js';
import {
  decodeExportResponse,
  decodeRequest,
  decodeStatus,
  encodeExportResponse,
  encodeRequest,
  encodeStatus,
} from './codec.js';
import { opentelemetry } from './generated/otlp.js';
import { MAX_JSON_NESTING } from './json.js';
import type {
  LogRecord,
  LogsRequest,
  Metric,
  MetricsRequest,
  OtlpRequest,
  OtlpSignal,
  Span,
  TracesRequest,
} from './types.js';
import { anyValueToJson, attributesToObject, bytesToHex, toBigInt } from './values.js';

const collector = opentelemetry.proto.collector.v1;
const TS = 1_700_000_000_123_456_789n;
const TRACE_ID_HEX = '5b8efff798038103d269b633813fc60c';
const SPAN_ID_HEX = 'eee19b7ec3c1b174';

function must<T>(value: T | null | undefined): T {
  if (value === null || value === undefined) throw new Error('expected a value');
  return value;
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function firstLog(message: LogsRequest): LogRecord {
  return must(message.resourceLogs?.[0]?.scopeLogs?.[0]?.logRecords?.[0]);
}

function firstSpan(message: TracesRequest): Span {
  return must(message.resourceSpans?.[0]?.scopeSpans?.[0]?.spans?.[0]);
}

function firstMetric(message: MetricsRequest): Metric {
  return must(message.resourceMetrics?.[0]?.scopeMetrics?.[0]?.metrics?.[0]);
}

function decodeJson(signal: OtlpSignal, json: unknown): OtlpRequest {
  return decodeRequest(signal, 'json', utf8(JSON.stringify(json)));
}

function jsonLogs(record: Record<string, unknown>): unknown {
  return { resourceLogs: [{ scopeLogs: [{ logRecords: [record] }] }] };
}

describe('decodeRequest (protobuf)', () => {
  it('decodes a logs request with nanosecond timestamps intact', () => {
    const body = collector.ExportLogsServiceRequest.encode({
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
          scopeLogs: [
            {
              scope: { name: 'my-lib' },
              logRecords: [
                {
                  timeUnixNano: Long.fromString(String(TS), true),
                  observedTimeUnixNano: Long.fromString('1700000000999999999', true),
                  severityNumber: 17,
                  severityText: 'ERROR',
                  body: { stringValue: 'disk full' },
                  traceId: Buffer.from(TRACE_ID_HEX, 'hex'),
                  spanId: Buffer.from(SPAN_ID_HEX, 'hex'),
                  attributes: [{ key: 'retries', value: { intValue: Long.fromInt(-3) } }],
                },
              ],
            },
          ],
        },
      ],
    }).finish();
    const message = logsOf(decodeRequest('logs', 'protobuf', body));
    const record = firstLog(message);
    expect(toBigInt(record.timeUnixNano)).toBe(TS);
    expect(toBigInt(record.observedTimeUnixNano)).toBe(1_700_000_000_999_999_999n);
    expect(record.severityNumber).toBe(17);
    expect(record.severityText).toBe('ERROR');
    expect(anyValueToJson(record.body)).toBe('disk full');
    expect(bytesToHex(record.traceId)).toBe(TRACE_ID_HEX);
    expect(bytesToHex(record.spanId)).toBe(SPAN_ID_HEX);
    expect(attributesToObject(record.attributes)).toEqual({ retries: -3 });
    expect(attributesToObject(message.resourceLogs?.[0]?.resource?.attributes)).toEqual({
      'service.name': 'api',
    });
    expect(message.resourceLogs?.[0]?.scopeLogs?.[0]?.scope?.name).toBe('my-lib');
  });

  it('decodes a traces request with start and end times intact', () => {
    const body = collector.ExportTraceServiceRequest.encode({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: Buffer.from(TRACE_ID_HEX, 'hex'),
                  spanId: Buffer.from(SPAN_ID_HEX, 'hex'),
                  name: 'GET /users',
                  kind: 2,
                  startTimeUnixNano: Long.fromString(String(TS), true),
                  endTimeUnixNano: Long.fromString(String(TS + 1_500_000n), true),
                  status: { code: 2, message: 'boom' },
                },
              ],
            },
          ],
        },
      ],
    }).finish();
    const span = firstSpan(tracesOf(decodeRequest('traces', 'protobuf', body)));
    expect(toBigInt(span.startTimeUnixNano)).toBe(TS);
    expect(toBigInt(span.endTimeUnixNano)).toBe(TS + 1_500_000n);
    expect(span.name).toBe('GET /users');
    expect(span.kind).toBe(2);
    expect(span.status?.code).toBe(2);
    expect(span.status?.message).toBe('boom');
    expect(bytesToHex(span.traceId)).toBe(TRACE_ID_HEX);
  });

  it('decodes a metrics request with point times and 64-bit values intact', () => {
    const body = collector.ExportMetricsServiceRequest.encode({
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'requests',
                  sum: {
                    aggregationTemporality: 2,
                    isMonotonic: true,
                    dataPoints: [
                      {
                        timeUnixNano: Long.fromString(String(TS), true),
                        startTimeUnixNano: Long.fromString('1699999999000000001', true),
                        asInt: Long.fromString('9007199254740993'),
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    }).finish();
    const metric = firstMetric(metricsOf(decodeRequest('metrics', 'protobuf', body)));
    expect(metric.name).toBe('requests');
    expect(metric.sum?.aggregationTemporality).toBe(2);
    expect(metric.sum?.isMonotonic).toBe(true);
    const point = must(metric.sum?.dataPoints?.[0]);
    expect(toBigInt(point.timeUnixNano)).toBe(TS);
    expect(toBigInt(point.startTimeUnixNano)).toBe(1_699_999_999_000_000_001n);
    expect(toBigInt(point.asInt, true)).toBe(9_007_199_254_740_993n);
  });

  it('rejects bytes that are not protobuf as a malformed body', () => {
    const error = thrown(() =>
      decodeRequest('traces', 'protobuf', new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])),
    );
    expect(error.code).toBe('SL_ERR_MALFORMED_BODY');
    expect(error.status).toBe(400);
    expect(error.message).toContain('the body is not a valid OTLP traces protobuf message');
    expect(error.message).toContain('send an ExportTraceServiceRequest');
  });

  it('rejects a truncated message as a malformed body', () => {
    const body = collector.ExportLogsServiceRequest.encode({
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'some text here' } }] }] }],
    }).finish();
    const error = thrown(() => decodeRequest('logs', 'protobuf', body.slice(0, body.length - 3)));
    expect(error.code).toBe('SL_ERR_MALFORMED_BODY');
    expect(error.message).toContain('the body is not a valid OTLP logs protobuf message');
    expect(error.message).toContain('send an ExportLogsServiceRequest');
  });

  it('rejects values nested beyond the decoder recursion limit as a malformed body', () => {
    // Built by hand: the encoder itself refuses values this deep.
    const field = (tag: number, payload: Buffer): Buffer => {
      const length: number[] = [];
      let n = payload.length;
      while (n > 0x7f) {
        length.push((n & 0x7f) | 0x80);
        n >>>= 7;
      }
      length.push(n);
      return Buffer.concat([Buffer.from([tag, ...length]), payload]);
    };
    const logWithBodyNested = (levels: number): Uint8Array => {
      let value: Buffer = Buffer.from([0x0a, 0x01, 0x78]); // AnyValue { string_value: "x" }
      for (let i = 0; i < levels; i++) value = field(0x2a, field(0x0a, value)); // array_value { values: [value] }
      // request.resource_logs[0].scope_logs[0].log_records[0].body
      return field(0x0a, field(0x12, field(0x12, field(0x2a, value))));
    };
    const shallow = firstLog(logsOf(decodeRequest('logs', 'protobuf', logWithBodyNested(2))));
    expect(anyValueToJson(shallow.body)).toEqual([['x']]);

    const error = thrown(() => decodeRequest('logs', 'protobuf', logWithBodyNested(500)));
    expect(error.code).toBe('SL_ERR_MALFORMED_BODY');
    expect(error.message).toContain(
      'the body is not a valid OTLP logs protobuf message (values are nested too deeply to decode)',
    );
  });
});

describe('decodeRequest (OTLP/JSON)', () => {
  it('decodes hex trace and span ids, upper or lower case, into bytes', () => {
    const message = logsOf(
      decodeJson(
        'logs',
        jsonLogs({
          traceId: '5B8EFFF798038103D269B633813FC60C',
          spanId: 'EEE19B7EC3C1B174',
          body: { stringValue: 'x' },
        }),
      ),
    );
    const record = firstLog(message);
    expect(Buffer.from(must(record.traceId)).equals(Buffer.from(TRACE_ID_HEX, 'hex'))).toBe(true);
    expect(bytesToHex(record.spanId)).toBe(SPAN_ID_HEX);
    expect(
      bytesToHex(firstLog(logsOf(decodeJson('logs', jsonLogs({ traceId: TRACE_ID_HEX })))).traceId),
    ).toBe(TRACE_ID_HEX);
  });

  it('reads 64-bit integers from decimal strings exactly and from numbers', () => {
    const record = firstLog(
      logsOf(
        decodeJson(
          'logs',
          jsonLogs({
            timeUnixNano: String(TS),
            observedTimeUnixNano: 1_700_000_000_000,
            attributes: [
              { key: 'big', value: { intValue: '-9223372036854775808' } },
              { key: 'small', value: { intValue: 42 } },
            ],
          }),
        ),
      ),
    );
    expect(toBigInt(record.timeUnixNano)).toBe(TS);
    expect(toBigInt(record.observedTimeUnixNano)).toBe(1_700_000_000_000n);
    expect(attributesToObject(record.attributes)).toEqual({ big: '-9223372036854775808', small: 42 });
  });

  it('reads the largest unsigned 64-bit timestamp', () => {
    const record = firstLog(logsOf(decodeJson('logs', jsonLogs({ timeUnixNano: '18446744073709551615' }))));
    expect(toBigInt(record.timeUnixNano)).toBe(18_446_744_073_709_551_615n);
  });

  it('reads enums given as integers or as names', () => {
    expect(firstLog(logsOf(decodeJson('logs', jsonLogs({ severityNumber: 9 })))).severityNumber).toBe(9);
    expect(
      firstLog(logsOf(decodeJson('logs', jsonLogs({ severityNumber: 'SEVERITY_NUMBER_ERROR' }))))
        .severityNumber,
    ).toBe(17);
    const span = firstSpan(
      tracesOf(
        decodeJson('traces', {
          resourceSpans: [
            {
              scopeSpans: [
                {
                  spans: [
                    {
                      traceId: TRACE_ID_HEX,
                      spanId: SPAN_ID_HEX,
                      kind: 'SPAN_KIND_CLIENT',
                      status: { code: 'STATUS_CODE_ERROR', message: 'timeout' },
                    },
                  ],
                },
              ],
            },
          ],
        }),
      ),
    );
    expect(span.kind).toBe(3);
    expect(span.status).toEqual({ code: 2, message: 'timeout' });
  });

  it('accepts the original snake_case field names', () => {
    const message = logsOf(
      decodeJson('logs', {
        resource_logs: [
          {
            scope_logs: [
              {
                log_records: [
                  {
                    time_unix_nano: String(TS),
                    severity_number: 13,
                    severity_text: 'WARN',
                    trace_id: TRACE_ID_HEX,
                    span_id: SPAN_ID_HEX,
                    event_name: 'db.slow',
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    const record = firstLog(message);
    expect(toBigInt(record.timeUnixNano)).toBe(TS);
    expect(record.severityNumber).toBe(13);
    expect(record.severityText).toBe('WARN');
    expect(bytesToHex(record.traceId)).toBe(TRACE_ID_HEX);
    expect(bytesToHex(record.spanId)).toBe(SPAN_ID_HEX);
    expect(record.eventName).toBe('db.slow');
  });

  it('reads bytesValue as base64 and doubles given as "NaN" and "Infinity"', () => {
    const record = firstLog(
      logsOf(
        decodeJson(
          'logs',
          jsonLogs({
            attributes: [
              { key: 'raw', value: { bytesValue: '3q2+7w==' } },
              { key: 'nan', value: { doubleValue: 'NaN' } },
              { key: 'inf', value: { doubleValue: 'Infinity' } },
              { key: 'ninf', value: { doubleValue: '-Infinity' } },
              { key: 'num', value: { doubleValue: 2.5 } },
            ],
          }),
        ),
      ),
    );
    const byKey = new Map((record.attributes ?? []).map((kv) => [kv.key, kv.value]));
    expect([...must(byKey.get('raw')?.bytesValue)]).toEqual([0xde, 0xad, 0xbe, 0xef]);
    expect(byKey.get('nan')?.doubleValue).toBeNaN();
    expect(byKey.get('inf')?.doubleValue).toBe(Infinity);
    expect(byKey.get('ninf')?.doubleValue).toBe(-Infinity);
    expect(byKey.get('num')?.doubleValue).toBe(2.5);
  });

  it('decodes sums and histograms with their temporality, counts and bounds', () => {
    const message = metricsOf(
      decodeJson('metrics', {
        resourceMetrics: [
          {
            scopeMetrics: [
              {
                metrics: [
                  {
                    name: 'requests',
                    sum: {
                      aggregationTemporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE',
                      isMonotonic: true,
                      dataPoints: [{ timeUnixNano: String(TS), asInt: '7' }],
                    },
                  },
                  {
                    name: 'latency',
                    unit: 'ms',
                    histogram: {
                      aggregationTemporality: 1,
                      dataPoints: [
                        {
                          timeUnixNano: String(TS),
                          count: '3',
                          sum: 12.5,
                          bucketCounts: ['1', 2, '0'],
                          explicitBounds: [5, 10],
                          min: 'NaN',
                          max: 9,
                        },
                      ],
                    },
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    const metrics = must(message.resourceMetrics?.[0]?.scopeMetrics?.[0]?.metrics);
    const sum = must(metrics[0]?.sum);
    expect(sum.aggregationTemporality).toBe(2);
    expect(sum.isMonotonic).toBe(true);
    expect(toBigInt(must(sum.dataPoints?.[0]).asInt, true)).toBe(7n);
    const histogram = must(metrics[1]?.histogram);
    expect(metrics[1]?.unit).toBe('ms');
    expect(histogram.aggregationTemporality).toBe(1);
    const point = must(histogram.dataPoints?.[0]);
    expect(toBigInt(point.count)).toBe(3n);
    expect(point.sum).toBe(12.5);
    expect((point.bucketCounts ?? []).map((c) => toBigInt(c))).toEqual([1n, 2n, 0n]);
    expect(point.explicitBounds).toEqual([5, 10]);
    expect(point.min).toBeNaN();
    expect(point.max).toBe(9);
  });

  it('treats a JSON null body as an empty request', () => {
    expect(logsOf(decodeRequest('logs', 'json', utf8('null')))).toEqual({ resourceLogs: [] });
    expect(logsOf(decodeRequest('logs', 'json', utf8('{}')))).toEqual({ resourceLogs: [] });
  });

  it('survives JSON → decode → protobuf encode → protobuf decode with the same fields', () => {
    const original = decodeJson('logs', {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
          scopeLogs: [
            {
              scope: { name: 'pino', version: '9' },
              logRecords: [
                {
                  timeUnixNano: String(TS),
                  observedTimeUnixNano: '1700000000223456789',
                  severityNumber: 'SEVERITY_NUMBER_WARN',
                  severityText: 'warn',
                  body: {
                    kvlistValue: {
                      values: [
                        { key: 'msg', value: { stringValue: 'slow query' } },
                        { key: 'rows', value: { intValue: '9007199254740993' } },
                      ],
                    },
                  },
                  attributes: [
                    {
                      key: 'tags',
                      value: { arrayValue: { values: [{ stringValue: 'a' }, { boolValue: true }] } },
                    },
                  ],
                  traceId: TRACE_ID_HEX.toUpperCase(),
                  spanId: SPAN_ID_HEX,
                  flags: 1,
                },
              ],
            },
          ],
        },
      ],
    });
    const roundTripped = logsOf(decodeRequest('logs', 'protobuf', encodeRequest(original)));
    const before = firstLog(logsOf(original));
    const after = firstLog(roundTripped);
    expect(toBigInt(after.timeUnixNano)).toBe(TS);
    expect(toBigInt(after.observedTimeUnixNano)).toBe(toBigInt(before.observedTimeUnixNano));
    expect(after.severityNumber).toBe(13);
    expect(after.severityText).toBe('warn');
    expect(anyValueToJson(after.body)).toEqual({ msg: 'slow query', rows: '9007199254740993' });
    expect(anyValueToJson(after.body)).toEqual(anyValueToJson(before.body));
    expect(attributesToObject(after.attributes)).toEqual({ tags: ['a', true] });
    expect(bytesToHex(after.traceId)).toBe(TRACE_ID_HEX);
    expect(bytesToHex(after.spanId)).toBe(SPAN_ID_HEX);
    expect(after.flags).toBe(1);
    expect(attributesToObject(roundTripped.resourceLogs?.[0]?.resource?.attributes)).toEqual({
      'service.name': 'checkout',
    });
    expect(roundTripped.resourceLogs?.[0]?.scopeLogs?.[0]?.scope?.version).toBe('9');
  });

  it('survives a traces round trip with events and links', () => {
    const original = decodeJson('traces', {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: TRACE_ID_HEX,
                  spanId: SPAN_ID_HEX,
                  parentSpanId: '0102030405060708',
                  name: 'query',
                  kind: 3,
                  startTimeUnixNano: String(TS),
                  endTimeUnixNano: String(TS + 42n),
                  events: [{ timeUnixNano: String(TS + 1n), name: 'retry' }],
                  links: [{ traceId: TRACE_ID_HEX, spanId: '0807060504030201' }],
                },
              ],
            },
          ],
        },
      ],
    });
    const span = firstSpan(tracesOf(decodeRequest('traces', 'protobuf', encodeRequest(original))));
    expect(bytesToHex(span.parentSpanId)).toBe('0102030405060708');
    expect(toBigInt(span.endTimeUnixNano) - toBigInt(span.startTimeUnixNano)).toBe(42n);
    expect(span.events?.map((e) => [e.name, toBigInt(e.timeUnixNano)])).toEqual([['retry', TS + 1n]]);
    expect(span.links?.map((l) => bytesToHex(l.spanId))).toEqual(['0807060504030201']);
  });

  it('rejects text that is not JSON as a malformed body with the parser message', () => {
    const error = thrown(() => decodeRequest('logs', 'json', utf8('{"resourceLogs":')));
    expect(error.code).toBe('SL_ERR_MALFORMED_BODY');
    expect(error.message.startsWith('the body is not valid JSON: ')).toBe(true);
    expect(error.message.length).toBeGreaterThan('the body is not valid JSON: '.length);
  });

  it('rejects resourceLogs that is not an array, naming the field', () => {
    const error = thrown(() => decodeJson('logs', { resourceLogs: {} }));
    expect(error.code).toBe('SL_ERR_MALFORMED_BODY');
    expect(error.message).toBe(
      'the body is not a valid OTLP/JSON logs request: resourceLogs: expected an array, got an object',
    );
  });

  it('rejects a JSON array body', () => {
    const error = thrown(() => decodeJson('metrics', []));
    expect(error.code).toBe('SL_ERR_MALFORMED_BODY');
    expect(error.message).toContain('$: expected an object, got an array');
  });

  it('rejects a bad hex id with the JSON path of the field', () => {
    const error = thrown(() => decodeJson('logs', jsonLogs({ traceId: 'xyz' })));
    expect(error.code).toBe('SL_ERR_MALFORMED_BODY');
    expect(error.message).toContain(
      'resourceLogs[0].scopeLogs[0].logRecords[0].traceId: expected a hex-encoded id, got "xyz"',
    );
  });

  it('rejects a bad span id in a span with the JSON path of the field', () => {
    const error = thrown(() =>
      decodeJson('traces', { resourceSpans: [{ scopeSpans: [{ spans: [{}, { spanId: 'abc' }] }] }] }),
    );
    expect(error.message).toContain('resourceSpans[0].scopeSpans[0].spans[1].spanId');
  });

  it('rejects an int64 that is not a decimal number with the JSON path of the field', () => {
    const error = thrown(() => decodeJson('logs', jsonLogs({ timeUnixNano: '12a' })));
    expect(error.code).toBe('SL_ERR_MALFORMED_BODY');
    expect(error.message).toContain(
      'resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano: expected an unsigned 64-bit integer (a decimal string or number), got "12a"',
    );
  });

  it('rejects a negative unsigned timestamp and an int64 beyond 64 bits', () => {
    expect(thrown(() => decodeJson('logs', jsonLogs({ timeUnixNano: '-1' }))).message).toContain(
      'timeUnixNano',
    );
    expect(thrown(() => decodeJson('logs', jsonLogs({ timeUnixNano: '18446744073709551616' }))).code).toBe(
      'SL_ERR_MALFORMED_BODY',
    );
    expect(thrown(() => decodeJson('logs', jsonLogs({ timeUnixNano: 1.5 }))).code).toBe(
      'SL_ERR_MALFORMED_BODY',
    );
  });

  it('rejects an unknown enum name with the JSON path of the field', () => {
    const error = thrown(() => decodeJson('logs', jsonLogs({ severityNumber: 'LOUD' })));
    expect(error.message).toContain('resourceLogs[0].scopeLogs[0].logRecords[0].severityNumber');
  });

  it('accepts attribute values nested exactly MAX_JSON_NESTING deep and rejects one level more', () => {
    const nested = (levels: number): unknown => {
      let value: unknown = { stringValue: 'leaf' };
      for (let i = 1; i < levels; i++) value = { arrayValue: { values: [value] } };
      return value;
    };
    const ok = decodeJson('logs', jsonLogs({ attributes: [{ key: 'a', value: nested(MAX_JSON_NESTING) }] }));
    expect(firstLog(logsOf(ok)).attributes).toHaveLength(1);

    const error = thrown(() =>
      decodeJson('logs', jsonLogs({ attributes: [{ key: 'a', value: nested(MAX_JSON_NESTING + 1) }] })),
    );
    expect(error.code).toBe('SL_ERR_MALFORMED_BODY');
    expect(error.message).toContain(`attribute values are nested deeper than ${MAX_JSON_NESTING} levels`);
    expect(error.message).toContain(
      'resourceLogs[0].scopeLogs[0].logRecords[0].attributes[0].value.arrayValue',
    );
  });
});

describe('export responses', () => {
  it('answers JSON success without partial success as an empty object', () => {
    expect(Buffer.from(encodeExportResponse('logs', 'json')).toString()).toBe('{}');
  });

  it('answers JSON partial success with the signal-specific count as a string', () => {
    const partial = { rejected: 2, errorMessage: '2 of 5 log records rejected' };
    expect(JSON.parse(Buffer.from(encodeExportResponse('logs', 'json', partial)).toString())).toEqual({
      partialSuccess: { rejectedLogRecords: '2', errorMessage: '2 of 5 log records rejected' },
    });
    expect(Buffer.from(encodeExportResponse('traces', 'json', partial)).toString()).toBe(
      '{"partialSuccess":{"rejectedSpans":"2","errorMessage":"2 of 5 log records rejected"}}',
    );
    expect(Buffer.from(encodeExportResponse('metrics', 'json', partial)).toString()).toBe(
      '{"partialSuccess":{"rejectedDataPoints":"2","errorMessage":"2 of 5 log records rejected"}}',
    );
  });

  it('round-trips protobuf responses through decodeExportResponse for every signal', () => {
    for (const signal of ['logs', 'traces', 'metrics'] as const) {
      const partial = { rejected: 7, errorMessage: `bad ${signal}` };
      expect(decodeExportResponse(signal, encodeExportResponse(signal, 'protobuf', partial))).toEqual(
        partial,
      );
      expect(decodeExportResponse(signal, encodeExportResponse(signal, 'protobuf'))).toBeUndefined();
    }
  });

  it('encodes an error status as JSON or as google.rpc.Status', () => {
    expect(JSON.parse(Buffer.from(encodeStatus('json', 3, 'bad body')).toString())).toEqual({
      code: 3,
      message: 'bad body',
    });
    expect(decodeStatus(encodeStatus('protobuf', 8, 'pipeline full'))).toEqual({
      code: 8,
      message: 'pipeline full',
    });
  });
});

describe('decoding each buffer once', () => {
  it('returns the same decoded request for the same buffer, and decodes a copy anew', () => {
    const bytes = Buffer.from(
      opentelemetry.proto.collector.v1.ExportLogsServiceRequest.encode({
        resourceLogs: [{ scopeLogs: [{ logRecords: [{ severityText: 'INFO' }] }] }],
      }).finish(),
    );
    const first = decodeRequest('logs', 'protobuf', bytes);
    expect(decodeRequest('logs', 'protobuf', bytes)).toBe(first);
    const copy = decodeRequest('logs', 'protobuf', Buffer.from(bytes));
    expect(copy).not.toBe(first);
    expect(copy).toEqual(first);
  });

  it('knows what it encoded, so the processor reads the gateway validated request as is', () => {
    const request = decodeRequest(
      'logs',
      'json',
      Buffer.from('{"resourceLogs":[{"scopeLogs":[{"logRecords":[{}]}]}]}'),
    );
    const bytes = encodeRequest(request);
    expect(decodeRequest('logs', 'protobuf', bytes)).toBe(request);
  });

  it('does not mistake a buffer for another signal', () => {
    const bytes = encodeRequest({ signal: 'logs', message: { resourceLogs: [] } });
    expect(decodeRequest('traces', 'protobuf', bytes).signal).toBe('traces');
  });
});
