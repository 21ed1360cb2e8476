import { describe, expect, it } from 'vitest';
import { Redactor, type WalkContext } from './redactor.js';

const ALL_DETECTORS = {
  secrets: true,
  email: true,
  iban: true,
  creditCard: true,
  ssn: true,
  phone: true,
  ipv4: true,
  ipv6: true,
};

function redactor(): Redactor {
  return new Redactor({
    detectors: ALL_DETECTORS,
    custom: [],
    keys: { allow: [], block: [], defaultBlock: false },
    sqlLiterals: false,
  });
}

function walkContext(): WalkContext {
  return { tally: new Map(), dialect: () => 'mysql' };
}

/** Values whose matches touch the start or end of the value, where the JSON text has a quote. */
const VALUES = [
  'alice@example.com',
  'x alice@example.com',
  '4111111111111111',
  '4111 1111 1111 1111',
  '4111111111111112',
  'DE89 3704 0044 0532 0130 00',
  '123-45-6789',
  '+1 415 555 0100',
  '(415) 555-0100',
  '415-555-0100',
  '10.0.0.1',
  '2001:db8::1',
  '::1',
  'Bearer abcdefgh12345',
  'password=hunter2',
  'postgres://u:p@h/db',
  'plain text',
  '',
  '-415-555-0100-',
  '.4111111111111111.',
  // A replacement that makes a match for a later rule: `]` no longer glues the phone number to a word.
  'Bearer abcdefgh1(415) 555-0100',
  'token=x 415-555-0100',
];

describe('Redactor.attributes', () => {
  it('redacts each value of a map exactly as the text redactor does, whether or not the text is parsed', () => {
    const r = redactor();
    for (const a of VALUES) {
      for (const b of VALUES) {
        const json = JSON.stringify({ a, n: 7, b });
        const expected = JSON.stringify({ a: r.text(a, new Map()), n: 7, b: r.text(b, new Map()) });
        expect(r.attributes(json, walkContext()), `${a} | ${b}`).toBe(expected);
      }
    }
  });

  it('redacts random maps as the text redactor redacts their values', () => {
    const r = redactor();
    let state = 11;
    const pick = (): string => {
      state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
      return VALUES[state % VALUES.length] ?? '';
    };
    for (let i = 0; i < 3000; i++) {
      const values = [pick() + ' ' + pick(), pick() + pick(), pick()];
      const json = JSON.stringify({ a: values[0], b: [values[1], { c: values[2] }] });
      const text = (value: string | undefined): string => r.text(value ?? '', new Map());
      const expected = JSON.stringify({ a: text(values[0]), b: [text(values[1]), { c: text(values[2]) }] });
      expect(r.attributes(json, walkContext()), json).toBe(expected);
    }
  });

  it('returns the same string when nothing changed, and counts nothing', () => {
    const r = redactor();
    const json = '{"http.method":"GET","http.status_code":200,"note":"v1.2.3 at 2024-01-15T10:30:00Z"}';
    const context = walkContext();
    expect(r.attributes(json, context)).toBe(json);
    expect(context.tally.size).toBe(0);
  });
});
