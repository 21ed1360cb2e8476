/** [seconds, value] points of a sparkline. */
export type SparklinePoints = ReadonlyArray<readonly [number, number]>;

/** A statement's series as GET /api/v1/queries answers it: [epoch ms, calls, total time ms] per bucket with calls. */
export type StatementSeries = ReadonlyArray<readonly [number, number, number]>;

/**
 * Total time per bucket over the whole range of the answer, 0 in the buckets the answer leaves out
 * (no calls), so that a statement that ran at the start and the end does not draw a line across
 * the quiet time between. Buckets start at multiples of `stepMs`, as the store cuts them.
 */
export function totalTimeLine(
  series: StatementSeries,
  range: { fromMs: number; toMs: number; stepMs: number },
): SparklinePoints {
  const { fromMs, toMs, stepMs } = range;
  if (stepMs <= 0 || toMs < fromMs) return [];
  const byBucket = new Map(series.map(([ms, , totalTimeMs]) => [ms, totalTimeMs]));
  const points: Array<readonly [number, number]> = [];
  for (let ms = Math.floor(fromMs / stepMs) * stepMs; ms <= toMs; ms += stepMs)
    points.push([ms / 1000, byBucket.get(ms) ?? 0]);
  return points;
}
