import { detectorRules, type DetectorOption } from './detectors.js';
import { KeyRules, type KeyOptions } from './keys.js';
import { addTo, applyRule, marker, ruleFinds, simpleRule, type PatternRule, type Tally } from './rules.js';
import { stripLiterals, type SqlDialect } from './sql.js';

export interface RedactorOptions {
  detectors: Readonly<Record<DetectorOption, boolean>>;
  custom: ReadonlyArray<{ name: string; pattern: string; flags: string }>;
  keys: KeyOptions;
  sqlLiterals: boolean;
}

/**
 * Custom patterns see long values a window at a time, so that a pattern that backtracks more than
 * it should costs at most this much per call. Windows end at whitespace where they can: a match
 * across a window's end is missed, and matches rarely span whitespace.
 */
export const CUSTOM_WINDOW_CHARS = 4096;

const BLOCKED = marker('key_blocklist');

/** What a walk over one JSON document needs besides the redactor: where counts go, the SQL dialect. */
export interface WalkContext {
  tally: Tally;
  /** The dialect of statements found in the document; asked at most once, when one is found. */
  dialect: (root: unknown) => SqlDialect;
}

/**
 * The compiled rules of one redact configuration, applied to text, to attribute maps (JSON text),
 * and to fields that are JSON when they parse. Pure functions of their input, apart from counts.
 */
export class Redactor {
  private readonly builtIns: readonly PatternRule[];
  private readonly custom: readonly PatternRule[];
  private readonly keys: KeyRules;

  constructor(options: RedactorOptions) {
    this.builtIns = detectorRules(options.detectors);
    this.custom = options.custom.map((rule) =>
      simpleRule(rule.name, new RegExp(rule.pattern, `${rule.flags.replace(/[gy]/g, '')}g`)),
    );
    this.keys = new KeyRules(options.keys, options.sqlLiterals);
  }

  /** The text with what the detectors and custom rules found replaced; the same string when nothing was. */
  text(text: string, tally: Tally): string {
    return this.textFrom(text, 0, tally);
  }

  /** `text` with the built-in rules before `first` left out (they are known to find nothing). */
  private textFrom(text: string, first: number, tally: Tally): string {
    let out = text;
    for (let i = first; i < this.builtIns.length; i++)
      out = applyRule(this.builtIns[i] as PatternRule, out, tally);
    for (const rule of this.custom) out = applyWindowed(rule, out, tally);
    return out;
  }

  /**
   * An attribute map as JSON object text (LogRow.attributes, SpanRow.attributes): the same string
   * when nothing changed, else the map with its values redacted, as JSON again. Text that is not
   * a JSON object is redacted as text.
   */
  attributes(json: string, context: WalkContext): string {
    if (json === '{}' || json === '[]' || json === '') return json;
    const first = this.firstRuleToRun(json);
    if (first === -1) return json;
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      return this.text(json, context.tally);
    }
    if (typeof parsed !== 'object' || parsed === null) return this.text(json, context.tally);
    return this.walk(parsed, parsed, 'scan', first, context) ? JSON.stringify(parsed) : json;
  }

  /**
   * A field that holds JSON when its producer had structure (a log body that was a kvlist, an
   * EXPLAIN plan in JSON, span events): walked as attributes when it parses, else scanned as text.
   */
  jsonOrText(text: string, context: WalkContext): string {
    const first = text.charCodeAt(0);
    // `{` or `[`: the only starts of the JSON these fields hold.
    if (first === 123 || first === 91) return this.attributes(text, context);
    return this.text(text, context.tally);
  }

  /**
   * Whether redacting the JSON text could change it, tested on the text without parsing it: -1
   * when it cannot, else the first built-in rule the values need to go through. Sound when the
   * text has no escapes: every string value then appears in it verbatim between quotes, and the
   * detectors neither need their match to end at a quote nor look at one (detectors.ts), so a
   * detector that finds nothing in the whole text finds nothing in any value (it may find more: a
   * false positive only costs a parse). The rules before the first that finds something are left
   * out of the walk: they see the values as they are, in which they find nothing; from that one on,
   * a replacement may make a match for a later rule, so all run. Custom patterns may anchor on the
   * start or end of a value: with any, the text is always parsed and every rule runs.
   */
  private firstRuleToRun(json: string): number {
    if (this.custom.length > 0 || json.includes('\\')) return 0;
    for (let i = 0; i < this.builtIns.length; i++)
      if (ruleFinds(this.builtIns[i] as PatternRule, json)) return i;
    return this.keys.mayHoldSpecialKey(json) ? this.builtIns.length : -1;
  }

  /**
   * Redacts a parsed JSON value in place; true when it changed something. Scanned values skip the
   * built-in rules before `first` (see firstRuleToRun); statements are new text once stripped and
   * go through every rule.
   */
  private walk(
    value: object,
    root: unknown,
    verdict: 'scan' | 'statement',
    first: number,
    context: WalkContext,
  ): boolean {
    let changed = false;
    if (Array.isArray(value)) {
      const items = value as unknown[];
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        if (typeof item === 'string') {
          const redacted = this.scalar(item, verdict, root, first, context);
          if (redacted !== item) {
            items[i] = redacted;
            changed = true;
          }
        } else if (typeof item === 'object' && item !== null) {
          if (this.walk(item, root, 'scan', first, context)) changed = true;
        }
      }
      return changed;
    }
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const item = record[key];
      if (item === null || typeof item === 'number' || typeof item === 'boolean') {
        // Numbers are not scanned (a card number sent as a number is the sender's choice); a number
        // under a blocklisted key still goes.
        if (typeof item === 'number' && this.keys.verdict(key) === 'block') {
          record[key] = BLOCKED;
          addTo(context.tally, 'key_blocklist');
          changed = true;
        }
        continue;
      }
      const keyVerdict = this.keys.verdict(key);
      if (keyVerdict === 'allow') continue;
      if (keyVerdict === 'block') {
        if (item === '' || item === BLOCKED) continue;
        record[key] = BLOCKED;
        addTo(context.tally, 'key_blocklist');
        changed = true;
        continue;
      }
      if (typeof item === 'string') {
        const redacted = this.scalar(item, keyVerdict, root, first, context);
        if (redacted !== item) {
          record[key] = redacted;
          changed = true;
        }
      } else if (typeof item === 'object' && this.walk(item, root, keyVerdict, first, context))
        changed = true;
    }
    return changed;
  }

  private scalar(
    text: string,
    verdict: 'scan' | 'statement',
    root: unknown,
    first: number,
    context: WalkContext,
  ): string {
    if (verdict === 'statement') {
      const stripped = stripLiterals(text, context.dialect(root));
      if (stripped !== text) addTo(context.tally, 'sql_literals');
      return this.text(stripped, context.tally);
    }
    return this.textFrom(text, first, context.tally);
  }
}

/** `applyRule` over windows of at most CUSTOM_WINDOW_CHARS characters. */
function applyWindowed(rule: PatternRule, text: string, tally: Tally): string {
  if (text.length <= CUSTOM_WINDOW_CHARS) return applyRule(rule, text, tally);
  let out = '';
  let changed = false;
  let start = 0;
  while (start < text.length) {
    const end = windowEnd(text, start);
    const window = text.slice(start, end);
    const redacted = applyRule(rule, window, tally);
    if (redacted !== window) changed = true;
    out += redacted;
    start = end;
  }
  return changed ? out : text;
}

/** Where the window starting at `start` ends: after the last whitespace of its last 256 characters, never inside a surrogate pair. */
function windowEnd(text: string, start: number): number {
  let end = start + CUSTOM_WINDOW_CHARS;
  if (end >= text.length) return text.length;
  for (let i = end - 1; i > end - 256; i--) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 10 || c === 9 || c === 13) return i + 1;
  }
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return end;
}
