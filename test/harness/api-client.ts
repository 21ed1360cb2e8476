/** A small client for the query API, as a script or the UI would call it. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly key: string,
  ) {}

  async get<T = unknown>(path: string): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      headers: { authorization: `Bearer ${this.key}` },
    });
    const text = await response.text();
    return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
  }

  async logs(query: Record<string, string>): Promise<LogView[]> {
    const { status, body } = await this.get<{ data: LogView[] }>(
      `/api/v1/logs?${new URLSearchParams(query).toString()}`,
    );
    if (status !== 200) throw new Error(`GET /api/v1/logs answered ${status}: ${JSON.stringify(body)}`);
    return body.data;
  }
}

export interface LogView {
  id: string;
  timestamp: string;
  timeUnixNano: string;
  service: string;
  host: string;
  severity: string;
  severityNumber: number;
  severityText: string;
  body: string;
  traceId: string;
  spanId: string;
  scope: string;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
}

export const CSRF_HEADERS = { 'x-sightline-csrf': '1' } as const;

/** An answer of the API: its status, its JSON body (undefined when empty) and its headers. */
export interface ApiAnswer<T> {
  status: number;
  body: T;
  headers: Headers;
}

/** One request to the API, with a key (Bearer) and a JSON body when given. */
export async function callApi<T = unknown>(
  baseUrl: string,
  method: string,
  path: string,
  options: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiAnswer<T>> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(options.key === undefined ? {} : { authorization: `Bearer ${options.key}` }),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: (text === '' ? undefined : JSON.parse(text)) as T,
    headers: response.headers,
  };
}

/**
 * Signs in as the web UI does and returns the Cookie header value (`sl_session=…`) to send
 * back; fails with the answer when sign-in is refused.
 */
export async function logIn(baseUrl: string, user: { email: string; password: string }): Promise<string> {
  const response = await fetch(`${baseUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(user),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`sign-in answered ${response.status}: ${text}`);
  const cookie = /^(sl_session=[^;]*)/.exec(response.headers.get('set-cookie') ?? '')?.[1];
  if (cookie === undefined)
    throw new Error(`sign-in set no sl_session cookie: ${response.headers.get('set-cookie')}`);
  return cookie;
}

/** Requests with the session cookie, as the web UI sends them (with the CSRF header unless `csrf: false`). */
export class SessionClient {
  constructor(
    readonly baseUrl: string,
    readonly cookie: string,
  ) {}

  async request<T = unknown>(
    method: string,
    path: string,
    options: { body?: unknown; csrf?: boolean } = {},
  ): Promise<ApiAnswer<T>> {
    return await callApi<T>(this.baseUrl, method, path, {
      body: options.body,
      headers: { cookie: this.cookie, ...(options.csrf === false ? {} : CSRF_HEADERS) },
    });
  }
}
