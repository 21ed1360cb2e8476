import { BIGINT, type DuckDBConnection } from '@duckdb/node-api';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import {
  PeriodicRunner,
  Serial,
  type MaintenanceHooks,
  type MaintenanceJob,
  type RetainedTable,
  type RetentionDays,
  type RetentionReport,
} from '../maintenance.js';
import type { DuckDBDatabase } from './database.js';

/** Each retained table and the column that places its rows in time (the one its writer dedupes on). */
export const RETAINED_TABLES: Record<RetainedTable, { table: string; timeColumn: string }> = {
  logs: { table: 'logs', timeColumn: 'ts' },
  spans: { table: 'spans', timeColumn: 'start_ts' },
  metricPoints: { table: 'metric_points', timeColumn: 'ts' },
  deadLetters: { table: 'dead_letters', timeColumn: 'ts' },
  queryStats: { table: 'query_stats', timeColumn: 'interval_end' },
  querySamples: { table: 'query_samples', timeColumn: 'ts' },
  activitySamples: { table: 'activity_samples', timeColumn: 'ts' },
  activitySnapshots: { table: 'activity_snapshots', timeColumn: 'ts' },
  rumEvents: { table: 'rum_events', timeColumn: 'ts' },
  metricRollups1m: { table: 'metric_rollups_1m', timeColumn: 'bucket_ts' },
  metricRollups5m: { table: 'metric_rollups_5m', timeColumn: 'bucket_ts' },
  metricRollups1h: { table: 'metric_rollups_1h', timeColumn: 'bucket_ts' },
  logCounts1m: { table: 'log_counts_1m', timeColumn: 'bucket_ts' },
  spanLatency1m: { table: 'span_latency_1m', timeColumn: 'bucket_ts' },
};

const MS_PER_DAY = 86_400_000;
const NS_PER_MS = 1_000_000n;

export interface RetentionOptions {
  days: RetentionDays;
  intervalSeconds: number;
  /** Most rows one delete statement removes. */
  batchRows: number;
}

export interface RetentionDeps extends MaintenanceHooks<RetentionReport> {
  database: DuckDBDatabase;
  logger: Logger;
  now?: () => bigint;
}

/** The time before which a table's rows are deleted at `nowNs`, or undefined when it keeps them forever. */
export function retentionCutoff(nowNs: bigint, days: number): bigint | undefined {
  if (days <= 0) return undefined;
  return nowNs - BigInt(Math.round(days * MS_PER_DAY)) * NS_PER_MS;
}

/**
 * Deletes the rows older than each table's age, table by table, in batches of at most
 * `batchRows` (one short statement each, the event loop free in between), so a large backlog
 * — after an age was lowered, or a long downtime — never holds the store for long.
 */
export class RetentionJob implements MaintenanceJob<RetentionReport> {
  private readonly runner: PeriodicRunner<RetentionReport>;
  private readonly serial = new Serial();
  private stopping = false;

  constructor(
    private readonly options: RetentionOptions,
    private readonly deps: RetentionDeps,
  ) {
    const intervalMs = options.intervalSeconds * 1000;
    this.runner = new PeriodicRunner(
      {
        name: 'retention',
        intervalMs,
        // Not at the very start: start-up has enough to do; soon after, so a long downtime's backlog goes early.
        firstDelayMs: Math.min(intervalMs, 30_000),
        finalPass: false,
        logger: deps.logger,
        ...(deps.now === undefined ? {} : { now: deps.now }),
        ...(deps.onReport === undefined ? {} : { onReport: deps.onReport }),
        ...(deps.onError === undefined ? {} : { onError: deps.onError }),
      },
      (now) => this.runOnce(now),
    );
  }

  async start(): Promise<void> {
    this.runner.start();
  }

  /** Stops after the batch in progress; the rest of the backlog goes at the next start. */
  shutdown(): Promise<void> {
    this.stopping = true;
    return this.runner.shutdown();
  }

  runOnce(nowNs: bigint): Promise<RetentionReport> {
    return this.serial.run(() => this.pass(nowNs));
  }

  private async pass(nowNs: bigint): Promise<RetentionReport> {
    const started = performance.now();
    const report: RetentionReport = { deleted: {}, failed: [], durationMs: 0 };
    for (const [key, { table, timeColumn }] of Object.entries(RETAINED_TABLES) as Array<
      [RetainedTable, (typeof RETAINED_TABLES)[RetainedTable]]
    >) {
      const cutoff = retentionCutoff(nowNs, this.options.days[key]);
      if (cutoff === undefined || this.stopping) continue;
      try {
        const deleted = await this.deleteBefore(table, timeColumn, cutoff);
        if (deleted > 0) report.deleted[table] = deleted;
      } catch (error) {
        report.failed.push(table);
        this.deps.logger.warn({ err: errorMessage(error), table }, 'retention could not delete old rows');
      }
    }
    report.durationMs = performance.now() - started;
    return report;
  }

  private async deleteBefore(table: string, timeColumn: string, cutoff: bigint): Promise<number> {
    // DuckDB's DELETE has no LIMIT; a rowid subquery bounds each statement instead.
    const sql = `DELETE FROM ${table} WHERE rowid IN (
      SELECT rowid FROM ${table} WHERE ${timeColumn} < $cutoff LIMIT $limit)`;
    let total = 0;
    for (;;) {
      const deleted = await this.deps.database.withConnection(async (connection: DuckDBConnection) => {
        const result = await connection.run(
          sql,
          { cutoff, limit: this.options.batchRows },
          { cutoff: BIGINT },
        );
        return Number(result.rowsChanged);
      });
      total += deleted;
      if (deleted < this.options.batchRows || this.stopping) return total;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
