import type {
  AggregateOp,
  BinaryOp,
  Expr,
  LabelMatcher,
  MatrixSelector,
  ValueType,
  VectorMatching,
  VectorSelector,
} from './ast.js';
import { PromqlParseError } from './errors.js';
import { compileMatcherRegex } from './labels.js';
import type { Token } from './lexer.js';
import { describeToken, lex } from './lexer.js';
import { FUNCTIONS } from './signatures.js';

/**
 * A recursive-descent PromQL parser with the precedence, associativity and type checks of
 * Prometheus 2.42 (promql/parser/generated_parser.y and parse.go checkAST).
 */

/** Longest accepted query, in characters: a guard rail, far above any hand-written query. */
export const MAX_QUERY_LENGTH = 64 * 1024;
/** Deepest nesting of parentheses and calls, so a hostile query cannot overflow the stack. */
export const MAX_NESTING = 200;

const AGGREGATORS = new Set<string>([
  'sum',
  'avg',
  'count',
  'min',
  'max',
  'group',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'quantile',
  'count_values',
]);

/** generated_parser.y: %left LOR; %left LAND LUNLESS; %left comparisons; %left ADD SUB; %left MUL DIV MOD ATAN2; %right POW. */
const PRECEDENCE: Readonly<Record<string, number>> = {
  or: 1,
  and: 2,
  unless: 2,
  '==': 3,
  '!=': 3,
  '>': 3,
  '<': 3,
  '>=': 3,
  '<=': 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
  '%': 5,
  atan2: 5,
  '^': 6,
};
const UNARY_OPERAND_PRECEDENCE = 6;

const COMPARISONS = new Set(['==', '!=', '>', '<', '>=', '<=']);
const SET_OPS = new Set(['and', 'or', 'unless']);

export const isComparison = (op: BinaryOp): boolean => COMPARISONS.has(op);
export const isSetOp = (op: BinaryOp): boolean => SET_OPS.has(op);

const TYPE_NAMES: Record<ValueType, string> = {
  scalar: 'scalar',
  vector: 'instant vector',
  matrix: 'range vector',
  string: 'string',
};

export function typeOf(expr: Expr): ValueType {
  switch (expr.kind) {
    case 'number':
      return 'scalar';
    case 'string':
      return 'string';
    case 'vectorSelector':
      return 'vector';
    case 'matrixSelector':
      return 'matrix';
    case 'call':
      return FUNCTIONS[expr.func]?.returns ?? 'vector';
    case 'aggregate':
      return 'vector';
    case 'binary':
      return typeOf(expr.lhs) === 'scalar' && typeOf(expr.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'unary':
    case 'paren':
      return typeOf(expr.expr);
  }
}

const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const DURATION_UNITS_MS = [31_536_000_000, 604_800_000, 86_400_000, 3_600_000, 60_000, 1000, 1];

/** prometheus/common model.ParseDuration: units largest first, each at most once. */
export function parseDurationMs(text: string): number | undefined {
  if (text === '0') return 0;
  const m = DURATION_RE.exec(text);
  if (m === null || text === '') return undefined;
  let ms = 0;
  for (let k = 0; k < DURATION_UNITS_MS.length; k++) {
    const part = m[k + 1];
    if (part !== undefined) ms += Number(part) * (DURATION_UNITS_MS[k] ?? 0);
  }
  // model.Duration is int64 nanoseconds.
  return ms > 9_223_372_036_854 ? undefined : ms;
}

/** parser.go parseNumber: strconv.ParseInt(s, 0, 64) (so `010` is octal 8), else ParseFloat. */
export function parseNumberLiteral(text: string): number | undefined {
  const lower = text.toLowerCase();
  if (/^0x[0-9a-f]+$/.test(lower)) return Number(lower);
  if (/^0[0-7]+$/.test(lower)) return parseInt(lower, 8);
  if (/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(lower)) return Number(lower);
  return undefined;
}

class Parser {
  private i = 0;
  private depth = 0;

  constructor(
    private readonly chars: readonly string[],
    private readonly tokens: readonly Token[],
  ) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)] as Token;
  }

  private next(): Token {
    const token = this.peek();
    if (this.i < this.tokens.length - 1) this.i++;
    return token;
  }

  private fail(pos: number, problem: string): never {
    throw new PromqlParseError(this.chars, pos, problem);
  }

  private unexpected(token: Token, expected: string): never {
    return this.fail(token.pos, `unexpected ${describeToken(token)} {at}: expected ${expected}`);
  }

  private expect(type: Token['type'], expected: string): Token {
    const token = this.peek();
    if (token.type !== type) this.unexpected(token, expected);
    return this.next();
  }

  private isKeyword(text: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token.type === 'keyword' && token.text === text;
  }

  parseQuery(): Expr {
    const expr = this.parseExpr(1);
    const rest = this.peek();
    if (rest.type !== 'eof') this.unexpected(rest, 'an operator or end of input');
    return expr;
  }

  private binaryOperator(): string | undefined {
    const token = this.peek();
    if (token.type === 'op' && PRECEDENCE[token.text] !== undefined) return token.text;
    if (token.type === 'keyword' && PRECEDENCE[token.text] !== undefined) return token.text;
    return undefined;
  }

  private parseExpr(minPrecedence: number): Expr {
    if (++this.depth > MAX_NESTING)
      this.fail(this.peek().pos, `query nests deeper than ${MAX_NESTING} levels {at}`);
    let lhs = this.parseUnary();
    for (;;) {
      const op = this.binaryOperator();
      const precedence = op === undefined ? undefined : PRECEDENCE[op];
      if (op === undefined || precedence === undefined || precedence < minPrecedence) break;
      const opToken = this.next();
      let bool = false;
      if (this.isKeyword('bool')) {
        this.next();
        bool = true;
      }
      const matching = this.parseMatching(op as BinaryOp);
      // `^` is right-associative; everything else is left-associative.
      const rhs = this.parseExpr(op === '^' ? precedence : precedence + 1);
      lhs = this.checkBinary(op as BinaryOp, lhs, rhs, bool, matching, opToken.pos);
    }
    this.depth--;
    return lhs;
  }

  private parseMatching(op: BinaryOp): VectorMatching & { written: boolean } {
    const matching = {
      card: isSetOp(op) ? ('many-to-many' as const) : ('one-to-one' as const),
      on: false,
      labels: [] as string[],
      include: [] as string[],
      written: false,
    };
    let card: VectorMatching['card'] = matching.card;
    if (this.isKeyword('on') || this.isKeyword('ignoring')) {
      matching.on = this.next().text === 'on';
      matching.labels = this.parseLabelList();
      matching.written = true;
      if (this.isKeyword('group_left') || this.isKeyword('group_right')) {
        const group = this.next();
        if (isSetOp(op)) this.fail(group.pos, `no grouping allowed for '${op}' operation {at}`);
        card = group.text === 'group_left' ? 'many-to-one' : 'one-to-many';
        if (this.peek().type === '(') matching.include = this.parseLabelList();
        if (matching.on) {
          for (const label of matching.include) {
            if (matching.labels.includes(label)) {
              this.fail(group.pos, `label '${label}' must not occur in ON and GROUP clause at once {at}`);
            }
          }
        }
      }
    } else if (this.isKeyword('group_left') || this.isKeyword('group_right')) {
      this.unexpected(this.peek(), "'on' or 'ignoring' before a group modifier");
    }
    return { ...matching, card };
  }

  private checkBinary(
    op: BinaryOp,
    lhs: Expr,
    rhs: Expr,
    bool: boolean,
    matching: VectorMatching & { written: boolean },
    pos: number,
  ): Expr {
    const lt = typeOf(lhs);
    const rt = typeOf(rhs);
    if (bool && !isComparison(op))
      this.fail(pos, 'bool modifier can only be used on comparison operators {at}');
    if (lt !== 'scalar' && lt !== 'vector') {
      this.fail(lhs.pos, 'binary expression must contain only scalar and instant vector types {at}');
    }
    if (rt !== 'scalar' && rt !== 'vector') {
      this.fail(rhs.pos, 'binary expression must contain only scalar and instant vector types {at}');
    }
    if (isComparison(op) && !bool && lt === 'scalar' && rt === 'scalar') {
      this.fail(pos, 'comparisons between scalars must use BOOL modifier {at}');
    }
    if ((lt === 'scalar' || rt === 'scalar') && isSetOp(op)) {
      this.fail(pos, `set operator '${op}' not allowed in binary scalar expression {at}`);
    }
    const bothVectors = lt === 'vector' && rt === 'vector';
    if (!bothVectors && matching.written && (matching.labels.length > 0 || matching.card !== 'one-to-one')) {
      this.fail(pos, 'vector matching only allowed between instant vectors {at}');
    }
    const vectorMatching: VectorMatching = {
      card: matching.card,
      on: matching.on,
      labels: matching.labels,
      include: matching.include,
    };
    return {
      kind: 'binary',
      op,
      lhs,
      rhs,
      bool,
      matching: bothVectors ? vectorMatching : null,
      pos: lhs.pos,
    };
  }

  private parseUnary(): Expr {
    const token = this.peek();
    if (token.type === 'op' && (token.text === '-' || token.text === '+')) {
      this.next();
      // generated_parser.y: `unary_op expr %prec MUL`, so `-a^b` is `-(a^b)` and `-a*b` is `(-a)*b`.
      const operand = this.parseExpr(UNARY_OPERAND_PRECEDENCE);
      const type = typeOf(operand);
      if (type !== 'scalar' && type !== 'vector') {
        this.fail(
          token.pos,
          'unary expression only allowed on expressions of type scalar or instant vector {at}',
        );
      }
      if (operand.kind === 'number') {
        return { kind: 'number', value: token.text === '-' ? -operand.value : operand.value, pos: token.pos };
      }
      return { kind: 'unary', op: token.text, expr: operand, pos: token.pos };
    }
    return this.parsePostfix(this.parsePrimary());
  }

  /** Range `[5m]` and `offset` bind tighter than any operator. */
  private parsePostfix(expr: Expr): Expr {
    let result = expr;
    for (;;) {
      const token = this.peek();
      if (token.type === '[') {
        this.next();
        if (result.kind !== 'vectorSelector') {
          this.fail(token.pos, 'ranges only allowed for vector selectors {at}');
        }
        if (result.offsetMs !== 0) this.fail(token.pos, 'no offset modifiers allowed before range {at}');
        const rangeMs = this.parseDuration('a range duration like 5m');
        if (this.peek().type === ':') this.fail(this.peek().pos, 'subqueries are not supported {at}');
        this.expect(']', "']'");
        const matrix: MatrixSelector = { kind: 'matrixSelector', selector: result, rangeMs, pos: result.pos };
        result = matrix;
      } else if (token.type === 'keyword' && token.text === 'offset') {
        this.next();
        let sign = 1;
        const signToken = this.peek();
        if (signToken.type === 'op' && (signToken.text === '-' || signToken.text === '+')) {
          this.next();
          if (signToken.text === '-') sign = -1;
        }
        const offsetMs = sign * this.parseDuration('a duration like 5m after offset');
        const selector =
          result.kind === 'vectorSelector'
            ? result
            : result.kind === 'matrixSelector'
              ? result.selector
              : undefined;
        if (selector === undefined) {
          this.fail(
            token.pos,
            'offset modifier must be preceded on an instant vector selector or range vector selector {at}',
          );
        }
        if (selector.offsetMs !== 0) this.fail(token.pos, 'offset may not be set multiple times {at}');
        selector.offsetMs = offsetMs;
      } else {
        return result;
      }
    }
  }

  private parseDuration(expected: string): number {
    const token = this.peek();
    if (token.type !== 'duration') this.unexpected(token, expected);
    this.next();
    const ms = parseDurationMs(token.text);
    if (ms === undefined) this.fail(token.pos, `not a valid duration string '${token.text}' {at}`);
    return ms;
  }

  private parsePrimary(): Expr {
    const token = this.peek();
    switch (token.type) {
      case 'number': {
        this.next();
        const value = parseNumberLiteral(token.text);
        if (value === undefined) this.fail(token.pos, `error parsing number '${token.text}' {at}`);
        return { kind: 'number', value, pos: token.pos };
      }
      case 'string':
        this.next();
        return { kind: 'string', value: token.value ?? '', pos: token.pos };
      case '(': {
        this.next();
        const expr = this.parseExpr(1);
        this.expect(')', "')' or an operator");
        return { kind: 'paren', expr, pos: token.pos };
      }
      case '{':
        return this.parseSelector(undefined, token.pos);
      case 'identifier':
      case 'metricIdentifier': {
        this.next();
        if (token.type === 'identifier' && this.peek().type === '(') return this.parseCall(token);
        const lower = token.text.toLowerCase();
        if (lower === 'inf' || lower === 'nan') {
          return { kind: 'number', value: lower === 'inf' ? Infinity : NaN, pos: token.pos };
        }
        return this.parseSelector(token.text, token.pos);
      }
      case 'keyword':
        if (AGGREGATORS.has(token.text)) return this.parseAggregate();
        return this.unexpected(token, 'an expression');
      default:
        return this.unexpected(token, 'an expression');
    }
  }

  private parseCall(name: Token): Expr {
    const signature = FUNCTIONS[name.text];
    if (signature === undefined) this.fail(name.pos, `unknown function with name '${name.text}' {at}`);
    const args = this.parseArgs();
    const required =
      signature.optional === -1 ? signature.args.length - 1 : signature.args.length - signature.optional;
    const max = signature.optional === -1 ? Infinity : signature.args.length;
    if (args.length < required || args.length > max) {
      const expected =
        signature.optional === 0
          ? `${required}`
          : args.length < required
            ? `at least ${required}`
            : `at most ${max}`;
      this.fail(
        name.pos,
        `expected ${expected} argument(s) in call to '${name.text}', got ${args.length} {at}`,
      );
    }
    args.forEach((arg, k) => {
      const want = signature.args[Math.min(k, signature.args.length - 1)] ?? 'vector';
      this.expectType(arg, want, `call to function '${name.text}'`);
    });
    return { kind: 'call', func: name.text, args, pos: name.pos };
  }

  private parseArgs(): Expr[] {
    this.expect('(', "'('");
    const args: Expr[] = [];
    if (this.peek().type === ')') {
      this.next();
      return args;
    }
    for (;;) {
      args.push(this.parseExpr(1));
      const token = this.next();
      if (token.type === ')') return args;
      if (token.type !== ',') this.unexpected(token, "',' or ')'");
    }
  }

  private expectType(expr: Expr, want: ValueType, context: string): void {
    const got = typeOf(expr);
    if (got !== want) {
      this.fail(expr.pos, `expected type ${TYPE_NAMES[want]} in ${context}, got ${TYPE_NAMES[got]} {at}`);
    }
  }

  private parseAggregate(): Expr {
    const opToken = this.next();
    const op = opToken.text as AggregateOp;
    let grouping: string[] = [];
    let without = false;
    let groupingWritten = false;
    if (this.isKeyword('by') || this.isKeyword('without')) {
      without = this.next().text === 'without';
      grouping = this.parseLabelList();
      groupingWritten = true;
    }
    if (this.peek().type !== '(') this.unexpected(this.peek(), `'(' after '${op}'`);
    const args = this.parseArgs();
    if (this.isKeyword('by') || this.isKeyword('without')) {
      const token = this.next();
      if (groupingWritten) this.fail(token.pos, 'aggregation must only contain one grouping clause {at}');
      without = token.text === 'without';
      grouping = this.parseLabelList();
    }
    const wantsParam = op === 'topk' || op === 'bottomk' || op === 'quantile' || op === 'count_values';
    const expectedArgs = wantsParam ? 2 : 1;
    if (args.length !== expectedArgs) {
      this.fail(
        opToken.pos,
        `wrong number of arguments for aggregate expression provided, expected ${expectedArgs}, got ${args.length} {at}`,
      );
    }
    const expr = args[expectedArgs - 1] as Expr;
    const param = wantsParam ? (args[0] as Expr) : null;
    this.expectType(expr, 'vector', 'aggregation expression');
    if (param !== null)
      this.expectType(param, op === 'count_values' ? 'string' : 'scalar', 'aggregation parameter');
    return { kind: 'aggregate', op, expr, param, grouping, without, pos: opToken.pos };
  }

  /** `(a, b,)`: label names, which may be keywords (`by (on)`). */
  private parseLabelList(): string[] {
    this.expect('(', "'(' to start a label list");
    const labels: string[] = [];
    for (;;) {
      const token = this.next();
      if (token.type === ')') return labels;
      if (token.type !== 'identifier' && token.type !== 'keyword')
        this.unexpected(token, "a label name or ')'");
      labels.push(token.text);
      const sep = this.next();
      if (sep.type === ')') return labels;
      if (sep.type !== ',') this.unexpected(sep, "',' or ')'");
    }
  }

  private parseSelector(name: string | undefined, pos: number): VectorSelector {
    const matchers: LabelMatcher[] = [];
    if (this.peek().type === '{') {
      this.next();
      for (;;) {
        const labelToken = this.next();
        if (labelToken.type === '}') break;
        if (labelToken.type !== 'identifier' && labelToken.type !== 'keyword') {
          this.unexpected(labelToken, "a label name or '}'");
        }
        const opToken = this.next();
        if (opToken.type !== 'op' || !['=', '!=', '=~', '!~'].includes(opToken.text)) {
          this.unexpected(opToken, "a label matching operator ('=', '!=', '=~' or '!~')");
        }
        const valueToken = this.next();
        if (valueToken.type !== 'string') this.unexpected(valueToken, 'a quoted label value');
        const matcher: LabelMatcher = {
          name: labelToken.text,
          op: opToken.text as LabelMatcher['op'],
          value: valueToken.value ?? '',
        };
        if (matcher.op === '=~' || matcher.op === '!~') {
          try {
            compileMatcherRegex(matcher.value);
          } catch (error) {
            this.fail(
              valueToken.pos,
              `invalid regular expression ${valueToken.text} {at}: ${(error as Error).message}`,
            );
          }
        }
        matchers.push(matcher);
        const sep = this.next();
        if (sep.type === '}') break;
        if (sep.type !== ',') this.unexpected(sep, "',' or '}'");
      }
    }
    if (name !== undefined) {
      const named = matchers.find((m) => m.name === '__name__');
      if (named !== undefined)
        this.fail(pos, `metric name must not be set twice: '${name}' or '${named.value}' {at}`);
      matchers.push({ name: '__name__', op: '=', value: name });
    } else if (!matchers.some((m) => !matcherMatchesEmpty(m))) {
      this.fail(pos, 'vector selector must contain at least one non-empty matcher {at}');
    }
    return { kind: 'vectorSelector', name, matchers, offsetMs: 0, pos };
  }
}

function matcherMatchesEmpty(m: LabelMatcher): boolean {
  switch (m.op) {
    case '=':
      return m.value === '';
    case '!=':
      return m.value !== '';
    case '=~':
      return compileMatcherRegex(m.value).test('');
    case '!~':
      return !compileMatcherRegex(m.value).test('');
  }
}

/** Parses a PromQL expression; throws PromqlParseError pointing at the offending token. */
export function parsePromql(text: string): Expr {
  const chars = Array.from(text);
  if (chars.length > MAX_QUERY_LENGTH) {
    throw new PromqlParseError(
      chars,
      MAX_QUERY_LENGTH,
      `query is longer than ${MAX_QUERY_LENGTH} characters {at}`,
    );
  }
  const tokens = lex(chars);
  if (tokens.length === 1) throw new PromqlParseError(chars, 0, 'empty query {at}: expected an expression');
  return new Parser(chars, tokens).parseQuery();
}
