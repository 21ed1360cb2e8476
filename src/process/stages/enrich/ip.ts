import { isIPv4, isIPv6 } from 'node:net';

/**
 * Client addresses as they come in attributes, turned into bytes for a GeoIP lookup, and the
 * ranges that have no place on a map (private, loopback, link-local, documentation…).
 */

/**
 * The address in a client-address attribute: trimmed; the first entry of a list (an
 * X-Forwarded-For value copied as is: the client is the leftmost); without brackets, a port or an
 * IPv6 zone. Undefined when what is left is not an IP address.
 */
export function parseClientAddress(value: string): Uint8Array | undefined {
  if (value.length === 0 || value.length > 200) return undefined;
  let text = value;
  const comma = text.indexOf(',');
  if (comma >= 0) text = text.slice(0, comma);
  text = text.trim();
  if (text.startsWith('[')) {
    // [2001:db8::1]:443 or [2001:db8::1]
    const end = text.indexOf(']');
    if (end < 0) return undefined;
    text = text.slice(1, end);
  } else if (text.indexOf(':') === text.lastIndexOf(':') && text.includes('.')) {
    // 203.0.113.7:51234 (one colon: IPv4 with a port; IPv6 has at least two)
    const colon = text.indexOf(':');
    if (colon >= 0) text = text.slice(0, colon);
  }
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  if (isIPv4(text)) return ipv4Bytes(text);
  if (isIPv6(text)) return ipv6Bytes(text);
  return undefined;
}

function ipv4Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(4);
  const parts = text.split('.');
  for (let i = 0; i < 4; i++) bytes[i] = Number(parts[i]);
  return bytes;
}

/** Only called on text `net.isIPv6` accepted, so the shape is known to be valid. */
function ipv6Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(16);
  let head = text;
  let tail = '';
  const gap = text.indexOf('::');
  if (gap >= 0) {
    head = text.slice(0, gap);
    tail = text.slice(gap + 2);
  }
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const group of part.split(':')) {
      if (group.includes('.')) {
        // An embedded IPv4 address (::ffff:192.0.2.1) fills the last two groups.
        const v4 = ipv4Bytes(group);
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        out.push(parseInt(group, 16));
      }
    }
    return out;
  };
  const front = groups(head);
  const back = groups(tail);
  const all = [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  for (let i = 0; i < 8; i++) {
    const group = all[i] ?? 0;
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  }
  return bytes;
}

/**
 * The IPv4 address inside an IPv4-mapped IPv6 one (::ffff:a.b.c.d, what a dual-stack socket
 * reports for an IPv4 client), else the address as given.
 */
export function unmapIpv4(address: Uint8Array): Uint8Array {
  if (address.length !== 16) return address;
  for (let i = 0; i < 10; i++) if (address[i] !== 0) return address;
  if (address[10] !== 0xff || address[11] !== 0xff) return address;
  return address.subarray(12, 16);
}

type Range = readonly [prefix: readonly number[], bits: number];

/**
 * IANA special-purpose registries (RFC 6890 and updates): addresses that are not one public
 * host somewhere, so a country for them would be wrong or meaningless.
 */
const SPECIAL_V4: readonly Range[] = [
  [[0], 8], // "this network"
  [[10], 8], // private (RFC 1918)
  [[100, 64], 10], // carrier-grade NAT (RFC 6598)
  [[127], 8], // loopback
  [[169, 254], 16], // link-local
  [[172, 16], 12], // private
  [[192, 0, 0], 24], // IETF protocol assignments
  [[192, 0, 2], 24], // documentation (TEST-NET-1)
  [[192, 88, 99], 24], // 6to4 relay anycast
  [[192, 168], 16], // private
  [[198, 18], 15], // benchmarking
  [[198, 51, 100], 24], // documentation (TEST-NET-2)
  [[203, 0, 113], 24], // documentation (TEST-NET-3)
  [[224], 4], // multicast
  [[240], 4], // reserved, and 255.255.255.255
];

const SPECIAL_V6: readonly Range[] = [
  [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 120], // :: and ::1 (unspecified, loopback) and the rest of ::/120
  [[0x00, 0x64, 0xff, 0x9b, 0, 0x01], 48], // local-use NAT64 (RFC 8215)
  [[0x01, 0x00, 0, 0, 0, 0, 0, 0], 64], // discard-only (RFC 6666)
  [[0x20, 0x01, 0x0d, 0xb8], 32], // documentation
  [[0x20, 0x01, 0x00, 0x00], 23], // IETF protocol assignments (Teredo, benchmarking, ORCHID…)
  [[0x3f, 0xff], 20], // documentation (RFC 9637)
  [[0xfc], 7], // unique local
  [[0xfe, 0x80], 10], // link-local
  [[0xfe, 0xc0], 10], // site-local (deprecated, still private)
  [[0xff], 8], // multicast
];

function inRange(address: Uint8Array, [prefix, bits]: Range): boolean {
  for (let i = 0; i * 8 < bits; i++) {
    const take = Math.min(8, bits - i * 8);
    const mask = (0xff << (8 - take)) & 0xff;
    if (((address[i] ?? 0) & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** True for an address that belongs to no public host: private, loopback, link-local, multicast, documentation… */
export function isNonPublic(address: Uint8Array): boolean {
  const ranges = address.length === 4 ? SPECIAL_V4 : SPECIAL_V6;
  return ranges.some((range) => inRange(address, range));
}
