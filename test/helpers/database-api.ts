/** The response bodies of the database views, as the end-to-end tests read them. */

/** How long the API may take to show what a collector read (collector intervals of 1-2 s). */
export const API_WAIT = { timeout: 30_000, interval: 500 };

export interface DatabasesBody {
  data: Array<{
    id: string;
    kind: string;
    up: boolean;
    version: string;
    databases: Array<{ id: string; name: string }>;
  }>;
}

export interface MetricsCatalog {
  metrics: Array<{ name: string; seriesCount: number }>;
}

export interface TopQueries {
  data: Array<{
    fingerprint: string;
    query: string;
    calls: number;
    totalTimeMs: number;
    rowsExamined: number;
    series: unknown[];
  }>;
}

export interface QueryDetail {
  fingerprint: string;
  query: string;
  intervals: unknown[];
  samples: Array<{ durationMs: number; query: string; source: string; plan: unknown }>;
}

export interface ActivityBody {
  snapshot: { sessions: Array<{ blockedBy: number[]; waitEventType: string }> } | null;
  series: Array<{ waits: Record<string, number> }>;
}

export interface LogsBody {
  data: Array<{ body: string; severity: string; service: string; attributes: Record<string, unknown> }>;
}

/** GET /api/v1/overview: the instances' health, the services' RED figures and the ingest volumes. */
export interface OverviewBody {
  databases: Array<{
    id: string;
    engine: string;
    up: boolean;
    collectorUp: number | null;
    connections: { used: number | null; max: number | null };
    transactionsPerSecond: number | null;
    statements: { calls: number; perSecond: number; meanTimeMs: number | null };
    replicationLagSeconds: number | null;
  }>;
  services: Array<{ service: string; requests: number; errors: number; errorRate: number }>;
  ingest: Array<{ signal: string; records: number; perSecond: number }>;
}

/** GET /api/v1/databases/:id/metrics over a range: each metric's series with its last value. */
export interface MetricsLastValues {
  metrics: Array<{
    name: string;
    series: Array<{ labels: Record<string, unknown>; lastValue: number | null }>;
  }>;
}

/** GET /api/v1/databases/:id/metrics?name=…: one metric's series as points. */
export interface MetricSeries {
  series: Array<{ labels: Record<string, unknown>; points: Array<[number, number | null]> }>;
}
