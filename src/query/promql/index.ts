export type {
  Aggregate,
  AggregateOp,
  Binary,
  BinaryOp,
  Call,
  Expr,
  LabelMatcher,
  Labels,
  MatrixSelector,
  NumberLiteral,
  Paren,
  StringLiteral,
  Unary,
  ValueType,
  VectorMatching,
  VectorSelector,
} from './ast.js';
export type { EvalOptions, QueryResult, RawSeries, SelectHints, SeriesSource } from './engine.js';
export {
  DEFAULT_LOOKBACK_DELTA_MS,
  DEFAULT_MAX_SAMPLES,
  evaluateInstant,
  evaluateRange,
  selectorsOf,
} from './engine.js';
export { PromqlEvalError, PromqlLimitError, PromqlParseError } from './errors.js';
export { formatSampleValue } from './format.js';
export { matcherMatches, matchesAll } from './labels.js';
export { parsePromql, typeOf } from './parser.js';
