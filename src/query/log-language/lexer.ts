import type { CompareOp, PatternPart } from '../../store/log-query.js';
import { LogQuerySyntaxError } from './errors.js';

/**
 * Splits a log search into tokens. Columns are 1-based and count characters (code points),
 * not UTF-16 units, so a column in an error lines up with what the user typed.
 */

/** A bare word: `*` and `?` are wildcards unless escaped with a backslash. */
export interface WordValue {
  kind: 'word';
  /** As typed, escapes included: what keywords and error messages compare with. */
  raw: string;
  /** Escapes resolved, wildcards kept as typed. */
  text: string;
  parts: PatternPart[];
  hasWildcard: boolean;
}

/** A "quoted phrase": everything literal; a backslash escapes `"` and `\`. */
export interface PhraseValue {
  kind: 'phrase';
  raw: string;
  text: string;
}

export type FieldOp = ':' | CompareOp;

export type Token =
  | { type: 'word'; col: number; value: WordValue }
  | { type: 'phrase'; col: number; value: PhraseValue }
  | {
      type: 'field';
      col: number;
      name: string;
      op: FieldOp;
      valueCol: number;
      value: WordValue | PhraseValue;
    }
  | { type: '(' | ')' | '-'; col: number }
  | { type: 'end'; col: number };

export interface Lexed {
  tokens: Token[];
  /** What follows an unquoted `|`: the aggregation, and the column of its first character. */
  aggregation: { chars: string[]; col: number } | null;
}

const SPACE = /\s/u;
/** Characters that end a bare word. */
const BREAKS = new Set(['(', ')', '"', '|']);
const FIELD_START = /[A-Za-z_]/;
const FIELD_CHAR = /[A-Za-z0-9_.\-@]/;

/** What may follow a `-` for it to negate: a word, a phrase or a group (`--x` is a word). */
function startsOperand(c: string | undefined): boolean {
  return c !== undefined && !SPACE.test(c) && c !== ')' && c !== '|' && c !== '-';
}

export function describeToken(token: Token): string {
  switch (token.type) {
    case 'word':
      return `'${token.value.raw}'`;
    case 'phrase':
      return token.value.raw;
    case 'field':
      return `'${token.name}${token.op}'`;
    case 'end':
      return 'end of query';
    default:
      return `'${token.type}'`;
  }
}

export function lex(chars: readonly string[]): Lexed {
  const tokens: Token[] = [];
  let i = 0;
  const at = (k: number): string | undefined => chars[k];
  const isBreak = (c: string | undefined) => c === undefined || SPACE.test(c) || BREAKS.has(c);

  const readPhrase = (start: number): { value: PhraseValue; next: number } => {
    let k = start + 1;
    let text = '';
    while (k < chars.length && at(k) !== '"') {
      if (at(k) === '\\' && k + 1 < chars.length) k++;
      text += at(k);
      k++;
    }
    if (k >= chars.length) {
      throw new LogQuerySyntaxError(
        chars.length + 1,
        'end of query',
        `a closing '"' for the quote at column ${start + 1}`,
      );
    }
    return { value: { kind: 'phrase', raw: chars.slice(start, k + 1).join(''), text }, next: k + 1 };
  };

  const readWord = (start: number): { value: WordValue; next: number } => {
    let k = start;
    let text = '';
    const parts: PatternPart[] = [];
    let literal = '';
    let hasWildcard = false;
    while (!isBreak(at(k))) {
      const c = at(k) ?? '';
      if (c === '\\') {
        const escaped = at(k + 1);
        if (escaped === undefined) {
          throw new LogQuerySyntaxError(k + 2, 'end of query', "a character after '\\'");
        }
        literal += escaped;
        text += escaped;
        k += 2;
        continue;
      }
      if (c === '*' || c === '?') {
        if (literal !== '') parts.push({ literal });
        literal = '';
        parts.push({ wildcard: c });
        hasWildcard = true;
      } else {
        literal += c;
      }
      text += c;
      k++;
    }
    if (literal !== '') parts.push({ literal });
    return {
      value: { kind: 'word', raw: chars.slice(start, k).join(''), text, parts, hasWildcard },
      next: k,
    };
  };

  /** `name:`, `name>=` … at `start`, or undefined when the word there is not a field term. */
  const readFieldName = (start: number): { name: string; op: FieldOp; next: number } | undefined => {
    if (!FIELD_START.test(at(start) ?? '')) return undefined;
    let k = start + 1;
    while (FIELD_CHAR.test(at(k) ?? '')) k++;
    const name = chars.slice(start, k).join('');
    const two = `${at(k) ?? ''}${at(k + 1) ?? ''}`;
    if (two === '>=' || two === '<=') return { name, op: two, next: k + 2 };
    const one = at(k);
    if (one === ':' || one === '>' || one === '<' || one === '=') return { name, op: one, next: k + 1 };
    return undefined;
  };

  while (i < chars.length) {
    const c = at(i) ?? '';
    if (SPACE.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      tokens.push({ type: c, col: i + 1 });
      i++;
    } else if (c === '|') {
      tokens.push({ type: 'end', col: i + 1 });
      return { tokens, aggregation: { chars: chars.slice(i + 1), col: i + 2 } };
    } else if (c === '"') {
      const { value, next } = readPhrase(i);
      tokens.push({ type: 'phrase', col: i + 1, value });
      i = next;
    } else if (c === '-' && startsOperand(at(i + 1))) {
      // `-term`, `-"phrase"`, `-(group)`; a lone `-` is searched as text.
      tokens.push({ type: '-', col: i + 1 });
      i++;
    } else {
      const field = readFieldName(i);
      if (field === undefined) {
        const { value, next } = readWord(i);
        tokens.push({ type: 'word', col: i + 1, value });
        i = next;
        continue;
      }
      const valueStart = field.next;
      const v = at(valueStart);
      if (v === '"') {
        const { value, next } = readPhrase(valueStart);
        tokens.push({ ...field, type: 'field', col: i + 1, valueCol: valueStart + 1, value });
        i = next;
      } else if (isBreak(v)) {
        throw new LogQuerySyntaxError(
          valueStart + 1,
          v === undefined ? 'end of query' : SPACE.test(v) ? 'a space' : `'${v}'`,
          `a value right after '${field.name}${field.op}'`,
        );
      } else {
        const { value, next } = readWord(valueStart);
        tokens.push({ ...field, type: 'field', col: i + 1, valueCol: valueStart + 1, value });
        i = next;
      }
    }
  }
  tokens.push({ type: 'end', col: chars.length + 1 });
  return { tokens, aggregation: null };
}
