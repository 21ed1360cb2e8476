import { describe, expect, it } from 'vitest';
import {
  detectorRules,
  ibanValid,
  ipv6Valid,
  luhnValid,
  ssnValid,
  type DetectorOption,
} from './detectors.js';
import { applyRule, type PatternRule, type Tally } from './rules.js';

const NONE: Record<DetectorOption, boolean> = {
  secrets: false,
  email: false,
  iban: false,
  creditCard: false,
  ssn: false,
  phone: false,
  ipv4: false,
  ipv6: false,
};

/** The text after one detector alone, and its count. */
function only(option: DetectorOption, text: string): { text: string; count: number } {
  const tally: Tally = new Map();
  let out = text;
  for (const rule of detectorRules({ ...NONE, [option]: true })) out = applyRule(rule, out, tally);
  return { text: out, count: [...tally.values()].reduce((a, b) => a + b, 0) };
}

function cases(option: DetectorOption, table: ReadonlyArray<readonly [string, string]>): void {
  it.each(table)(`${option}: %j becomes %j`, (input, expected) => {
    expect(only(option, input).text).toBe(expected);
  });
}

describe('email', () => {
  cases('email', [
    ['mail alice@example.com now', 'mail [REDACTED:email] now'],
    ['<Bob.Smith+tag@mail.example.co.uk>', '<[REDACTED:email]>'],
    [
      'https://example.com/users/alice@example.com/profile',
      'https://example.com/users/[REDACTED:email]/profile',
    ],
    ['https://example.com/?email=alice%40example.com&x=1', 'https://example.com/?email=[REDACTED:email]&x=1'],
    ['mailto:jose@example.org', 'mailto:[REDACTED:email]'],
    ['José écrit à josé.garcía@exämple.com — merci 🙂', 'José écrit à [REDACTED:email] — merci 🙂'],
    ['写信给 张伟@例子.公司 谢谢', '写信给 [REDACTED:email] 谢谢'],
    ['\uFFFDalice@example.com\uFFFD', '\uFFFD[REDACTED:email]\uFFFD'],
    ['\uD800bob@example.com\uDC00', '\uD800[REDACTED:email]\uDC00'],
    ['a@example.com,b@example.io;c.d@x.example', '[REDACTED:email],[REDACTED:email];[REDACTED:email]'],
    // Not addresses: package versions, image digests, a bare @, handles.
    ['npm i lodash@4.17.21', 'npm i lodash@4.17.21'],
    ['image@sha256:abc', 'image@sha256:abc'],
    ['@alice said hi', '@alice said hi'],
    ['user@localhost', 'user@localhost'],
  ]);

  it('counts each address', () => {
    expect(only('email', 'a@example.com, b@example.com').count).toBe(2);
  });
});

describe('credit cards', () => {
  cases('creditCard', [
    ['card 4111111111111111 ok', 'card [REDACTED:credit_card] ok'],
    ['card 4111 1111 1111 1111.', 'card [REDACTED:credit_card].'],
    ['card 4111-1111-1111-1111', 'card [REDACTED:credit_card]'],
    ['amex 3782 822463 10005', 'amex [REDACTED:credit_card]'],
    ['mc 5555555555554444, visa 4012888888881881', 'mc [REDACTED:credit_card], visa [REDACTED:credit_card]'],
    ['13 digits 4222222222222', '13 digits [REDACTED:credit_card]'],
    ['→4111111111111111←', '→[REDACTED:credit_card]←'],
    // Luhn-invalid runs stay.
    ['card 4111111111111112 ok', 'card 4111111111111112 ok'],
    ['card 4111 1111 1111 1112', 'card 4111 1111 1111 1112'],
    // Timestamps (s, ms, ns), ids glued to letters, decimals, too short or too long runs.
    ['ts 1700000000000 and 1700000000000000000', 'ts 1700000000000 and 1700000000000000000'],
    ['order ab4111111111111111', 'order ab4111111111111111'],
    ['pi 0.4111111111111111', 'pi 0.4111111111111111'],
    ['run 41111111111111111111111', 'run 41111111111111111111111'],
    ['id 411111111111', 'id 411111111111'],
    ['double  4111  1111  1111  1111', 'double  4111  1111  1111  1111'],
  ]);

  it('Luhn', () => {
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
  });
});

describe('IBAN', () => {
  cases('iban', [
    ['IBAN DE89 3704 0044 0532 0130 00 please', 'IBAN [REDACTED:iban] please'],
    ['iban=DE89370400440532013000', 'iban=[REDACTED:iban]'],
    ['GB82 WEST 1234 5698 7654 32', '[REDACTED:iban]'],
    ['pay FR14 2004 1010 0505 0001 3M02 606 now', 'pay [REDACTED:iban] now'],
    ['NL91ABNA0417164300', '[REDACTED:iban]'],
    ['BE68 5390 0754 7034 EUR', '[REDACTED:iban] EUR'],
    ['DE89 3704 0044 0532 0130 00 EUR 10', '[REDACTED:iban] EUR 10'],
    // Wrong check digits, an unknown country, the wrong length, lower case.
    ['DE88 3704 0044 0532 0130 00', 'DE88 3704 0044 0532 0130 00'],
    ['ZZ89 3704 0044 0532 0130 00', 'ZZ89 3704 0044 0532 0130 00'],
    ['DE89 3704 0044 0532 0130', 'DE89 3704 0044 0532 0130'],
    ['de89370400440532013000', 'de89370400440532013000'],
  ]);

  it('mod 97', () => {
    expect(ibanValid('GB82WEST12345698765432')).toBe(true);
    expect(ibanValid('GB82WEST12345698765433')).toBe(false);
  });
});

describe('US SSN', () => {
  cases('ssn', [
    ['ssn 123-45-6789.', 'ssn [REDACTED:ssn].'],
    ['(078-05-1120)', '([REDACTED:ssn])'],
    ['000-12-3456', '000-12-3456'],
    ['666-12-3456', '666-12-3456'],
    ['912-12-3456', '912-12-3456'],
    ['123-00-4567', '123-00-4567'],
    ['123-45-0000', '123-45-0000'],
    ['123456789', '123456789'],
    ['date 2024-01-15 and 1-123-45-6789-2', 'date 2024-01-15 and 1-123-45-6789-2'],
    ['ticket ABC-123-45-6789', 'ticket ABC-123-45-6789'],
  ]);

  it('SSA rules', () => {
    expect(ssnValid('123', '45', '6789')).toBe(true);
    expect(ssnValid('900', '45', '6789')).toBe(false);
  });
});

describe('phone numbers', () => {
  cases('phone', [
    ['call +1 415 555 0100 now', 'call [REDACTED:phone] now'],
    ['call +1 (415) 555-0100', 'call [REDACTED:phone]'],
    ['+44 (0)20 7946 0958', '[REDACTED:phone]'],
    ['+49 30 1234567', '[REDACTED:phone]'],
    ['+33 1 23 45 67 89', '[REDACTED:phone]'],
    ['e164 +14155550100.', 'e164 [REDACTED:phone].'],
    ['(415) 555-0100', '[REDACTED:phone]'],
    ['415-555-0100', '[REDACTED:phone]'],
    ['415.555.0100', '[REDACTED:phone]'],
    ['tel: 1-415-555-0100', 'tel: [REDACTED:phone]'],
    ['Tél. +33 6 12 34 56 78 — merci', 'Tél. [REDACTED:phone] — merci'],
    // Timestamps, ids, versions, bare digit runs, short international numbers.
    ['2024-01-15T10:30:00.123+01:00', '2024-01-15T10:30:00.123+01:00'],
    ['at 2024-01-15 10:30:00 +0100', 'at 2024-01-15 10:30:00 +0100'],
    ['epoch 1700000000 and 4155550100', 'epoch 1700000000 and 4155550100'],
    ['version 10.15.7 and v1.415.555.0100', 'version 10.15.7 and v1.415.555.0100'],
    ['order ORD-415-555-0100', 'order ORD-415-555-0100'],
    ['id 123-456-7890', 'id 123-456-7890'],
    ['1e+10 and +12 34', '1e+10 and +12 34'],
    ['uuid 550e8400-e29b-41d4-a716-446655440000', 'uuid 550e8400-e29b-41d4-a716-446655440000'],
    ['ip 192.168.100.200', 'ip 192.168.100.200'],
  ]);
});

describe('IP addresses', () => {
  cases('ipv4', [
    ['from 192.168.1.20:5432', 'from [REDACTED:ipv4]:5432'],
    ['10.0.0.1,10.0.0.2', '[REDACTED:ipv4],[REDACTED:ipv4]'],
    ['256.1.1.1 and 1.2.3', '256.1.1.1 and 1.2.3'],
    ['1.2.3.4.5', '1.2.3.4.5'],
  ]);
  cases('ipv6', [
    ['from 2001:db8::1 port', 'from [REDACTED:ipv6] port'],
    ['[fe80::1%eth0]:80', '[[REDACTED:ipv6]]:80'],
    ['2001:0db8:85a3:0000:0000:8a2e:0370:7334', '[REDACTED:ipv6]'],
    ['::ffff:192.0.2.128', '[REDACTED:ipv6]'],
    ['::1', '[REDACTED:ipv6]'],
    // Times, MAC addresses, C++ names, too many groups.
    ['at 10:30:00', 'at 10:30:00'],
    ['mac 00:1a:2b:3c:4d:5e', 'mac 00:1a:2b:3c:4d:5e'],
    ['std::vector<int>', 'std::vector<int>'],
    ['1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8:9'],
  ]);

  it('IPv6 forms', () => {
    expect(ipv6Valid('2001:db8::')).toBe(true);
    expect(ipv6Valid('1::2::3')).toBe(false);
    expect(ipv6Valid('1:2:3:4:5:6:7::')).toBe(true);
    expect(ipv6Valid('1:2:3:4:5:6:7:8::')).toBe(false);
  });
});

describe('secrets', () => {
  cases('secrets', [
    ['Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc', 'Authorization: Bearer [REDACTED:secret]'],
    ['authorization: basic dXNlcjpwYXNz', 'authorization: basic [REDACTED:secret]'],
    ['postgres://app:s3cr3t@db.internal:5432/app', 'postgres://app:[REDACTED:secret]@db.internal:5432/app'],
    ['redis://:hunter2@cache', 'redis://:[REDACTED:secret]@cache'],
    ['login password=hunter2 user=bob', 'login password=[REDACTED:secret] user=bob'],
    ['{"password": "hunter2", "user": "bob"}', '{"password": "[REDACTED:secret]", "user": "bob"}'],
    ['https://x.io/cb?access_token=abc123&state=1', 'https://x.io/cb?access_token=[REDACTED:secret]&state=1'],
    ['DB_PASSWORD="p@ss w0rd"', 'DB_PASSWORD="[REDACTED:secret] w0rd"'],
    ['x-api-key: k_12345', 'x-api-key: [REDACTED:secret]'],
    ['api_key" \t : abc123', 'api_key" \t : [REDACTED:secret]'],
    ['PASSWD   =hunter2', 'PASSWD   =[REDACTED:secret]'],
    ['pwd    =four blanks are too many', 'pwd    =four blanks are too many'],
    // Prose, counts, and a Basic value that is not user:password.
    [
      'the bearer of bad news; Bearer authentication failed',
      'the bearer of bad news; Bearer authentication failed',
    ],
    ['basic understanding', 'basic understanding'],
    ['Basic aGVsbG8gd29ybGQ=', 'Basic aGVsbG8gd29ybGQ='],
    ['tokens: 5, secretary: bob', 'tokens: 5, secretary: bob'],
    ['https://user@host/path', 'https://user@host/path'],
  ]);

  it('leaves its own markers alone', () => {
    const once = only('secrets', 'password=hunter2').text;
    expect(only('secrets', once)).toEqual({ text: once, count: 0 });
  });
});

describe('every detector', () => {
  it('does not throw and keeps text without matches the same string, whatever the text', () => {
    const all = detectorRules({
      secrets: true,
      email: true,
      iban: true,
      creditCard: true,
      ssn: true,
      phone: true,
      ipv4: true,
      ipv6: true,
    });
    const texts = [
      '',
      '\uD800\uDC00\uDFFF\uD83D',
      '\uFFFD'.repeat(100),
      'ü'.repeat(1000),
      '9'.repeat(100_000),
      'a'.repeat(100_000) + '@',
      ':'.repeat(10_000),
      '+1 '.repeat(10_000),
      'password='.repeat(1000),
    ];
    for (const text of texts) {
      let out = text;
      for (const rule of all) out = applyRule(rule, out, new Map());
      if (!text.includes('password=')) expect(out).toBe(text);
    }
  });
});

/**
 * The patterns as first written, readable and slow (detectors.ts writes some of them out for
 * irregexp's sake, and gives email a start hint and phone a narrower regex): the fast forms must
 * find exactly what these find.
 */
const REFERENCE: Record<string, RegExp> = {
  email:
    /(?<![\p{L}\p{M}\p{N}._%+-])[\p{L}\p{M}\p{N}._%+-]{1,64}(?:@|%40)(?:[\p{L}\p{M}\p{N}-]{1,63}\.){1,8}\p{L}{2,24}(?![\p{L}\p{M}\p{N}-])/gu,
  credit_card:
    /(?<![0-9A-Za-z_])(?<![0-9A-Za-z_][.,-])[2-6](?:[ -]?[0-9]){12,18}(?![0-9A-Za-z_])(?![.,-][0-9])/g,
  iban: /(?<![0-9A-Za-z_])[A-Z]{2}[0-9]{2}(?: ?[0-9A-Z]){11,30}(?![0-9A-Za-z_])/g,
  ssn: /(?<![0-9A-Za-z_-])(?<![0-9]\.)([0-9]{3})-([0-9]{2})-([0-9]{4})(?![0-9A-Za-z_]|-[0-9])/g,
  phone: new RegExp(
    String.raw`(?<![0-9A-Za-z_+])(?<![0-9A-Za-z_][.-])(?:` +
      String.raw`\+[1-9](?:[0-9]{0,3}(?:[ .-]?\([0-9]{1,4}\)[ .-]?[0-9]{1,8}|[ .-][0-9]{1,8})(?:[ .-][0-9]{1,8}){0,5}|[0-9]{7,14})` +
      String.raw`|(?:1[ .-])?(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[ .-])[2-9][0-9]{2}[ .-][0-9]{4}` +
      String.raw`)(?![0-9A-Za-z_])(?![.-][0-9A-Za-z])`,
    'g',
  ),
};

/**
 * A rule as it was: the reference pattern, no start hint, no pre-test (pre-tests only skip texts
 * with no match). A sticky rule (tried only where its start hint says) becomes its pattern scanning.
 */
function referenceRule(rule: PatternRule): PatternRule {
  const regex =
    REFERENCE[rule.name] ??
    (rule.regex.sticky ? new RegExp(rule.regex.source, rule.regex.flags.replace('y', '')) : rule.regex);
  return { name: rule.name, regex, mayMatch: () => true, replace: rule.replace };
}

/** Texts made of the pieces the detectors look for, glued at random (a seeded mulberry32). */
function randomTexts(count: number, seed: number): string[] {
  let state = seed >>> 0;
  const random = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const pieces = [
    ...'0123456789012345678923456 -.,+()@%:/_=&"\'\tabcxyzDEGBAZé张🙂'.split(''),
    '\uD800',
    '\uDC00',
    '%40',
    '4111',
    '1111 ',
    '4111111111111111',
    '1700000000000',
    'DE89',
    '3704 0044 0532 0130 00',
    'GB82WEST12345698765432',
    '123-45-6789',
    '415',
    '555-0100',
    '(415) ',
    ' 212-555-0199 ',
    ' (646) 555.0123',
    '+44 20 7946 0958',
    '+14155550100',
    '+44 ',
    '+1',
    '.com',
    'example',
    'alice.b',
    'bob@example.com',
    '@mail.example.org',
    '%40x.io',
    'x'.repeat(70),
    '9'.repeat(20),
    'Bearer ',
    'basic ',
    'password=',
    'TOKEN: ',
    'api-key',
    'postgres://u:',
    'PassWord',
    'pwd',
    'passphrase',
    'Private_Key',
    'accesskey',
    'secret',
    'tokens',
    '  ',
  ];
  return Array.from({ length: count }, () => {
    let text = '';
    const n = Math.floor(random() * 24);
    for (let i = 0; i < n; i++) text += pieces[Math.floor(random() * pieces.length)] ?? '';
    return text;
  });
}

describe('fast detector patterns', () => {
  it('find what the patterns as first written find, in random and adversarial text', () => {
    const rules = detectorRules({
      ...NONE,
      secrets: true,
      email: true,
      iban: true,
      creditCard: true,
      ssn: true,
      phone: true,
    });
    const texts = [
      ...randomTexts(20_000, 7),
      'x'.repeat(100) + '@example.com',
      '🙂'.repeat(40) + 'é@example.com',
      'a%40b%40example.com',
      'a@b@example.com ' + 'y'.repeat(64) + '@example.com ' + 'z'.repeat(65) + '@example.com',
      '+1 415 555 0100 and 415-555-0100',
      '+12345678901234567890 415-555-0100',
    ];
    const differences: string[] = [];
    const changed = new Map<string, number>();
    for (const rule of rules) {
      const reference = referenceRule(rule);
      for (const text of texts) {
        const fast = new Map<string, number>();
        const slow = new Map<string, number>();
        const expected = applyRule(reference, text, slow);
        if (applyRule(rule, text, fast) !== expected || fast.get(rule.name) !== slow.get(rule.name))
          differences.push(`${rule.name}: ${JSON.stringify(text)}`);
        if (expected !== text) changed.set(rule.name, (changed.get(rule.name) ?? 0) + 1);
      }
    }
    expect(differences).toEqual([]);
    // The texts hold something for every detector to find, so the comparison means something.
    for (const rule of rules) expect(changed.get(rule.name), rule.name).toBeGreaterThan(200);
  });
});
