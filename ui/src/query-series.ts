/**
 * A statement's intervals as the API lists them (one row per interval, instance, database and
 * user: GET /api/v1/queries/:fingerprint) summed per interval end, the x of the over-time charts.
 */

export interface QueryInterval {
  intervalEnd: string;
  calls: number;
  totalTimeMs: number;
  rows: number;
}

export interface QueryPoint {
  /** Interval end, epoch seconds (uPlot's x). */
  timeS: number;
  calls: number;
  totalTimeMs: number;
  /** totalTimeMs / calls; null when the interval had no call (no mean to draw). */
  meanTimeMs: number | null;
  rows: number;
}

export function querySeries(intervals: readonly QueryInterval[]): QueryPoint[] {
  const byEnd = new Map<number, { calls: number; totalTimeMs: number; rows: number }>();
  for (const interval of intervals) {
    const timeS = Date.parse(interval.intervalEnd) / 1000;
    if (!Number.isFinite(timeS)) continue;
    const sum = byEnd.get(timeS) ?? { calls: 0, totalTimeMs: 0, rows: 0 };
    sum.calls += interval.calls;
    sum.totalTimeMs += interval.totalTimeMs;
    sum.rows += interval.rows;
    byEnd.set(timeS, sum);
  }
  return [...byEnd.entries()]
    .sort(([a], [b]) => a - b)
    .map(([timeS, sum]) => ({
      timeS,
      ...sum,
      meanTimeMs: sum.calls === 0 ? null : sum.totalTimeMs / sum.calls,
    }));
}
