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
      summary: string,
      handler: (params: RequestParams, request: FastifyRequest) => Promise<unknown>,
    ): void => {
      const options = { schema: { summary, tags: ['prometheus'] } };
      const handle = async (request: FastifyRequest): Promise<unknown> => ({
        status: 'success',
        data: await handler(requestParams(request), request),
      });
      scope.get(`${PREFIX}${path}`, options, handle);
      scope.post(`${PREFIX}${path}`, options, handle);
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

    route('/query', 'Evaluates a PromQL expression at one time', (params, request) =>
      runInstantQuery(promqlContext(request), { query: params.get('query'), time: params.get('time') }),
    );
    route('/query_range', 'Evaluates a PromQL expression over a range at a step', (params, request) =>
      runRangeQuery(promqlContext(request), {
        query: params.get('query'),
        start: params.get('start'),
        end: params.get('end'),
        step: params.get('step'),
      }),
    );
    route('/series', 'Label sets of the series matching match[] selectors', (params, request) => {
      const { startMs, endMs } = window(params);
      return findSeries(catalogContext(request), params.all('match[]'), startMs, endMs);
    });
    route('/labels', 'Label names', async (params, request) => {
      const { startMs, endMs } = window(params);
      return labelNames(await findSeries(catalogContext(request), params.all('match[]'), startMs, endMs));
    });
    scope.get(
      `${PREFIX}/label/:name/values`,
      { schema: { summary: 'Values of one label', tags: ['prometheus'] } },
      async (request) => {
        const params = requestParams(request);
        const { startMs, endMs } = window(params);
        const sets = await findSeries(catalogContext(request), params.all('match[]'), startMs, endMs);
        return { status: 'success', data: labelValues(sets, (request.params as { name: string }).name) };
      },
    );
    route('/metadata', 'Type and unit of each metric', (params, request) => {
      const { startMs, endMs } = window(params);
      return metricMetadata(
        catalogContext(request),
        { fromNs: msToNs(startMs), toNs: msToNs(endMs) + 1n },
        params.get('metric'),
      );
    });
    route('/query_exemplars', 'Exemplars (none are stored yet)', () => Promise.resolve([]));
    route('/status/buildinfo', 'The Prometheus version this API follows', () =>
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
