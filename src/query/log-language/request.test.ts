import { describe, expect, it } from 'vitest';
import { msToNs } from '../../core/time.js';
import {
  DEFAULT_SEARCH_LIMIT,
  SEARCH_TIMEOUT_MS,
  decodeCursor,
  encodeCursor,
  parseLogSearchRequest,
} from './request.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');

describe('log search request', () => {
  it('defaults to the last hour, 100 rows and the time limit', () => {
    const { query } = parseLogSearchRequest({ query: 'error' }, NOW);
    expect(query).toMatchObject({
      fromNs: msToNs(NOW - 3_600_000),
      toNs: msToNs(NOW),
      limit: DEFAULT_SEARCH_LIMIT,
      after: null,
      aggregate: null,
      timeoutMs: SEARCH_TIMEOUT_MS,
    });
  });

  it('takes epoch ms numbers and RFC 3339 strings, and refuses ranges over api.query.maxRangeDays', () => {
    const { query } = parseLogSearchRequest({ from: NOW - 1000, to: '2024-05-01T12:00:00Z', limit: 5 }, NOW);
    expect(query).toMatchObject({ fromNs: msToNs(NOW - 1000), toNs: msToNs(NOW), limit: 5 });
    expect(() => parseLogSearchRequest({ from: NOW - 33 * 86_400_000, to: NOW }, NOW)).toThrow(
      /more than the 32 allowed \(api\.query\.maxRangeDays\)/,
    );
    expect(() => parseLogSearchRequest({ from: NOW - 2 * 86_400_000, to: NOW }, NOW, 86_400_000)).toThrow(
      /more than the 1 allowed/,
    );
    expect(() => parseLogSearchRequest({ limit: 10_001 }, NOW)).toThrow(
      /limit="10001" must be an integer from 1 to 10000/,
    );
    expect(() => parseLogSearchRequest({ q: 'x' }, NOW)).toThrow(/Unrecognized key/);
  });

  it('continues a cursor over the range of the search it came from', () => {
    const cursor = encodeCursor({ ts: 5n, id: 'b' }, { fromNs: 1n, toNs: 10n });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual({ ts: 5n, id: 'b', fromNs: 1n, toNs: 10n });
    const { query } = parseLogSearchRequest({ cursor }, NOW);
    expect(query).toMatchObject({ fromNs: 1n, toNs: 10n, after: { ts: 5n, id: 'b' } });
    expect(() => parseLogSearchRequest({ cursor, from: NOW - 1000 }, NOW)).toThrow(
      /the cursor belongs to a search/,
    );
    expect(() => parseLogSearchRequest({ cursor: 'bm90IGEgY3Vyc29y' }, NOW)).toThrow(
      /cursor is not one this API returned/,
    );
    expect(() => parseLogSearchRequest({ cursor, query: '| count' }, NOW)).toThrow(/counts .* have none/);
  });

  it('turns over into a step checked against the range', () => {
    const { query, groupNames } = parseLogSearchRequest({ query: '| count by level over 1m' }, NOW);
    expect(query.aggregate).toEqual({ by: [{ kind: 'severity' }], stepNs: 60_000_000_000n });
    expect(groupNames).toEqual(['level']);
    expect(() =>
      parseLogSearchRequest({ query: '| count over 1s', from: NOW - 86_400_000, to: NOW }, NOW),
    ).toThrow(/more than 10000 buckets/);
  });
});
