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
