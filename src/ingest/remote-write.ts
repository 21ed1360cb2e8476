import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Long from 'long';
import { uncompress } from 'snappy';
import type { AuthContext } from '../auth/authenticator.js';
import { authOf } from '../auth/http.js';
import { CONTENT_TYPES } from '../bus/topics.js';
import { SightlineError } from '../core/errors.js';
import { prepareErrorReply } from '../core/http.js';
import type { Logger } from '../core/logger.js';
import type { SelfMetrics } from '../core/telemetry.js';
import { MAX_TIME_NS } from '../core/time.js';
import type { KeyValue, Metric, MetricsRequest, OtlpRequest, ResourceMetrics } from '../otlp/types.js';
import { readBody, tooLarge } from './body.js';
import { decodeWriteRequest, type PromTimeSeries, type PromWriteRequest } from './prometheus/prompb.js';
import { describeRejections, type RejectReason, type Validated } from './validate.js';

/**
 * Prometheus remote write 1.0 (https://prometheus.io/docs/specs/prw/remote_write_spec/) on the
 * ingest port: a snappy-compressed `prometheus.WriteRequest` becomes an OTLP metrics request and
 * takes the gateway's path from there (validation, `otel-metrics`, 2xx once durable).
 */
export const REMOTE_WRITE_PATH = '/api/v1/write';

const METRIC_NAME = '__name__';
const JOB = 'job';
const INSTANCE = 'instance';
const NS_PER_MS = 1_000_000n;
const MAX_TIME_MS = MAX_TIME_NS / NS_PER_MS;

const SEND_HINT =
  'Prometheus remote write 1.0 sends a snappy block-compressed prometheus.WriteRequest with ' +
  'Content-Type: application/x-protobuf and Content-Encoding: snappy';

/** A WriteRequest as OTLP, with what could not be carried over. */
export interface Converted {
  request: OtlpRequest & { signal: 'metrics' };
  /** Samples (and native histogram samples) left out before validation. */
  rejected: number;
  reasons: Map<RejectReason, { count: number; detail: string }>;
  /** Staleness markers dropped: Sightline stores no sample for "this series ended". */
  staleMarkers: number;
}

/**
 * One ResourceMetrics per (job, instance), with `service.name` = job and `service.instance.id` =
 * instance; one gauge per metric name, a data point per sample with every label but `__name__`
 * as a string attribute (job and instance too, so selectors on them work on the points alone).
 *
 * Every sample is a gauge point, also for counters: Prometheus sends metadata in requests of its
 * own, apart from the samples (and not at all with `metadata_config.send: false`), so a kind
 * taken from it would change with the request and split a series in two (the kind is part of a
 * stored series' identity). The value is stored as sent either way.
 */
export function remoteWriteToOtlp(write: PromWriteRequest): Converted {
  const resources = new Map<string, { resource: ResourceMetrics; metrics: Map<string, Metric> }>();
  const reasons = new Map<RejectReason, { count: number; detail: string }>();
  let rejected = 0;
  let staleMarkers = 0;
  const reject = (reason: RejectReason, detail: string, count: number): void => {
    if (count === 0) return;
    rejected += count;
    const seen = reasons.get(reason);
    if (seen === undefined) reasons.set(reason, { count, detail });
    else seen.count += count;
  };

  for (const series of write.timeseries) {
    const stale = series.samples.reduce((n, sample) => n + (sample.stale ? 1 : 0), 0);
    staleMarkers += stale;
    const problem = seriesProblem(series);
    if (problem !== undefined) {
      reject(problem.reason, problem.detail, series.samples.length - stale + series.histograms);
      continue;
    }
    const name = labelValue(series, METRIC_NAME);
    reject(
      'unsupported_metric_type',
      `series of "${name}" carry native histogram samples, which Sightline does not store; classic histograms (the _bucket, _sum and _count series) are stored`,
      series.histograms,
    );
    const job = labelValue(series, JOB);
    const instance = labelValue(series, INSTANCE);
    const attributes: KeyValue[] = [];
    for (const label of series.labels) {
      // Prometheus' data model: a label with an empty value is a label the series does not have.
      if (label.name !== METRIC_NAME && label.value !== '')
        attributes.push({ key: label.name, value: { stringValue: label.value } });
    }
    const dataPoints = [];
    for (const sample of series.samples) {
      if (sample.stale) continue;
      const ms = sample.timestampMs;
      if (ms <= 0n || ms > MAX_TIME_MS) {
        reject(
          'invalid_timestamp',
          `a sample of "${name}" has the timestamp ${ms} ms, which is not between 1970 and 2262`,
          1,
        );
        continue;
      }
      dataPoints.push({
        attributes,
        timeUnixNano: Long.fromString(String(ms * NS_PER_MS), true),
        asDouble: sample.value,
      });
    }
    if (dataPoints.length === 0) continue;

    const resourceKey = `${job}\u0000${instance}`;
    let entry = resources.get(resourceKey);
    if (entry === undefined) {
      const resourceAttributes: KeyValue[] = [];
      if (job !== '') resourceAttributes.push({ key: 'service.name', value: { stringValue: job } });
      if (instance !== '')
        resourceAttributes.push({ key: 'service.instance.id', value: { stringValue: instance } });
      entry = { resource: { resource: { attributes: resourceAttributes } }, metrics: new Map() };
      resources.set(resourceKey, entry);
    }
    const metric = entry.metrics.get(name);
    if (metric?.gauge?.dataPoints) metric.gauge.dataPoints.push(...dataPoints);
    else entry.metrics.set(name, { name, gauge: { dataPoints } });
  }

  const message: MetricsRequest = {
    resourceMetrics: [...resources.values()].map(({ resource, metrics }) => ({
      ...resource,
      scopeMetrics: [{ metrics: [...metrics.values()] }],
    })),
  };
  return { request: { signal: 'metrics', message }, rejected, reasons, staleMarkers };
}

/** What makes a whole series unusable, as Prometheus' own receiver sees it (write_handler.go). */
function seriesProblem(series: PromTimeSeries): { reason: RejectReason; detail: string } | undefined {
  const seen = new Set<string>();
  for (const { name } of series.labels) {
    if (seen.has(name)) {
      return {
        reason: 'invalid_label_name',
        detail: `the label ${JSON.stringify(name)} appears twice in series ${seriesText(series)}`,
      };
    }
    seen.add(name);
  }
  if (labelValue(series, METRIC_NAME) === '') {
    return {
      reason: 'missing_metric_name',
      detail: `series ${seriesText(series)} has no ${METRIC_NAME} label`,
    };
  }
  return undefined;
}

function labelValue(series: PromTimeSeries, name: string): string {
  return series.labels.find((label) => label.name === name)?.value ?? '';
}

/** A series for a message, `{a="b", …}`, cut short. */
function seriesText(series: PromTimeSeries): string {
  const text = `{${series.labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(', ')}}`;
  return text.length <= 200 ? text : `${text.slice(0, 199)}…`;
}

/**
 * Reads and decodes a remote write body. Lenient where Prometheus' receiver is (no Content-Type
 * or Content-Encoding: protobuf and snappy assumed; X-Prometheus-Remote-Write-Version not
 * checked), strict where it is (another encoding or message: 415; bytes that are not snappy or
 * not a WriteRequest: 400). The size limit holds before and after decompression.
 */
export async function readRemoteWrite(
  headers: FastifyRequest['headers'],
  body: Readable | undefined,
  maxBodyBytes: number,
): Promise<PromWriteRequest> {
  if (body === undefined)
    throw new SightlineError('SL_ERR_MALFORMED_BODY', `the request has no body: ${SEND_HINT}`);
  // Read first: the client gets to read the answer only once its body is taken.
  const raw = await readBody(body, undefined, maxBodyBytes);
  const encoding = headers['content-encoding']?.trim().toLowerCase() ?? '';
  if (encoding !== '' && encoding !== 'snappy') {
    throw new SightlineError(
      'SL_ERR_UNSUPPORTED_MEDIA_TYPE',
      `Content-Encoding "${headers['content-encoding'] ?? ''}" is not accepted on ${REMOTE_WRITE_PATH}: ${SEND_HINT}`,
    );
  }
  const typeProblem = contentTypeProblem(headers['content-type']);
  if (typeProblem !== undefined) {
    throw new SightlineError(
      'SL_ERR_UNSUPPORTED_MEDIA_TYPE',
      `${typeProblem} on ${REMOTE_WRITE_PATH}: ${SEND_HINT}`,
    );
  }
  const decompressed = await unsnappy(raw, maxBodyBytes);
  try {
    return decodeWriteRequest(decompressed);
  } catch (error) {
    throw new SightlineError(
      'SL_ERR_MALFORMED_BODY',
      `the body is not a Prometheus remote write 1.0 prometheus.WriteRequest after snappy decompression (${(error as Error).message}); ${SEND_HINT}`,
    );
  }
}

/** undefined when the Content-Type is remote write 1.0's (or missing, as old senders leave it). */
function contentTypeProblem(contentType: string | undefined): string | undefined {
  if (contentType === undefined || contentType.trim() === '') return undefined;
  const [media = '', ...parameters] = contentType.split(';').map((part) => part.trim());
  if (media.toLowerCase() !== CONTENT_TYPES.protobuf) return `Content-Type "${contentType}" is not accepted`;
  // Remote write 2.0 names its message: `application/x-protobuf;proto=io.prometheus.write.v2.Request`.
  const proto = parameters.find((p) => p.toLowerCase().startsWith('proto='))?.slice('proto='.length);
  if (proto !== undefined && proto !== 'prometheus.WriteRequest')
    return `the message ${proto} (remote write 2.0) is not accepted, only prometheus.WriteRequest (set protobuf_message: prometheus.WriteRequest)`;
  return undefined;
}

/**
 * Snappy block format (https://github.com/google/snappy/blob/main/format_description.txt):
 * the uncompressed length comes first as a varint, so a body that would inflate past the limit
 * is refused before anything is decompressed.
 */
async function unsnappy(raw: Buffer, maxBytes: number): Promise<Buffer> {
  const length = uncompressedLength(raw);
  if (length === undefined) {
    throw new SightlineError(
      'SL_ERR_MALFORMED_BODY',
      `the body is not snappy block-compressed data (it does not start with a length); ${SEND_HINT}`,
    );
  }
  if (length > maxBytes) throw tooLarge(maxBytes, 'after decompression');
  try {
    return (await uncompress(raw, { asBuffer: true })) as Buffer;
  } catch (error) {
    throw new SightlineError(
      'SL_ERR_MALFORMED_BODY',
      `the body is not snappy block-compressed data (${(error as Error).message}); ${SEND_HINT} (block format, not the framed/streaming format)`,
    );
  }
}

/** The varint preamble of a snappy block (at most 32 bits), or undefined when there is none. */
function uncompressedLength(raw: Uint8Array): number | undefined {
  let value = 0;
  for (let i = 0; i < 5 && i < raw.length; i++) {
    const byte = raw[i] ?? 0;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return value;
  }
  return undefined;
}

export interface RemoteWriteDeps {
  metrics: SelfMetrics;
  logger: Logger;
  maxBodyBytes: number;
  /** The gateway's path for a decoded request: validate, count, publish, resolve once durable. */
  accept(orgId: AuthContext['orgId'], request: OtlpRequest): Promise<Validated>;
}

/**
 * `POST /api/v1/write`, in a plugin of its own: it takes bodies with any Content-Type (or none)
 * and answers errors in plain text, as Prometheus' receiver does and its sender logs them.
 *
 * Answers (as prometheus/prometheus storage/remote/write_handler.go for 1.0): 204 once the
 * accepted samples are durable; series Prometheus would skip (duplicate labels, no name) and
 * series Sightline cannot store (native histograms) are left out and counted, the rest stored,
 * still 204. When nothing of a request could be stored, 400 with the reasons, which a sender
 * does not retry (Prometheus answers 400 to samples outside its time bounds). 503 with
 * Retry-After when the pipeline is full, which a sender retries.
 */
export function registerRemoteWrite(app: FastifyInstance, deps: RemoteWriteDeps): void {
  void app.register(async (scope) => {
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    scope.setErrorHandler((error, request, reply) => sendTextError(deps, request, reply, error));
    scope.post(REMOTE_WRITE_PATH, (request, reply) => handleRemoteWrite(deps, request, reply));
  });
}

async function handleRemoteWrite(
  deps: RemoteWriteDeps,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const { orgId } = authOf(request);
  const write = await readRemoteWrite(
    request.headers,
    request.body as Readable | undefined,
    deps.maxBodyBytes,
  );
  const converted = remoteWriteToOtlp(write);
  const { metrics } = deps;
  const signal = 'metrics';
  metrics.recordsReceived.inc({ signal }, converted.rejected);
  for (const [reason, { count }] of converted.reasons) {
    metrics.recordsRejected.inc({ signal, reason }, count);
    metrics.ingestRejected.inc({ org: orgId, signal, reason }, count);
  }
  if (converted.staleMarkers > 0) {
    metrics.stageRecords.inc(
      { org: orgId, outcome: 'dropped', kind: 'metricPoints', reason: 'stale_marker' },
      converted.staleMarkers,
    );
  }
  const validated = await deps.accept(orgId, converted.request);
  const all = mergeRejections(validated, converted);
  if (all.rejected > 0) {
    const message = describeRejections(all, 'samples');
    deps.logger.debug({ org: orgId, rejected: all.rejected }, `remote write: ${message}`);
    if (all.rejected === all.received) throw new SightlineError('SL_ERR_BAD_REQUEST', message);
  }
  return reply.code(204).send();
}

/** The gateway's validation result with the samples left out before it, for one message. */
function mergeRejections(validated: Validated, converted: Converted): Validated {
  if (converted.rejected === 0) return validated;
  const reasons = new Map(converted.reasons);
  for (const [reason, { count, detail }] of validated.reasons) {
    const seen = reasons.get(reason);
    reasons.set(reason, seen === undefined ? { count, detail } : { ...seen, count: seen.count + count });
  }
  return {
    ...validated,
    received: validated.received + converted.rejected,
    rejected: validated.rejected + converted.rejected,
    reasons,
  };
}

function sendTextError(
  deps: RemoteWriteDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  thrown: unknown,
): FastifyReply {
  const error = prepareErrorReply('ingest', thrown, { ...deps, request, reply });
  if (error.status === 413) reply.header('connection', 'close');
  return reply.type('text/plain; charset=utf-8').send(`${error.code}: ${error.message}\n`);
}
