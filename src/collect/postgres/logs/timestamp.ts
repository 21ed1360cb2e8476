/**
 * Log times as PostgreSQL writes them with log_timezone: `2026-11-23 19:08:41.123 UTC`,
 * `2026-11-23 20:08:41.123 +01`, `… +0545`, `… CET`, or `1763924921.123` (%n).
 */

export interface LogTime {
  /** Nanoseconds since the epoch. */
  ns: bigint;
  /** The zone was an abbreviation we do not know for sure; the time was read as UTC. */
  tzUnknown: boolean;
}

/**
 * Abbreviations with one meaning the world over, in minutes east of UTC. Ambiguous ones (CST is
 * US Central, China and Cuba; IST is India, Ireland and Israel; BST …) are deliberately absent:
 * set log_timezone to UTC or a numeric zone (Etc/GMT-1 prints `+01`) to get exact times.
 */
const ZONES: Record<string, number> = {
  UTC: 0,
  UT: 0,
  GMT: 0,
  Z: 0,
  WET: 0,
  WEST: 60,
  CET: 60,
  CEST: 120,
  EET: 120,
  EEST: 180,
  MSK: 180,
  SAST: 120,
  HKT: 480,
  AWST: 480,
  JST: 540,
  KST: 540,
  ACST: 570,
  ACDT: 630,
  AEST: 600,
  AEDT: 660,
  NZST: 720,
  NZDT: 780,
  HST: -600,
  AKST: -540,
  AKDT: -480,
  PST: -480,
  PDT: -420,
  MST: -420,
  MDT: -360,
  CDT: -300,
  EST: -300,
  EDT: -240,
  NST: -210,
  NDT: -150,
};

const DATE_TIME =
  /^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?: ?(?:([A-Za-z]{1,6})|([+-])(\d\d)(?::?(\d\d))?))?$/;
const EPOCH = /^(\d{1,12})(?:\.(\d{1,9}))?$/;
const NS_PER_SECOND = 1_000_000_000n;

/** Returns undefined for text that is not a log time. */
export function parseLogTime(text: string): LogTime | undefined {
  const trimmed = text.trim();
  const epoch = EPOCH.exec(trimmed);
  if (epoch !== null) {
    return { ns: BigInt(epoch[1] ?? '0') * NS_PER_SECOND + fractionNs(epoch[2]), tzUnknown: false };
  }
  const m = DATE_TIME.exec(trimmed);
  if (m === null) return undefined;
  const [, year, month, day, hour, minute, second, fraction, abbreviation, sign, offsetHours, offsetMinutes] =
    m;
  let offset = 0;
  let tzUnknown = false;
  if (sign !== undefined) {
    offset = (Number(offsetHours) * 60 + Number(offsetMinutes ?? '0')) * (sign === '-' ? -1 : 1);
  } else if (abbreviation !== undefined) {
    const known = ZONES[abbreviation.toUpperCase()];
    if (known === undefined) tzUnknown = true;
    else offset = known;
  }
  const ms = Date.UTC(
    Number(year),
    Number(month) - 1,
    Number(day),
    Number(hour),
    Number(minute),
    Number(second),
  );
  if (Number.isNaN(ms)) return undefined;
  const seconds = BigInt(ms / 1000 - offset * 60);
  return { ns: seconds * NS_PER_SECOND + fractionNs(fraction), tzUnknown };
}

function fractionNs(fraction: string | undefined): bigint {
  return fraction === undefined ? 0n : BigInt(fraction.padEnd(9, '0'));
}
