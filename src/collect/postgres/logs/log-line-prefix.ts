/**
 * log_line_prefix (PostgreSQL 15 docs, "What to Log") turned into a regular expression that
 * matches the prefix and the severity after it on a stderr log line.
 */

/** The fields a prefix escape fills; names match ParsedLogEntry. */
export type PrefixField =
  | 'logTime'
  | 'pid'
  | 'user'
  | 'database'
  | 'application'
  | 'remoteHost'
  | 'remoteHostPort'
  | 'sessionLineNum'
  | 'sessionId'
  | 'transactionId'
  | 'virtualTransactionId'
  | 'sqlstate'
  | 'commandTag'
  | 'sessionStart'
  | 'backendType'
  | 'leaderPid'
  | 'queryId';

export interface CompiledPrefix {
  /** The log_line_prefix it was made from. */
  source: string;
  /**
   * Matches the head of a line, from its start through `SEVERITY:  ` and no further; groups
   * 1.. are `fields`, the last is the severity.
   */
  regex: RegExp;
  fields: PrefixField[];
}

export interface LineMatch {
  fields: Partial<Record<PrefixField, string>>;
  severity: string;
  /** The line after `SEVERITY:  `. */
  rest: string;
}

/** The forms tried when none is configured, most specific first. */
export const COMMON_LINE_PREFIXES = [
  // pgBadger's recommendation for stderr logs.
  '%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ',
  // Debian and Ubuntu packages.
  '%m [%p] %q%u@%d ',
  // The PostgreSQL default since 10.
  '%m [%p] ',
] as const;

/**
 * elog.c error_severity() names, plus the labels of the lines that continue an entry. DEBUG1-5
 * are all written as DEBUG.
 */
export const SEVERITY_PATTERN =
  'DEBUG[1-5]?|LOG|INFO|NOTICE|WARNING|ERROR|FATAL|PANIC|DETAIL|HINT|QUERY|CONTEXT|LOCATION|STATEMENT';

/** %m/%t/%s: `2026-11-23 19:08:41.123 UTC`; the zone is an abbreviation or a numeric offset. */
const TIMESTAMP = String.raw`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: (?:[A-Za-z]{1,6}|[+-]\d\d(?::?\d\d)?))?`;
/**
 * Names are at most NAMEDATALEN-1 = 63 bytes; bounding the lazy match keeps a line that does not
 * match from costing more than a few hundred steps.
 */
const NAME = '.{0,64}?';

const ESCAPES: Record<string, { pattern: string; field?: PrefixField }> = {
  a: { pattern: NAME, field: 'application' },
  u: { pattern: NAME, field: 'user' },
  d: { pattern: NAME, field: 'database' },
  r: { pattern: '.{0,300}?', field: 'remoteHostPort' },
  h: { pattern: '.{0,256}?', field: 'remoteHost' },
  b: { pattern: NAME, field: 'backendType' },
  p: { pattern: String.raw`\d+`, field: 'pid' },
  P: { pattern: String.raw`\d*`, field: 'leaderPid' },
  t: { pattern: TIMESTAMP, field: 'logTime' },
  m: { pattern: TIMESTAMP, field: 'logTime' },
  n: { pattern: String.raw`\d+(?:\.\d+)?`, field: 'logTime' },
  i: { pattern: NAME, field: 'commandTag' },
  e: { pattern: '[0-9A-Z]{5}', field: 'sqlstate' },
  c: { pattern: String.raw`[0-9a-f]+\.[0-9a-f]+`, field: 'sessionId' },
  l: { pattern: String.raw`\d+`, field: 'sessionLineNum' },
  s: { pattern: TIMESTAMP, field: 'sessionStart' },
  v: { pattern: String.raw`(?:-?\d+/-?\d+)?`, field: 'virtualTransactionId' },
  x: { pattern: String.raw`\d*`, field: 'transactionId' },
  Q: { pattern: String.raw`-?\d+`, field: 'queryId' },
};

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Translates the escapes `%a %u %d %r %h %b %p %P %t %m %n %i %e %c %l %s %v %x %Q %q %%`, with
 * optional padding (`%-10u`), into a regex. Unknown escapes print nothing in PostgreSQL, so they
 * match nothing. `%q` makes the rest optional: non-session processes stop the prefix there.
 */
export function compileLinePrefix(prefix: string): CompiledPrefix {
  let pattern = '';
  let optionalGroups = 0;
  const fields: PrefixField[] = [];
  let i = 0;
  while (i < prefix.length) {
    const c = prefix[i] ?? '';
    if (c !== '%') {
      pattern += escapeRegex(c);
      i++;
      continue;
    }
    const escape = /^%(-?\d+)?(.)?/.exec(prefix.slice(i)) ?? ['%', undefined, undefined];
    i += escape[0].length;
    const padded = escape[1] !== undefined;
    const letter = escape[2];
    if (letter === undefined) break;
    if (letter === '%') {
      pattern += '%';
    } else if (letter === 'q') {
      pattern += '(?:';
      optionalGroups++;
    } else {
      const known = ESCAPES[letter];
      if (known === undefined) continue;
      const value = known.field === undefined ? known.pattern : `(${known.pattern})`;
      pattern += padded ? ` *${value} *` : value;
      if (known.field !== undefined) fields.push(known.field);
    }
  }
  pattern += ')?'.repeat(optionalGroups);
  return {
    source: prefix,
    regex: new RegExp(`^${pattern}(${SEVERITY_PATTERN}): {1,2}$`),
    fields,
  };
}

const SEVERITY_TOKEN = new RegExp(`(?:${SEVERITY_PATTERN}): {1,2}`);
/** No prefix is this long; a line whose first severity label is further on is not an entry start. */
const MAX_HEAD_CHARS = 4096;

/**
 * Matches a line against the prefixes in order. The regex runs only on the line's head, up to
 * its first `SEVERITY:  ` label: a prefix of several free-text escapes (%u %d %a …) can match
 * many ways, and on a long line that does not match, trying them all would take seconds.
 */
export function matchLine(prefixes: readonly CompiledPrefix[], line: string): LineMatch | undefined {
  const token = SEVERITY_TOKEN.exec(line.length > MAX_HEAD_CHARS ? line.slice(0, MAX_HEAD_CHARS) : line);
  if (token === null) return undefined;
  const headLength = token.index + token[0].length;
  const head = line.slice(0, headLength);
  for (const prefix of prefixes) {
    const match = prefix.regex.exec(head);
    if (match === null) continue;
    const fields: Partial<Record<PrefixField, string>> = {};
    prefix.fields.forEach((field, index) => {
      const value = match[index + 1];
      // A field that appears twice (%t and %m) keeps its first value.
      if (value !== undefined && fields[field] === undefined) fields[field] = value;
    });
    return { fields, severity: match[prefix.fields.length + 1] ?? '', rest: line.slice(headLength) };
  }
  return undefined;
}
