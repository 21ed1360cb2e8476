/**
 * The PromQL syntax tree, shaped like Prometheus' promql/parser/ast.go for the subset we run.
 * Every node keeps the 0-based character offset where it starts, for error messages.
 */

export type Labels = Readonly<Record<string, string>>;

export interface LabelMatcher {
  name: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

export type AggregateOp =
  | 'sum'
  | 'avg'
  | 'min'
  | 'max'
  | 'count'
  | 'group'
  | 'stddev'
  | 'stdvar'
  | 'topk'
  | 'bottomk'
  | 'quantile'
  | 'count_values';

export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^' | 'atan2';
export type ComparisonOp = '==' | '!=' | '>' | '<' | '>=' | '<=';
export type SetOp = 'and' | 'or' | 'unless';
export type BinaryOp = ArithmeticOp | ComparisonOp | SetOp;

export interface VectorMatching {
  card: 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';
  /** `on(...)` when true, `ignoring(...)` (or no clause) when false. */
  on: boolean;
  labels: string[];
  /** Labels copied from the "one" side by `group_left(...)` / `group_right(...)`. */
  include: string[];
}

export interface NumberLiteral {
  kind: 'number';
  value: number;
  pos: number;
}

export interface StringLiteral {
  kind: 'string';
  value: string;
  pos: number;
}

export interface VectorSelector {
  kind: 'vectorSelector';
  /** The metric name as written before the braces, if any. */
  name: string | undefined;
  /** All matchers, including `__name__="<name>"` for a written name. */
  matchers: LabelMatcher[];
  offsetMs: number;
  pos: number;
}

export interface MatrixSelector {
  kind: 'matrixSelector';
  selector: VectorSelector;
  rangeMs: number;
  pos: number;
}

export interface Call {
  kind: 'call';
  func: string;
  args: Expr[];
  pos: number;
}

export interface Aggregate {
  kind: 'aggregate';
  op: AggregateOp;
  expr: Expr;
  param: Expr | null;
  grouping: string[];
  without: boolean;
  pos: number;
}

export interface Binary {
  kind: 'binary';
  op: BinaryOp;
  lhs: Expr;
  rhs: Expr;
  bool: boolean;
  /** Null when either side is a scalar. */
  matching: VectorMatching | null;
  pos: number;
}

export interface Unary {
  kind: 'unary';
  op: '-' | '+';
  expr: Expr;
  pos: number;
}

export interface Paren {
  kind: 'paren';
  expr: Expr;
  pos: number;
}

export type Expr =
  NumberLiteral | StringLiteral | VectorSelector | MatrixSelector | Call | Aggregate | Binary | Unary | Paren;
