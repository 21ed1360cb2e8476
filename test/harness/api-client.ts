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
