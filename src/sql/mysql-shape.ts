import { createHash } from 'node:crypto';

/**
 * The shape of a MySQL or MariaDB statement, from a hand-written tokenizer (no parser: it reads
 * anything, including statements cut short by a log or by performance_schema, and never throws).
 *
 * - `query`: the statement with literals replaced by `?`, comments removed, keywords in upper case,
 *   identifiers as written (backticks dropped where they are not needed), `IN (?, ?, …)` written
 *   `IN (...)` and the rows of `VALUES (…), (…)` written once. At most 64 KiB (UTF-8), cut with `...`.
 * - `fingerprint`: 16 hex digits of SHA-256 over a canonical form that also undoes what
 *   performance_schema does to DIGEST_TEXT, so a raw statement (slow log, processlist, sampled
 *   events) and the digest text of the same statement get the same value. Checked against MariaDB
 *   10.11 (test/integration/mysql-sql-shape.test.ts); MySQL 8 builds DIGEST_TEXT with the same
 *   code (sql/sql_digest.cc), with small differences handled where known (`_utf8mb4 ?`).
 */
export interface MysqlShape {
  query: string;
  fingerprint: string;
}

const MAX_QUERY_BYTES = 64 * 1024;
const CUT_MARK = '...';

/** A set of the words of a whitespace-separated list. */
function wordSet(list: string): Set<string> {
  return new Set(list.split(/\s+/).filter((word) => word !== ''));
}

/** Normalized text (literals -> `?`) and a fingerprint equal for statements of the same shape. */
export function mysqlShape(sql: string): MysqlShape {
  // Callers pass columns of performance_schema and log fields, which can be NULL whatever the types say.
  const tokens = tokenize(typeof sql === 'string' ? sql : '');
  return { query: renderQuery(tokens), fingerprint: fingerprintOf(tokens) };
}

// ---------------------------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------------------------

/**
 * `word`: unquoted identifier or keyword, as written. `quoted`: backtick identifier, `text` is the
 * name without quotes (a doubled backtick is one backtick). `value`: a literal or a placeholder,
 * `text` is `?` (or `...`, the list that DIGEST_TEXT already collapsed). `uservar`: `@name`, as
 * written. `op`: everything else (operators, punctuation, `@@`).
 */
type TokenKind = 'word' | 'quoted' | 'value' | 'uservar' | 'op';

interface Token {
  kind: TokenKind;
  text: string;
}

const VALUE: Token = { kind: 'value', text: '?' };
const ELLIPSIS: Token = { kind: 'value', text: '...' };

/** Longest first: the tokenizer takes the first that matches. */
const MULTI_CHAR_OPS = ['<=>', '->>', '<=', '>=', '<>', '!=', '<<', '>>', '&&', '||', ':=', '->', '@@'];

/**
 * Charsets a `_name` introducer can name (`_utf8mb4'x'`, `_binary 0xAB`): the string after it is
 * one literal. MariaDB 10.11 and MySQL 8 `SHOW CHARACTER SET`.
 */
const CHARSETS = wordSet(`
  armscii8 ascii big5 binary cp1250 cp1251 cp1256 cp1257 cp850 cp852 cp866 cp932 dec8 eucjpms
  euckr filename gb18030 gb2312 gbk geostd8 greek hebrew hp8 keybcs2 koi8r koi8u latin1 latin2
  latin5 latin7 macce macroman sjis swe7 tis620 ucs2 ujis utf16 utf16le utf32 utf8 utf8mb3 utf8mb4
`);

function isWordChar(c: number): boolean {
  return (
    (c >= 48 && c <= 57) || // 0-9
    (c >= 65 && c <= 90) || // A-Z
    (c >= 97 && c <= 122) || // a-z
    c === 95 || // _
    c === 36 || // $
    c >= 0x80 // MySQL allows U+0080 and above in unquoted identifiers
  );
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isHexDigit(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/**
 * Index after the closing quote of a string starting at `start` (backslash escapes, doubled
 * quotes), or the end of the text for an unterminated one: the rest is the literal.
 */
function skipString(sql: string, start: number, quote: number): number {
  let i = start + 1;
  const n = sql.length;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c === 92 /* \ */) {
      i += 2;
    } else if (c === quote) {
      if (sql.charCodeAt(i + 1) === quote) i += 2;
      else return i + 1;
    } else {
      i++;
    }
  }
  return n;
}

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  const n = sql.length;
  let i = 0;
  // Inside `/*! … */` (MySQL) or `/*M! … */` (MariaDB): the content is SQL, the closing `*/` is not.
  let executable = false;

  /** A literal; an introducer just before it (`_utf8mb4'x'`, `_binary 0xAB`) is part of it. */
  const pushLiteral = (): void => {
    const last = tokens[tokens.length - 1];
    if (
      last?.kind === 'word' &&
      last.text.startsWith('_') &&
      CHARSETS.has(last.text.slice(1).toLowerCase())
    ) {
      tokens.pop();
    }
    tokens.push(VALUE);
  };

  while (i < n) {
    const c = sql.charCodeAt(i);
    const next = i + 1 < n ? sql.charCodeAt(i + 1) : -1;

    if (isSpace(c)) {
      i++;
      continue;
    }

    // Comments. `-- ` needs a space or control character after the dashes (MySQL manual,
    // "Comment Syntax"); `--x` is two minus signs.
    if (c === 35 /* # */ || (c === 45 && next === 45 && (i + 2 >= n || sql.charCodeAt(i + 2) <= 32))) {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? n : end + 1;
      continue;
    }
    if (c === 47 /* / */ && next === 42 /* * */) {
      const bang = sql.charCodeAt(i + 2) === 33 ? i + 2 : sql.startsWith('M!', i + 2) ? i + 3 : -1;
      if (bang !== -1 && !executable) {
        executable = true;
        i = bang + 1;
        let digits = 0;
        while (digits < 7 && isDigit(sql.charCodeAt(i + digits))) digits++;
        // A 5-digit MySQL version or a 6-digit MariaDB one; anything else is content.
        if (digits === 5 || digits === 6) i += digits;
        continue;
      }
      // Block comments do not nest: the first `*/` ends one (MariaDB 10.11 and MySQL 8 agree).
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? n : end + 2;
      continue;
    }
    if (executable && c === 42 && next === 47) {
      executable = false;
      i += 2;
      continue;
    }

    // Strings: '…' and "…" (a double-quoted string is a string unless ANSI_QUOTES, which we cannot see).
    if (c === 39 || c === 34) {
      i = skipString(sql, i, c);
      pushLiteral();
      continue;
    }

    // Backtick identifiers; an unterminated one may swallow literals, so it becomes a literal.
    if (c === 96) {
      let j = i + 1;
      let name = '';
      let closed = false;
      while (j < n) {
        const k = sql.indexOf('`', j);
        if (k === -1) break;
        name += sql.slice(j, k);
        if (sql.charCodeAt(k + 1) === 96) {
          name += '`';
          j = k + 2;
        } else {
          j = k + 1;
          closed = true;
          break;
        }
      }
      if (closed) {
        tokens.push({ kind: 'quoted', text: name });
        i = j;
      } else {
        tokens.push(VALUE);
        i = n;
      }
      continue;
    }

    // Numbers: 12, 1.5, .5, 1e-3, 0xAB, 0b01. Digits followed by letters are an identifier, as
    // MariaDB's digest shows for 1abc, 0x, 2e and 0b2 (and t1, col_2 start with a letter anyway).
    // After `name.` digits are a name too (`t.5` is column 5 of t).
    const qualified = i > 0 && sql.charCodeAt(i - 1) === 46 && isOp(tokens[tokens.length - 1], '.');
    if (!qualified && (isDigit(c) || (c === 46 && isDigit(next) && !endsOperand(sql, i)))) {
      const end = numberEnd(sql, i);
      if (end !== -1) {
        pushLiteral();
        i = end;
        continue;
      }
    }

    if (isWordChar(c)) {
      let j = i + 1;
      while (j < n && isWordChar(sql.charCodeAt(j))) j++;
      const word = sql.slice(i, j);
      const quote = sql.charCodeAt(j);
      // X'ab', B'01', N'text': one literal.
      if (quote === 39 && j === i + 1 && 'xXbBnN'.includes(word)) {
        i = skipString(sql, j, 39);
        pushLiteral();
        continue;
      }
      tokens.push({ kind: 'word', text: word });
      i = j;
      continue;
    }

    if (c === 64 /* @ */ && next !== 64) {
      // User variables: @name (letters, digits, _ $ .), @'name', @"name", @`name`.
      let j = i + 1;
      if (next === 39 || next === 34) {
        j = skipString(sql, i + 1, next);
      } else if (next === 96) {
        const close = sql.indexOf('`', i + 2);
        if (close === -1) {
          // Unterminated, like a backtick identifier: the rest may hold literals.
          tokens.push(VALUE);
          break;
        }
        j = close + 1;
      } else {
        while (j < n && (isWordChar(sql.charCodeAt(j)) || sql.charCodeAt(j) === 46)) j++;
      }
      if (j > i + 1) {
        tokens.push({ kind: 'uservar', text: sql.slice(i, j) });
        i = j;
        continue;
      }
    }

    if (c === 63 /* ? */) {
      // MySQL 8 writes an introduced string in DIGEST_TEXT as `_utf8mb4 ?`.
      pushLiteral();
      i++;
      continue;
    }
    if (c === 46 && next === 46 && sql.charCodeAt(i + 2) === 46) {
      tokens.push(ELLIPSIS);
      i += 3;
      continue;
    }
    // MariaDB's DIGEST_TEXT writes a string introducer as `(_charset)` and a literal it has no name
    // for (X'..' in 10.11) as `(unknown)`.
    if (c === 40 && sql.startsWith('(_charset)', i)) {
      i += 10;
      continue;
    }
    if (c === 40 && sql.startsWith('(unknown)', i)) {
      pushLiteral();
      i += 9;
      continue;
    }

    const op = MULTI_CHAR_OPS.find((candidate) => sql.startsWith(candidate, i)) ?? sql[i] ?? '';
    tokens.push({ kind: 'op', text: op });
    i += op.length;
  }
  return tokens;
}

/** `t.5` is a qualified name, `= .5` a number: the character before the dot decides. */
function endsOperand(sql: string, dot: number): boolean {
  const before = dot > 0 ? sql.charCodeAt(dot - 1) : -1;
  return isWordChar(before) || before === 96 || before === 41;
}

/**
 * End of the number starting at `start`, or -1 when the characters there are an identifier
 * (`1abc`, `0x`, `2e`). A decimal or exponent ends where the digits end.
 */
function numberEnd(sql: string, start: number): number {
  const n = sql.length;
  const second = sql.charCodeAt(start + 1);
  let j = start;
  if (
    sql.charCodeAt(start) === 48 &&
    (second === 120 || second === 88) &&
    isHexDigit(sql.charCodeAt(start + 2))
  ) {
    j = start + 2;
    while (j < n && isHexDigit(sql.charCodeAt(j))) j++;
    return j < n && isWordChar(sql.charCodeAt(j)) ? -1 : j;
  }
  const isBit = (k: number) => sql.charCodeAt(k) === 48 || sql.charCodeAt(k) === 49;
  if (sql.charCodeAt(start) === 48 && (second === 98 || second === 66) && isBit(start + 2)) {
    j = start + 2;
    while (j < n && isBit(j)) j++;
    return j < n && isWordChar(sql.charCodeAt(j)) ? -1 : j;
  }
  while (j < n && isDigit(sql.charCodeAt(j))) j++;
  let integer = true;
  if (sql.charCodeAt(j) === 46) {
    integer = false;
    j++;
    while (j < n && isDigit(sql.charCodeAt(j))) j++;
  }
  const e = sql.charCodeAt(j);
  if (e === 101 || e === 69) {
    const sign = sql.charCodeAt(j + 1) === 43 || sql.charCodeAt(j + 1) === 45 ? 1 : 0;
    if (isDigit(sql.charCodeAt(j + 1 + sign))) {
      integer = false;
      j += 1 + sign;
      while (j < n && isDigit(sql.charCodeAt(j))) j++;
    }
  }
  return integer && j < n && isWordChar(sql.charCodeAt(j)) ? -1 : j;
}

// ---------------------------------------------------------------------------------------------
// Shared rules
// ---------------------------------------------------------------------------------------------

/**
 * Tokens after which an expression starts, so a `+`/`-` that follows is a sign, not an operator:
 * `= -5` is `= ?`, `a - 5` stays `a - ?`. The words are reserved, so never a column name.
 */
const START_OPS = wordSet(`
  ( , = <> != < > <= >= <=> + - * / % ^ & | && || << >> ! ~ :=
`);
const START_WORDS = wordSet(`
  select where and or xor not on when then else elseif case if while return between like regexp
  rlike interval div mod default having limit set by in values distinct distinctrow all
`);
/**
 * For the fingerprint, a superset of what MariaDB's digest uses (`set_start_expr_token` in
 * sql/gen_lex_token.cc; it has no comparison operators, so DIGEST_TEXT keeps `= - ?`). A superset
 * is safe: the rule applies to the digest text as well, and both end the same. It includes
 * non-reserved words the digest treats as keywords even where they name a column (`at - 1`).
 */
const CANONICAL_START_WORDS = new Set([
  ...START_WORDS,
  ...wordSet('every at starts ends until elsif offset escape any some do value'),
]);

function isValueText(text: string | undefined): boolean {
  return text === '?' || text === '...';
}

/**
 * The NULL keyword at `index`, unless in `IS NULL` or `IS NOT NULL`. performance_schema writes a
 * NULL literal as `?` and keeps the NULL of `NOT NULL` in a column definition; this cannot tell
 * `NOT NULL` there from the expression `NOT NULL`, so for the fingerprint both are `NOT ?`.
 */
function isNullWord(tokens: readonly Token[], index: number): boolean {
  const token = tokens[index];
  if (token?.kind !== 'word' || token.text.length !== 4 || token.text.toLowerCase() !== 'null') return false;
  const before = tokens[index - 1];
  if (before?.kind !== 'word') return true;
  const word = before.text.toLowerCase();
  if (word === 'is') return false;
  return !(
    word === 'not' &&
    tokens[index - 2]?.kind === 'word' &&
    tokens[index - 2]?.text.toLowerCase() === 'is'
  );
}

// ---------------------------------------------------------------------------------------------
// query
// ---------------------------------------------------------------------------------------------

/**
 * Upper-cased in `query`, and kept in backticks when quoted: MySQL 8 reserved words (without the
 * window-function names that older schemas use as column names) and statement keywords.
 */
const KEYWORDS = wordSet(
  `accessible add all alter analyze and as asc asensitive before begin between bigint binary blob both by
  call cascade case change char character check collate column commit committed condition constraint
  continue convert create cross cube current_date current_time current_timestamp current_user cursor
  database databases day_hour day_microsecond day_minute day_second deallocate dec decimal declare default
  delayed delete desc describe deterministic distinct distinctrow div do double drop dual duplicate each
  else elseif enclosed end escape escaped except execute exists exit explain false fetch float float4
  float8 for force foreign from fulltext function generated get global grant group having high_priority
  hour_microsecond hour_minute hour_second if ignore in index infile inner inout insensitive insert int
  int1 int2 int3 int4 int8 integer intersect interval into is isolation iterate join key keys kill
  leading leave left like limit linear lines load localtime localtimestamp lock locked longblob longtext
  loop low_priority match maxvalue mediumblob mediumint mediumtext middleint minute_microsecond
  minute_second mod modifies names natural not nowait no_write_to_binlog null numeric of offset on
  optimize option optionally or order out outer outfile over partition precision prepare primary
  procedure purge range read reads real recursive references regexp release rename repeat repeatable
  replace require resignal restrict return returning revoke right rlike rollback rollup row rows
  savepoint schema schemas second_microsecond select sensitive separator serializable session set share
  show signal skip smallint spatial specific sql sqlexception sqlstate sqlwarning sql_big_result
  sql_buffer_result sql_cache sql_calc_found_rows sql_no_cache sql_small_result ssl start starting stored
  straight_join table tables temporary terminated then tinyblob tinyint tinytext to trailing transaction
  trigger true truncate uncommitted undo union unique unlock unsigned update usage use using utc_date
  utc_time utc_timestamp values varbinary varchar varcharacter variables varying view virtual when where
  while window with write xor year_month zerofill`,
);

/** A backtick identifier that reads the same without backticks. */
const PLAIN_IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function renderQuery(tokens: readonly Token[]): string {
  const reduced = collapseLists(absorbSigns(literalNulls(tokens)));
  while (reduced.length > 0 && reduced[reduced.length - 1]?.text === ';') reduced.pop();

  const parts: string[] = [];
  let bytes = 0;
  let previous: Token | undefined;
  for (const token of reduced) {
    const text = displayText(token);
    const gap = previous === undefined || !spaceBetween(previous, token) ? '' : ' ';
    const piece = gap + text;
    const size = utf8Length(piece);
    if (bytes + size > MAX_QUERY_BYTES) {
      return cut(parts.join('') + piece);
    }
    parts.push(piece);
    bytes += size;
    previous = token;
  }
  return parts.join('');
}

/** UTF-8 size of text; a lone surrogate counts as the 3 bytes of its replacement character. */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(text.charCodeAt(k + 1))) {
      bytes += 2; // 4 bytes for 2 code units
      k++;
    } else if (c >= 0x800) {
      bytes += 2;
    } else if (c >= 0x80) {
      bytes += 1;
    }
  }
  return bytes;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Cuts text longer than the limit at a character boundary and marks the cut. */
function cut(text: string): string {
  const budget = MAX_QUERY_BYTES - CUT_MARK.length;
  let bytes = 0;
  let end = 0;
  while (end < text.length) {
    const c = text.charCodeAt(end);
    const pair = c >= 0xd800 && c <= 0xdbff && isLowSurrogate(text.charCodeAt(end + 1));
    const size = pair ? 4 : c >= 0x800 ? 3 : c >= 0x80 ? 2 : 1;
    if (bytes + size > budget) break;
    bytes += size;
    end += pair ? 2 : 1;
  }
  return text.slice(0, end) + CUT_MARK;
}

function displayText(token: Token): string {
  switch (token.kind) {
    case 'word':
      return KEYWORDS.has(token.text.toLowerCase()) ? token.text.toUpperCase() : token.text;
    case 'quoted':
      return PLAIN_IDENTIFIER.test(token.text) && !KEYWORDS.has(token.text.toLowerCase())
        ? token.text
        : '`' + token.text.replaceAll('`', '``') + '`';
    case 'uservar':
      // `'user'@'host'` in account statements reads as a quoted variable; the host is a value.
      return token.text.startsWith("@'") || token.text.startsWith('@"') ? '@?' : token.text;
    default:
      return token.text;
  }
}

const NO_SPACE_BEFORE = new Set([',', ')', '.', ';']);
const NO_SPACE_AFTER = new Set(['(', '.', '@@', '@']);

function spaceBetween(previous: Token, token: Token): boolean {
  if (token.kind === 'op' && NO_SPACE_BEFORE.has(token.text)) return false;
  if (previous.kind === 'op' && NO_SPACE_AFTER.has(previous.text)) return false;
  return true;
}

/**
 * A NULL where an expression starts (`= NULL`, `DEFAULT NULL`, `VALUES (NULL)`) is a value, as in
 * DIGEST_TEXT; `IS NULL`, `NOT NULL` and `INT NULL` keep the keyword.
 */
function literalNulls(tokens: readonly Token[]): Token[] {
  return tokens.map((token, index) => {
    if (!isNullWord(tokens, index)) return token;
    const before = tokens[index - 1];
    const not = before?.kind === 'word' && before.text.toLowerCase() === 'not';
    return before === undefined || (isStartToken(before) && !not) ? VALUE : token;
  });
}

function isStartToken(token: Token | undefined): boolean {
  if (token === undefined) return true;
  if (token.kind === 'op') return START_OPS.has(token.text);
  return token.kind === 'word' && START_WORDS.has(token.text.toLowerCase());
}

/** `= -5` → `= ?`, `(- -1)` → `(?)`; `a - 5` keeps its operator. */
function absorbSigns(tokens: readonly Token[]): Token[] {
  const out: Token[] = [];
  for (const token of tokens) {
    if (token.kind === 'value') {
      for (;;) {
        const top = out[out.length - 1];
        if (top?.kind !== 'op' || (top.text !== '-' && top.text !== '+')) break;
        if (!isStartToken(out[out.length - 2])) break;
        out.pop();
      }
    }
    out.push(token);
  }
  return out;
}

/**
 * End of a parenthesized list of values starting at `open` (`(?, ?)`, `((?, ?), (?, ?))`), or -1.
 * Iterative, so deeply nested input cannot exhaust the stack.
 */
function valueGroupEnd(tokens: readonly Token[], open: number): number {
  // `(?)`: the common case, and the one that collapses to itself.
  if (tokens[open + 1]?.kind === 'value' && isOp(tokens[open + 2], ')')) return open + 2;
  let depth = 0;
  let expectItem = true;
  for (let i = open; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === undefined) return -1;
    const text = token.kind === 'op' ? token.text : token.kind === 'value' ? '?' : '';
    if (expectItem) {
      if (text === '(') depth++;
      else if (text === '?') expectItem = false;
      else return -1;
    } else if (text === ',') {
      expectItem = true;
    } else if (text === ')') {
      depth--;
      if (depth === 0) return i;
    } else {
      return -1;
    }
  }
  return -1;
}

/** `(?)`: one value, not DIGEST_TEXT's `(...)`. */
function isSingleValue(tokens: readonly Token[], open: number, close: number): boolean {
  return close === open + 2 && tokens[open + 1]?.text === '?';
}

function isOp(token: Token | undefined, text: string): boolean {
  return token?.kind === 'op' && token.text === text;
}

/**
 * `IN (?, ?, ?)` → `IN (...)`, and the rows after `VALUES` → one row: `(?)` when every row is one
 * value, `(...)` otherwise. `IN (?)` stays, as in DIGEST_TEXT.
 */
function collapseLists(tokens: readonly Token[]): Token[] {
  const out: Token[] = [];
  const open: Token = { kind: 'op', text: '(' };
  const close: Token = { kind: 'op', text: ')' };
  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i];
    if (token === undefined) break;
    out.push(token);
    i++;
    if (token.kind !== 'word' || !isOp(tokens[i], '(')) continue;
    const word = token.text.toLowerCase();
    if (word === 'in') {
      const end = valueGroupEnd(tokens, i);
      if (end !== -1 && !isSingleValue(tokens, i, end)) {
        out.push(open, ELLIPSIS, close);
        i = end + 1;
      }
    } else if (word === 'values' || word === 'value') {
      let end = valueGroupEnd(tokens, i);
      if (end === -1) continue;
      let single = isSingleValue(tokens, i, end);
      while (isOp(tokens[end + 1], ',') && isOp(tokens[end + 2], '(')) {
        const rowEnd = valueGroupEnd(tokens, end + 2);
        if (rowEnd === -1) break;
        single &&= isSingleValue(tokens, end + 2, rowEnd);
        end = rowEnd;
      }
      out.push(open, single ? VALUE : ELLIPSIS, close);
      i = end + 1;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// fingerprint
// ---------------------------------------------------------------------------------------------

/**
 * Spellings of one keyword: the lexer gives them one token and DIGEST_TEXT prints one name for it
 * (MariaDB 10.11 writes `INTERVAL 1 DAY` as `INTERVAL ? SQL_TSI_DAY`, `CHAR` as `CHARACTER`, `INT`
 * as `INTEGER`, `user` as `SYSTEM_USER`). Groups from `symbols[]` and `sql_functions[]` in
 * sql/lex.h (MariaDB and MySQL agree on these).
 */
const SYNONYMS = new Map<string, string>([
  ['character', 'char'],
  ['current_timestamp', 'now'],
  ['localtime', 'now'],
  ['localtimestamp', 'now'],
  ['current_date', 'curdate'],
  ['current_time', 'curtime'],
  ['schema', 'database'],
  ['schemas', 'databases'],
  ['sql_tsi_second', 'second'],
  ['sql_tsi_minute', 'minute'],
  ['sql_tsi_hour', 'hour'],
  ['sql_tsi_day', 'day'],
  ['sql_tsi_week', 'week'],
  ['sql_tsi_month', 'month'],
  ['sql_tsi_quarter', 'quarter'],
  ['sql_tsi_year', 'year'],
  ['dec', 'decimal'],
  ['distinctrow', 'distinct'],
  ['explain', 'describe'],
  ['fields', 'columns'],
  ['float4', 'float'],
  ['float8', 'double'],
  ['integer', 'int'],
  ['int4', 'int'],
  ['int1', 'tinyint'],
  ['int2', 'smallint'],
  ['int3', 'mediumint'],
  ['middleint', 'mediumint'],
  ['int8', 'bigint'],
  ['io_thread', 'relay_thread'],
  ['rlike', 'regexp'],
  ['replica', 'slave'],
  ['replicas', 'slaves'],
  ['replica_pos', 'slave_pos'],
  ['some', 'any'],
  ['varcharacter', 'varchar'],
  ['session_user', 'user'],
  ['system_user', 'user'],
  ['stddev', 'std'],
  ['stddev_pop', 'std'],
  ['var_pop', 'variance'],
  ['mid', 'substring'],
  ['substr', 'substring'],
]);

const BARE_NAME = /^[\p{L}\p{N}_$]+$/u;

/** The canonical spelling of one token, or several for a user variable (`@x` → `@ ?`). */
function canonicalTexts(tokens: readonly Token[], index: number): string[] {
  const token = tokens[index];
  if (token === undefined) return [];
  if (isNullWord(tokens, index)) return ['?'];
  switch (token.kind) {
    case 'word': {
      const word = token.text.toLowerCase();
      return [SYNONYMS.get(word) ?? word];
    }
    case 'quoted': {
      const name = token.text.toLowerCase();
      if (!BARE_NAME.test(name)) return ['`' + name.replaceAll('`', '``') + '`'];
      return [SYNONYMS.get(name) ?? name];
    }
    // performance_schema writes every user variable as `@?` (the name is lexed as a host name,
    // which its digest treats as a value).
    case 'uservar':
      return ['@', '?'];
    case 'value':
      return [token.text];
    case 'op':
      return [token.text === '<>' ? '!=' : token.text];
  }
}

/**
 * The canonical form is the token texts after the reductions performance_schema applies while it
 * reads a statement (storage/perfschema, sql/sql_digest.cc), applied here to both the raw text and
 * to DIGEST_TEXT, which already had them, so both end the same:
 * - a sign before a value after an operator goes (`= -5` → `= ?`);
 * - values separated by commas become one `...` (`1, 2, 3` and DIGEST_TEXT's `?, ...` alike);
 * - a row equal to the row before it goes (`VALUES (...), (...)` and `(...) /* , ... *\/`).
 * Identifiers are lower-cased and unquoted, keywords spelled one way.
 */
function fingerprintOf(tokens: readonly Token[]): string {
  const texts: string[] = [];
  for (let index = 0; index < tokens.length; index++) {
    for (const text of canonicalTexts(tokens, index)) texts.push(text);
  }
  // performance_schema cuts long digest text and may mark the cut with `...`; a `;` ends a statement.
  for (;;) {
    const last = texts[texts.length - 1];
    const before = texts[texts.length - 2];
    if (last === ';' || (last === '...' && before !== ',' && before !== '(')) texts.pop();
    else break;
  }

  const out: string[] = [];
  /** For a `)` in `out`: the index of its `(`; -1 elsewhere. */
  const openOf: number[] = [];
  const opens: number[] = [];
  const push = (text: string, open = -1): void => {
    out.push(text);
    openOf.push(open);
  };
  const truncate = (length: number): void => {
    out.length = length;
    openOf.length = length;
  };

  for (const text of texts) {
    if (isValueText(text)) {
      for (;;) {
        const top = out[out.length - 1];
        if (top !== '-' && top !== '+') break;
        const below = out[out.length - 2];
        if (below !== undefined && !START_OPS.has(below) && !CANONICAL_START_WORDS.has(below)) break;
        truncate(out.length - 1);
      }
      if (out[out.length - 1] === ',' && isValueText(out[out.length - 2])) {
        truncate(out.length - 2);
        push('...');
      } else {
        push(text);
      }
    } else if (text === '(') {
      opens.push(out.length);
      push(text);
    } else if (text === ')' && opens.length > 0) {
      const open = opens.pop() ?? 0;
      const previousClose = open - 2;
      const previousOpen = openOf[previousClose] ?? -1;
      if (out[open - 1] === ',' && previousOpen >= 0 && sameGroup(out, previousOpen, previousClose, open)) {
        truncate(open - 1);
      } else {
        push(text, open);
      }
    } else {
      push(text);
    }
  }
  return createHash('sha256').update(out.join(' ')).digest('hex').slice(0, 16);
}

/**
 * Whether the closed group `out[aOpen..aClose]` equals the group being closed, `out[bOpen..]`
 * plus its `)`.
 */
function sameGroup(out: readonly string[], aOpen: number, aClose: number, bOpen: number): boolean {
  const length = aClose - aOpen;
  if (out.length - bOpen !== length) return false;
  for (let k = 0; k < length; k++) {
    if (out[aOpen + k] !== out[bOpen + k]) return false;
  }
  return true;
}
