import { describe, expect, it } from 'vitest';
import {
  detectorRules,
  ibanValid,
  ipv6Valid,
  luhnValid,
  ssnValid,
  type DetectorOption,
} from './detectors.js';
import { applyRule, type Tally } from './rules.js';

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
