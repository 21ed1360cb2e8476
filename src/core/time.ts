import { SightlineError } from './errors.js';

export const NS_PER_MS = 1_000_000n;

/** The latest time a signed 64-bit nanosecond count holds (2262-04-11), which is what the stores keep. */
export const MAX_TIME_NS = 2n ** 63n - 1n;

export function nowNs(): bigint {
  return BigInt(Date.now()) * NS_PER_MS;
}

export function msToNs(ms: number): bigint {
  return BigInt(Math.trunc(ms)) * NS_PER_MS;
}

export function nsToMs(ns: bigint): number {
  return Number(ns / NS_PER_MS);
}

const NS_PER_SECOND = 1_000_000_000n;

/** RFC 3339 with nanosecond precision, always UTC: `2024-05-01T12:00:00.123456789Z`. */
export function formatNs(ns: bigint): string {
  const fraction = ((ns % NS_PER_SECOND) + NS_PER_SECOND) % NS_PER_SECOND;
  const seconds = (ns - fraction) / NS_PER_SECOND;
  const iso = new Date(Number(seconds) * 1000).toISOString();
  return `${iso.slice(0, 19)}.${fraction.toString().padStart(9, '0')}Z`;
}

const EPOCH_MS = /^\d{1,15}$/;
/** RFC 3339 requires the offset; the fraction may have up to nine digits (nanoseconds). */
const RFC3339 = /^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Parses a query-string time: RFC 3339 (`2024-05-01T12:00:00.123456789Z`, nanoseconds kept)
 * or epoch milliseconds. `name` is the parameter, so the error tells the caller which one is wrong.
 */
export function parseTimeParam(name: string, value: string): bigint {
  const trimmed = value.trim();
  if (EPOCH_MS.test(trimmed)) return inRange(name, value, msToNs(Number(trimmed)));
  const match = RFC3339.exec(trimmed);
  const seconds = match === null ? NaN : Date.parse(`${match[1] ?? ''}${match[3] ?? ''}`.replace(' ', 'T'));
  if (match === null || Number.isNaN(seconds)) {
    throw new SightlineError(
      'SL_ERR_BAD_REQUEST',
      `${name}=${JSON.stringify(value)} is not a time: use RFC 3339 with an offset (2024-05-01T12:00:00Z) or epoch milliseconds`,
    );
  }
  return inRange(name, value, msToNs(seconds) + BigInt((match[2] ?? '').padEnd(9, '0')));
}

function inRange(name: string, value: string, ns: bigint): bigint {
  if (ns <= MAX_TIME_NS) return ns;
  throw new SightlineError(
    'SL_ERR_BAD_REQUEST',
    `${name}=${JSON.stringify(value)} is later than the latest time Sightline stores (2262-04-11)`,
  );
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `30s`, `5m`, `1h`, `250ms` or a bare number of seconds into milliseconds. */
export function parseDurationMs(name: string, value: string): number {
  const match = DURATION.exec(value.trim());
  const amount = match?.[1];
  if (match === null || amount === undefined) {
    throw new SightlineError(
      'SL_ERR_BAD_REQUEST',
      `${name}=${JSON.stringify(value)} is not a duration: use e.g. 30s, 5m, 1h or a number of seconds`,
    );
  }
  return Math.round(Number(amount) * (UNIT_MS[match[2] ?? 's'] ?? 1000));
}
