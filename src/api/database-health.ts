import type { MetricCatalogEntry, MetricSeries } from '../store/store.js';

/**
 * The health figures of a watched database instance, from the metrics its collector stores
 * (src/collect/postgres/metric-definitions.ts, src/collect/mysql/metric-definitions.ts).
 */

/** A metric, and optionally the label values a series must have (any of those listed per label). */
export interface MetricSelector {
  name: string;
  labels?: Readonly<Record<string, readonly string[]>>;
}

export interface EngineMetrics {
  engine: 'postgresql' | 'mysql';
  /** The collector's verdict per cycle: 1 reached, 0 not. */
  up: MetricSelector;
  connectionsUsed: MetricSelector;
  connectionsMax: MetricSelector;
  /** Cumulative counters whose summed rate is transactions per second. */
  transactions: readonly MetricSelector[];
  /** Gauges in seconds; the instance's lag is the largest latest value among them. */
  replicationLag: readonly MetricSelector[];
}

/** By entity kind of the instance. */
export const ENGINE_METRICS: Readonly<Record<string, EngineMetrics>> = {
  'postgresql.instance': {
    engine: 'postgresql',
    up: { name: 'postgresql.up' },
    // pg_stat_database.numbackends per database: client connections (what max_connections limits).
    connectionsUsed: { name: 'postgresql.backends' },
    connectionsMax: { name: 'postgresql.connection.max' },
    transactions: [{ name: 'postgresql.commits' }, { name: 'postgresql.rollbacks' }],
    // A primary reports replay lag per replica; a replica the age of its last replayed commit.
    replicationLag: [
      { name: 'postgresql.wal.lag', labels: { operation: ['replay'] } },
      { name: 'postgresql.replication.replay_delay' },
    ],
  },
  'mysql.instance': {
    engine: 'mysql',
    up: { name: 'mysql.up' },
    connectionsUsed: { name: 'mysql.threads', labels: { kind: ['connected'] } },
    connectionsMax: { name: 'mysql.connection.max' },
    // Com_commit + Com_rollback: explicit transactions (autocommit statements are not counted).
    transactions: [{ name: 'mysql.commands', labels: { command: ['commit', 'rollback'] } }],
    replicationLag: [{ name: 'mysql.replica.time_behind_source' }],
  },
};

function labelsOf(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function matches(selector: MetricSelector, labelsJson: string): boolean {
  const labels = labelsOf(labelsJson);
  return Object.entries(selector.labels ?? {}).every(([key, values]) => {
    const value = labels[key];
    return typeof value === 'string' && values.includes(value);
  });
}

/** The latest value of each matching series in the catalogue (series without a value left out). */
export function latestValues(catalog: readonly MetricCatalogEntry[], selector: MetricSelector): number[] {
  const metric = catalog.find((m) => m.name === selector.name);
  return (metric?.series ?? []).flatMap((s) =>
    s.value !== null && Number.isFinite(s.value) && matches(selector, s.labels) ? [s.value] : [],
  );
}

export function sum(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0);
}

export function largest(values: readonly number[]): number | null {
  return values.length === 0 ? null : Math.max(...values);
}

/**
 * Per second, summed over the series: each cumulative counter's increase between its first and
 * last point divided by the time between them. A drop is a reset (the server restarted or its
 * statistics were reset): the count starts again from zero, so the new value is all increase.
 * Null when no series has two points.
 */
export function counterRate(series: readonly Pick<MetricSeries, 'points'>[]): number | null {
  let rate: number | null = null;
  for (const { points } of series) {
    const values = points.flatMap((p) => (p.value === null ? [] : [{ ts: p.ts, value: p.value }]));
    const first = values[0];
    const last = values[values.length - 1];
    if (first === undefined || last === undefined || last.ts <= first.ts) continue;
    let increase = 0;
    for (let i = 1; i < values.length; i += 1) {
      const previous = values[i - 1]?.value ?? 0;
      const value = values[i]?.value ?? 0;
      increase += value >= previous ? value - previous : value;
    }
    rate = (rate ?? 0) + increase / (Number(last.ts - first.ts) / 1e9);
  }
  return rate;
}
