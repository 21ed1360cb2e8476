import { fingerprintSync, loadModule, normalizeSync } from 'libpg-query';

/**
 * The shape of a SQL statement: its text with literals replaced, and a fingerprint that is equal
 * for statements that differ only in literals (and in whitespace, comments, IN-list length).
 *
 * Usage: `await loadSqlParser()` once at start-up (it compiles PostgreSQL's parser, shipped as
 * WebAssembly by libpg-query, ~50 ms), then call `sqlShape(text)` synchronously as often as needed.
 *
 * - A statement the parser accepts: `normalized` is libpg-query's normalization (literals become
 *   `$1`, `$2`, … numbered after any `$n` already in the text; the strings it leaves in utility
 *   statements such as `COMMENT ON … IS '…'` become `?`), `fingerprint` its 16-hex-digit
 *   fingerprint, which is the same on every server and every Sightline version using the same
 *   libpg-query major version.
 * - A statement it rejects (cut by a log size limit, another dialect, a syntax error the server
 *   also rejected): `normalized` is `removeLiterals(text)` (quoted strings and numbers become `?`,
 *   comments go) and `fingerprint` is ''.
 */
export interface SqlShape {
  normalized: string;
  fingerprint: string;
}

let loading: Promise<void> | undefined;
let loaded = false;

/** Loads the parser once; later calls return the same promise. A failed load can be retried. */
export function loadSqlParser(): Promise<void> {
  loading ??= loadModule().then(
    () => {
      loaded = true;
    },
    (error: unknown) => {
      loading = undefined;
      throw error;
    },
  );
  return loading;
}

/** A statement repeats in a log thousands of times; parsing it once saves most of the work. */
const CACHE_LIMIT = 1000;
const CACHEABLE_CHARS = 4096;
const cache = new Map<string, SqlShape>();

/** libpg-query fingerprints are a 64-bit hash printed as 16 hex digits. */
const FINGERPRINT = /^[0-9a-f]{16}$/;

export function sqlShape(text: string): SqlShape {
  if (!loaded) {
    throw new Error(
      'sqlShape() was called before loadSqlParser() resolved; await loadSqlParser() once at start-up',
    );
  }
  if (text.trim() === '') return { normalized: '', fingerprint: '' };
  const cached = cache.get(text);
  if (cached !== undefined) {
    // Map keeps insertion order: re-inserting makes this the most recently used entry.
    cache.delete(text);
    cache.set(text, cached);
    return cached;
  }
  const shape = computeShape(text);
  if (text.length <= CACHEABLE_CHARS) {
    cache.set(text, shape);
    if (cache.size > CACHE_LIMIT) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
  }
  return shape;
}

function computeShape(text: string): SqlShape {
  try {
    // libpg-query 18.1.5 returns some parse errors as the result string instead of throwing
    // ("unterminated quoted string at or near "'ali"": the literal itself). A fingerprint is only
    // produced for text that parsed, so it is the check; normalize uses the same parser.
    const fingerprint = fingerprintSync(text);
    if (FINGERPRINT.test(fingerprint)) return { normalized: scrubResidue(normalizeSync(text)), fingerprint };
  } catch {
    // A syntax error: fall through to the conservative rewrite.
  }
  return { normalized: removeLiterals(text), fingerprint: '' };
}

/**
 * libpg-query leaves the constants of utility statements alone (`COMMENT ON t IS 'secret'`,
 * `PREPARE p AS SELECT … 'x'`, `CREATE VIEW … WHERE a = 'x'`, `ALTER SYSTEM SET … = 'v'`). Their
 * strings go too; their numbers (varchar(255), DEFAULT 5) stay, as they are schema, not data.
 */
function scrubResidue(normalized: string): string {
  return /'|\$(?!\d)/.test(normalized) ? removeLiterals(normalized, { numbers: false }) : normalized;
}

const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const DIGIT = /[0-9]/;
/** Prefixes that make the next quoted string a literal: E'…', B'…', X'…', N'…', U&'…'. */
const STRING_PREFIXES = new Set(['e', 'b', 'x', 'n', 'u&']);

/**
 * A conservative literal remover for text the parser rejects (usually a statement cut short):
 * single-quoted strings (with any E/B/X/N/U& prefix), dollar-quoted strings and numbers become
 * `?`; comments are dropped (they can carry values too); a string or comment left open by a cut
 * swallows the rest of the text. Quoted identifiers and `$n` parameters are kept.
 * `numbers: false` keeps numbers (for text where they are part of the schema, not values).
 */
export function removeLiterals(sql: string, options: { numbers?: boolean } = {}): string {
  const numbers = options.numbers ?? true;
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i] ?? '';
    const next = sql[i + 1] ?? '';
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? n : end;
    } else if (c === '/' && next === '*') {
      i = skipBlockComment(sql, i);
      out += ' ';
    } else if (c === '"') {
      const end = skipQuoted(sql, i, '"', false);
      out += sql.slice(i, end);
      i = end;
    } else if (c === "'") {
      i = skipQuoted(sql, i, "'", false);
      out += '?';
    } else if (c === '$' && DIGIT.test(next)) {
      let end = i + 1;
      while (end < n && DIGIT.test(sql[end] ?? '')) end++;
      out += sql.slice(i, end);
      i = end;
    } else if (c === '$') {
      const tag = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(sql.slice(i, i + 66));
      if (tag === null) {
        out += c;
        i++;
      } else {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        i = close === -1 ? n : close + tag[0].length;
        out += '?';
      }
    } else if (DIGIT.test(c) || (c === '.' && DIGIT.test(next))) {
      const end = skipNumber(sql, i);
      out += numbers ? '?' : sql.slice(i, end);
      i = end;
    } else if (IDENT_START.test(c)) {
      let end = i + 1;
      while (end < n && IDENT_PART.test(sql[end] ?? '')) end++;
      const word = sql.slice(i, end).toLowerCase();
      if (sql[end] === "'" && STRING_PREFIXES.has(word)) {
        i = skipQuoted(sql, end, "'", word === 'e');
        out += '?';
      } else if (word === 'u' && sql[end] === '&' && sql[end + 1] === "'") {
        i = skipQuoted(sql, end + 1, "'", false);
        out += '?';
      } else {
        out += sql.slice(i, end);
        i = end;
      }
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Returns the index after the closing quote (a doubled quote is an escaped one), or the end. */
function skipQuoted(sql: string, start: number, quote: string, backslashEscapes: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i];
    if (backslashEscapes && c === '\\') {
      i += 2;
    } else if (c === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else {
      i++;
    }
  }
  return sql.length;
}

/** PostgreSQL block comments nest. */
function skipBlockComment(sql: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  return sql.length;
}

/** Decimal, exponent, and the PostgreSQL 16 forms: 0x/0o/0b prefixes and `_` separators. */
function skipNumber(sql: string, start: number): number {
  const match =
    /^(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9_]*\.?[0-9_]*(?:[eE][+-]?[0-9_]+)?)/.exec(
      sql.slice(start, start + 400),
    );
  const length = match?.[0].length ?? 0;
  return start + Math.max(length, 1);
}
