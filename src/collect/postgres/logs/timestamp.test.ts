import { describe, expect, it } from 'vitest';
import { parseLogTime } from './timestamp.js';

const utc = (iso: string) => BigInt(Date.parse(iso)) * 1_000_000n;

describe('parseLogTime', () => {
  it.each([
    ['2026-11-23 19:08:41.123 UTC', '2026-11-23T19:08:41.123Z'],
    ['2026-11-23 19:08:41 GMT', '2026-11-23T19:08:41Z'],
    ['2026-11-23 20:08:41.123 +01', '2026-11-23T19:08:41.123Z'],
    ['2026-11-24 00:53:41.123 +0545', '2026-11-23T19:08:41.123Z'],
    ['2026-11-23 15:38:41.123 -03:30', '2026-11-23T19:08:41.123Z'],
    ['2026-11-23 20:08:41.123 CET', '2026-11-23T19:08:41.123Z'],
    ['2026-11-23 11:08:41.123 PST', '2026-11-23T19:08:41.123Z'],
    ['1795460921.123', '2026-11-23T19:08:41.123Z'],
  ])('reads %s exactly', (text, iso) => {
    expect(parseLogTime(text)).toEqual({ ns: utc(iso), tzUnknown: false });
  });

  it('keeps microseconds', () => {
    expect(parseLogTime('2026-11-23 19:08:41.123456 UTC')?.ns).toBe(
      utc('2026-11-23T19:08:41.123Z') + 456_000n,
    );
  });

  it('reads an unknown or ambiguous abbreviation as UTC and says so', () => {
    expect(parseLogTime('2026-11-23 19:08:41.123 IST')).toEqual({
      ns: utc('2026-11-23T19:08:41.123Z'),
      tzUnknown: true,
    });
  });

  it('rejects text that is not a time', () => {
    expect(parseLogTime('')).toBeUndefined();
    expect(parseLogTime('yesterday')).toBeUndefined();
  });
});
