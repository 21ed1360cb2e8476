import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authOf } from '../auth/http.js';
import { SightlineError } from '../core/errors.js';
import { runInstantQuery, runRangeQuery, type PromqlContext } from '../query/promql-query.js';
import type { QueryLimits } from '../query/query-limits.js';
import type { Store } from '../store/store.js';
import { bodyParsedByRoute, errorResponses, object, ok } from './route-schemas.js';

export interface MetricQueryRouteDeps {
  store: Store;
  limits: QueryLimits;
  now: () => number;
}

const TIME = {
  description: 'RFC 3339 or Unix seconds (a number or a numeric string)',
  type: ['string', 'number'],
};

const QUERY_ANSWER = ok(
  'The result, as Prometheus gives it.',
  object({
    data: object(
      {
        resultType: { type: 'string', enum: ['matrix', 'vector', 'scalar', 'string'] },
        result: {
          description:
            'matrix: [{metric, values: [[seconds, "value"], …]}]; vector: [{metric, value: [seconds, "value"]}]; ' +
            'scalar and string: [seconds, "value"].',
        },
      },
      "Prometheus' query result.",
    ),
    meta: object({ query: { type: 'string' } }),
  }),
);

const QUERY_ERRORS = errorResponses(400, 401, 422, 503);

const INSTANT_BODY = {
  type: 'object',
  required: ['query'],
  properties: {
    query: { type: 'string', description: 'A PromQL expression (docs/metrics-query.md)' },
    time: TIME,
  },
};

const RANGE_BODY = {
  type: 'object',
  required: ['query', 'start', 'end', 'step'],
  properties: {
    query: { type: 'string', description: 'A PromQL expression (docs/metrics-query.md)' },
    start: TIME,
    end: TIME,
    step: { description: 'Seconds or a duration (15s, 1m, 1h)', type: ['string', 'number'] },
  },
};

/**
 * `POST /api/v1/metrics/query` and `/query_range`: the PromQL subset (docs/metrics-query.md)
 * with a JSON body, answered in Sightline's envelope (`{data, meta}`); `data` is Prometheus'
 * `{resultType, result}`, so the same charts read both APIs.
 */
export function registerMetricQueryRoutes(app: FastifyInstance, deps: MetricQueryRouteDeps): void {
  const context = (request: FastifyRequest): PromqlContext => ({
    store: deps.store,
    org: authOf(request).orgId,
    limits: deps.limits,
    nowMs: deps.now(),
  });
  app.post(
    '/api/v1/metrics/query',
    {
      ...bodyParsedByRoute,
      schema: {
        summary: 'Evaluates a PromQL expression at one time',
        description:
          'An instant query of the PromQL subset (docs/metrics-query.md) over the caller’s metrics, at `time` (default now).',
        tags: ['metrics'],
        body: INSTANT_BODY,
        response: { 200: QUERY_ANSWER, ...QUERY_ERRORS },
      },
    },
    async (request) => {
      const body = bodyOf(request);
      const data = await runInstantQuery(context(request), {
        query: text(body.query),
        time: text(body.time),
      });
      return { data, meta: { query: body.query } };
    },
  );
  app.post(
    '/api/v1/metrics/query_range',
    {
      ...bodyParsedByRoute,
      schema: {
        summary: 'Evaluates a PromQL expression over a range at a step',
        description:
          'A range query of the PromQL subset (docs/metrics-query.md): the expression at start, start + step, … up to end; at most 11,000 steps.',
        tags: ['metrics'],
        body: RANGE_BODY,
        response: { 200: QUERY_ANSWER, ...QUERY_ERRORS },
      },
    },
    async (request) => {
      const body = bodyOf(request);
      const data = await runRangeQuery(context(request), {
        query: text(body.query),
        start: text(body.start),
        end: text(body.end),
        step: text(body.step),
      });
      return { data, meta: { query: body.query } };
    },
  );
}

function bodyOf(request: FastifyRequest): Record<string, unknown> {
  const body = request.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new SightlineError('SL_ERR_BAD_REQUEST', 'the body must be a JSON object such as {"query": "up"}');
  }
  return body as Record<string, unknown>;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
}
