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
 * The increase of cumulative counters, summed over the series: each one's rise from its first
 * to its last point. A drop is a reset (the server restarted or its statistics were reset): the
 * count starts again from zero, so the new value is all increase. Null when no series has two
 * points.
 */
export function counterIncrease(series: readonly Pick<MetricSeries, 'points'>[]): number | null {
  let total: number | null = null;
  for (const { points } of series) {
    const values = points.flatMap((p) => (p.value === null ? [] : [p.value]));
    if (values.length < 2) continue;
    let increase = 0;
    for (let i = 1; i < values.length; i += 1) {
      const previous = values[i - 1] ?? 0;
      const value = values[i] ?? 0;
      increase += value >= previous ? value - previous : value;
    }
    total = (total ?? 0) + increase;
  }
  return total;
}
