import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { compressSync } from 'snappy';
import { afterEach, describe, expect, it } from 'vitest';
import { remoteWriteBody, REMOTE_WRITE_HEADERS, writeRequestOf } from '../../test/helpers/remote-write.js';
import { hashApiKey } from '../auth/api-key.js';
import { ApiKeyAuthenticator } from '../auth/authenticator.js';
import type { IncomingMessage } from '../bus/bus.js';
import { MemoryBus } from '../bus/memory.js';
import { HEADERS, TOPICS } from '../bus/topics.js';
import { silentLogger } from '../core/logger.js';
import { SelfMetrics } from '../core/telemetry.js';
import { decodeRequest } from '../otlp/codec.js';
import type { MetricsRequest } from '../otlp/types.js';
import { attributesToObject, toBigInt } from '../otlp/values.js';
import type { ControlStore } from '../store/control-store.js';
import { orgId } from '../store/rows.js';
import { buildGatewayApp } from './gateway-app.js';
import { encodeWriteRequest, type PromWriteRequest } from './prometheus/prompb.js';
import { remoteWriteToOtlp } from './remote-write.js';

const KEY = 'sl_gateway_prw_test_key_0001';
const ORG = orgId('org_prw');
const NOW = Date.now();

/** Each point of a converted request, flattened: resource, name, labels, time, value. */
function pointsOf(message: MetricsRequest) {
  return (message.resourceMetrics ?? []).flatMap((rm) =>
    (rm.scopeMetrics ?? []).flatMap((sm) =>
      (sm.metrics ?? []).flatMap((metric) =>
        (metric.gauge?.dataPoints ?? []).map((p) => ({
          resource: attributesToObject(rm.resource?.attributes),
          name: metric.name,
          labels: attributesToObject(p.attributes),
          timeUnixNano: toBigInt(p.timeUnixNano),
          value: p.asDouble,
        })),
      ),
    ),
  );
}

describe('remoteWriteToOtlp', () => {
  it('maps each sample to a gauge point: the name unchanged, job and instance to the resource and kept as labels', () => {
    const converted = remoteWriteToOtlp(
      writeRequestOf([
        {
          labels: {
            __name__: 'node_cpu_seconds_total',
            job: 'node',
            instance: 'h1:9100',
            cpu: '0',
            mode: 'idle',
          },
          samples: [
            [1_718_000_000_123, 12.5],
            [1_718_000_015_123, 13.75],
          ],
        },
        {
          labels: {
            __name__: 'node_cpu_seconds_total',
            job: 'node',
            instance: 'h1:9100',
            cpu: '1',
            mode: 'idle',
          },
          samples: [[1_718_000_000_123, 7]],
        },
        { labels: { __name__: 'up', job: 'node', instance: 'h2:9100' }, samples: [[1_718_000_000_000, 1]] },
      ]),
    );
    expect(converted.rejected).toBe(0);
    const message = converted.request.message;
    expect(message.resourceMetrics).toHaveLength(2);
    // One metric per name per resource, its series' points together.
    expect(message.resourceMetrics?.[0]?.scopeMetrics?.[0]?.metrics?.map((m) => m.name)).toEqual([
      'node_cpu_seconds_total',
    ]);
    expect(pointsOf(message)).toEqual([
      {
        resource: { 'service.name': 'node', 'service.instance.id': 'h1:9100' },
        name: 'node_cpu_seconds_total',
        labels: { cpu: '0', instance: 'h1:9100', job: 'node', mode: 'idle' },
        timeUnixNano: 1_718_000_000_123_000_000n,
        value: 12.5,
      },
      {
        resource: { 'service.name': 'node', 'service.instance.id': 'h1:9100' },
        name: 'node_cpu_seconds_total',
        labels: { cpu: '0', instance: 'h1:9100', job: 'node', mode: 'idle' },
        timeUnixNano: 1_718_000_015_123_000_000n,
        value: 13.75,
      },
      {
        resource: { 'service.name': 'node', 'service.instance.id': 'h1:9100' },
        name: 'node_cpu_seconds_total',
        labels: { cpu: '1', instance: 'h1:9100', job: 'node', mode: 'idle' },
        timeUnixNano: 1_718_000_000_123_000_000n,
        value: 7,
      },
      {
        resource: { 'service.name': 'node', 'service.instance.id': 'h2:9100' },
        name: 'up',
        labels: { instance: 'h2:9100', job: 'node' },
        timeUnixNano: 1_718_000_000_000_000_000n,
        value: 1,
      },
    ]);
  });

  it('keeps values exactly: negative zero, tiny, huge, infinities and a NaN that is not a staleness marker', () => {
    const values = [-0, 5e-324, 1.7976931348623157e308, Infinity, -Infinity, Number.NaN, 0.1 + 0.2];
    const converted = remoteWriteToOtlp(
      writeRequestOf([{ labels: { __name__: 'x' }, samples: values.map((v, i) => [NOW + i, v] as const) }]),
    );
    expect(pointsOf(converted.request.message).map((p) => p.value)).toEqual(values);
  });

  it('drops staleness markers and counts them apart from rejections', () => {
    const converted = remoteWriteToOtlp(
      writeRequestOf([{ labels: { __name__: 'up', job: 'a' }, samples: [[NOW, 1]], staleAt: [NOW + 1000] }]),
    );
    expect(converted.staleMarkers).toBe(1);
    expect(converted.rejected).toBe(0);
    expect(pointsOf(converted.request.message).map((p) => p.value)).toEqual([1]);
  });

  it('leaves out a series without __name__ or with a label twice, and native histograms, counting each', () => {
    const write: PromWriteRequest = writeRequestOf([
      { labels: { job: 'a' }, samples: [[NOW, 1]] },
      { labels: { __name__: 'kept', job: 'a' }, samples: [[NOW, 2]] },
      { labels: { __name__: 'hist', job: 'a' }, samples: [] },
    ]);
    write.timeseries.push({
      labels: [
        { name: '__name__', value: 'twice' },
        { name: 'a', value: '1' },
        { name: 'a', value: '2' },
      ],
      samples: [
        { value: 1, timestampMs: BigInt(NOW) },
        { value: 2, timestampMs: BigInt(NOW + 1) },
      ],
      exemplars: 0,
      histograms: 0,
    });
    write.timeseries[2]!.histograms = 3;
    const converted = remoteWriteToOtlp(write);
    expect(pointsOf(converted.request.message).map((p) => p.name)).toEqual(['kept']);
    expect(converted.rejected).toBe(6);
    expect(Object.fromEntries([...converted.reasons].map(([r, { count }]) => [r, count]))).toEqual({
      missing_metric_name: 1,
      unsupported_metric_type: 3,
      invalid_label_name: 2,
    });
    expect(converted.reasons.get('invalid_label_name')?.detail).toContain('"a" appears twice');
  });

  it('treats an empty label value as no label, and a series without job or instance as a resource without them', () => {
    const converted = remoteWriteToOtlp(
      writeRequestOf([{ labels: { __name__: 'temp', job: '', room: '', floor: '2' }, samples: [[NOW, 21]] }]),
    );
    expect(pointsOf(converted.request.message)).toEqual([
      {
        resource: {},
        name: 'temp',
        labels: { floor: '2' },
        timeUnixNano: BigInt(NOW) * 1_000_000n,
        value: 21,
      },
    ]);
  });

  it('rejects timestamps before 1970 or past 2262 instead of wrapping them', () => {
    const write = writeRequestOf([{ labels: { __name__: 'x' }, samples: [[NOW, 1]] }]);
    write.timeseries[0]!.samples.push(
      { value: 2, timestampMs: -1n },
      { value: 3, timestampMs: 0n },
      { value: 4, timestampMs: 2n ** 62n },
    );
    const converted = remoteWriteToOtlp(write);
    expect(pointsOf(converted.request.message).map((p) => p.value)).toEqual([1]);
    expect(converted.reasons.get('invalid_timestamp')?.count).toBe(3);
  });
});

/** Knows one key, of ORG; the control store is not what is under test. */
const control = {
  findApiKeyByHash: async (hash: string) =>
    hash === hashApiKey(KEY)
      ? { id: 'key_1', orgId: ORG, name: 'test', prefix: 'sl_gate', createdAt: new Date(), revokedAt: null }
      : undefined,
} as unknown as ControlStore;

interface Harness {
  gateway: FastifyInstance;
  bus: MemoryBus;
  metrics: SelfMetrics;
  published: IncomingMessage[];
}

const open: Harness[] = [];

afterEach(async () => {
  for (const { gateway, bus } of open.splice(0)) {
    await gateway.close();
    await bus.shutdown();
  }
});

async function harness(options: { maxQueueMessages?: number; hold?: Promise<void> } = {}): Promise<Harness> {
  const logger = silentLogger();
  const bus = new MemoryBus(
    {
      maxQueueBytes: 1 << 24,
      maxQueueMessages: options.maxQueueMessages ?? 1000,
      retryAfterSeconds: 3,
      drainTimeoutMs: 100,
    },
    logger,
  );
  const published: IncomingMessage[] = [];
  await bus.consume(
    { group: 'test', topic: TOPICS.otelMetrics, maxBatchMessages: 100, maxBatchBytes: 1 << 24, maxWaitMs: 0 },
    async (messages) => {
      await options.hold;
      published.push(...messages);
    },
  );
  const metrics = new SelfMetrics({ processMetrics: false });
  const gateway = buildGatewayApp({
    authenticator: new ApiKeyAuthenticator(control),
    bus,
    metrics,
    logger,
    limits: { maxBodyBytes: 64 * 1024, maxAttributeDepth: 8 },
    ackTimeoutMs: 2000,
    retryAfterSeconds: 3,
  });
  const h = { gateway, bus, metrics, published };
  open.push(h);
  return h;
}

async function post(gateway: FastifyInstance, body: Uint8Array, headers: Record<string, string> = {}) {
  return gateway.inject({
    method: 'POST',
    url: '/api/v1/write',
    headers: { ...REMOTE_WRITE_HEADERS, authorization: `Bearer ${KEY}`, ...headers },
    payload: Buffer.from(body),
  });
}

async function counter(metrics: SelfMetrics, name: string): Promise<Record<string, number>> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return Object.fromEntries(
    (metric?.values ?? []).map((v) => [Object.values(v.labels).join('/'), v.value] as const),
  );
}

function publishedPoints(published: IncomingMessage[]) {
  return published.flatMap((m) => {
    const request = decodeRequest('metrics', 'protobuf', m.value);
    return request.signal === 'metrics' ? pointsOf(request.message) : [];
  });
}

const UP = { labels: { __name__: 'up', job: 'node', instance: 'h1:9100' }, samples: [[NOW, 1]] as const };

describe('POST /api/v1/write', () => {
  it('answers 204 once the samples are on otel-metrics as OTLP, with the bus headers of /v1/metrics', async () => {
    const { gateway, published, metrics } = await harness();
    const response = await post(gateway, remoteWriteBody([UP]));
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');
    expect(published).toHaveLength(1);
    expect(published[0]?.key).toBe('node');
    expect(published[0]?.headers).toMatchObject({
      [HEADERS.orgId]: ORG,
      [HEADERS.contentType]: 'application/x-protobuf',
    });
    expect(publishedPoints(published)).toEqual([
      {
        resource: { 'service.name': 'node', 'service.instance.id': 'h1:9100' },
        name: 'up',
        labels: { job: 'node', instance: 'h1:9100' },
        timeUnixNano: BigInt(NOW) * 1_000_000n,
        value: 1,
      },
    ]);
    expect(await counter(metrics, 'sightline_records_accepted_total')).toEqual({ metrics: 1 });
  });

  it('takes a body without Content-Type or Content-Encoding, as Prometheus does', async () => {
    const { gateway, published } = await harness();
    const response = await gateway.inject({
      method: 'POST',
      url: '/api/v1/write',
      headers: { authorization: `Bearer ${KEY}` },
      payload: remoteWriteBody([UP]),
    });
    expect(response.statusCode).toBe(204);
    expect(published).toHaveLength(1);
  });

  it('answers 401 in plain text without a key, and publishes nothing', async () => {
    const { gateway, published } = await harness();
    const response = await post(gateway, remoteWriteBody([UP]), { authorization: '' });
    expect(response.statusCode).toBe(401);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    expect(response.body).toMatch(/^SL_ERR_UNAUTHENTICATED: /);
    expect(published).toEqual([]);
  });

  it('answers 415 to another Content-Encoding or message type, saying what to send', async () => {
    const { gateway, published } = await harness();
    const gzip = await post(gateway, gzipSync(encodeWriteRequest(writeRequestOf([UP]))), {
      'content-encoding': 'gzip',
    });
    expect(gzip.statusCode).toBe(415);
    expect(gzip.body).toContain('Content-Encoding "gzip" is not accepted on /api/v1/write');
    expect(gzip.body).toContain('Content-Encoding: snappy');
    const json = await post(gateway, Buffer.from('{}'), { 'content-type': 'application/json' });
    expect(json.statusCode).toBe(415);
    const v2 = await post(gateway, remoteWriteBody([UP]), {
      'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
    });
    expect(v2.statusCode).toBe(415);
    expect(v2.body).toContain('remote write 2.0');
    expect(published).toEqual([]);
  });

  it('answers 400 to a body that is not snappy, or not a WriteRequest, and publishes nothing', async () => {
    const { gateway, published, metrics } = await harness();
    const plain = await post(gateway, encodeWriteRequest(writeRequestOf([UP])));
    expect(plain.statusCode).toBe(400);
    expect(plain.body).toMatch(/^SL_ERR_MALFORMED_BODY: the body is not snappy block-compressed data/);
    const framed = await post(gateway, Buffer.from('\xff\x06\x00\x00sNaPpY', 'latin1'));
    expect(framed.statusCode).toBe(400);
    const garbage = await post(gateway, compressSync(Buffer.from([0x0a, 0x05, 0x01])));
    expect(garbage.statusCode).toBe(400);
    expect(garbage.body).toContain('is not a Prometheus remote write 1.0 prometheus.WriteRequest');
    const empty = await post(gateway, new Uint8Array());
    expect(empty.statusCode).toBe(400);
    expect(published).toEqual([]);
    expect(await counter(metrics, 'sightline_http_errors_total')).toEqual({
      'ingest/SL_ERR_MALFORMED_BODY': 4,
    });
  });

  it('answers 413 to a body that would inflate past ingest.maxBodyBytes, before inflating it', async () => {
    const { gateway } = await harness();
    const big = writeRequestOf([
      { labels: { __name__: 'x', pad: 'p'.repeat(100 * 1024) }, samples: [[NOW, 1]] },
    ]);
    const response = await post(gateway, remoteWriteBody(big));
    expect(response.statusCode).toBe(413);
    expect(response.body).toContain('after decompression');
  });

  it('stores the rest of a request with rejected series, answers 204 and counts the rejections', async () => {
    const { gateway, published, metrics } = await harness();
    const write = writeRequestOf([
      UP,
      { labels: { job: 'node' }, samples: [[NOW, 5]] },
      { labels: { __name__: 'old', job: 'node' }, samples: [[NOW - 30 * 86_400_000, 5]] },
      { labels: { __name__: 'gone', job: 'node' }, samples: [], staleAt: [NOW] },
    ]);
    write.timeseries.push({ ...write.timeseries[0]!, samples: [], histograms: 2 });
    const response = await post(gateway, remoteWriteBody(write));
    expect(response.statusCode).toBe(204);
    expect(publishedPoints(published).map((p) => p.name)).toEqual(['up']);
    expect(await counter(metrics, 'sightline_ingest_rejected_total')).toEqual({
      'org_prw/metrics/missing_metric_name': 1,
      'org_prw/metrics/unsupported_metric_type': 2,
      'org_prw/metrics/timestamp_too_old': 1,
    });
    expect(await counter(metrics, 'sightline_records_received_total')).toEqual({ metrics: 5 });
    expect(await counter(metrics, 'sightline_stage_records_total')).toEqual({
      'org_prw/dropped/metricPoints/stale_marker': 1,
    });
  });

  it('answers 400 with the reasons when nothing of the request could be stored', async () => {
    const { gateway, published } = await harness();
    const response = await post(
      gateway,
      remoteWriteBody([{ labels: { __name__: 'future' }, samples: [[NOW + 3 * 86_400_000, 1]] }]),
    );
    expect(response.statusCode).toBe(400);
    expect(response.body).toMatch(/^SL_ERR_BAD_REQUEST: 1 of 1 samples rejected: timestamp_in_future \(1\)/);
    expect(published).toEqual([]);
  });

  it('answers 204 to a request of staleness markers only, storing nothing', async () => {
    const { gateway, published } = await harness();
    const response = await post(
      gateway,
      remoteWriteBody([{ labels: { __name__: 'up' }, samples: [], staleAt: [NOW] }]),
    );
    expect(response.statusCode).toBe(204);
    expect(published).toEqual([]);
  });

  it('answers 503 with Retry-After when the pipeline is full', async () => {
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    const { gateway, published } = await harness({ maxQueueMessages: 1, hold });
    const first = post(gateway, remoteWriteBody([UP]));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = await post(gateway, remoteWriteBody([{ ...UP, samples: [[NOW + 1, 0]] }]));
    expect(second.statusCode).toBe(503);
    expect(second.headers['retry-after']).toBe('3');
    expect(second.body).toMatch(/^SL_ERR_BUS_FULL: /);
    release();
    expect((await first).statusCode).toBe(204);
    expect(published).toHaveLength(1);
  });
});
