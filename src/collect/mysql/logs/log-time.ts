/**
 * Times as MySQL and MariaDB write them in their logs:
 *
 * - MySQL 5.7+ error and slow log: `2026-11-27T14:08:31.123456Z` (log_timestamps = UTC, the
 *   default) or `2026-11-27T15:08:31.123456+01:00` (log_timestamps = SYSTEM): exact.
 * - MariaDB 10.x and MySQL 5.6 error log: `2026-11-27 14:08:31`, local time without a zone.
 * - MariaDB slow log `# Time:`, MySQL ≤ 5.5 and mysqld_safe: `261127 14:08:31` (YYMMDD, the
 *   hour space-padded by old versions: `261127  9:08:31`), local time without a zone.
 * - performance_schema.error_log read as UNIX_TIMESTAMP(LOGGED): `1795788511.123456`, exact.
 *
 * Local times are the server's system time zone (the server formats them with localtime_r).
 * `utcOffsetMinutes` says what that zone is; without it the collector's own zone is assumed,
 * with its daylight-saving rules — right when the collector runs on the database host, as it
 * must to read the log files, and shares its zone.
 */

export interface LocalTimeOptions {
  /** The server's offset from UTC in minutes east (+60 for CET, -300 for EST). Default: this process's local zone. */
  utcOffsetMinutes?: number;
}

const ISO = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d\d):?(\d\d))?$/;
const SHORT = /^(\d\d)(\d\d)(\d\d) +(\d{1,2}):(\d\d):(\d\d)$/;
const EPOCH = /^(\d{1,12})(?:\.(\d{1,9}))?$/;
const NS_PER_MS = 1_000_000n;
const NS_PER_SECOND = 1_000_000_000n;

/** Nanoseconds since the epoch, or undefined for text that is not a log time. */
export function parseMysqlTime(text: string, options: LocalTimeOptions = {}): bigint | undefined {
  const trimmed = text.trim();
  const epoch = EPOCH.exec(trimmed);
  if (epoch !== null) return BigInt(epoch[1] ?? '0') * NS_PER_SECOND + fractionNs(epoch[2]);

  const iso = ISO.exec(trimmed);
  if (iso !== null) {
    const [, year, month, day, hour, minute, second, fraction, zulu, sign, offsetHours, offsetMinutes] = iso;
    const fields = [year, month, day, hour, minute, second].map(Number) as Fields;
    let ms: number | undefined;
    if (zulu !== undefined) ms = utcMs(fields);
    else if (sign !== undefined) {
      const offset = (Number(offsetHours) * 60 + Number(offsetMinutes)) * (sign === '-' ? -1 : 1);
      ms = utcMs(fields) - offset * 60_000;
    } else ms = localMs(fields, options);
    return ms === undefined || Number.isNaN(ms) ? undefined : BigInt(ms) * NS_PER_MS + fractionNs(fraction);
  }

  const short = SHORT.exec(trimmed);
  if (short !== null) {
    const [, year, month, day, hour, minute, second] = short;
    const ms = localMs(
      [2000 + Number(year), Number(month), Number(day), Number(hour), Number(minute), Number(second)],
      options,
    );
    return Number.isNaN(ms) ? undefined : BigInt(ms) * NS_PER_MS;
  }
  return undefined;
}

type Fields = [year: number, month: number, day: number, hour: number, minute: number, second: number];

function utcMs([year, month, day, hour, minute, second]: Fields): number {
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return NaN;
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

function localMs(fields: Fields, options: LocalTimeOptions): number {
  const utc = utcMs(fields);
  if (Number.isNaN(utc)) return NaN;
  if (options.utcOffsetMinutes !== undefined) return utc - options.utcOffsetMinutes * 60_000;
  const [year, month, day, hour, minute, second] = fields;
  return new Date(year, month - 1, day, hour, minute, second).getTime();
}

function fractionNs(fraction: string | undefined): bigint {
  return fraction === undefined ? 0n : BigInt(fraction.padEnd(9, '0'));
}
