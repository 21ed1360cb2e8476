import { describe, expect, it } from 'vitest';
import { thrown } from '../../test/helpers/thrown.js';
import { formatNs, msToNs, nsToMs, parseDurationMs, parseTimeParam } from './time.js';

describe('formatNs', () => {
  it('formats times before the epoch without losing a second', () => {
    expect(formatNs(-1n)).toBe('1969-12-31T23:59:59.999999999Z');
  });

  it('writes RFC 3339 UTC with all nine fractional digits', () => {
    expect(formatNs(1_700_000_000_123_456_789n)).toBe('2023-11-14T22:13:20.123456789Z');
  });

  it('pads the fraction with leading zeros', () => {
    expect(formatNs(1_700_000_000_000_000_001n)).toBe('2023-11-14T22:13:20.000000001Z');
    expect(formatNs(1_700_000_000_000_000_000n)).toBe('2023-11-14T22:13:20.000000000Z');
    expect(formatNs(0n)).toBe('1970-01-01T00:00:00.000000000Z');
  });

  it('does not round sub-millisecond digits up into the next millisecond', () => {
    expect(formatNs(1_700_000_000_999_999_999n)).toBe('2023-11-14T22:13:20.999999999Z');
  });
});

describe('msToNs and nsToMs', () => {
  it('convert between milliseconds and nanoseconds, truncating', () => {
    expect(msToNs(1_700_000_000_123)).toBe(1_700_000_000_123_000_000n);
    expect(msToNs(1.9)).toBe(1_000_000n);
    expect(nsToMs(1_700_000_000_123_999_999n)).toBe(1_700_000_000_123);
  });
});

describe('parseTimeParam', () => {
  it('reads RFC 3339 times in UTC and with offsets', () => {
    expect(parseTimeParam('from', '2024-05-01T12:00:00Z')).toBe(1_714_564_800_000_000_000n);
    expect(parseTimeParam('from', '2024-05-01T14:00:00+02:00')).toBe(1_714_564_800_000_000_000n);
    expect(parseTimeParam('from', '2024-05-01T12:00:00.250Z')).toBe(1_714_564_800_250_000_000n);
  });

  it('reads epoch milliseconds, ignoring surrounding spaces', () => {
    expect(parseTimeParam('to', '1714564800000')).toBe(1_714_564_800_000_000_000n);
    expect(parseTimeParam('to', ' 0 ')).toBe(0n);
  });

  it('rejects garbage with SL_ERR_BAD_REQUEST naming the parameter and its value', () => {
    const error = thrown(() => parseTimeParam('from', 'yesterday'));
    expect(error.code).toBe('SL_ERR_BAD_REQUEST');
    expect(error.status).toBe(400);
    expect(error.message).toBe(
      'from="yesterday" is not a time: use RFC 3339 with an offset (2024-05-01T12:00:00Z) or epoch milliseconds',
    );
  });

  it('keeps nanoseconds, so a time the API returns parses back to the same value', () => {
    expect(parseTimeParam('from', '2024-05-01T12:00:00.123456789Z')).toBe(1714564800123456789n);
    expect(parseTimeParam('from', formatNs(1714564800123456789n))).toBe(1714564800123456789n);
    expect(parseTimeParam('from', '2024-05-01T14:00:00.5+02:00')).toBe(1714564800500000000n);
  });

  it('refuses a time without an offset instead of guessing the server time zone', () => {
    expect(thrown(() => parseTimeParam('to', '2024-05-01T12:00:00')).message).toContain('with an offset');
  });

  it('rejects dates without a time and negative or fractional epoch values', () => {
    expect(thrown(() => parseTimeParam('to', '2024-05-01')).message).toContain('to="2024-05-01"');
    expect(thrown(() => parseTimeParam('to', '-5')).code).toBe('SL_ERR_BAD_REQUEST');
    expect(thrown(() => parseTimeParam('to', '1.5')).code).toBe('SL_ERR_BAD_REQUEST');
    expect(thrown(() => parseTimeParam('to', '')).code).toBe('SL_ERR_BAD_REQUEST');
  });
});

describe('parseDurationMs', () => {
  it('reads durations with units', () => {
    expect(parseDurationMs('step', '250ms')).toBe(250);
    expect(parseDurationMs('step', '30s')).toBe(30_000);
    expect(parseDurationMs('step', '5m')).toBe(300_000);
    expect(parseDurationMs('step', '1h')).toBe(3_600_000);
    expect(parseDurationMs('step', '2d')).toBe(172_800_000);
    expect(parseDurationMs('step', '1.5s')).toBe(1_500);
  });

  it('reads a bare number as seconds', () => {
    expect(parseDurationMs('step', '60')).toBe(60_000);
    expect(parseDurationMs('step', ' 0.5 ')).toBe(500);
  });

  it('rejects anything else with SL_ERR_BAD_REQUEST naming the parameter', () => {
    for (const bad of ['', 'fast', '5 m', '-1s', '1w', 's']) {
      const error = thrown(() => parseDurationMs('step', bad));
      expect(error.code).toBe('SL_ERR_BAD_REQUEST');
      expect(error.message).toBe(
        `step=${JSON.stringify(bad)} is not a duration: use e.g. 30s, 5m, 1h or a number of seconds`,
      );
    }
  });
});
