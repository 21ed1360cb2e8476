/**
 * The one way the UI calls the API: same-origin with the session cookie, JSON in and out,
 * the CSRF header on every request that changes something, and errors as `ApiError` with the
 * server's code and message (src/core/http.ts: `{"error": {"code", "message"}}`).
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type UnauthorizedListener = () => void;
const unauthorizedListeners = new Set<UnauthorizedListener>();

/** Called when any request answers 401: the session ended or never began. */
export function onUnauthorized(listener: UnauthorizedListener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  body?: unknown;
  signal?: AbortSignal;
  /** Sign-in answers 401 for wrong credentials; that is not a lost session. */
  ignoreUnauthorized?: boolean;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
  const headers: Record<string, string> = { accept: 'application/json' };
  // The server refuses cookie-authenticated requests that change state without it (CSRF).
  if (method !== 'GET') headers['x-sightline-csrf'] = '1';
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: options.body === undefined ? null : JSON.stringify(options.body),
      signal: options.signal ?? null,
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(
      0,
      'SL_UI_NETWORK',
      'Sightline did not answer: check that the server is running and reachable, then retry.',
    );
  }
  const text = await response.text();
  let body: unknown = undefined;
  if (text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (!response.ok) {
    if (response.status === 401 && options.ignoreUnauthorized !== true) {
      for (const listener of [...unauthorizedListeners]) listener();
    }
    throw errorFrom(response.status, body);
  }
  return body as T;
}

function errorFrom(status: number, body: unknown): ApiError {
  if (typeof body === 'object' && body !== null) {
    // Sightline's envelope, or Prometheus' (`{status: "error", errorType, error}`).
    const envelope = body as { error?: { code?: string; message?: string } | string; errorType?: string };
    if (typeof envelope.error === 'object' && typeof envelope.error.message === 'string') {
      return new ApiError(status, envelope.error.code ?? 'SL_ERR', envelope.error.message);
    }
    if (typeof envelope.error === 'string') {
      return new ApiError(status, envelope.errorType ?? 'error', envelope.error);
    }
  }
  const hint =
    status === 503
      ? 'the server is starting, stopping or its store is down; retry in a few seconds'
      : status >= 500
        ? 'the server log has the details'
        : 'check the request';
  return new ApiError(status, `HTTP_${status}`, `the server answered ${status}: ${hint}`);
}

// ---- shapes the API answers (src/api/view-schemas.ts) ----

export type Role = 'owner' | 'admin' | 'member' | 'viewer';

/** Every role, from the least to the most allowed (src/auth/roles.ts). */
export const ROLES: readonly Role[] = ['viewer', 'member', 'admin', 'owner'];

export interface Session {
  /** Null when the caller is an API key rather than a signed-in person. */
  user: { id: string; email: string; role?: Role } | null;
  org: { id: string; name: string };
  role: Role;
}

export interface LogRecord {
  id: string;
  timestamp: string;
  timeUnixNano: string;
  observedTimestamp?: string;
  service: string;
  host: string;
  entityId?: string;
  severity: string;
  severityNumber?: number;
  severityText?: string;
  body: string;
  traceId: string;
  spanId: string;
  scope?: string;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
}

export interface LogRows {
  data: LogRecord[];
  nextCursor: string | null;
  meta: { count: number; limit: number; from: string; to: string };
}

export interface LogCounts {
  buckets: Array<{
    timestamp?: string;
    timeUnixNano?: string;
    group: Record<string, unknown>;
    count: number;
  }>;
  meta: { count: number; limit: number; from: string; to: string; truncated: boolean };
}

export interface Span {
  spanId: string;
  parentSpanId: string;
  depth: number;
  name: string;
  service: string;
  host: string;
  kind: string;
  status: 'unset' | 'ok' | 'error';
  statusMessage: string;
  startTime: string;
  durationMs: number;
  offsetMs: number;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
  events: unknown;
  /** Set when the span ran a PostgreSQL or MySQL statement: the key of that statement's page. */
  queryFingerprint: string | null;
}

export interface Trace {
  traceId: string;
  spanCount: number;
  services: string[];
  startTime: string;
  durationMs: number;
  spans: Span[];
  truncated: boolean;
}

export interface TraceSummary {
  traceId: string;
  rootService: string;
  rootOperation: string;
  startTime: string;
  durationMs: number;
  spanCount: number;
  errorCount: number;
}

export interface ServiceRed {
  service: string;
  requests: number;
  requestRate: number;
  errors: number;
  errorRate: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

export interface PromMatrix {
  data: {
    resultType: 'matrix' | 'vector' | 'scalar' | 'string';
    result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }>;
  };
}

/** An instant query's answer (POST /api/v1/metrics/query): one sample per series. */
export interface PromVector {
  data: {
    resultType: 'matrix' | 'vector' | 'scalar' | 'string';
    result: Array<{ metric: Record<string, string>; value: [number, string] }>;
  };
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  role: Role;
  createdAt: string;
  revokedAt: string | null;
}
