/**
 * The numeric kernels of Prometheus 2.42 promql/functions.go and quantile.go, over a window
 * [a, b) of a series' sorted sample arrays so the engine never copies samples per step.
 * Each returns undefined where Prometheus emits no sample.
 */

export interface WindowContext {
  /** Evaluation time of the step, ms. */
  stepMs: number;
  rangeMs: number;
  offsetMs: number;
  /** The scalar argument of quantile_over_time at this step. */
  param: number;
}

export type RangeFunction = (
  ts: Float64Array,
  vals: Float64Array,
  a: number,
  b: number,
  ctx: WindowContext,
) => number | undefined;

/** functions.go kahanSumInc (Neumaier's variant). */
function kahanSumInc(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  const nc = Math.abs(sum) >= Math.abs(inc) ? c + (sum - t + inc) : c + (inc - t + sum);
  return [t, nc];
}

/** Go time.Duration.Seconds(): whole seconds plus the remainder, which rounds differently from ms/1000. */
export function durationSeconds(ms: number): number {
  const whole = Math.trunc(ms / 1000);
  return whole + ((ms - whole * 1000) * 1e6) / 1e9;
}

/** functions.go extrapolatedRate (2.42): rate, increase and delta. */
function extrapolatedRate(isCounter: boolean, isRate: boolean): RangeFunction {
  return (ts, vals, a, b, ctx) => {
    const n = b - a;
    if (n < 2) return undefined;
    const rangeStart = ctx.stepMs - (ctx.rangeMs + ctx.offsetMs);
    const rangeEnd = ctx.stepMs - ctx.offsetMs;
    const first = vals[a] as number;
    const firstT = ts[a] as number;
    const lastT = ts[b - 1] as number;
    let result = (vals[b - 1] as number) - first;
    if (isCounter) {
      let prev = first;
      for (let k = a + 1; k < b; k++) {
        const cur = vals[k] as number;
        if (cur < prev) result += prev;
        prev = cur;
      }
    }
    let durationToStart = (firstT - rangeStart) / 1000;
    const durationToEnd = (rangeEnd - lastT) / 1000;
    const sampledInterval = (lastT - firstT) / 1000;
    const averageDurationBetweenSamples = sampledInterval / (n - 1);
    if (isCounter && result > 0 && first >= 0) {
      // Counters cannot be negative: extrapolate at most to where the counter would be zero.
      const durationToZero = sampledInterval * (first / result);
      if (durationToZero < durationToStart) durationToStart = durationToZero;
    }
    const extrapolationThreshold = averageDurationBetweenSamples * 1.1;
    let extrapolateToInterval = sampledInterval;
    extrapolateToInterval +=
      durationToStart < extrapolationThreshold ? durationToStart : averageDurationBetweenSamples / 2;
    extrapolateToInterval +=
      durationToEnd < extrapolationThreshold ? durationToEnd : averageDurationBetweenSamples / 2;
    let factor = extrapolateToInterval / sampledInterval;
    if (isRate) factor /= durationSeconds(ctx.rangeMs);
    return result * factor;
  };
}

/** functions.go instantValue: irate and idelta from the last two samples. */
function instantValue(isRate: boolean): RangeFunction {
  return (ts, vals, a, b) => {
    if (b - a < 2) return undefined;
    const last = vals[b - 1] as number;
    const previous = vals[b - 2] as number;
    const result = isRate && last < previous ? last : last - previous;
    const sampledInterval = (ts[b - 1] as number) - (ts[b - 2] as number);
    if (sampledInterval === 0) return undefined;
    return isRate ? result / (sampledInterval / 1000) : result;
  };
}

/** vectorByValueHeap order: NaN first, then ascending. */
export function compareFloats(x: number, y: number): number {
  const xn = Number.isNaN(x);
  const yn = Number.isNaN(y);
  if (xn || yn) return xn === yn ? 0 : xn ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** functions.go quantile: linear interpolation between the closest ranks. */
export function quantile(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  values.sort(compareFloats);
  const n = values.length;
  const rank = q * (n - 1);
  const lowerIndex = Math.max(0, Math.floor(rank));
  const upperIndex = Math.min(n - 1, lowerIndex + 1);
  const weight = rank - Math.floor(rank);
  return (values[lowerIndex] as number) * (1 - weight) + (values[upperIndex] as number) * weight;
}

const overTime =
  (fn: (vals: Float64Array, a: number, b: number, ctx: WindowContext) => number): RangeFunction =>
  (_ts, vals, a, b, ctx) =>
    b > a ? fn(vals, a, b, ctx) : undefined;

function stdvarOverTime(vals: Float64Array, a: number, b: number): number {
  let count = 0;
  let mean = 0;
  let cMean = 0;
  let aux = 0;
  let cAux = 0;
  for (let k = a; k < b; k++) {
    const v = vals[k] as number;
    count++;
    const delta = v - (mean + cMean);
    [mean, cMean] = kahanSumInc(delta / count, mean, cMean);
    [aux, cAux] = kahanSumInc(delta * (v - (mean + cMean)), aux, cAux);
  }
  return (aux + cAux) / count;
}

export const RANGE_FUNCTIONS: Readonly<Record<string, RangeFunction>> = {
  rate: extrapolatedRate(true, true),
  increase: extrapolatedRate(true, false),
  delta: extrapolatedRate(false, false),
  irate: instantValue(true),
  idelta: instantValue(false),
  changes: overTime((vals, a, b) => {
    let changes = 0;
    let prev = vals[a] as number;
    for (let k = a + 1; k < b; k++) {
      const cur = vals[k] as number;
      if (cur !== prev && !(Number.isNaN(cur) && Number.isNaN(prev))) changes++;
      prev = cur;
    }
    return changes;
  }),
  resets: overTime((vals, a, b) => {
    let resets = 0;
    let prev = vals[a] as number;
    for (let k = a + 1; k < b; k++) {
      const cur = vals[k] as number;
      if (cur < prev) resets++;
      prev = cur;
    }
    return resets;
  }),
  avg_over_time: overTime((vals, a, b) => {
    let mean = 0;
    let count = 0;
    let c = 0;
    for (let k = a; k < b; k++) {
      const v = vals[k] as number;
      count++;
      if (mean === Infinity || mean === -Infinity) {
        // An infinite mean stays as it is unless a NaN or an opposite infinity arrives.
        if ((v === Infinity || v === -Infinity) && mean > 0 === v > 0) continue;
        if (v !== Infinity && v !== -Infinity && !Number.isNaN(v)) continue;
      }
      [mean, c] = kahanSumInc(v / count - mean / count, mean, c);
    }
    return mean === Infinity || mean === -Infinity ? mean : mean + c;
  }),
  sum_over_time: overTime((vals, a, b) => {
    let sum = 0;
    let c = 0;
    for (let k = a; k < b; k++) [sum, c] = kahanSumInc(vals[k] as number, sum, c);
    return sum === Infinity || sum === -Infinity ? sum : sum + c;
  }),
  count_over_time: overTime((_vals, a, b) => b - a),
  min_over_time: overTime((vals, a, b) => {
    let min = vals[a] as number;
    for (let k = a; k < b; k++) {
      const v = vals[k] as number;
      if (v < min || Number.isNaN(min)) min = v;
    }
    return min;
  }),
  max_over_time: overTime((vals, a, b) => {
    let max = vals[a] as number;
    for (let k = a; k < b; k++) {
      const v = vals[k] as number;
      if (v > max || Number.isNaN(max)) max = v;
    }
    return max;
  }),
  last_over_time: overTime((vals, _a, b) => vals[b - 1] as number),
  present_over_time: overTime(() => 1),
  stdvar_over_time: overTime(stdvarOverTime),
  stddev_over_time: overTime((vals, a, b) => Math.sqrt(stdvarOverTime(vals, a, b))),
  quantile_over_time: overTime((vals, a, b, ctx) => quantile(ctx.param, Array.from(vals.subarray(a, b)))),
};

export interface Bucket {
  upperBound: number;
  count: number;
}

/** quantile.go bucketQuantile (2.42) over classic `le` buckets. */
export function bucketQuantile(q: number, input: Bucket[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...input].sort((x, y) => x.upperBound - y.upperBound || 0);
  if (sorted.length === 0 || (sorted[sorted.length - 1] as Bucket).upperBound !== Infinity) return NaN;
  // coalesceBuckets: buckets with the same bound (e.g. `le="1"` and `le="1.0"`) are added.
  const buckets: Bucket[] = [];
  for (const bucket of sorted) {
    const last = buckets[buckets.length - 1];
    if (last !== undefined && last.upperBound === bucket.upperBound) last.count += bucket.count;
    else buckets.push({ ...bucket });
  }
  // ensureMonotonic: counts of a scrape taken mid-update may decrease; raise them to the running max.
  let max = -Infinity;
  for (const bucket of buckets) {
    if (bucket.count > max) max = bucket.count;
    else if (bucket.count < max) bucket.count = max;
  }
  if (buckets.length < 2) return NaN;
  const observations = (buckets[buckets.length - 1] as Bucket).count;
  if (observations === 0) return NaN;
  let rank = q * observations;
  // sort.Search(len(buckets)-1, count >= rank)
  let lo = 0;
  let hi = buckets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((buckets[mid] as Bucket).count >= rank) hi = mid;
    else lo = mid + 1;
  }
  const b = lo;
  if (b === buckets.length - 1) return (buckets[buckets.length - 2] as Bucket).upperBound;
  if (b === 0 && (buckets[0] as Bucket).upperBound <= 0) return (buckets[0] as Bucket).upperBound;
  let bucketStart = 0;
  const bucketEnd = (buckets[b] as Bucket).upperBound;
  let count = (buckets[b] as Bucket).count;
  if (b > 0) {
    const prev = buckets[b - 1] as Bucket;
    bucketStart = prev.upperBound;
    count -= prev.count;
    rank -= prev.count;
  }
  return bucketStart + (bucketEnd - bucketStart) * (rank / count);
}
