import type { SignalCounts } from './store.js';

/** Store.countSignals: each signal's table and the column that places one of its records in time. */
export const SIGNAL_TABLES: Readonly<
  Record<keyof SignalCounts, readonly [table: string, timeColumn: string]>
> = {
  logs: ['logs', 'ts'],
  spans: ['spans', 'start_ts'],
  metricPoints: ['metric_points', 'ts'],
  queryStats: ['query_stats', 'interval_end'],
  querySamples: ['query_samples', 'ts'],
  sessions: ['activity_samples', 'ts'],
  rumEvents: ['rum_events', 'ts'],
};

/** The counts from a row of one column per signal (named as SignalCounts), as a driver returns them. */
export function signalCountsOf(row: Readonly<Record<string, unknown>>): SignalCounts {
  const count = (signal: keyof SignalCounts): number => Number(row[signal] ?? 0);
  return {
    logs: count('logs'),
    spans: count('spans'),
    metricPoints: count('metricPoints'),
    queryStats: count('queryStats'),
    querySamples: count('querySamples'),
    sessions: count('sessions'),
    rumEvents: count('rumEvents'),
  };
}
