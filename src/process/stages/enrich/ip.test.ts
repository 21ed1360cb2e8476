import { describe, expect, it } from 'vitest';
import { isNonPublic, parseClientAddress, unmapIpv4 } from './ip.js';

const text = (bytes: Uint8Array | undefined): string | undefined =>
  bytes === undefined
    ? undefined
    : bytes.length === 4
      ? [...bytes].join('.')
      : [...Array(8).keys()]
          .map((i) => (((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0)).toString(16))
          .join(':');

describe('parseClientAddress', () => {
  it.each<[string, string | undefined]>([
    ['8.8.8.8', '8.8.8.8'],
    ['  8.8.4.4 ', '8.8.4.4'],
    ['203.0.113.7:51234', '203.0.113.7'],
    ['198.51.100.1, 10.0.0.1, 10.0.0.2', '198.51.100.1'],
    ['2001:db8::1', '2001:db8:0:0:0:0:0:1'],
    ['[2001:db8::1]:443', '2001:db8:0:0:0:0:0:1'],
    ['[2001:db8::2]', '2001:db8:0:0:0:0:0:2'],
    ['fe80::1%eth0', 'fe80:0:0:0:0:0:0:1'],
    ['::', '0:0:0:0:0:0:0:0'],
    ['::ffff:192.0.2.1', '0:0:0:0:0:ffff:c000:201'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['', undefined],
    ['localhost', undefined],
    ['256.1.1.1', undefined],
    ['1.2.3', undefined],
    ['[::1', undefined],
    ['2001:db8::1::2', undefined],
    ['x'.repeat(1000), undefined],
  ])('%j → %s', (input, expected) => {
    expect(text(parseClientAddress(input))).toBe(expected);
  });
});

describe('isNonPublic', () => {
  it.each<[string, boolean]>([
    ['8.8.8.8', false],
    ['1.1.1.1', false],
    ['172.32.0.1', false],
    ['100.128.0.1', false],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['192.168.1.1', true],
    ['127.0.0.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['192.0.2.10', true],
    ['224.0.0.251', true],
    ['255.255.255.255', true],
    ['2a00:1450:4001:81c::200e', false],
    ['2001:4860:4860::8888', false],
    ['::1', true],
    ['::', true],
    ['fd12:3456::1', true],
    ['fe80::1', true],
    ['ff02::1', true],
    ['2001:db8::1', true],
    ['2001::1', true],
  ])('%s → %s', (input, expected) => {
    const bytes = parseClientAddress(input);
    expect(bytes).toBeDefined();
    expect(isNonPublic(bytes ?? new Uint8Array())).toBe(expected);
  });

  it('judges an IPv4-mapped address by its IPv4 part once unmapped', () => {
    const mapped = parseClientAddress('::ffff:10.0.0.1') ?? new Uint8Array();
    expect(text(unmapIpv4(mapped))).toBe('10.0.0.1');
    expect(isNonPublic(unmapIpv4(mapped))).toBe(true);
    expect(text(unmapIpv4(parseClientAddress('2001:db8::1') ?? new Uint8Array()))).toBe(
      '2001:db8:0:0:0:0:0:1',
    );
  });
});
