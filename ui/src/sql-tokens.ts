/**
 * A small SQL tokenizer for highlighting normalized statements (pg_stat_statements' `$1`,
 * MySQL digests' `?`). It never fails: every character lands in some token, so joining the
 * tokens' text gives back the input exactly.
 */

export type SqlTokenKind =
  | 'keyword'
  | 'identifier'
  | 'quoted-identifier'
  | 'string'
  | 'number'
  | 'parameter'
  | 'comment'
  | 'operator'
  | 'punctuation'
  | 'whitespace';

export interface SqlToken {
  kind: SqlTokenKind;
  text: string;
}

/** Reserved and common words of PostgreSQL and MySQL statements; matched case-insensitively. */
const KEYWORDS = new Set(
  `select from where and or not in is null as on join left right inner outer full cross natural using
   group by order having limit offset fetch first next rows only union all intersect except distinct
   insert into values update set delete returning with recursive create alter drop table index view
   if exists primary key foreign references unique check default constraint case when then else end
   between like ilike similar any some asc desc nulls last begin commit rollback savepoint release
   transaction start explain analyze vacuum truncate lateral over partition window filter within
   true false cast interval for share nowait skip locked conflict do nothing replace ignore
   duplicate lock unlock grant revoke column add rename to escape collate array`
    .split(/\s+/)
    .filter((word) => word !== ''),
);

const OPERATOR_CHARS = '+-*/<>=~!@#%^&|`?';
const PUNCTUATION_CHARS = '(),;.[]{}:';

function isIdentifierStart(ch: string): boolean {
  return /[A-Za-z_\u0080-\uffff]/.test(ch);
}
function isIdentifierPart(ch: string): boolean {
  return /[A-Za-z0-9_$\u0080-\uffff]/.test(ch);
}

/** The end (exclusive) of a quoted run starting at `start`; a doubled quote is an escaped one. */
function endOfQuoted(text: string, start: number, quote: string, backslashEscapes: boolean): number {
  let i = start + 1;
  while (i < text.length) {
    const ch = text[i];
    if (backslashEscapes && ch === '\\') {
      i += 2;
      continue;
    }
    if (ch === quote) {
      if (text[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return text.length;
}

/** PostgreSQL's dollar quoting: `$$…$$` or `$tag$…$tag$`; null when `$` starts no such quote. */
function endOfDollarQuoted(text: string, start: number): number | null {
  const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(start));
  if (tag === null) return null;
  const close = text.indexOf(tag[0], start + tag[0].length);
  return close === -1 ? text.length : close + tag[0].length;
}

export function tokenizeSql(text: string): SqlToken[] {
  const tokens: SqlToken[] = [];
  let i = 0;
  const push = (kind: SqlTokenKind, end: number): void => {
    const last = tokens[tokens.length - 1];
    const piece = text.slice(i, end);
    // Runs of operator characters read as one token (`<=`, `||`), as do runs of whitespace.
    if (last !== undefined && last.kind === kind && (kind === 'operator' || kind === 'whitespace')) {
      last.text += piece;
    } else tokens.push({ kind, text: piece });
    i = end;
  };
  while (i < text.length) {
    const ch = text[i] ?? '';
    const next = text[i + 1] ?? '';
    if (/\s/.test(ch)) {
      let end = i + 1;
      while (end < text.length && /\s/.test(text[end] ?? '')) end++;
      push('whitespace', end);
    } else if (ch === '-' && next === '-') {
      const newline = text.indexOf('\n', i);
      push('comment', newline === -1 ? text.length : newline);
    } else if (ch === '/' && next === '*') {
      const close = text.indexOf('*/', i + 2);
      push('comment', close === -1 ? text.length : close + 2);
    } else if (ch === "'") {
      push('string', endOfQuoted(text, i, "'", false));
    } else if ((ch === 'E' || ch === 'e') && next === "'") {
      // PostgreSQL's escape strings take backslash escapes.
      push('string', endOfQuoted(text, i + 1, "'", true));
    } else if (ch === '"' || ch === '`') {
      push('quoted-identifier', endOfQuoted(text, i, ch, false));
    } else if (ch === '$' && /[0-9]/.test(next)) {
      let end = i + 1;
      while (end < text.length && /[0-9]/.test(text[end] ?? '')) end++;
      push('parameter', end);
    } else if (ch === '$' && endOfDollarQuoted(text, i) !== null) {
      push('string', endOfDollarQuoted(text, i) ?? text.length);
    } else if (ch === '?') {
      push('parameter', i + 1);
    } else if (/[0-9]/.test(ch) || (ch === '.' && /[0-9]/.test(next))) {
      const number = /^(?:0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)/.exec(text.slice(i));
      push('number', i + (number?.[0].length ?? 1));
    } else if (isIdentifierStart(ch)) {
      let end = i + 1;
      while (end < text.length && isIdentifierPart(text[end] ?? '')) end++;
      const word = text.slice(i, end);
      push(KEYWORDS.has(word.toLowerCase()) ? 'keyword' : 'identifier', end);
    } else if (OPERATOR_CHARS.includes(ch)) {
      push('operator', i + 1);
    } else if (PUNCTUATION_CHARS.includes(ch)) {
      push('punctuation', i + 1);
    } else {
      push('identifier', i + 1);
    }
  }
  return tokens;
}
