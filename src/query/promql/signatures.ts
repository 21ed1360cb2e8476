import type { ValueType } from './ast.js';

/** promql/parser/functions.go for the functions we evaluate: argument types and return type. */
export interface FunctionSignature {
  args: ValueType[];
  /** How many trailing arguments may be left out (-1: the last one repeats any number of times). */
  optional: number;
  returns: ValueType;
}

const v = 'vector' as const;
const m = 'matrix' as const;
const s = 'scalar' as const;
const str = 'string' as const;

const simple = (args: ValueType[], returns: ValueType = v, optional = 0): FunctionSignature => ({
  args,
  optional,
  returns,
});

export const FUNCTIONS: Readonly<Record<string, FunctionSignature>> = {
  abs: simple([v]),
  ceil: simple([v]),
  floor: simple([v]),
  exp: simple([v]),
  ln: simple([v]),
  log2: simple([v]),
  log10: simple([v]),
  sqrt: simple([v]),
  sgn: simple([v]),
  round: simple([v, s], v, 1),
  clamp: simple([v, s, s]),
  clamp_min: simple([v, s]),
  clamp_max: simple([v, s]),
  rate: simple([m]),
  irate: simple([m]),
  increase: simple([m]),
  delta: simple([m]),
  idelta: simple([m]),
  changes: simple([m]),
  resets: simple([m]),
  avg_over_time: simple([m]),
  min_over_time: simple([m]),
  max_over_time: simple([m]),
  sum_over_time: simple([m]),
  count_over_time: simple([m]),
  last_over_time: simple([m]),
  stddev_over_time: simple([m]),
  stdvar_over_time: simple([m]),
  present_over_time: simple([m]),
  absent_over_time: simple([m]),
  quantile_over_time: simple([s, m]),
  time: simple([], s),
  timestamp: simple([v]),
  vector: simple([s]),
  scalar: simple([v], s),
  absent: simple([v]),
  histogram_quantile: simple([s, v]),
  label_replace: simple([v, str, str, str, str]),
  label_join: simple([v, str, str, str], v, -1),
  sort: simple([v]),
  sort_desc: simple([v]),
};
