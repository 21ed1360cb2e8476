import { SEVERITY_BANDS, severityFromText, type Severity } from '../../core/severity.js';
import type {
  CompareOp,
  LogAggregate,
  LogExpr,
  LogField,
  LogGroupField,
  MatchValue,
  ParsedLogQuery,
} from '../../store/log-query.js';
import { LogQueryMeaningError, LogQuerySyntaxError } from './errors.js';
import { describeToken, lex, type PhraseValue, type Token, type WordValue } from './lexer.js';

/**
 * The log search language (docs/log-search.md):
 *
 *   query       = [ or ] [ "|" aggregation ]
 *   or          = and { "OR" and }
 *   and         = unary { [ "AND" ] unary }          (juxtaposition is AND)
 *   unary       = ( "NOT" | "-" ) unary | primary
 *   primary     = "(" or ")" | term
 *   term        = word | phrase | field ( ":" | "=" ) ( word | phrase )
 *               | field ( ">" | ">=" | "<" | "<=" ) word
 *   aggregation = "count" [ "by" name { "," name } ] [ "over" duration ]
 *
 * Precedence NOT > AND > OR. Keywords are upper case; `and`, `or`, `not` are searched as text.
 */

/** Longer queries are refused before parsing: a search box never needs more. */
export const MAX_QUERY_LENGTH = 4096;
/** Nested groups and negations; the compiled SQL nests as deep, so this bounds it too. */
export const MAX_NESTING = 32;
/** Terms in one query; each becomes a condition with its own parameters. */
export const MAX_TERMS = 256;
export const MAX_GROUP_BY = 3;

const COLUMNS: Record<string, LogField> = {
  service: { kind: 'column', column: 'service' },
  host: { kind: 'column', column: 'host' },
  entity: { kind: 'column', column: 'entity_id' },
  entity_id: { kind: 'column', column: 'entity_id' },
  trace_id: { kind: 'column', column: 'trace_id' },
  span_id: { kind: 'column', column: 'span_id' },
  severity: { kind: 'severity' },
  level: { kind: 'severity' },
  body: { kind: 'body' },
};

const RESOURCE_PREFIX = 'resource.';
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const DURATION = /^\d+(?:\.\d+)?(?:ms|s|m|h|d)?$/;
const LEVELS = SEVERITY_BANDS.map((s) => s.toLowerCase()).join(', ');

export function parseLogQuery(query: string): ParsedLogQuery {
  const chars = Array.from(query);
  if (chars.length > MAX_QUERY_LENGTH) {
    throw new LogQueryMeaningError(
      MAX_QUERY_LENGTH + 1,
      `the query is ${chars.length} characters long; the limit is ${MAX_QUERY_LENGTH}`,
    );
  }
  const lexed = lex(chars);
  const parser = new Parser(lexed.tokens);
  const filter = parser.parseQuery();
  const aggregate = lexed.aggregation === null ? null : parseAggregation(lexed.aggregation);
  return { filter, aggregate };
}

class Parser {
  private index = 0;
  private depth = 0;
  private terms = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  parseQuery(): LogExpr | null {
    if (this.peek().type === 'end') return null;
    const expr = this.parseOr();
    const next = this.peek();
    if (next.type !== 'end') {
      throw new LogQuerySyntaxError(
        next.col,
        describeToken(next),
        next.type === ')' ? "a term or the end of the query (this ')' closes nothing)" : 'a term',
      );
    }
    return expr;
  }

  private peek(): Token {
    // The lexer always ends the list with an `end` token.
    return this.tokens[this.index] ?? (this.tokens[this.tokens.length - 1] as Token);
  }

  private next(): Token {
    const token = this.peek();
    if (token.type !== 'end') this.index++;
    return token;
  }

  private isKeyword(token: Token, keyword: 'AND' | 'OR' | 'NOT'): boolean {
    return token.type === 'word' && token.value.raw === keyword;
  }

  private parseOr(): LogExpr {
    const operands = [this.parseAnd()];
    while (this.isKeyword(this.peek(), 'OR')) {
      this.next();
      operands.push(this.parseAnd());
    }
    return operands.length === 1 ? (operands[0] as LogExpr) : { kind: 'or', operands };
  }

  private parseAnd(): LogExpr {
    const operands = [this.parseUnary()];
    for (;;) {
      const token = this.peek();
      if (this.isKeyword(token, 'AND')) {
        this.next();
      } else if (token.type === 'end' || token.type === ')' || this.isKeyword(token, 'OR')) {
        break;
      }
      operands.push(this.parseUnary());
    }
    return operands.length === 1 ? (operands[0] as LogExpr) : { kind: 'and', operands };
  }

  private parseUnary(): LogExpr {
    const token = this.peek();
    if (token.type === '-' || this.isKeyword(token, 'NOT')) {
      this.next();
      return { kind: 'not', operand: this.nested(token, () => this.parseUnary()) };
    }
    return this.parsePrimary();
  }

  private nested(opener: Token, parse: () => LogExpr): LogExpr {
    if (++this.depth > MAX_NESTING) {
      throw new LogQueryMeaningError(
        opener.col,
        `the query nests groups and negations more than ${MAX_NESTING} deep`,
      );
    }
    const expr = parse();
    this.depth--;
    return expr;
  }

  private parsePrimary(): LogExpr {
    const token = this.next();
    switch (token.type) {
      case '(': {
        const expr = this.nested(token, () => this.parseOr());
        const close = this.next();
        if (close.type !== ')') {
          throw new LogQuerySyntaxError(
            close.col,
            describeToken(close),
            `')' to close the '(' at column ${token.col}`,
          );
        }
        return expr;
      }
      case 'word':
        if (['AND', 'OR', 'NOT'].includes(token.value.raw)) break;
        this.countTerm(token);
        return { kind: 'match', field: { kind: 'body' }, value: matchValue(token.value) };
      case 'phrase':
        this.countTerm(token);
        return { kind: 'match', field: { kind: 'body' }, value: { kind: 'exact', text: token.value.text } };
      case 'field':
        this.countTerm(token);
        return fieldTerm(token);
      default:
        break;
    }
    throw new LogQuerySyntaxError(token.col, describeToken(token), 'a term');
  }

  private countTerm(token: Token): void {
    if (++this.terms > MAX_TERMS) {
      throw new LogQueryMeaningError(token.col, `the query has more than ${MAX_TERMS} terms`);
    }
  }
}

function matchValue(value: WordValue | PhraseValue): MatchValue {
  if (value.kind === 'word' && value.hasWildcard) return { kind: 'pattern', parts: value.parts };
  return { kind: 'exact', text: value.text };
}

function resolveField(name: string): LogField {
  const known = COLUMNS[name.toLowerCase()];
  if (known !== undefined) return known;
  if (name.startsWith(RESOURCE_PREFIX) && name.length > RESOURCE_PREFIX.length) {
    return { kind: 'attribute', source: 'resource', key: name.slice(RESOURCE_PREFIX.length) };
  }
  return { kind: 'attribute', source: 'attributes', key: name };
}

function fieldTerm(token: Extract<Token, { type: 'field' }>): LogExpr {
  const field = resolveField(token.name);
  const { op, value } = token;
  if (field.kind === 'severity') return severityTerm(token, op);
  if (field.kind === 'column' && (field.column === 'trace_id' || field.column === 'span_id')) {
    // Ids are stored as lower-case hex.
    const lower = matchValue(value);
    if (op !== ':' && op !== '=') return notComparable(token, field);
    return {
      kind: 'match',
      field,
      value:
        lower.kind === 'exact'
          ? { kind: 'exact', text: lower.text.toLowerCase() }
          : {
              kind: 'pattern',
              parts: lower.parts.map((p) => ('literal' in p ? { literal: p.literal.toLowerCase() } : p)),
            },
    };
  }
  if (op === ':') return { kind: 'match', field, value: matchValue(value) };
  if (field.kind !== 'attribute') {
    if (op === '=') return { kind: 'match', field, value: matchValue(value) };
    return notComparable(token, field);
  }
  const number = value.kind === 'word' && NUMBER.test(value.text) ? Number(value.text) : undefined;
  if (op === '=') {
    return number === undefined
      ? { kind: 'match', field, value: matchValue(value) }
      : { kind: 'compare', field, op, value: number };
  }
  if (number === undefined || !Number.isFinite(number)) {
    throw new LogQuerySyntaxError(
      token.valueCol,
      value.kind === 'word' ? `'${value.raw}'` : value.raw,
      `a number after '${token.name}${op}'`,
    );
  }
  return { kind: 'compare', field, op, value: number };
}

function notComparable(token: Extract<Token, { type: 'field' }>, field: LogField): never {
  throw new LogQueryMeaningError(
    token.col,
    `'${token.op}' compares numbers (on attributes) or levels; ${token.name} is ${
      field.kind === 'body' ? 'the body' : 'text'
    }: use ${token.name}:value`,
  );
}

function severityTerm(token: Extract<Token, { type: 'field' }>, op: ':' | CompareOp): LogExpr {
  const { value } = token;
  const severity = value.kind === 'word' && !value.hasWildcard ? severityFromText(value.text) : undefined;
  if (severity === undefined) {
    throw new LogQueryMeaningError(
      token.valueCol,
      `${token.name}${op}${value.raw} is not a level; use one of ${LEVELS}`,
    );
  }
  if (op === ':' || op === '=') return { kind: 'severity', severities: [severity] };
  const rank = SEVERITY_BANDS.indexOf(severity);
  if (rank < 0) {
    throw new LogQueryMeaningError(
      token.valueCol,
      `${token.name}${op}${value.raw} compares with a level that has no rank; use one of ${LEVELS}`,
    );
  }
  const keep = (r: number): boolean =>
    op === '>' ? r > rank : op === '>=' ? r >= rank : op === '<' ? r < rank : r <= rank;
  const severities: Severity[] = SEVERITY_BANDS.filter((_, r) => keep(r));
  return { kind: 'severity', severities };
}

/** `count [by a, b] [over 1m]` after the `|`. */
function parseAggregation(source: { chars: string[]; col: number }): LogAggregate {
  const words = aggregationTokens(source.chars, source.col);
  let k = 0;
  const peek = () => words[k] ?? { text: '', col: source.col + source.chars.length };
  const describe = (w: { text: string }) => (w.text === '' ? 'end of query' : `'${w.text}'`);
  const first = peek();
  if (first.text.toLowerCase() !== 'count') {
    throw new LogQuerySyntaxError(first.col, describe(first), "'count' after '|'");
  }
  k++;
  const by: Array<{ name: string; field: LogGroupField }> = [];
  let over: string | null = null;
  let sawBy = false;
  for (;;) {
    const clause = peek();
    const keyword = clause.text.toLowerCase();
    if (keyword === 'by' && !sawBy) {
      sawBy = true;
      k++;
      for (;;) {
        const name = peek();
        if (!/^[A-Za-z_]/.test(name.text)) {
          throw new LogQuerySyntaxError(name.col, describe(name), "a field name after 'by'");
        }
        k++;
        const field = resolveField(name.text);
        if (field.kind === 'body') {
          throw new LogQueryMeaningError(name.col, 'counts cannot be grouped by the body');
        }
        if (by.length === MAX_GROUP_BY) {
          throw new LogQueryMeaningError(name.col, `counts group by at most ${MAX_GROUP_BY} fields`);
        }
        by.push({ name: field.kind === 'attribute' ? name.text : name.text.toLowerCase(), field });
        if (peek().text !== ',') break;
        k++;
      }
    } else if (keyword === 'over' && over === null) {
      k++;
      const step = peek();
      if (!DURATION.test(step.text)) {
        throw new LogQuerySyntaxError(
          step.col,
          describe(step),
          "a duration such as 30s, 1m or 1h after 'over'",
        );
      }
      over = step.text;
      k++;
    } else if (clause.text === '') {
      return { by, over };
    } else {
      const expected = [
        sawBy ? undefined : "'by'",
        over === null ? "'over'" : undefined,
        'the end of the query',
      ]
        .filter((e) => e !== undefined)
        .join(', ');
      throw new LogQuerySyntaxError(clause.col, describe(clause), expected);
    }
  }
}

/** Names, durations and commas; anything else is reported where it stands. */
function aggregationTokens(chars: readonly string[], startCol: number): Array<{ text: string; col: number }> {
  const out: Array<{ text: string; col: number }> = [];
  let i = 0;
  while (i < chars.length) {
    const c = chars[i] ?? '';
    if (/\s/u.test(c)) {
      i++;
      continue;
    }
    if (c === ',') {
      out.push({ text: ',', col: startCol + i });
      i++;
      continue;
    }
    if (!/[A-Za-z0-9_]/.test(c)) {
      throw new LogQuerySyntaxError(
        startCol + i,
        `'${c}'`,
        "'count', 'by', 'over', a field name or a duration",
      );
    }
    const start = i;
    while (i < chars.length && /[A-Za-z0-9_.\-@]/.test(chars[i] ?? '')) i++;
    out.push({ text: chars.slice(start, i).join(''), col: startCol + start });
  }
  return out;
}
