import { describe, expect, it } from 'vitest';
import { parseMysqlTime } from './log-time.js';

const iso = (ns: bigint | undefined) =>
  ns === undefined ? undefined : new Date(Number(ns / 1_000_000n)).toISOString();

describe('parseMysqlTime', () => {
  it.each<[string, number | undefined, string | undefined]>([
    ['2026-11-27T14:08:31.123456Z', 600, '2026-11-27T14:08:31.123Z'],
    ['2026-11-27T15:08:31.123456+01:00', undefined, '2026-11-27T14:08:31.123Z'],
    ['2026-11-27T08:23:31-05:45', undefined, '2026-11-27T14:08:31.000Z'],
    ['2026-11-27 14:08:31', 0, '2026-11-27T14:08:31.000Z'],
    ['2026-11-27 14:08:31', 60, '2026-11-27T13:08:31.000Z'],
    ['2026-11-27 14:08:31', -300, '2026-11-27T19:08:31.000Z'],
    ['261127 14:08:31', 0, '2026-11-27T14:08:31.000Z'],
    ['261127  9:08:31', 0, '2026-11-27T09:08:31.000Z'],
    ['1795788511.123456', 600, '2026-11-27T14:08:31.123Z'],
    ['2026-13-27 14:08:31', 0, undefined],
    ['yesterday', 0, undefined],
    ['', 0, undefined],
  ])('%s (offset %s) is %s', (text, utcOffsetMinutes, expected) => {
    expect(iso(parseMysqlTime(text, utcOffsetMinutes === undefined ? {} : { utcOffsetMinutes }))).toBe(
      expected,
    );
  });

  it('keeps all six fractional digits', () => {
    expect(parseMysqlTime('2026-11-27T14:08:31.123456Z')).toBe(1795788511123456000n);
    expect(parseMysqlTime('1795788511.000001')).toBe(1795788511000001000n);
  });

  it("reads a local time in this process's zone without an offset", () => {
    const expected = new Date(2026, 10, 27, 14, 8, 31).getTime();
    expect(parseMysqlTime('2026-11-27 14:08:31')).toBe(BigInt(expected) * 1_000_000n);
  });
});
