import type { Component } from '../core/component.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { nowNs } from '../core/time.js';

/**
 * Work a store does on itself on a timer: rollups and retention. A job is a component; the
 * timer calls `runOnce`, and so can a test, with the time it wants.
 */
export interface MaintenanceJob<Report> extends Component {
  runOnce(nowNs: bigint): Promise<Report>;
}

export const ROLLUP_TABLES = [
  'metric_rollups_1m',
  'metric_rollups_5m',
  'metric_rollups_1h',
  'log_counts_1m',
  'span_latency_1m',
] as const;
export type RollupTable = (typeof ROLLUP_TABLES)[number];

export interface RollupReport {
  /** The minutes recomputed from the raw rows, [fromNs, toNs); equal when there was nothing to do. */
  fromNs: bigint;
  toNs: bigint;
  /** Rows written per table, replacing the rows of the same buckets. */
  rows: Record<RollupTable, number>;
  durationMs: number;
}

/** Tables retention deletes from, by their config key (`store.retention.days`). */
export type RetainedTable =
  | 'logs'
  | 'spans'
  | 'metricPoints'
  | 'deadLetters'
  | 'queryStats'
  | 'querySamples'
  | 'activitySamples'
  | 'activitySnapshots'
  | 'rumEvents'
  | 'metricRollups1m'
  | 'metricRollups5m'
  | 'metricRollups1h'
  | 'logCounts1m'
  | 'spanLatency1m';

/** Days each table keeps its rows; 0 keeps them forever. */
export type RetentionDays = Record<RetainedTable, number>;

export interface RetentionReport {
  /** Rows deleted per table (by table name, e.g. `metric_points`), tables with none left out. */
  deleted: Record<string, number>;
  /** Tables whose delete failed this pass (logged; tried again next pass). */
  failed: string[];
  durationMs: number;
}

/** What a job tells its owner, for self-metrics. */
export interface MaintenanceHooks<Report> {
  onReport?: (report: Report) => void;
  onError?: (error: unknown) => void;
}

export interface PeriodicOptions<Report> extends MaintenanceHooks<Report> {
  name: string;
  intervalMs: number;
  /** Wait before the first pass. */
  firstDelayMs: number;
  /** One more pass when shut down (after in-flight work), so what was stored is summarised. */
  finalPass: boolean;
  logger: Logger;
  now?: () => bigint;
}

/**
 * Calls `run` every interval, one pass at a time (the next is timed from the end of the last),
 * on an unref'd timer so it never keeps the process alive. A failed pass is logged and
 * reported; the next one tries again.
 */
export class PeriodicRunner<Report> {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private started = false;
  private stopped = false;
  private readonly now: () => bigint;

  constructor(
    private readonly options: PeriodicOptions<Report>,
    private readonly run: (nowNs: bigint) => Promise<Report>,
  ) {
    this.now = options.now ?? nowNs;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.schedule(this.options.firstDelayMs);
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    await this.inFlight;
    if (this.started && this.options.finalPass) await this.pass();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.inFlight = this.pass().finally(() => {
        this.inFlight = undefined;
        this.schedule(this.options.intervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async pass(): Promise<void> {
    try {
      const report = await this.run(this.now());
      this.options.onReport?.(report);
    } catch (error) {
      this.options.logger.warn(
        { err: errorMessage(error), job: this.options.name },
        'maintenance pass failed',
      );
      this.options.onError?.(error);
    }
  }
}

/** Runs `work` after the previous call's work has finished, whatever its outcome. */
export class Serial {
  private queue: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
