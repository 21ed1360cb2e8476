import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyAuthenticator } from '../auth/authenticator.js';
import { authOf, requireApiKey } from '../auth/http.js';
import type { Bus } from '../bus/bus.js';
import { CONTENT_TYPES, HEADERS, SCHEMA_VERSION, TOPICS, type Topic } from '../bus/topics.js';
import { SightlineError } from '../core/errors.js';
import { newHttpApp, prepareErrorReply } from '../core/http.js';
import type { Logger } from '../core/logger.js';
import type { SelfMetrics } from '../core/telemetry.js';
import { nowNs } from '../core/time.js';
import { decodeRequest, encodeExportResponse, encodeRequest, encodeStatus } from '../otlp/codec.js';
import type { OtlpFormat, OtlpRequest, OtlpSignal } from '../otlp/types.js';
import { bytesToHex, stringAttribute } from '../otlp/values.js';
import { readBody } from './body.js';
import {
  DEFAULT_RECORD_LIMITS,
  describeRejections,
  validateRequest,
  type ValidationLimits,
} from './validate.js';

/** Body and record limits; each `ingest.limits` value left out takes its default. */
export type GatewayLimits = { maxBodyBytes: number } & Pick<ValidationLimits, 'maxAttributeDepth'> &
  Partial<typeof DEFAULT_RECORD_LIMITS>;

export interface GatewayDeps {
  authenticator: ApiKeyAuthenticator;
  bus: Bus;
  metrics: SelfMetrics;
  logger: Logger;
  limits: GatewayLimits;
  /** Longest wait for the bus to make a batch durable before answering 503. */
  ackTimeoutMs: number;
  retryAfterSeconds: number;
}

const SIGNALS: Record<OtlpSignal, { topic: Topic; unit: string }> = {
  logs: { topic: TOPICS.otelLogs, unit: 'log records' },
  traces: { topic: TOPICS.otelTraces, unit: 'spans' },
  metrics: { topic: TOPICS.otelMetrics, unit: 'data points' },
};

/**
 * The OTLP/HTTP receiver (OTLP specification, "OTLP/HTTP"): binary protobuf or JSON, gzip,
 * partial success for per-record problems, google.rpc.Status bodies for errors, and 2xx only
 * once the records are durable.
 */
export function buildGatewayApp(deps: GatewayDeps): FastifyInstance {
  const app = newHttpApp(deps.logger);
  const limits = { ...DEFAULT_RECORD_LIMITS, ...definedOnly(deps.limits) };

  // Bodies stay streams here: readBody applies the size limit during decompression.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser([CONTENT_TYPES.protobuf, CONTENT_TYPES.json], (_request, payload, done) =>
    done(null, payload),
  );

  requireApiKey(app, deps.authenticator);

  app.setErrorHandler((error, request, reply) => sendError(deps, request, reply, error));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      deps,
      request,
      reply,
      new SightlineError(
        'SL_ERR_NOT_FOUND',
        `no OTLP endpoint at ${request.method} ${request.url}: POST to /v1/logs, /v1/metrics or /v1/traces`,
      ),
    ),
  );

  for (const signal of Object.keys(SIGNALS) as OtlpSignal[]) {
    app.post(`/v1/${signal}`, (request, reply) => handleExport(deps, limits, signal, request, reply));
  }
  return app;
}

/** The values that are set: an explicit undefined must not replace a default. */
function definedOnly<T extends object>(values: T): T {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as T;
}

async function handleExport(
  deps: GatewayDeps,
  limits: ValidationLimits & { maxBodyBytes: number },
  signal: OtlpSignal,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const { orgId } = authOf(request);
  const format = formatOf(request);
  if (request.body === undefined) {
    throw new SightlineError(
      'SL_ERR_UNSUPPORTED_MEDIA_TYPE',
      'the request has no body or no Content-Type: send application/x-protobuf or application/json',
    );
  }
  const body = await readBody(
    request.body as Readable,
    request.headers['content-encoding'],
    limits.maxBodyBytes,
  );
  const decoded = decodeRequest(signal, format, body);
  const validated = validateRequest(decoded, limits, nowNs());
  const { metrics } = deps;
  metrics.recordsReceived.inc({ signal }, validated.received);
  for (const [reason, { count }] of validated.reasons) {
    metrics.recordsRejected.inc({ signal, reason }, count);
    metrics.ingestRejected.inc({ org: orgId, signal, reason }, count);
  }
  for (const [reason, { count }] of validated.truncations)
    metrics.ingestTruncated.inc({ org: orgId, signal, reason }, count);

  const accepted = validated.received - validated.rejected;
  if (accepted > 0) {
    // Re-encoded only when validation left records out or cut values (or the body was JSON).
    const value =
      format === 'protobuf' && validated.request === decoded ? body : encodeRequest(validated.request);
    const published = deps.bus.publish(SIGNALS[signal].topic, [
      {
        key: messageKey(validated.request),
        value,
        headers: {
          [HEADERS.orgId]: orgId,
          [HEADERS.contentType]: CONTENT_TYPES.protobuf,
          [HEADERS.schemaVersion]: SCHEMA_VERSION,
          [HEADERS.receivedAt]: String(Date.now()),
        },
      },
    ]);
    await withinAckTimeout(published, deps);
    metrics.recordsAccepted.inc({ signal }, accepted);
  }
  // OTLP spec, "Partial Success": rejected 0 with a message is a warning (here: values cut short).
  const partial =
    validated.rejected === 0 && validated.truncated === 0
      ? undefined
      : { rejected: validated.rejected, errorMessage: describeRejections(validated, SIGNALS[signal].unit) };
  return reply
    .code(200)
    .header('content-type', CONTENT_TYPES[format])
    .send(Buffer.from(encodeExportResponse(signal, format, partial)));
}

/**
 * Waits for the batch to be durable, but not forever: a stuck store must not hold clients and
 * their connections without end. The batch stays queued and may still be stored; a retry of
 * it is then stored once.
 */
async function withinAckTimeout(published: Promise<void>, deps: GatewayDeps): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new SightlineError(
            'SL_ERR_STORE_UNAVAILABLE',
            `the records were not stored within ${deps.ackTimeoutMs / 1000} s (the store is slow or failing); send them again later`,
            { retryAfterSeconds: deps.retryAfterSeconds },
          ),
        ),
      deps.ackTimeoutMs,
    );
  });
  // After a timeout nobody awaits the publish any more; its outcome is the bus's to report.
  published.catch(() => undefined);
  try {
    await Promise.race([published, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function formatOf(request: FastifyRequest): OtlpFormat {
  const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  return type === CONTENT_TYPES.protobuf ? 'protobuf' : 'json';
}

/** Partition key per DESIGN.md: service for logs, trace id for traces, entity for metrics. */
function messageKey(request: OtlpRequest): string {
  switch (request.signal) {
    case 'logs':
      return stringAttribute(request.message.resourceLogs?.[0]?.resource?.attributes, 'service.name');
    case 'traces':
      return bytesToHex(request.message.resourceSpans?.[0]?.scopeSpans?.[0]?.spans?.[0]?.traceId);
    case 'metrics': {
      const attributes = request.message.resourceMetrics?.[0]?.resource?.attributes;
      return (
        stringAttribute(attributes, 'sightline.entity.id') || stringAttribute(attributes, 'service.name')
      );
    }
  }
}

/** gRPC status codes for the google.rpc.Status body, by HTTP status. */
const GRPC_CODE: Record<number, number> = {
  400: 3,
  401: 16,
  404: 5,
  413: 3,
  415: 3,
  429: 8,
  503: 14,
  500: 13,
};

function sendError(
  deps: GatewayDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  thrown: unknown,
): FastifyReply {
  const error = prepareErrorReply('ingest', thrown, { ...deps, request, reply });
  const format = formatOf(request);
  // The rest of an oversized body is drained and dropped, and the connection is not reused.
  if (error.status === 413) reply.header('connection', 'close');
  return reply
    .header('content-type', CONTENT_TYPES[format])
    .send(Buffer.from(encodeStatus(format, GRPC_CODE[error.status] ?? 2, `${error.code}: ${error.message}`)));
}
