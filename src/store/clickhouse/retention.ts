import { errorMessage } from '../../core/errors.js';
import type { RetainedTable, RetentionDays } from '../maintenance.js';
import type { ClickhouseDatabase } from './database.js';
import { identifier, sql } from './sql.js';

/**
 * Retention by day partitions: 18.16 has no TTL, and dropping a partition is a metadata
 * operation (no rows are read or rewritten), unlike DuckDB's batched DELETE. The cost is
 * granularity: a day's partition goes once its last possible row is older than the age, so
 * rows live up to one day longer than configured, never shorter.
 */
export const RETAINED_TABLES: Record<RetainedTable, readonly string[]> = {
  logs: ['logs'],
  // The trace index is partitioned by the same day, so it goes with its spans.
  spans: ['spans', 'spans_trace_index'],
  metricPoints: ['metric_points'],
  deadLetters: ['dead_letters'],
  queryStats: ['query_stats'],
  querySamples: ['query_samples'],
  activitySamples: ['activity_samples'],
  activitySnapshots: ['activity_snapshots'],
  rumEvents: ['rum_events'],
  metricRollups1m: ['metric_rollups_1m'],
  metricRollups5m: ['metric_rollups_5m'],
  metricRollups1h: ['metric_rollups_1h'],
  logCounts1m: ['log_counts_1m'],
  spanLatency1m: ['span_latency_1m'],
};

const NS_PER_MS = 1_000_000n;
const MS_PER_DAY = 86_400_000;

/**
 * The oldest day (YYYYMMDD, UTC) kept when rows older than `days` before `nowNs` may go, or
 * undefined when the table keeps everything (0 days, as in the DuckDB retention).
 */
export function firstKeptDay(nowNs: bigint, days: number): number | undefined {
  if (days <= 0) return undefined;
  const cutoffMs = Number(nowNs / NS_PER_MS) - Math.round(days * MS_PER_DAY);
  const day = new Date(cutoffMs);
  return day.getUTCFullYear() * 10_000 + (day.getUTCMonth() + 1) * 100 + day.getUTCDate();
}

/** The table's partitions that hold data (active parts), as YYYYMMDD numbers, oldest first. */
export async function listDayPartitions(database: ClickhouseDatabase, table: string): Promise<number[]> {
  const rows = await database.select<{ partition: string }>(
    sql`SELECT DISTINCT partition FROM system.parts
        WHERE database = currentDatabase() AND table = ${table} AND active ORDER BY partition`,
  );
  // Day partitions are written `20250101`; anything else is not one of ours to drop.
  return rows.filter((row) => /^\d{8}$/.test(row.partition)).map((row) => Number(row.partition));
}

/** Drops the table's partitions of days before `firstKept`; returns the days dropped. */
export async function dropPartitionsBefore(
  database: ClickhouseDatabase,
  table: string,
  firstKept: number,
): Promise<number[]> {
  const dropped: number[] = [];
  for (const day of await listDayPartitions(database, table)) {
    if (day >= firstKept) continue;
    await database.run(sql`ALTER TABLE ${identifier(table)} DROP PARTITION ${day}`);
    dropped.push(day);
  }
  return dropped;
}

export interface PartitionRetentionReport {
  /** Days dropped per table name; tables with none left out. */
  dropped: Record<string, number[]>;
  /** Table name → why its drop failed (tried again next pass). */
  failed: Record<string, string>;
}

/** One pass over every retained table; a failing table is reported and the others still run. */
export async function dropExpiredPartitions(
  database: ClickhouseDatabase,
  days: RetentionDays,
  nowNs: bigint,
): Promise<PartitionRetentionReport> {
  const report: PartitionRetentionReport = { dropped: {}, failed: {} };
  for (const [key, tables] of Object.entries(RETAINED_TABLES) as Array<[RetainedTable, readonly string[]]>) {
    const firstKept = firstKeptDay(nowNs, days[key]);
    if (firstKept === undefined) continue;
    for (const table of tables) {
      try {
        const dropped = await dropPartitionsBefore(database, table, firstKept);
        if (dropped.length > 0) report.dropped[table] = dropped;
      } catch (error) {
        report.failed[table] = errorMessage(error);
      }
    }
  }
  return report;
}
