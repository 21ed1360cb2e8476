import { z } from 'zod';
import { stageSchema } from './stage.js';

/**
 * Rule names the redact stage reports (in `[REDACTED:<rule>]` and as the `reason` of its
 * `changed` count); a custom rule may not take one of them.
 */
export const BUILT_IN_REDACT_RULES = [
  'email',
  'credit_card',
  'iban',
  'ssn',
  'phone',
  'ipv4',
  'ipv6',
  'secret',
  'key_blocklist',
  'sql_literals',
  'error',
] as const;

/** A rule name is a metric label value and part of the replacement text: short, lower-case, bounded. */
const ruleName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,39}$/, 'a rule name is 1-40 characters: a-z, 0-9 and _, starting with a letter');

/** One `keys.allow` / `keys.block` entry: an attribute key, case-insensitive, `*` matching anything. */
const keyPattern = z.string().min(1).max(200);

/**
 * A user's pattern. Checked here so that a bad one stops start-up naming the rule: it must compile,
 * must not match the empty string, and must not nest unbounded quantifiers (`(a+)+`), the usual
 * cause of exponential backtracking.
 */
const customRule = z
  .strictObject({
    /** Names the rule in `[REDACTED:<name>]` and in the redaction count. */
    name: ruleName,
    /** A JavaScript regular expression (without slashes); every match is replaced. */
    pattern: z.string().min(1).max(2000),
    /** RegExp flags among `i`, `m`, `s`, `u` (`g` is implied). */
    flags: z
      .string()
      .regex(/^[imsu]*$/, 'flags may only be i, m, s and u')
      .default(''),
  })
  .superRefine((rule, context) => {
    const problem = customPatternProblem(rule.pattern, rule.flags);
    if (problem !== undefined)
      context.addIssue({
        code: 'custom',
        path: ['pattern'],
        message: `custom rule "${rule.name}": ${problem}`,
      });
  });

export type CustomRedactRule = z.infer<typeof customRule>;

/** The `redact` stage's options (see src/process/stages/redact.ts). */
export const redactStageSchema = stageSchema('redact', {
  /** Built-in detectors, each on or off; a match becomes `[REDACTED:<rule>]` (the rule is in snake_case: `credit_card`). */
  detectors: z
    .strictObject({
      /** Addresses, also inside URLs and percent-encoded (`alice%40example.com`). */
      email: z.boolean().default(true),
      /** 13-19 digits, spaces or dashes allowed between them, first digit 2-6, valid Luhn checksum. */
      creditCard: z.boolean().default(true),
      /** IBANs (upper case, grouped or not) with the length of their country and a valid mod-97 checksum. */
      iban: z.boolean().default(true),
      /** US social security numbers written `123-45-6789`, without area 000, 666 or 9xx, group 00 or serial 0000. */
      ssn: z.boolean().default(true),
      /** `+<country code>` numbers of 8-15 digits, and NANP numbers written with separators (`(415) 555-0100`). */
      phone: z.boolean().default(true),
      /** Dotted-quad IPv4 addresses (also matches four-part version numbers, hence off). */
      ipv4: z.boolean().default(false),
      /** IPv6 addresses, full or `::`-compressed, with an optional IPv4 tail or zone. */
      ipv6: z.boolean().default(false),
      /** Bearer/Basic credentials, passwords in URLs (`//user:pw@`) and the values of `password=`-like pairs. */
      secrets: z.boolean().default(true),
    })
    .prefault({}),
  /** Patterns of your own, applied after the detectors: `[{ name: 'order_ref', pattern: 'ORD-\\d{8}' }]`. */
  custom: z
    .array(customRule)
    .max(100)
    .superRefine((rules, context) => {
      const seen = new Set<string>(BUILT_IN_REDACT_RULES);
      rules.forEach((rule, index) => {
        if (seen.has(rule.name))
          context.addIssue({
            code: 'custom',
            path: [index, 'name'],
            message: `custom rule "${rule.name}": the name is taken by a built-in or another custom rule`,
          });
        seen.add(rule.name);
      });
    })
    .default([]),
  /** Attribute keys (case-insensitive, `*` matches anything, dotted paths as written: `http.request.header.*`). */
  keys: z
    .strictObject({
      /** Keys whose value is never scanned (ids that look like numbers). Your `block` list wins over it. */
      allow: z.array(keyPattern).max(1000).default([]),
      /** Keys whose whole value becomes `[REDACTED:key_blocklist]`, in addition to the built-in list. */
      block: z.array(keyPattern).max(1000).default([]),
      /** Also block the built-in list (`*password*`, `*secret*`, `*token`, `authorization`, `cookie`…); `allow` wins over it. */
      defaultBlock: z.boolean().default(true),
    })
    .prefault({}),
  /** Replace the literals of statements (`db.statement`, `db.query.text`, a log's `statement`) by placeholders. */
  sqlLiterals: z.boolean().default(true),
});

export type RedactStageOptions = z.infer<typeof redactStageSchema>;

/** Why a custom pattern cannot be used, or undefined when it can. */
export function customPatternProblem(pattern: string, flags: string): string | undefined {
  let regex: RegExp;
  try {
    regex = new RegExp(pattern, flags);
  } catch (error) {
    return `the pattern does not compile: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (regex.test('')) return 'the pattern matches the empty string';
  if (hasNestedQuantifier(pattern))
    return 'the pattern repeats a group that itself repeats (like (a+)+), which can take exponential time; write it without the nesting';
  return undefined;
}

/**
 * Whether a group that contains an unbounded quantifier (`*`, `+`, `{n,}`) is itself repeated. A
 * heuristic in the spirit of safe-regex's star height: it reads escapes and character classes, not
 * the full grammar, and it is only meant to stop the classic exponential patterns.
 */
function hasNestedQuantifier(pattern: string): boolean {
  /** Per open group: whether an unbounded quantifier occurred inside it. */
  const groups: boolean[] = [];
  let closedGroupRepeats = false;
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '\\') {
      i += 2;
      closedGroupRepeats = false;
      continue;
    }
    if (c === '[') {
      // A class ends at the first `]` that is not escaped and not first in the class.
      i++;
      if (pattern[i] === '^') i++;
      if (pattern[i] === ']') i++;
      while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
      i++;
      closedGroupRepeats = false;
      continue;
    }
    if (c === '(') {
      groups.push(false);
      i++;
      closedGroupRepeats = false;
      continue;
    }
    if (c === ')') {
      closedGroupRepeats = groups.pop() ?? false;
      i++;
      const quantifier = quantifierAt(pattern, i);
      if (quantifier !== undefined) {
        if (closedGroupRepeats && quantifier.repeats) return true;
        if (quantifier.unbounded || closedGroupRepeats) markUnbounded(groups);
        i += quantifier.length;
      } else if (closedGroupRepeats) markUnbounded(groups);
      closedGroupRepeats = false;
      continue;
    }
    const quantifier = quantifierAt(pattern, i);
    if (quantifier !== undefined) {
      if (quantifier.unbounded) markUnbounded(groups);
      i += quantifier.length;
      continue;
    }
    i++;
  }
  return false;
}

function markUnbounded(groups: boolean[]): void {
  if (groups.length > 0) groups[groups.length - 1] = true;
}

/** The quantifier at `i` (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`, each maybe lazy), if any. */
function quantifierAt(
  pattern: string,
  i: number,
): { length: number; unbounded: boolean; repeats: boolean } | undefined {
  const c = pattern[i];
  let length: number;
  let unbounded: boolean;
  let repeats: boolean;
  if (c === '*' || c === '+') {
    length = 1;
    unbounded = true;
    repeats = true;
  } else if (c === '?') {
    length = 1;
    unbounded = false;
    repeats = false;
  } else if (c === '{') {
    const braces = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i, i + 24));
    if (braces === null) return undefined;
    length = braces[0].length;
    unbounded = braces[2] !== undefined && braces[3] === '';
    const max = braces[2] === undefined ? Number(braces[1]) : braces[3] === '' ? Infinity : Number(braces[3]);
    repeats = max > 1;
  } else return undefined;
  if (pattern[i + length] === '?') length++;
  return { length, unbounded, repeats };
}
