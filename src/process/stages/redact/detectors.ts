import { marker, type PatternRule } from './rules.js';

/**
 * The built-in detectors. Each is a regular expression with bounded quantifiers only (so its cost
 * is linear in the text), anchored by look-arounds so it does not start or end inside a longer
 * word or number, plus a check of what it found where a checksum or rule exists (Luhn, mod 97,
 * SSA rules). No pattern matches `\`, none looks at `"` in its look-arounds, and only the
 * `password=` rule matches `"` (around its `=` or `:`): so whatever a pattern finds in a string
 * value it also finds in the JSON text holding that value, when the text has no escapes. The stage
 * relies on that to test JSON text without parsing it (see redactor.ts).
 */

/** The detectors of the config, by option name; the value is the rule name they report. */
export const DETECTOR_RULES = {
  secrets: 'secret',
  email: 'email',
  iban: 'iban',
  creditCard: 'credit_card',
  ssn: 'ssn',
  phone: 'phone',
  ipv4: 'ipv4',
  ipv6: 'ipv6',
} as const;

export type DetectorOption = keyof typeof DETECTOR_RULES;

/**
 * The order detectors run in. Secrets first, so that `user:pw@host` is a password and not an
 * email; IBANs before cards and phones, whose digit runs they contain.
 */
export const DETECTOR_ORDER: readonly DetectorOption[] = [
  'secrets',
  'email',
  'iban',
  'creditCard',
  'ssn',
  'phone',
  'ipv4',
  'ipv6',
];

/** A rule's own copy of a pattern: a global regex carries its position (`lastIndex`). */
function fresh(regex: RegExp): RegExp {
  return new RegExp(regex.source, regex.flags);
}

/**
 * `piece` written out `n` times. Irregexp runs a repetition written out several times faster than
 * a counted one (`(?:[ -]?[0-9]){12}`: 0.35 against 2.4 µs over a 1 KB log line), and a greedy
 * `X{0,n}` of an X that matches at most one way at a place means what `X?` n times means. The
 * tests hold each pattern's plain form and check the two agree.
 */
function times(piece: string, n: number): string {
  return piece.repeat(n);
}

const hasAt = (text: string): boolean => text.includes('@') || text.includes('%40');
const hasDigit = (text: string): boolean => /[0-9]/.test(text);
const hasDash = (text: string): boolean => text.includes('-');
const hasDot = (text: string): boolean => text.includes('.');
const hasColon = (text: string): boolean => text.includes(':');

// ------------------------------------------------------------------------------------------------
// Email
// ------------------------------------------------------------------------------------------------

/**
 * RFC 5321 limits: a local part of at most 64 characters, labels of at most 63, a top-level
 * domain of letters; letters and digits of any script (RFC 6531 addresses, IDN domains). `%40` is an `@` escaped in a URL (`?email=alice%40example.com`).
 */
const EMAIL =
  /(?<![\p{L}\p{M}\p{N}._%+-])[\p{L}\p{M}\p{N}._%+-]{1,64}(?:@|%40)(?:[\p{L}\p{M}\p{N}-]{1,63}\.){1,8}\p{L}{2,24}(?![\p{L}\p{M}\p{N}-])/gu;

/** Longest local part: a match starts at most this many characters before its `@` or `%40`. */
const EMAIL_LOCAL_MAX = 64;

/**
 * Where an email may start from `from` on: at most EMAIL_LOCAL_MAX characters before the next `@`
 * or `%40`, never between the halves of a surrogate pair (a `u` search does not start there).
 * EMAIL tries 64 characters at every place, so it is run only near an `@`.
 */
function emailStart(text: string, from: number): number {
  const at = text.indexOf('@', from);
  const escaped = text.indexOf('%40', from);
  const next = at === -1 ? escaped : escaped === -1 ? at : Math.min(at, escaped);
  if (next === -1) return -1;
  let start = Math.max(from, next - EMAIL_LOCAL_MAX);
  if (start > from) {
    const c = text.charCodeAt(start);
    const before = text.charCodeAt(start - 1);
    if (c >= 0xdc00 && c <= 0xdfff && before >= 0xd800 && before <= 0xdbff) start--;
  }
  return start;
}

function emailRule(): PatternRule {
  const replacement = marker('email');
  return {
    name: 'email',
    regex: fresh(EMAIL),
    mayMatch: hasAt,
    nextStart: emailStart,
    replace: () => replacement,
  };
}

// ------------------------------------------------------------------------------------------------
// Payment cards
// ------------------------------------------------------------------------------------------------

/**
 * 13-19 digits, single spaces or dashes allowed between them, starting with 2-6 (Mastercard 2/5,
 * Amex/Diners/JCB 3, Visa 4, Discover/UnionPay/Maestro 6): epoch timestamps in s, ms and ns start
 * with 1 until 2033 and are left alone. Not inside a longer word or number (`.` or `,` and a digit).
 */
const CARD = new RegExp(
  // (?<![0-9A-Za-z_])(?<![0-9A-Za-z_][.,-])[2-6](?:[ -]?[0-9]){12,18}(?![0-9A-Za-z_])(?![.,-][0-9])
  String.raw`(?<![0-9A-Za-z_])(?<![0-9A-Za-z_][.,-])[2-6]${times('[ -]?[0-9]', 12)}${times('(?:[ -]?[0-9])?', 6)}` +
    String.raw`(?![0-9A-Za-z_])(?![.,-][0-9])`,
  'g',
);

/** The Luhn (mod 10) checksum of ISO/IEC 7812 over a string of digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

function cardRule(): PatternRule {
  const replacement = marker('credit_card');
  return {
    name: 'credit_card',
    regex: fresh(CARD),
    mayMatch: hasDigit,
    replace: (match) => {
      const digits = match[0].replace(/[ -]/g, '');
      return digits.length >= 13 && digits.length <= 19 && luhnValid(digits) ? replacement : undefined;
    },
  };
}

// ------------------------------------------------------------------------------------------------
// IBAN
// ------------------------------------------------------------------------------------------------

/** IBAN length per country (SWIFT IBAN registry, release 99). */
const IBAN_LENGTHS: ReadonlyMap<string, number> = new Map(
  (
    'AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DJ27 DK18 ' +
    'DO28 EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HN28 HR21 HU28 IE22 IL23 ' +
    'IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 MD24 ME22 MK19 MN20 MR27 ' +
    'MT31 MU30 NI28 NL18 NO15 OM23 PK24 PL28 PS29 PT25 QA29 RO24 RS22 RU33 SA24 SC31 SD18 SE24 SI19 ' +
    'SK24 SM27 SO23 ST25 SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20 YE30'
  )
    .split(' ')
    .map((entry) => [entry.slice(0, 2), Number(entry.slice(2))] as const),
);

/**
 * Country, check digits, then 11-30 upper-case letters or digits, a single space allowed before
 * each (the printed form groups by four). An upper-case word right after it may be taken in; the
 * check below cuts the match at the country's length.
 */
const IBAN = new RegExp(
  // (?<![0-9A-Za-z_])[A-Z]{2}[0-9]{2}(?: ?[0-9A-Z]){11,30}(?![0-9A-Za-z_])
  String.raw`(?<![0-9A-Za-z_])[A-Z][A-Z][0-9][0-9]${times(' ?[0-9A-Z]', 11)}(?: ?[0-9A-Z]){0,19}(?![0-9A-Za-z_])`,
  'g',
);

/** ISO 13616 check: move the first four characters to the end, letters to 10-35, mod 97 = 1. */
export function ibanValid(compact: string): boolean {
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const c = rearranged.charCodeAt(i);
    if (c >= 48 && c <= 57) remainder = (remainder * 10 + (c - 48)) % 97;
    else if (c >= 65 && c <= 90) remainder = (remainder * 100 + (c - 55)) % 97;
    else return false;
  }
  return remainder === 1;
}

function ibanRule(): PatternRule {
  const replacement = marker('iban');
  return {
    name: 'iban',
    regex: fresh(IBAN),
    mayMatch: hasDigit,
    replace: (match) => {
      const found = match[0];
      const length = IBAN_LENGTHS.get(found.slice(0, 2));
      if (length === undefined) return undefined;
      // Where the country's length ends in the printed text; it must end a group.
      let seen = 0;
      let end = 0;
      while (end < found.length && seen < length) {
        if (found[end] !== ' ') seen++;
        end++;
      }
      if (seen < length || (end < found.length && found[end] !== ' ')) return undefined;
      if (!ibanValid(found.slice(0, end).replace(/ /g, ''))) return undefined;
      return replacement + found.slice(end);
    },
  };
}

// ------------------------------------------------------------------------------------------------
// US social security numbers
// ------------------------------------------------------------------------------------------------

/** `AAA-GG-SSSS` with dashes: nine bare digits are too often something else. */
const SSN =
  /(?<![0-9A-Za-z_-])(?<![0-9]\.)([0-9][0-9][0-9])-([0-9][0-9])-([0-9][0-9][0-9][0-9])(?![0-9A-Za-z_]|-[0-9])/g;

/** SSA: no area 000, 666 or 900-999, no group 00, no serial 0000. */
export function ssnValid(area: string, group: string, serial: string): boolean {
  return area !== '000' && area !== '666' && area[0] !== '9' && group !== '00' && serial !== '0000';
}

function ssnRule(): PatternRule {
  const replacement = marker('ssn');
  return {
    name: 'ssn',
    regex: fresh(SSN),
    mayMatch: hasDash,
    replace: (match) => (ssnValid(match[1] ?? '', match[2] ?? '', match[3] ?? '') ? replacement : undefined),
  };
}

// ------------------------------------------------------------------------------------------------
// Phone numbers
// ------------------------------------------------------------------------------------------------

/**
 * Conservative on purpose (timestamps, ids and versions are full of digits):
 * - international: `+`, a country code, then groups split by single spaces, dots or dashes, an
 *   area code maybe in parentheses (`+44 (0)20 7946 0958`), or the compact E.164 form
 *   (`+14155550100`); 8-15 digits in all;
 * - NANP: `(415) 555-0100`, `415-555-0100`, `415.555.0100`, `415 555 0100`, maybe with `1-` in
 *   front: area and exchange start with 2-9 and a separator is required.
 * Not when glued to a word, or after a word and a dot or dash (`v1.415.555.0100`, `ORD-415-…`).
 */
const PHONE_BEFORE = String.raw`(?<![0-9A-Za-z_+])(?<![0-9A-Za-z_][.-])`;
const PHONE_INTERNATIONAL = String.raw`\+[1-9](?:[0-9]{0,3}(?:[ .-]?\([0-9]{1,4}\)[ .-]?[0-9]{1,8}|[ .-][0-9]{1,8})(?:[ .-][0-9]{1,8}){0,5}|[0-9]{7,14})`;
// (?:1[ .-])?(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[ .-])[2-9][0-9]{2}[ .-][0-9]{4}
const PHONE_NANP = String.raw`(?:1[ .-])?(?:\([2-9][0-9][0-9]\) ?|[2-9][0-9][0-9][ .-])[2-9][0-9][0-9][ .-][0-9][0-9][0-9][0-9]`;
const PHONE_AFTER = String.raw`(?![0-9A-Za-z_])(?![.-][0-9A-Za-z])`;
const PHONE = new RegExp(`${PHONE_BEFORE}(?:${PHONE_INTERNATIONAL}|${PHONE_NANP})${PHONE_AFTER}`, 'g');
/**
 * PHONE for text without a `+`, where its international branch cannot match: the same matches,
 * for a third of the time (a `\+` branch keeps irregexp from skipping ahead).
 */
const PHONE_NO_PLUS = new RegExp(`${PHONE_BEFORE}(?:${PHONE_NANP})${PHONE_AFTER}`, 'g');

const hasPlus = (text: string): boolean => text.includes('+');

function phoneRule(): PatternRule {
  const replacement = marker('phone');
  const withPlus = fresh(PHONE);
  const withoutPlus = fresh(PHONE_NO_PLUS);
  return {
    name: 'phone',
    regex: withPlus,
    regexFor: (text) => (hasPlus(text) ? withPlus : withoutPlus),
    mayMatch: hasDigit,
    replace: (match) => {
      const found = match[0];
      if (found[0] !== '+') return replacement;
      let digits = 0;
      for (let i = 0; i < found.length; i++) {
        const c = found.charCodeAt(i);
        if (c >= 48 && c <= 57) digits++;
      }
      return digits >= 8 && digits <= 15 ? replacement : undefined;
    },
  };
}

// ------------------------------------------------------------------------------------------------
// IP addresses
// ------------------------------------------------------------------------------------------------

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const IPV4 = new RegExp(String.raw`(?<![0-9A-Za-z_.])(?:${OCTET}\.){3}${OCTET}(?![0-9A-Za-z_]|\.[0-9])`, 'g');

function ipv4Rule(): PatternRule {
  const replacement = marker('ipv4');
  return { name: 'ipv4', regex: fresh(IPV4), mayMatch: hasDot, replace: () => replacement };
}

/**
 * A candidate: hex groups and colons, maybe a dotted IPv4 tail and a `%zone`; `ipv6Valid` decides.
 * Times (`10:30:00`) and MAC addresses (six groups) are candidates that it refuses.
 */
const IPV6 =
  /(?<![0-9A-Za-z_:.%])(?:[0-9A-Fa-f]{1,4}|:)(?::[0-9A-Fa-f]{0,4}){1,7}(?:\.[0-9]{1,3}){0,3}(?:%[0-9A-Za-z_.]{1,16})?(?![0-9A-Za-z_:])/g;

const IPV4_TAIL = new RegExp(String.raw`:(?:${OCTET}\.){3}${OCTET}$`);
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/** RFC 4291 section 2.2 text forms (with RFC 5952 lower or upper case, and RFC 4007 zones). */
export function ipv6Valid(candidate: string): boolean {
  let text = candidate;
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  let groups = 8;
  if (text.includes('.')) {
    const tail = IPV4_TAIL.exec(text);
    if (tail === null) return false;
    text = text.slice(0, tail.index + 1) + '0';
    groups = 7;
  }
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const parts = halves.flatMap((half) => (half === '' ? [] : half.split(':')));
  if (!parts.every((part) => HEX_GROUP.test(part))) return false;
  return halves.length === 2 ? parts.length < groups : parts.length === groups;
}

function ipv6Rule(): PatternRule {
  const replacement = marker('ipv6');
  return {
    name: 'ipv6',
    regex: fresh(IPV6),
    mayMatch: hasColon,
    replace: (match) => (ipv6Valid(match[0]) ? replacement : undefined),
  };
}

// ------------------------------------------------------------------------------------------------
// Secrets
// ------------------------------------------------------------------------------------------------

/**
 * No pre-test for the Bearer/Basic and key-value rules: a case-insensitive alternation of their
 * words scans slower than the rules' own patterns do (2 against 0.6 and 1.2 µs over a 1 KB log
 * line), and log lines hold `token` or `key` often enough that it rarely saves the scan.
 */
const anyText = (): boolean => true;

/** `scheme://user:password@host`: the password goes, the user and host stay. */
const URL_CREDENTIALS =
  /(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]{0,30}:\/\/[^\s:/?#@"'<>\\]{0,256}:)([^\s/?#@"'<>\\]{1,256})@/g;

/**
 * `Bearer <token>` and `Basic <base64>` (RFC 6750, RFC 7617). A bearer token needs 8 characters
 * and a digit, or 20 characters ("Bearer authentication" is prose); a Basic value must decode to
 * `user:password`.
 */
const AUTH_SCHEME = /(?<![A-Za-z0-9_])(bearer|basic)(\s{1,4})([A-Za-z0-9._~+/-]{8,4096}=*)/gi;

function authSchemeReplacement(match: RegExpExecArray, replacement: string): string | undefined {
  const scheme = match[1] ?? '';
  const token = match[3] ?? '';
  if (scheme.toLowerCase() === 'basic') {
    if (!/^[A-Za-z0-9+/]+=*$/.test(token)) return undefined;
    if (!Buffer.from(token, 'base64').toString('latin1').includes(':')) return undefined;
  } else if (token.length < 20 && !/[0-9]/.test(token)) return undefined;
  return `${scheme}${match[2] ?? ' '}${replacement}`;
}

/**
 * `password=…`, `"api_key": "…"`, `token: …`, `?access_token=…&`: a secret-like key word, `=` or
 * `:`, then the value up to a space, quote or separator. The key stays, the value goes.
 */
const SECRET_PAIR =
  /(password|passwd|pwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)(["']?[ \t]{0,3}[=:][ \t]{0,3}["']?)([^\s"'&,;<>{}\\]{1,1024})/giy;

/** SECRET_PAIR's key words written out, lower case. */
const SECRET_WORDS = [
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'secret',
  'token',
  ...['api', 'access', 'private'].flatMap((word) => [`${word}key`, `${word}_key`, `${word}-key`]),
];

/** Whether `word` (lower case) is in `text` at `at`, ASCII letters in any case (as the `i` flag has it). */
function wordAt(text: string, at: number, word: string): boolean {
  for (let i = 0; i < word.length; i++) {
    const c = text.charCodeAt(at + i);
    const w = word.charCodeAt(i);
    if (c !== w && !(w >= 97 && w <= 122 && c === w - 32)) return false;
  }
  return true;
}

const isBlank = (c: number): boolean => c === 32 || c === 9;
const isQuote = (c: number): boolean => c === 34 || c === 39;

/**
 * Where a SECRET_PAIR match may start at or after `from`: a key word that ends where `["']?[ \t]{0,3}`
 * reaches back from a `=` or `:`. The pattern itself would try its alternation at every character.
 */
function secretPairStart(text: string, from: number): number {
  let equals = text.indexOf('=', from);
  let colon = text.indexOf(':', from);
  while (equals !== -1 || colon !== -1) {
    const separator = equals === -1 ? colon : colon === -1 ? equals : Math.min(equals, colon);
    const start = keyWordBefore(text, separator, from);
    if (start !== -1) return start;
    if (separator === equals) equals = text.indexOf('=', separator + 1);
    else colon = text.indexOf(':', separator + 1);
  }
  return -1;
}

/** The earliest start at or after `from` of a key word followed by `["']?[ \t]{0,3}` and then `separator`. */
function keyWordBefore(text: string, separator: number, from: number): number {
  let best = -1;
  for (let blanks = 0; blanks <= 3; blanks++) {
    if (blanks > 0 && !isBlank(text.charCodeAt(separator - blanks))) break;
    const end = separator - blanks;
    best = earliestWordEndingAt(text, end, from, best);
    if (isQuote(text.charCodeAt(end - 1))) best = earliestWordEndingAt(text, end - 1, from, best);
  }
  return best;
}

/**
 * The key words by the code of their last letter (lower case): most places end in none of them,
 * and few words share one. An array, not a Map: it is looked up at every `=` and `:` of every
 * text, and indexing took a third of the time a Map lookup did.
 */
const SECRET_WORDS_BY_END: Array<string[] | undefined> = new Array<string[] | undefined>(128).fill(undefined);
for (const word of SECRET_WORDS) {
  const last = word.charCodeAt(word.length - 1);
  SECRET_WORDS_BY_END[last] = [...(SECRET_WORDS_BY_END[last] ?? []), word];
}

function earliestWordEndingAt(text: string, end: number, from: number, best: number): number {
  const last = text.charCodeAt(end - 1) | 32;
  const words = last < 128 ? SECRET_WORDS_BY_END[last] : undefined;
  if (words === undefined) return best;
  let earliest = best;
  for (const word of words) {
    const start = end - word.length;
    if (start >= from && (earliest === -1 || start < earliest) && wordAt(text, start, word)) earliest = start;
  }
  return earliest;
}

function secretRules(): PatternRule[] {
  const replacement = marker('secret');
  return [
    {
      name: 'secret',
      regex: fresh(URL_CREDENTIALS),
      // `//` first: V8 looks for two characters several times faster than for three.
      mayMatch: (text) => text.includes('//') && text.includes('://'),
      replace: (match) => `${match[1] ?? ''}${replacement}@`,
    },
    {
      name: 'secret',
      regex: fresh(AUTH_SCHEME),
      mayMatch: anyText,
      replace: (match) => authSchemeReplacement(match, replacement),
    },
    {
      name: 'secret',
      regex: fresh(SECRET_PAIR),
      mayMatch: anyText,
      nextStart: secretPairStart,
      replace: (match) => {
        const value = match[3] ?? '';
        if (value.startsWith('[REDACTED:')) return undefined;
        return `${match[1] ?? ''}${match[2] ?? ''}${replacement}`;
      },
    },
  ];
}

/** The rules of the enabled detectors, in the order they run. */
export function detectorRules(enabled: Readonly<Record<DetectorOption, boolean>>): PatternRule[] {
  const factories: Record<DetectorOption, () => PatternRule[]> = {
    secrets: secretRules,
    email: () => [emailRule()],
    iban: () => [ibanRule()],
    creditCard: () => [cardRule()],
    ssn: () => [ssnRule()],
    phone: () => [phoneRule()],
    ipv4: () => [ipv4Rule()],
    ipv6: () => [ipv6Rule()],
  };
  return DETECTOR_ORDER.flatMap((option) => (enabled[option] ? factories[option]() : []));
}
