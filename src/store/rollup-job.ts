import type { Logger } from '../core/logger.js';
import {
  PeriodicRunner,
  Serial,
  type MaintenanceHooks,
  type MaintenanceJob,
  type RollupReport,
  type RollupTable,
} from './maintenance.js';

const SECOND_NS = 1_000_000_000n;
export const MINUTE_NS = 60n * SECOND_NS;
export const FIVE_MINUTES_NS = 5n * MINUTE_NS;
export const HOUR_NS = 60n * MINUTE_NS;

/**
 * The longest a cumulative series may be silent and still count its increase across the gap;
 * after a longer silence its next point adds nothing (as a series' first point), since nothing
 * says when the increase happened. It also bounds how far back the point before a range is
 * looked for, and keeps the result the same wherever a recomputed range starts.
 */
export const COUNTER_MAX_GAP_NS = HOUR_NS;

/** A pass computes at most this many hourly steps; a longer catch-up continues next pass. */
export const MAX_STEPS_PER_PASS = 24;

/** Catch-up after downtime reaches back at most this far by default: raw rows are kept 7 days by default. */
const DEFAULT_MAX_CATCH_UP_SECONDS = 7 * 86_400;

/** The job's name in `rollup_progress`. */
export const ROLLUP_JOB = 'rollups';

export interface RollupOptions {
  intervalSeconds: number;
  /** Every pass recomputes at least the buckets of the last this many seconds. */
  latenessSeconds: number;
  /** Oldest buckets a pass computes after downtime (or on a data dir that had no rollups yet). */
  maxCatchUpSeconds?: number;
}

/** One hourly step of a pass: minutes [from, to), and where the rollups are complete after it. */
export interface RollupStep {
  from: bigint;
  to: bigint;
  /** Saved as the job's progress once the step's rows are in: min(to, the pass's complete minute). */
  doneTo: bigint;
}

/** The rollup SQL of one store engine. */
export interface RollupSteps {
  /**
   * Where the last pass got to (`rollup_progress`); without one, the oldest raw row since
   * `sinceNs` to summarise; undefined when there is nothing.
   */
  startingPoint(sinceNs: bigint): Promise<bigint | undefined>;
  /**
   * Replaces the rollup rows of minutes [from, to) and of the 5m and 1h buckets around them
   * with ones recomputed from the raw rows, and saves `doneTo`; rows written per table.
   */
  step(step: RollupStep): Promise<Record<RollupTable, number>>;
}

export interface RollupDeps extends MaintenanceHooks<RollupReport> {
  steps: RollupSteps;
  logger: Logger;
  now?: () => bigint;
}

export function floorTo(ns: bigint, width: bigint): bigint {
  const remainder = ns % width;
  return remainder < 0n ? ns - remainder - width : ns - remainder;
}

export function ceilTo(ns: bigint, width: bigint): bigint {
  const floor = floorTo(ns, width);
  return floor === ns ? ns : floor + width;
}

export interface RollupPlan {
  /** Buckets before this minute are complete; the one it starts is still filling. */
  completeTo: bigint;
  /** The minute ranges to compute, in order, contiguous, each within one hour. */
  steps: Array<[bigint, bigint]>;
}

/**
 * Which minutes a pass at `nowNs` recomputes: from the earliest of the lateness window and where
 * the last pass got to (`doneTo`; on a data dir without rollups, the oldest raw row), never
 * before `now - maxCatchUp`, up to and including the current minute; in hourly steps, at most
 * MAX_STEPS_PER_PASS of them.
 */
export function planRollup(
  nowNs: bigint,
  latenessNs: bigint,
  maxCatchUpNs: bigint,
  doneTo: bigint | undefined,
): RollupPlan {
  const completeTo = floorTo(nowNs, MINUTE_NS);
  const to = completeTo + MINUTE_NS;
  let from = floorTo(nowNs - latenessNs, MINUTE_NS);
  if (doneTo !== undefined && doneTo < from) from = floorTo(doneTo, MINUTE_NS);
  const oldest = floorTo(nowNs - maxCatchUpNs, MINUTE_NS);
  if (from < oldest) from = oldest;
  const steps: Array<[bigint, bigint]> = [];
  for (let a = from; a < to && steps.length < MAX_STEPS_PER_PASS;) {
    const b = floorTo(a, HOUR_NS) + HOUR_NS < to ? floorTo(a, HOUR_NS) + HOUR_NS : to;
    steps.push([a, b]);
    a = b;
  }
  return { completeTo, steps };
}

export function emptyRollupCounts(): Record<RollupTable, number> {
  return {
    metric_rollups_1m: 0,
    metric_rollups_5m: 0,
    metric_rollups_1h: 0,
    log_counts_1m: 0,
    span_latency_1m: 0,
  };
}

/**
 * Keeps the rollup tables up to date from the raw rows. Every pass recomputes whole minutes
 * — the lateness window, and after downtime everything since the last pass — in hourly steps,
 * each replacing its minutes together with the 5m and 1h buckets that contain them. So a pass
 * is idempotent: a point stored twice, late or out of order is counted as if it had come on
 * time, once, as long as it is within the window. The SQL is the store's (`RollupSteps`).
 */
export class RollupJob implements MaintenanceJob<RollupReport> {
  private readonly runner: PeriodicRunner<RollupReport>;
  private readonly serial = new Serial();
  private readonly latenessNs: bigint;
  private readonly maxCatchUpNs: bigint;

  constructor(
    options: RollupOptions,
    private readonly deps: RollupDeps,
  ) {
    this.latenessNs = BigInt(Math.round(options.latenessSeconds)) * SECOND_NS;
    this.maxCatchUpNs =
      BigInt(Math.round(options.maxCatchUpSeconds ?? DEFAULT_MAX_CATCH_UP_SECONDS)) * SECOND_NS;
    this.runner = new PeriodicRunner(
      {
        name: ROLLUP_JOB,
        intervalMs: options.intervalSeconds * 1000,
        firstDelayMs: 0,
        finalPass: true,
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

  /** Waits for a pass in progress, then runs one more so everything stored is summarised. */
  shutdown(): Promise<void> {
    return this.runner.shutdown();
  }

  runOnce(nowNs: bigint): Promise<RollupReport> {
    return this.serial.run(() => this.pass(nowNs));
  }

  private async pass(nowNs: bigint): Promise<RollupReport> {
    const started = performance.now();
    const { steps } = this.deps;
    const doneTo = await steps.startingPoint(nowNs - this.maxCatchUpNs);
    const plan = planRollup(nowNs, this.latenessNs, this.maxCatchUpNs, doneTo);
    const rows = emptyRollupCounts();
    for (const [from, to] of plan.steps) {
      const written = await steps.step({ from, to, doneTo: to < plan.completeTo ? to : plan.completeTo });
      for (const table of Object.keys(written) as RollupTable[]) rows[table] += written[table];
    }
    const first = plan.steps[0];
    const last = plan.steps[plan.steps.length - 1];
    return {
      fromNs: first?.[0] ?? plan.completeTo,
      toNs: last?.[1] ?? plan.completeTo,
      rows,
      durationMs: performance.now() - started,
    };
  }
}
