import type { FastifyInstance } from 'fastify';
import { authOf } from '../auth/http.js';
import type { SelfMetrics } from '../core/telemetry.js';
import { metricsForOrg } from './org-metrics.js';
import { NO_SECURITY, errorResponses, ok } from './route-schemas.js';

export interface Readiness {
  ready: boolean;
  reason?: string;
}

export interface ProcessRouteDeps {
  metrics: SelfMetrics;
  readiness: () => Readiness;
}

/** The process's own endpoints, paths that stay public (no key) for probes. */
export const PROCESS_PUBLIC_PATHS = ['/healthz', '/readyz'] as const;

/**
 * `/healthz`, `/readyz` and `/metrics`: on the API port with the query API, and on their own
 * (ops-app.ts) in a process without the api role, so every process of a scale-out deployment
 * can be probed and scraped. `/metrics` needs a key and shows the caller's org only.
 */
export function registerProcessRoutes(app: FastifyInstance, deps: ProcessRouteDeps): void {
  app.get('/healthz', { schema: HEALTHZ_SCHEMA }, () => ({ status: 'ok' }));
  app.get('/readyz', { schema: READYZ_SCHEMA }, (_request, reply) => {
    const readiness = deps.readiness();
    return reply
      .code(readiness.ready ? 200 : 503)
      .send({ status: readiness.ready ? 'ready' : 'not ready', ...readiness });
  });
  app.get('/metrics', { schema: SELF_METRICS_SCHEMA }, async (request, reply) =>
    reply
      .type(deps.metrics.registry.contentType)
      .send(metricsForOrg(await deps.metrics.registry.metrics(), authOf(request).orgId)),
  );
}

const HEALTHZ_SCHEMA = {
  summary: 'Liveness',
  description: 'Answers while the process serves HTTP. No key needed.',
  tags: ['process'],
  security: NO_SECURITY,
  response: {
    200: ok('Alive.', {
      type: 'object',
      required: ['status'],
      properties: { status: { const: 'ok' } },
    }),
  },
};

function readyzResponse(description: string) {
  return {
    description,
    type: 'object',
    required: ['status', 'ready'],
    properties: {
      status: { type: 'string', enum: ['ready', 'not ready'] },
      ready: { type: 'boolean' },
      reason: { type: 'string' },
    },
  };
}

const READYZ_SCHEMA = {
  summary: 'Readiness',
  description: '200 once the store is open and the pipeline runs, else 503 with the reason. No key needed.',
  tags: ['process'],
  security: NO_SECURITY,
  response: {
    200: readyzResponse('Ready.'),
    503: readyzResponse('Not ready (starting or stopping).'),
  },
};

const SELF_METRICS_SCHEMA = {
  summary: 'Self-metrics',
  description:
    'The process’s own telemetry (received, dropped, errors, queues, store) in the Prometheus text format: ' +
    'the process-wide samples and those of the caller’s org; other orgs’ samples are left out.',
  tags: ['process'],
  response: {
    200: {
      description: 'Prometheus text exposition format 0.0.4.',
      content: { 'text/plain': { schema: { type: 'string' } } },
    },
    ...errorResponses(401),
  },
};
