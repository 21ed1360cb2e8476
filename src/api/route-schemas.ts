import type { FastifySchemaCompiler, RouteShorthandOptions } from 'fastify';

/**
 * Shared pieces of the route schemas that `GET /api/v1/openapi.json` is generated from
 * (openapi.ts). Plain JSON Schema objects: fastify validates `querystring` and `params` with
 * them; response schemas only document (api-app.ts serializes with JSON.stringify), and a
 * body schema only documents where the route's own parser is the validator (`bodyParsedByRoute`).
 */

export type JsonSchema = Record<string, unknown>;

/** The OpenAPI security schemes the key may be sent with (src/auth/authenticator.ts reads both). */
export const SECURITY_SCHEMES = {
  bearerKey: {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key: "Authorization: Bearer <key>". `sightline start` prints the first key on its first run.',
  },
  apiKeyHeader: {
    type: 'apiKey',
    in: 'header',
    name: 'x-api-key',
    description: 'The same API key in an "x-api-key" header, for clients that cannot set Authorization.',
  },
  sessionCookie: {
    type: 'apiKey',
    in: 'cookie',
    name: 'sl_session',
    description:
      'The web UI’s session, set by POST /api/v1/auth/login. Requests other than GET and HEAD must also send ' +
      '"x-sightline-csrf: 1".',
  },
} as const;

/** Any scheme authenticates (OpenAPI: entries of `security` are alternatives). */
export const API_KEY_SECURITY: Array<Record<string, string[]>> = [
  { bearerKey: [] },
  { apiKeyHeader: [] },
  { sessionCookie: [] },
];

/** For the endpoints anyone may call (probes, the document itself). */
export const NO_SECURITY: Array<Record<string, string[]>> = [];

/** Every error of the API: `{ "error": { "code": "SL_ERR_…", "message": "…" } }` (src/core/errors.ts). */
export const ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'A code of src/core/errors.ts, e.g. SL_ERR_BAD_REQUEST.' },
        message: { type: 'string', description: 'What happened and what to do about it.' },
      },
    },
  },
};

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is invalid; the message names the parameter and what it accepts.',
  401: 'No API key or session, or one that is unknown, revoked or expired.',
  403: 'The caller’s role does not allow this (the message names the role needed), or a cookie request lacks the CSRF header.',
  404: 'Nothing stored under that id for the caller’s org.',
  409: 'It contradicts what is stored: an email in use, the org’s last owner.',
  413: 'The body is larger than the limit.',
  415: 'The content type is not one this endpoint reads.',
  422: 'The query hit a limit of api.query (time range, samples, series); the message names it.',
  429: 'Too many at once; retry after the Retry-After header’s seconds.',
  503: 'Not ready yet, overloaded, or the query ran past api.query.timeoutSeconds; retry later or narrow it.',
};

/** Error responses by status, each with the error body; 401 is added for every keyed route. */
export function errorResponses(...statuses: number[]): Record<number, JsonSchema> {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: ERROR_DESCRIPTIONS[status] ?? 'An error.', ...ERROR_SCHEMA },
    ]),
  );
}

/**
 * A query or path parameter: what it means, optionally examples. No `enum`, `pattern` or
 * `format`: fastify would reject with ajv's words before the parser answers with the API's
 * ("agg=x is not supported; use one of avg, min, …"), so allowed values go in the description.
 */
export type ParamDoc = string | { description: string; examples?: readonly string[] };

function stringParam(doc: ParamDoc): JsonSchema {
  const { description, ...rest } = typeof doc === 'string' ? { description: doc } : doc;
  return { type: 'string', description, ...rest };
}

/**
 * A `querystring` schema: each parameter once, as a string (a repeated parameter is a 400
 * rather than an array to trip over, as with `querySchema`), with what it means.
 */
export function describedQuery(params: Record<string, ParamDoc>): JsonSchema {
  return {
    type: 'object',
    properties: Object.fromEntries(Object.entries(params).map(([name, doc]) => [name, stringParam(doc)])),
  };
}

/** A `params` schema: every path parameter is a required string. */
export function pathParams(params: Record<string, ParamDoc>): JsonSchema {
  return { ...describedQuery(params), required: Object.keys(params) };
}

const TIME_FORMATS = 'RFC 3339 with an offset (2024-05-01T12:00:00Z) or epoch milliseconds';

/** `from`/`to` as src/query/time-range.ts reads them. */
export const TIME_RANGE_PARAMS = {
  from: `Start of the range, inclusive: ${TIME_FORMATS}. Default: an hour before \`to\`.`,
  to: `End of the range, exclusive: ${TIME_FORMATS}. Default: now.`,
} as const;

export const STEP_PARAM = {
  description: 'Bucket width: a duration such as 30s, 5m, 1h, or a number of seconds.',
  examples: ['1m'],
} satisfies ParamDoc;

/** A time in a body: the same formats as the query parameters, or epoch milliseconds as a number. */
export const TIME_BODY_FIELD: JsonSchema = {
  type: ['string', 'number'],
  description: TIME_FORMATS,
};

/** A time as RFC 3339 with nanoseconds (src/core/time.ts formatNs). */
export const TIMESTAMP: JsonSchema = { type: 'string', description: 'RFC 3339, UTC, with nanoseconds.' };

/** Nanoseconds as a decimal string: JSON numbers would round them. */
export const NANOS: JsonSchema = {
  type: 'string',
  pattern: '^-?[0-9]+$',
  description: 'Nanoseconds, as a decimal string.',
};

/** A map as stored (attributes, resource, labels): any JSON values. */
export const OPEN_OBJECT: JsonSchema = { type: 'object', additionalProperties: true };

/** Any JSON value (span events and links as stored, a query plan). */
export const ANY: JsonSchema = {};

export function nullable(schema: JsonSchema): JsonSchema {
  const withNull = Array.isArray(schema.enum)
    ? { ...schema, enum: [...(schema.enum as unknown[]), null] }
    : schema;
  const type = schema.type;
  if (typeof type === 'string') return { ...withNull, type: [type, 'null'] };
  if (Array.isArray(type)) return { ...withNull, type: [...(type as string[]), 'null'] };
  return { anyOf: [schema, { type: 'null' }] };
}

/** An object whose listed properties are all present. */
export function object(properties: Record<string, JsonSchema>, description?: string): JsonSchema {
  return {
    type: 'object',
    ...(description === undefined ? {} : { description }),
    required: Object.keys(properties),
    properties,
  };
}

export function arrayOf(items: JsonSchema, description?: string): JsonSchema {
  return { type: 'array', ...(description === undefined ? {} : { description }), items };
}

/** A 200 response with a JSON body described by `schema`. */
export function ok(description: string, schema: JsonSchema): JsonSchema {
  return { description, ...schema };
}

/**
 * Route options for a body its handler parses itself (a zod parser that says what is wrong
 * in the API's words, e.g. src/query/trace-search.ts): the `body` schema goes into the
 * document but fastify does not validate with it — ajv would coerce ("5" to 5), strip or
 * reject first with messages of its own. Only a body may be left to the route; a route with
 * `querystring` or `params` schemas must not use this.
 */
export const bodyParsedByRoute: Pick<RouteShorthandOptions, 'validatorCompiler'> = {
  validatorCompiler: (({ httpPart, url }) => {
    if (httpPart !== 'body') {
      throw new Error(`${url}: bodyParsedByRoute leaves only the body unvalidated, not its ${httpPart}`);
    }
    return () => true;
  }) satisfies FastifySchemaCompiler<unknown>,
};
