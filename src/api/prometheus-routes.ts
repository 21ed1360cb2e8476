import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authOf } from '../auth/http.js';
import { isSightlineError, type SightlineError } from '../core/errors.js';
import { msToNs } from '../core/time.js';
import { DEFAULT_RANGE_MS } from '../query/time-range.js';
import {
  findSeries,
  labelNames,
  labelValues,
  metricMetadata,
  type CatalogContext,
} from '../query/prometheus-catalog.js';
import { parsePromTime, runInstantQuery, runRangeQuery, type PromqlContext } from '../query/promql-query.js';
import type { QueryLimits } from '../query/query-limits.js';
import type { Store } from '../store/store.js';
import {
  arrayOf,
  bodyParsedByRoute,
  describedQuery,
  object,
  ok,
  pathParams,
  type JsonSchema,
  type ParamDoc,
} from './route-schemas.js';

export interface PrometheusRouteDeps {
  store: Store;
  limits: QueryLimits;
  now: () => number;
}

/** The Prometheus API version whose HTTP API and PromQL semantics these routes follow. */
export const PROMETHEUS_COMPATIBLE_VERSION = '2.42.0';

const PREFIX = '/prometheus/api/v1';
const FORM = 'application/x-www-form-urlencoded';

/**
 * Prometheus' HTTP API (prometheus.io/docs/prometheus/latest/querying/api/) under
 * `/prometheus/api/v1/`, enough for Grafana's Prometheus data source: queries, series, label
 * names and values, metadata and build info. Answers are Prometheus' envelope
 * (`{status, data}` or `{status: "error", errorType, error}`), not Sightline's, because that is
 * what its clients parse. Grafana posts forms by default, so every route takes its parameters
 * from the query string and from a form body alike.
 */
export function registerPrometheusRoutes(app: FastifyInstance, deps: PrometheusRouteDeps): void {
  void app.register(async (scope) => {
    scope.addContentTypeParser(FORM, { parseAs: 'string' }, (_request, body, done) => {
      done(null, new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8')));
    });
    scope.setErrorHandler((error, request, reply) => sendPromError(request, reply, error));

    const route = (
      path: string,
      doc: RouteDoc,
      handler: (params: RequestParams, request: FastifyRequest) => Promise<unknown>,
    ): void => {
      const handle = async (request: FastifyRequest): Promise<unknown> => ({
        status: 'success',
        data: await handler(requestParams(request), request),
      });
      const common = {
        summary: doc.summary,
        description: `${doc.description} ${ENVELOPE_NOTE}`,
        tags: ['prometheus'],
        response: { 200: ok('Success.', promSuccess(doc.data)), ...PROM_ERRORS },
      };
      scope.get(`${PREFIX}${path}`, { schema: { ...common, querystring: paramsSchema(doc.params) } }, handle);
      scope.post(
        `${PREFIX}${path}`,
        {
          ...bodyParsedByRoute,
          schema: { ...common, consumes: [FORM], body: paramsSchema(doc.params) },
        },
        handle,
      );
    };

    const promqlContext = (request: FastifyRequest): PromqlContext => ({
      store: deps.store,
      org: authOf(request).orgId,
      limits: deps.limits,
      nowMs: deps.now(),
    });
    const catalogContext = (request: FastifyRequest): CatalogContext => ({
      store: deps.store,
      org: authOf(request).orgId,
      limits: deps.limits,
    });
    const window = (params: RequestParams): { startMs: number; endMs: number } => {
      const end = params.get('end');
      const start = params.get('start');
      const endMs = end === undefined ? deps.now() : parsePromTime('end', end);
      const startMs = start === undefined ? endMs - DEFAULT_RANGE_MS : parsePromTime('start', start);
      return { startMs, endMs };
    };

    route('/query', QUERY_DOC, (params, request) =>
      runInstantQuery(promqlContext(request), { query: params.get('query'), time: params.get('time') }),
    );
    route('/query_range', QUERY_RANGE_DOC, (params, request) =>
      runRangeQuery(promqlContext(request), {
        query: params.get('query'),
        start: params.get('start'),
        end: params.get('end'),
        step: params.get('step'),
      }),
    );
    route('/series', SERIES_DOC, (params, request) => {
      const { startMs, endMs } = window(params);
      return findSeries(catalogContext(request), params.all('match[]'), startMs, endMs);
    });
    route('/labels', LABELS_DOC, async (params, request) => {
      const { startMs, endMs } = window(params);
      return labelNames(await findSeries(catalogContext(request), params.all('match[]'), startMs, endMs));
    });
    scope.get(
      `${PREFIX}/label/:name/values`,
      {
        schema: {
          summary: 'Values of one label',
          description: `The values one label takes in the series of the range (or of the match[] selectors). ${ENVELOPE_NOTE}`,
          tags: ['prometheus'],
          params: pathParams({ name: 'The label name, e.g. job or __name__.' }),
          querystring: paramsSchema(RANGE_AND_MATCH),
          response: { 200: ok('Success.', promSuccess(arrayOf({ type: 'string' }))), ...PROM_ERRORS },
        },
      },
      async (request) => {
        const params = requestParams(request);
        const { startMs, endMs } = window(params);
        const sets = await findSeries(catalogContext(request), params.all('match[]'), startMs, endMs);
        return { status: 'success', data: labelValues(sets, (request.params as { name: string }).name) };
      },
    );
    route('/metadata', METADATA_DOC, (params, request) => {
      const { startMs, endMs } = window(params);
      return metricMetadata(
        catalogContext(request),
        { fromNs: msToNs(startMs), toNs: msToNs(endMs) + 1n },
        params.get('metric'),
      );
    });
    route('/query_exemplars', EXEMPLARS_DOC, () => Promise.resolve([]));
    route('/status/buildinfo', BUILDINFO_DOC, () =>
      Promise.resolve({
        version: PROMETHEUS_COMPATIBLE_VERSION,
        revision: '',
        branch: '',
        buildUser: 'sightline',
        buildDate: '',
        goVersion: '',
      }),
    );
  });
}

interface RouteDoc {
  summary: string;
  description: string;
  params: Record<string, ParamDoc>;
  data: JsonSchema;
}

const ENVELOPE_NOTE =
  'Answers in Prometheus\' envelope ({"status": "success", "data": …} or {"status": "error", "errorType", "error"}), ' +
  'by GET with query parameters or POST with the same parameters as a form (docs/metrics-query.md).';

const TIME_PARAM = 'RFC 3339 or Unix seconds with an optional fraction.';
const MATCH_PARAM = {
  description: 'A series selector, e.g. up{job="api"}; repeat the parameter for several.',
  examples: ['up'],
} satisfies ParamDoc;
const RANGE_AND_MATCH: Record<string, ParamDoc> = {
  'match[]': MATCH_PARAM,
  start: `${TIME_PARAM} Default: an hour before end.`,
  end: `${TIME_PARAM} Default: now.`,
};

/** `match[]` may repeat: fastify turns repeats into an array, and one value into a one-item array. */
function paramsSchema(params: Record<string, ParamDoc>): JsonSchema {
  const base = describedQuery(params);
  const properties = base.properties as Record<string, JsonSchema>;
  if (properties['match[]'] !== undefined) {
    properties['match[]'] = {
      type: 'array',
      items: { type: 'string' },
      description: MATCH_PARAM.description,
    };
  }
  return base;
}

function promSuccess(data: JsonSchema): JsonSchema {
  return object({ status: { type: 'string', enum: ['success'] }, data });
}

const PROM_ERROR: JsonSchema = object({
  status: { type: 'string', enum: ['error'] },
  errorType: { type: 'string', enum: ['bad_data', 'execution', 'timeout', 'unauthorized', 'internal'] },
  error: { type: 'string', description: 'What went wrong and what to change.' },
});

const PROM_ERRORS: Record<number, JsonSchema> = {
  400: {
    description: 'bad_data: the query or a parameter is invalid; the message says where.',
    ...PROM_ERROR,
  },
  401: { description: 'unauthorized: no API key, or one that is unknown or revoked.', ...PROM_ERROR },
  422: {
    description: 'execution: the query hit an api.query limit (range, samples, series).',
    ...PROM_ERROR,
  },
  503: { description: 'timeout: the query ran longer than api.query.timeoutSeconds.', ...PROM_ERROR },
};

const QUERY_RESULT: JsonSchema = object(
  {
    resultType: { type: 'string', enum: ['matrix', 'vector', 'scalar', 'string'] },
    result: {
      description:
        'matrix: [{metric, values: [[seconds, "value"], …]}]; vector: [{metric, value: [seconds, "value"]}]; ' +
        'scalar and string: [seconds, "value"].',
    },
  },
  "Prometheus' query result.",
);

const QUERY_DOC: RouteDoc = {
  summary: 'Evaluates a PromQL expression at one time',
  description: 'An instant query: the expression at `time`.',
  params: { query: 'A PromQL expression.', time: `${TIME_PARAM} Default: now.` },
  data: QUERY_RESULT,
};
const QUERY_RANGE_DOC: RouteDoc = {
  summary: 'Evaluates a PromQL expression over a range at a step',
  description: 'A range query: the expression at start, start + step, … up to end; at most 11,000 steps.',
  params: {
    query: 'A PromQL expression.',
    start: TIME_PARAM,
    end: TIME_PARAM,
    step: 'Seconds (15, 0.5) or a duration (15s, 1m, 1h30m).',
  },
  data: QUERY_RESULT,
};
const SERIES_DOC: RouteDoc = {
  summary: 'Label sets of the series matching match[] selectors',
  description: 'Every series with points in the range matching any selector; without match[], every series.',
  params: RANGE_AND_MATCH,
  data: arrayOf({ type: 'object', additionalProperties: { type: 'string' } }),
};
const LABELS_DOC: RouteDoc = {
  summary: 'Label names',
  description: 'The label names of the series in the range (or of the match[] selectors), sorted.',
  params: RANGE_AND_MATCH,
  data: arrayOf({ type: 'string' }),
};
const METADATA_DOC: RouteDoc = {
  summary: 'Type and unit of each metric',
  description: 'Per metric name: counter, gauge or histogram, and its unit.',
  params: { metric: 'Only this metric.', start: TIME_PARAM, end: TIME_PARAM },
  data: {
    type: 'object',
    additionalProperties: arrayOf(
      object({
        type: { type: 'string', enum: ['counter', 'gauge', 'histogram', 'unknown'] },
        help: { type: 'string' },
        unit: { type: 'string' },
      }),
    ),
  },
};
const EXEMPLARS_DOC: RouteDoc = {
  summary: 'Exemplars',
  description:
    'Sightline stores no exemplars yet: always an empty list, so clients that ask get a valid answer.',
  params: { query: 'A PromQL expression.', start: TIME_PARAM, end: TIME_PARAM },
  data: arrayOf({}),
};
const BUILDINFO_DOC: RouteDoc = {
  summary: 'The Prometheus version this API follows',
  description:
    'Grafana reads it to pick the API features it uses; `version` is the Prometheus release whose API and PromQL semantics Sightline follows.',
  params: {},
  data: object({
    version: { type: 'string' },
    revision: { type: 'string' },
    branch: { type: 'string' },
    buildUser: { type: 'string' },
    buildDate: { type: 'string' },
    goVersion: { type: 'string' },
  }),
};

interface RequestParams {
  get(name: string): string | undefined;
  all(name: string): string[];
}

/** The query string and a form body together, repeated names (`match[]`) kept in order. */
function requestParams(request: FastifyRequest): RequestParams {
  const merged = new URLSearchParams(
    request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '',
  );
  if (request.body instanceof URLSearchParams) {
    for (const [key, value] of request.body) merged.append(key, value);
  }
  return {
    get: (name) => {
      const value = merged.get(name);
      return value === null || value === '' ? undefined : value;
    },
    all: (name) => merged.getAll(name),
  };
}

/** Prometheus' error types: bad_data (400), execution (422), timeout (503), internal (500). */
function sendPromError(request: FastifyRequest, reply: FastifyReply, thrown: unknown): FastifyReply {
  const error: SightlineError | undefined = isSightlineError(thrown) ? thrown : undefined;
  const status = error?.status ?? (isClientError(thrown) ? 400 : 500);
  const errorType =
    error?.code === 'SL_ERR_QUERY_TIMEOUT'
      ? 'timeout'
      : error?.code === 'SL_ERR_QUERY_LIMIT'
        ? 'execution'
        : status === 401
          ? 'unauthorized'
          : status < 500
            ? 'bad_data'
            : 'internal';
  if (status >= 500) request.log.error({ err: thrown }, 'prometheus API request failed');
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return reply.code(status).send({
    status: 'error',
    errorType,
    error: status >= 500 && error === undefined ? 'internal error' : message,
  });
}

/** Fastify's own request errors (a body it cannot parse) carry a 4xx statusCode. */
function isClientError(thrown: unknown): boolean {
  if (thrown === null || typeof thrown !== 'object' || !('statusCode' in thrown)) return false;
  const code = thrown.statusCode;
  return typeof code === 'number' && code >= 400 && code < 500;
}
