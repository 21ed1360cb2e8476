import { PromqlParseError } from './errors.js';

/**
 * Splits PromQL into tokens the way Prometheus' promql/parser/lex.go does: keywords are
 * case-insensitive, identifiers may contain colons (metric names), a number directly followed
 * by a unit is a duration, `#` starts a comment. Offsets count characters (code points).
 */

export type TokenType =
  | 'number'
  | 'string'
  | 'duration'
  | 'identifier'
  | 'metricIdentifier'
  | 'keyword'
  | 'op'
  | '('
  | ')'
  | '{'
  | '}'
  | '['
  | ']'
  | ','
  | ':'
  | 'eof';

export interface Token {
  type: TokenType;
  /** As written (keywords lower-cased; strings with their quotes). */
  text: string;
  pos: number;
  /** Decoded value of a string token. */
  value?: string;
}

/** promql/parser/lex.go `key`: operators, aggregators and keywords. */
export const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'atan2',
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
  'count_values',
  'quantile',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
]);

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined): boolean =>
  c !== undefined && (c === '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const isAlphaNumeric = (c: string | undefined): boolean => isAlpha(c) || isDigit(c);
const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';
const HEX = /^[0-9a-fA-F]$/;

export function describeToken(token: Token): string {
  switch (token.type) {
    case 'eof':
      return 'end of input';
    case 'string':
      return `string ${token.text}`;
    case 'number':
      return `number ${token.text}`;
    case 'duration':
      return `duration ${token.text}`;
    case 'identifier':
    case 'metricIdentifier':
      return `identifier '${token.text}'`;
    case 'keyword':
      return `'${token.text}'`;
    default:
      return `'${token.text}'`;
  }
}

export function lex(chars: readonly string[]): Token[] {
  const tokens: Token[] = [];
  const fail = (pos: number, problem: string): never => {
    throw new PromqlParseError(chars, pos, `${problem} {at}`);
  };
  let i = 0;
  let braceOpen = false;
  // lex.go: inside `[...]` a colon separates a subquery's range and step.
  let bracketOpen = false;
  const at = (k: number): string | undefined => chars[k];

  /** lex.go scanNumber: digits, optional hex prefix, fraction, exponent; true if not followed by a letter. */
  const scanNumber = (start: number): { end: number; clean: boolean } => {
    let k = start;
    let digits = (c: string | undefined) => isDigit(c);
    if (at(k) === '0' && (at(k + 1) === 'x' || at(k + 1) === 'X')) {
      k += 2;
      digits = (c) => c !== undefined && HEX.test(c);
    }
    while (digits(at(k))) k++;
    if (at(k) === '.') {
      k++;
      while (digits(at(k))) k++;
    }
    if (at(k) === 'e' || at(k) === 'E') {
      k++;
      if (at(k) === '+' || at(k) === '-') k++;
      while (isDigit(at(k))) k++;
    }
    return { end: k, clean: !isAlphaNumeric(at(k)) };
  };

  /** lex.go acceptRemainingDuration: units, optionally more number+unit pairs. */
  const scanDuration = (start: number): number | undefined => {
    let k = start;
    if (!'smhdwy'.includes(at(k) ?? '#')) return undefined;
    k++;
    if (at(k) === 's') k++;
    while (isDigit(at(k))) {
      while (isDigit(at(k))) k++;
      if (!'smhdw'.includes(at(k) ?? '#')) return undefined;
      k++;
      if (at(k) === 's') k++;
    }
    return isAlphaNumeric(at(k)) ? undefined : k;
  };

  const readString = (start: number): { value: string; end: number } => {
    const quote = at(start) ?? '';
    let k = start + 1;
    let value = '';
    if (quote === '`') {
      while (k < chars.length && at(k) !== '`') value += at(k++);
      if (k >= chars.length) fail(start, 'unterminated raw string');
      return { value, end: k + 1 };
    }
    for (;;) {
      const c = at(k);
      if (c === undefined || c === '\n') return fail(start, 'unterminated quoted string');
      if (c === quote) return { value, end: k + 1 };
      if (c !== '\\') {
        value += c;
        k++;
        continue;
      }
      // Go string escapes (strconv.UnquoteChar), as lex.go lexEscape accepts them.
      const e = at(k + 1);
      const simple: Record<string, string> = {
        a: '\x07',
        b: '\b',
        f: '\f',
        n: '\n',
        r: '\r',
        t: '\t',
        v: '\v',
        '\\': '\\',
      };
      if (e !== undefined && simple[e] !== undefined) {
        value += simple[e];
        k += 2;
      } else if (e === quote) {
        value += quote;
        k += 2;
      } else if (e === 'x' || e === 'u' || e === 'U') {
        const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = chars.slice(k + 2, k + 2 + n).join('');
        if (hex.length !== n || !/^[0-9a-fA-F]+$/.test(hex)) fail(k, 'invalid escape sequence in string');
        const code = parseInt(hex, 16);
        if (e === 'x') {
          // \xHH is one byte in Go; bytes >= 0x80 would form UTF-8 sequences, which we read as Latin-1.
          value += String.fromCharCode(code);
        } else {
          if (code > 0x10ffff || (code >= 0xd800 && code < 0xe000))
            fail(k, 'invalid escape sequence in string');
          value += String.fromCodePoint(code);
        }
        k += 2 + n;
      } else if (e !== undefined && e >= '0' && e <= '7') {
        const oct = chars.slice(k + 1, k + 4).join('');
        if (!/^[0-7]{3}$/.test(oct) || parseInt(oct, 8) > 255) fail(k, 'invalid escape sequence in string');
        value += String.fromCharCode(parseInt(oct, 8));
        k += 4;
      } else {
        return fail(k, `unknown escape sequence '\\${e ?? ''}' in string`);
      }
    }
  };

  while (i < chars.length) {
    const c = at(i) ?? '';
    const start = i;
    if (isSpace(c)) {
      i++;
    } else if (c === '#') {
      while (i < chars.length && at(i) !== '\n') i++;
    } else if (c === '"' || c === "'" || c === '`') {
      const { value, end } = readString(i);
      tokens.push({ type: 'string', text: chars.slice(i, end).join(''), pos: start, value });
      i = end;
    } else if (isDigit(c) || (c === '.' && isDigit(at(i + 1)))) {
      const number = scanNumber(i);
      if (number.clean) {
        tokens.push({ type: 'number', text: chars.slice(i, number.end).join(''), pos: start });
        i = number.end;
      } else {
        const end = scanDuration(number.end);
        if (end === undefined) {
          let k = number.end;
          while (isAlphaNumeric(at(k))) k++;
          fail(start, `bad number or duration syntax '${chars.slice(start, k).join('')}'`);
        } else {
          tokens.push({ type: 'duration', text: chars.slice(i, end).join(''), pos: start });
          i = end;
        }
      }
    } else if (isAlpha(c) || (c === ':' && !braceOpen && !bracketOpen)) {
      let k = i + 1;
      while (isAlphaNumeric(at(k)) || (at(k) === ':' && !braceOpen)) k++;
      const word = chars.slice(i, k).join('');
      const lower = word.toLowerCase();
      if (KEYWORDS.has(lower)) tokens.push({ type: 'keyword', text: lower, pos: start });
      else
        tokens.push({ type: word.includes(':') ? 'metricIdentifier' : 'identifier', text: word, pos: start });
      i = k;
    } else {
      const two = c + (at(i + 1) ?? '');
      if (['==', '!=', '>=', '<=', '=~', '!~'].includes(two)) {
        tokens.push({ type: 'op', text: two, pos: start });
        i += 2;
      } else if ('+-*/%^<>='.includes(c)) {
        tokens.push({ type: 'op', text: c, pos: start });
        i++;
      } else if ('(){}[],:'.includes(c)) {
        if (c === '{') braceOpen = true;
        if (c === '}') braceOpen = false;
        if (c === '[') bracketOpen = true;
        if (c === ']') bracketOpen = false;
        tokens.push({ type: c as TokenType, text: c, pos: start });
        i++;
      } else if (c === '!') {
        fail(start, `unexpected character after '!': expected '=' or '~'`);
      } else {
        fail(start, `unexpected character '${c}'`);
      }
    }
  }
  tokens.push({ type: 'eof', text: '', pos: chars.length });
  return tokens;
}
