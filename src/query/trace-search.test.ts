import { describe, expect, it } from 'vitest';
import { msToNs } from '../core/time.js';
import { DEFAULT_TRACE_LIMIT, parseRedRange, parseTraceSearchRequest } from './trace-search.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');

describe('trace search request', () => {
  it('defaults to the last hour, 20 traces and no filters', () => {
    expect(parseTraceSearchRequest(undefined, NOW)).toEqual({
      fromNs: msToNs(NOW - 3_600_000),
      toNs: msToNs(NOW),
      attributes: {},
      limit: DEFAULT_TRACE_LIMIT,
    });
  });

  it('takes every filter, durations in (fractional) ms and attribute values as strings', () => {
    const search = parseTraceSearchRequest(
      {
        service: 'checkout',
        operation: 'GET /orders',
        minDurationMs: 0.5,
        maxDurationMs: 250,
        status: 'error',
        attributes: { 'http.status_code': 500, 'cache.hit': false, region: 'eu' },
        from: NOW - 60_000,
        to: '2024-05-01T12:00:00Z',
        limit: 1000,
      },
      NOW,
    );
    expect(search).toEqual({
      fromNs: msToNs(NOW - 60_000),
      toNs: msToNs(NOW),
      service: 'checkout',
      operation: 'GET /orders',
      minDurationNs: 500_000n,
      maxDurationNs: 250_000_000n,
      status: 'error',
      attributes: { 'http.status_code': '500', 'cache.hit': 'false', region: 'eu' },
      limit: 1000,
    });
  });

  it.each([
    [{ status: 'failed' }, /^status: /],
    [{ minDurationMs: -1 }, /^minDurationMs: /],
    [{ maxDurationMs: '5' }, /^maxDurationMs: /],
    [{ minDurationMs: 10, maxDurationMs: 5 }, /^minDurationMs: must not exceed maxDurationMs/],
    [{ attributes: { k: { nested: 1 } } }, /^attributes\.k: /],
    [{ attributes: ['a'] }, /^attributes: /],
    [{ service: '' }, /^service: /],
    [{ query: 'x' }, /Unrecognized key/],
    [{ limit: 1001 }, /limit="1001" must be an integer from 1 to 1000/],
    [{ limit: 0 }, /limit="0" must be an integer from 1 to 1000/],
    [{ from: NOW - 33 * 86_400_000, to: NOW }, /more than the 32 allowed \(api\.query\.maxRangeDays\)/],
    [{ from: NOW, to: NOW - 1 }, /from must be earlier than to/],
    ['not an object', /^the body: /],
  ])('refuses %j naming the field', (body, message) => {
    expect(() => parseTraceSearchRequest(body, NOW)).toThrow(message);
  });
});

describe('RED range', () => {
  it('defaults to the last hour and refuses more than api.query.maxRangeDays', () => {
    expect(parseRedRange({}, NOW)).toEqual({ fromNs: msToNs(NOW - 3_600_000), toNs: msToNs(NOW) });
    expect(() => parseRedRange({ from: String(NOW - 40 * 86_400_000) }, NOW)).toThrow(
      /covers 40\.0 days, more than the 32 allowed \(api\.query\.maxRangeDays\)/,
    );
    const twoDays = { from: String(NOW - 2 * 86_400_000) };
    expect(parseRedRange(twoDays, NOW, 3 * 86_400_000).fromNs).toBe(msToNs(NOW - 2 * 86_400_000));
    expect(() => parseRedRange(twoDays, NOW, 86_400_000)).toThrow(/more than the 1 allowed/);
  });
});
