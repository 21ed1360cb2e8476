/**
 * A redaction rule that finds its matches with one regular expression: the built-in detectors and
 * the custom rules of the config both take this shape, so one loop applies them all.
 */
export interface PatternRule {
  /** The rule name: in the replacement text and the `reason` of the changed count. */
  readonly name: string;
  /** A cheap test (a character or two) that is false when the text cannot hold a match. */
  readonly mayMatch: (text: string) => boolean;
  /**
   * Optional: the least index at or after `from` where a match may start, or -1 when none can. It
   * must not skip a start the regex would find: the search then resumes there, and finds what a
   * search from `from` finds, for less (the email pattern costs ~64 steps a character). With a
   * sticky regex (`y`) the regex is tried only at the places this names, one after the other: for
   * a pattern that is cheap to place by hand and costly to scan for.
   */
  readonly nextStart?: (text: string, from: number) => number;
  /**
   * Optional: a regex for this text that finds what `regex` finds in it, for less (global too, and
   * owned by the rule); `regex` when undefined.
   */
  readonly regexFor?: (text: string) => RegExp;
  /** Global (`g`): matches are taken left to right, each from where the previous one ended. */
  readonly regex: RegExp;
  /** What replaces the match, or undefined to keep it (a failed checksum, a word that only looked like one). */
  readonly replace: (match: RegExpExecArray) => string | undefined;
}

/** The text that replaces what a rule found: `[REDACTED:email]`. */
export function marker(rule: string): string {
  return `[REDACTED:${rule}]`;
}

/** Counts redactions per rule name; the stage reports them once per batch. */
export type Tally = Map<string, number>;

export function addTo(tally: Tally, rule: string, n = 1): void {
  tally.set(rule, (tally.get(rule) ?? 0) + n);
}

const always = (): boolean => true;

/** A rule that replaces every non-empty match by its marker. */
export function simpleRule(
  name: string,
  regex: RegExp,
  mayMatch: (text: string) => boolean = always,
): PatternRule {
  const replacement = marker(name);
  return { name, regex, mayMatch, replace: () => replacement };
}

/**
 * Applies one rule to a text: the text with the rule's matches replaced, the same string when it
 * replaced nothing (callers compare by identity). Empty matches are skipped.
 */
export function applyRule(rule: PatternRule, text: string, tally: Tally | undefined): string {
  if (!rule.mayMatch(text)) return text;
  const regex = rule.regexFor?.(text) ?? rule.regex;
  regex.lastIndex = 0;
  let out = '';
  let last = 0;
  let hits = 0;
  let match: RegExpExecArray | null;
  while ((match = execFrom(rule, regex, text)) !== null) {
    const found = match[0];
    if (found === '') {
      regex.lastIndex++;
      continue;
    }
    const replacement = rule.replace(match);
    if (replacement === undefined || replacement === found) continue;
    out += text.slice(last, match.index) + replacement;
    last = match.index + found.length;
    hits++;
  }
  if (hits === 0) return text;
  if (tally !== undefined) addTo(tally, rule.name, hits);
  return out + text.slice(last);
}

/** Whether the rule would replace something in the text: `applyRule` without building the result. */
export function ruleFinds(rule: PatternRule, text: string): boolean {
  if (!rule.mayMatch(text)) return false;
  const regex = rule.regexFor?.(text) ?? rule.regex;
  regex.lastIndex = 0;
  let match: RegExpExecArray | null;
  while ((match = execFrom(rule, regex, text)) !== null) {
    if (match[0] === '') {
      regex.lastIndex++;
      continue;
    }
    const replacement = rule.replace(match);
    if (replacement !== undefined && replacement !== match[0]) {
      regex.lastIndex = 0;
      return true;
    }
  }
  return false;
}

/** The rule's next match from the regex's `lastIndex`, skipping ahead to where one may start. */
function execFrom(rule: PatternRule, regex: RegExp, text: string): RegExpExecArray | null {
  const { nextStart } = rule;
  if (nextStart === undefined) return regex.exec(text);
  if (regex.sticky) {
    for (let from = regex.lastIndex; ;) {
      const start = nextStart(text, from);
      if (start === -1) break;
      regex.lastIndex = start;
      const match = regex.exec(text);
      if (match !== null) return match;
      from = start + 1;
    }
    regex.lastIndex = 0;
    return null;
  }
  const start = nextStart(text, regex.lastIndex);
  if (start === -1) {
    regex.lastIndex = 0;
    return null;
  }
  if (start > regex.lastIndex) regex.lastIndex = start;
  return regex.exec(text);
}
