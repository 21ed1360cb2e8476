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
import { registerRemoteWrite } from './remote-write.js';
import { validateRumRequest } from './rum.js';
import {
  DEFAULT_RECORD_LIMITS,
  describeRejections,
  validateRequest,
  type Validated,
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
  /** `ingest.rum`; left out, the client address is the socket's. */
  rum?: RumOptions;
  /** What `/readyz` on the ingest port answers; ready when left out. */
  readiness?: () => { ready: boolean; reason?: string };
}

export interface RumOptions {
  /** The client address is the first X-Forwarded-For entry (Sightline behind a reverse proxy). */
  trustProxy: boolean;
}

/** Probes answer without a key. */
const PROBE_PATHS = ['/healthz', '/readyz'];

/** Browsers' events (README.md "Real User Monitoring"). */
const RUM_PATH = '/v1/rum';

/**
 * Browsers post from the pages' own origins, so `/v1/rum` answers CORS (Fetch standard, "CORS
 * protocol"): any origin, since the key travels in a header and not in a cookie. A preflight
 * carries no credentials, so it is answered before authentication.
 */
const RUM_CORS_HEADERS = {
  'access-control-allow-origin': '*',
  // Browsers hide other response headers from scripts; an SDK backs off on Retry-After.
  'access-control-expose-headers': 'retry-after',
};
const RUM_PREFLIGHT_HEADERS = {
  ...RUM_CORS_HEADERS,
  'access-control-allow-methods': 'POST, OPTIONS',
  'access-control-allow-headers': 'authorization, x-api-key, content-type, content-encoding',
  'access-control-max-age': '86400',
};

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

  // Before authentication: a preflight has no key, and a 401 needs the CORS header to be readable.
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.url !== RUM_PATH) return undefined;
    if (request.method === 'OPTIONS') return reply.code(204).headers(RUM_PREFLIGHT_HEADERS).send();
    reply.headers(RUM_CORS_HEADERS);
    return undefined;
  });
  requireApiKey(app, deps.authenticator, PROBE_PATHS);

  app.setErrorHandler((error, request, reply) => sendError(deps, request, reply, error));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      deps,
      request,
      reply,
      new SightlineError(
        'SL_ERR_NOT_FOUND',
        `no ingest endpoint at ${request.method} ${request.url}: POST OTLP to /v1/logs, /v1/metrics or /v1/traces, browser events to /v1/rum, Prometheus remote write to /api/v1/write`,
      ),
    ),
  );

  for (const signal of Object.keys(SIGNALS) as OtlpSignal[]) {
    app.post(`/v1/${signal}`, (request, reply) => handleExport(deps, limits, signal, request, reply));
  }
  app.post(RUM_PATH, (request, reply) => handleRum(deps, limits, request, reply));
  // Prometheus remote write: its own decoding, then the same path as /v1/metrics.
  registerRemoteWrite(app, {
    ...deps,
    maxBodyBytes: limits.maxBodyBytes,
    accept: (orgId, decoded) => acceptRecords(deps, limits, orgId, decoded, undefined),
  });
  // A gateway may run alone (`--role gateway`): load balancers probe it on its own port.
  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/readyz', (_request, reply) => {
    const readiness = deps.readiness?.() ?? { ready: true };
    return reply
      .code(readiness.ready ? 200 : 503)
      .send({ status: readiness.ready ? 'ready' : 'not ready', ...readiness });
  });
  // Answered by the hook above; the route makes OPTIONS a known method on the path.
  app.options(RUM_PATH, (_request, reply) => reply.code(204).headers(RUM_PREFLIGHT_HEADERS).send());
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
  const validated = await acceptRecords(
    deps,
    limits,
    orgId,
    decoded,
    format === 'protobuf' ? body : undefined,
  );
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
 * Validates a decoded request, counts it, publishes what passed and resolves once that is
 * durable. `body`: the protobuf bytes it was decoded from, published as they are when
 * validation changed nothing.
 */
async function acceptRecords(
  deps: GatewayDeps,
  limits: ValidationLimits,
  orgId: string,
  decoded: OtlpRequest,
  body: Uint8Array | undefined,
): Promise<Validated> {
  const { signal } = decoded;
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
    // Re-encoded only when validation left records out or cut values (or there were no protobuf bytes).
    const value =
      body !== undefined && validated.request === decoded ? body : encodeRequest(validated.request);
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
  return validated;
}

/**
 * Browser events: each is checked on its own, the accepted ones are published to `raw-rum` (one
 * message per event, keyed by its session) and the answer lists the rejected ones by index, once
 * the accepted ones are durable.
 */
async function handleRum(
  deps: GatewayDeps,
  limits: ValidationLimits & { maxBodyBytes: number },
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const { orgId } = authOf(request);
  if (request.body === undefined || formatOf(request) !== 'json') {
    throw new SightlineError(
      'SL_ERR_UNSUPPORTED_MEDIA_TYPE',
      'RUM events are JSON: send Content-Type: application/json',
    );
  }
  const body = await readBody(
    request.body as Readable,
    request.headers['content-encoding'],
    limits.maxBodyBytes,
  );
  const validated = validateRumRequest(body, limits, {
    userAgent: request.headers['user-agent'] ?? '',
    clientAddress: clientAddressOf(request, deps.rum?.trustProxy ?? false),
    nowNs: nowNs(),
  });
  const { metrics } = deps;
  const signal = 'rum';
  metrics.recordsReceived.inc({ signal }, validated.received);
  for (const { reason } of validated.rejections) {
    metrics.recordsRejected.inc({ signal, reason });
    metrics.ingestRejected.inc({ org: orgId, signal, reason });
  }
  const { records } = validated;
  if (records.length > 0) {
    const headers = {
      [HEADERS.orgId]: orgId,
      [HEADERS.contentType]: CONTENT_TYPES.json,
      [HEADERS.schemaVersion]: SCHEMA_VERSION,
      [HEADERS.receivedAt]: String(Date.now()),
    };
    const published = deps.bus.publish(
      TOPICS.rawRum,
      records.map((record) => ({
        key: record.sessionId,
        value: Buffer.from(JSON.stringify(record)),
        headers,
      })),
    );
    await withinAckTimeout(published, deps);
    metrics.recordsAccepted.inc({ signal }, records.length);
  }
  return reply.code(200).header('content-type', CONTENT_TYPES.json).send({
    accepted: records.length,
    rejected: validated.rejections.length,
    errors: validated.rejections,
  });
}

/**
 * Where a browser event came from, for GeoIP only (it is not stored). Behind a reverse proxy the
 * socket is the proxy's; with `trustProxy` the first X-Forwarded-For entry is taken, which the
 * client itself may have written unless the proxy replaces the header: only a location is at stake.
 */
function clientAddressOf(request: FastifyRequest, trustProxy: boolean): string {
  if (trustProxy) {
    const header = request.headers['x-forwarded-for'];
    const first = (Array.isArray(header) ? header[0] : header)?.split(',', 1)[0]?.trim();
    if (first) return first;
  }
  return request.socket.remoteAddress ?? '';
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
  // Browsers read JSON whatever they sent.
  const format = request.routeOptions.url === RUM_PATH ? 'json' : formatOf(request);
  // The rest of an oversized body is drained and dropped, and the connection is not reused.
  if (error.status === 413) reply.header('connection', 'close');
  return reply
    .header('content-type', CONTENT_TYPES[format])
    .send(Buffer.from(encodeStatus(format, GRPC_CODE[error.status] ?? 2, `${error.code}: ${error.message}`)));
}
