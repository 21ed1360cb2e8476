import { fastifySwagger } from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { VERSION } from '../core/version.js';
import { API_KEY_SECURITY, NO_SECURITY, SECURITY_SCHEMES, type JsonSchema } from './route-schemas.js';

export const OPENAPI_PATH = '/api/v1/openapi.json';

/** Tags group the operations in the document, in this order. */
export const TAGS = [
  { name: 'logs', description: 'Log records: the simple search, the search language, the live tail.' },
  { name: 'traces', description: 'Traces and spans; RED metrics per service and operation.' },
  { name: 'metrics', description: 'Metric series and PromQL queries.' },
  {
    name: 'prometheus',
    description: 'The Prometheus HTTP API subset, for Grafana and other Prometheus clients.',
  },
  { name: 'databases', description: 'Database instances and databases: metrics, statements, sessions.' },
  { name: 'overview', description: 'The landing screen: databases, services and ingest at a glance.' },
  { name: 'access', description: 'Sign-in and sessions, API keys, users and their roles (docs/auth.md).' },
  { name: 'settings', description: 'The installation’s settings as configured, read-only (retention).' },
  { name: 'process', description: 'The Sightline process itself: probes, self-metrics, this document.' },
  { name: 'pipeline', description: 'Topics’ lag and throughput, dead letters, usage per day.' },
];

/**
 * Starts collecting the routes of `app` into an OpenAPI 3.1 document (@fastify/swagger,
 * dynamic mode: generated from each route's `schema`) and serves it at OPENAPI_PATH. Call it
 * before any route is added.
 *
 * The plugin collects routes in an `onRoute` hook, which sees only routes added after it. A
 * registered plugin runs when the app boots, after buildApiApp has added every route, so the
 * plugin function is applied to the root instance right away instead (what `app.register`
 * would do for this fastify-plugin-wrapped plugin, only now): the routes added at the end of
 * buildApiApp (metric queries, the Prometheus API) are collected like the rest without an async build.
 *
 * A route is left out of the document with `schema: { hide: true }` (the HTML start page).
 */
export function installOpenApi(app: FastifyInstance): void {
  fastifySwagger(
    app,
    {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Sightline query API',
          version: VERSION,
          description:
            'Read what Sightline stores: logs, traces, metrics and database activity. Every read is ' +
            'scoped to the org of the API key (or the signed-in user) sent. Times are RFC 3339 or epoch milliseconds in; ' +
            'RFC 3339 with nanoseconds, and nanoseconds as decimal strings, out. Errors are ' +
            '`{"error": {"code", "message"}}` with the status of the code (docs/api.md).',
        },
        tags: TAGS,
        components: { securitySchemes: SECURITY_SCHEMES },
        // Every operation needs a key unless its schema says `security: []` (NO_SECURITY).
        security: API_KEY_SECURITY,
      },
    },
    (error) => {
      // The dynamic mode only decorates and adds hooks; it has no error to report.
      if (error) throw error;
    },
  );

  app.get(
    OPENAPI_PATH,
    {
      schema: {
        summary: 'This document',
        description:
          'The OpenAPI 3.1 description of this API, generated from the routes’ schemas. Public (no ' +
          'key), like /healthz: it describes what every installation serves and holds no data, ' +
          'key or configuration, and a client generator or a probe can read it before it has a key.',
        tags: ['process'],
        security: NO_SECURITY,
        response: { 200: { description: 'An OpenAPI 3.1 document.', type: 'object' } satisfies JsonSchema },
      },
    },
    // The document is built once, at the first call (the plugin caches it).
    () => app.swagger(),
  );
}
