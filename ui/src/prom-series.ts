import type { PromMatrix, PromVector } from './api.js';

/** One series of a PromQL answer on the shared time axis of a chart. */
export interface AlignedSeries {
  times: number[];
  columns: Array<{ metric: Record<string, string>; values: Array<number | null> }>;
}

/**
 * Several PromQL matrices on one x axis (epoch seconds, sorted): uPlot draws series that share
 * their x values. A time a series has no value at is null (a gap, not a zero).
 */
export function alignMatrices(answers: ReadonlyArray<PromMatrix['data']>): AlignedSeries {
  const result = answers.flatMap((answer) => (answer.resultType === 'matrix' ? answer.result : []));
  const times = [...new Set(result.flatMap((s) => s.values.map(([t]) => t)))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const columns = result.map((s) => {
    const values = new Array<number | null>(times.length).fill(null);
    for (const [t, v] of s.values) {
      const value = Number(v);
      const at = index.get(t);
      if (at !== undefined) values[at] = Number.isFinite(value) ? value : null;
    }
    return { metric: s.metric, values };
  });
  return { times, columns };
}

/** The value of each series of an instant query (a vector), with its labels. */
export function vectorValues(
  answer: PromVector['data'],
): Array<{ metric: Record<string, string>; value: number }> {
  if (answer.resultType !== 'vector') return [];
  return answer.result
    .map((s) => ({ metric: s.metric, value: Number(s.value[1]) }))
    .filter((s) => Number.isFinite(s.value));
}
