/**
 * What happens to the value of an attribute key: scanned by the detectors, replaced whole
 * (blocklisted), left alone (allowlisted), or treated as a SQL statement.
 */
export type KeyVerdict = 'scan' | 'block' | 'allow' | 'statement';

/**
 * Keys whose values are credentials whatever they look like (case-insensitive globs over the whole
 * key, so `http.request.header.authorization` and `db.password` are caught). `*token` and not
 * `*token*`: `gen_ai.usage.input_tokens` is a count.
 */
export const DEFAULT_BLOCKED_KEYS: readonly string[] = [
  '*password*',
  '*passwd*',
  '*pwd',
  '*passphrase*',
  '*secret*',
  '*token',
  '*authorization',
  '*cookie',
  '*api_key',
  '*api-key',
  '*apikey',
  '*api.key',
  '*access_key',
  '*access-key',
  '*private_key',
  '*private-key',
  '*credential',
  '*credentials',
];

/** Attributes that hold a statement: OTel semconv `db.statement` (older) and `db.query.text`, the server logs' `statement`. */
export const STATEMENT_KEYS: readonly string[] = ['db.statement', 'db.query.text', 'statement'];

export interface KeyOptions {
  allow: readonly string[];
  block: readonly string[];
  defaultBlock: boolean;
}

/** Keys of a map of 10k attributes must not grow the cache without bound. */
const CACHE_LIMIT = 10_000;

export class KeyRules {
  private readonly userBlock: RegExp | undefined;
  private readonly allow: RegExp | undefined;
  private readonly defaultBlock: RegExp | undefined;
  private readonly statements: ReadonlySet<string>;
  private readonly hint: RegExp | 'always' | 'never';
  private readonly cache = new Map<string, KeyVerdict>();

  constructor(options: KeyOptions, sqlLiterals: boolean) {
    this.userBlock = globsRegex(options.block);
    this.allow = globsRegex(options.allow);
    const defaults = options.defaultBlock ? DEFAULT_BLOCKED_KEYS : [];
    this.defaultBlock = globsRegex(defaults);
    const statements = sqlLiterals ? STATEMENT_KEYS : [];
    this.statements = new Set(statements);
    this.hint = hintRegex([...options.block, ...defaults, ...statements]);
  }

  /**
   * Your blocklist first, then your allowlist, then statements, then the built-in blocklist: an
   * allowed key escapes the built-in list but not yours.
   */
  verdict(key: string): KeyVerdict {
    // Most keys hold no piece of any blocked or statement key: with no allowlist to look up, they
    // are scanned, and a map of 10k distinct keys does not churn the cache.
    if (this.allow === undefined && !this.mayBeSpecial(key)) return 'scan';
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const verdict = this.decide(key);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(key, verdict);
    return verdict;
  }

  /**
   * Whether JSON text may hold a key whose verdict is not `scan` (a false positive only costs a
   * parse). The text must have no escapes: keys then appear in it as they are.
   */
  mayHoldSpecialKey(json: string): boolean {
    return this.mayBeSpecial(json);
  }

  private mayBeSpecial(text: string): boolean {
    if (this.hint === 'always') return true;
    if (this.hint === 'never') return false;
    return this.hint.test(text);
  }

  private decide(key: string): KeyVerdict {
    if (this.userBlock?.test(key) === true) return 'block';
    if (this.allow?.test(key) === true) return 'allow';
    if (this.statements.has(key)) return 'statement';
    if (this.defaultBlock?.test(key) === true) return 'block';
    return 'scan';
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** One anchored, case-insensitive regex for a list of globs (`*` matches any run of characters). */
function globsRegex(globs: readonly string[]): RegExp | undefined {
  if (globs.length === 0) return undefined;
  const alternatives = globs.map((glob) => glob.split('*').map(escapeRegex).join('.*'));
  return new RegExp(`^(?:${alternatives.join('|')})$`, 'is');
}

/** A regex for the longest literal piece of each glob; `always` when a glob has none (`*`). */
function hintRegex(globs: readonly string[]): RegExp | 'always' | 'never' {
  if (globs.length === 0) return 'never';
  const pieces = new Set<string>();
  for (const glob of globs) {
    const longest = glob.split('*').reduce((a, b) => (b.length > a.length ? b : a), '');
    if (longest === '') return 'always';
    pieces.add(escapeRegex(longest.toLowerCase()));
  }
  return new RegExp([...pieces].join('|'), 'i');
}
