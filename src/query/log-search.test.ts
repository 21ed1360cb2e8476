import { describe, expect, it } from 'vitest';
import { thrown } from '../../test/helpers/thrown.js';
import { DEFAULT_LOG_LIMIT, MAX_LOG_LIMIT, parseLogSearch } from './log-search.js';

const NOW_MS = 1_714_564_800_000;
const NOW_NS = 1_714_564_800_000_000_000n;

function parse(q: string): ReturnType<typeof parseLogSearch> {
  return parseLogSearch({ q }, NOW_MS);
}

describe('parseLogSearch: query text', () => {
  it('splits free text into words and keeps quoted phrases whole', () => {
    const search = parse('disk   full "connection reset by peer" retry');
    expect(search.text).toEqual(['disk', 'full', 'connection reset by peer', 'retry']);
    expect(search.services).toEqual([]);
  });

  it('gives an empty search for an empty or missing query', () => {
    const search = parseLogSearch({}, NOW_MS);
    expect([search.text, search.services, search.severities, search.hosts, search.traceIds]).toEqual([
      [],
      [],
      [],
      [],
      [],
    ]);
  });

  it('understands service:, host: and trace_id: filters beside text', () => {
    const search = parse('service:api host:web-1 trace_id:5B8EFFF798038103D269B633813FC60C timeout');
    expect(search.services).toEqual(['api']);
    expect(search.hosts).toEqual(['web-1']);
    expect(search.traceIds).toEqual(['5b8efff798038103d269b633813fc60c']);
    expect(search.text).toEqual(['timeout']);
  });

  it('maps level names, including aliases like warning, to severities', () => {
    expect(parse('level:error').severities).toEqual(['ERROR']);
    expect(parse('level:warning').severities).toEqual(['WARN']);
    expect(parse('severity:FATAL').severities).toEqual(['FATAL']);
  });

  it('accepts quoted filter values with spaces', () => {
    expect(parse('service:"my svc" boom').services).toEqual(['my svc']);
    expect(parse('service:"my svc" boom').text).toEqual(['boom']);
  });

  it('unescapes quotes inside a quoted phrase', () => {
    expect(parse('"say \\"hi\\" now"').text).toEqual(['say "hi" now']);
  });

  it('collects a repeated field as any of its values', () => {
    const search = parse('service:api service:worker level:error level:warn');
    expect(search.services).toEqual(['api', 'worker']);
    expect(search.severities).toEqual(['ERROR', 'WARN']);
  });

  it('treats field names case-insensitively', () => {
    expect(parse('Service:api').services).toEqual(['api']);
  });

  it('keeps unknown field:value pairs and URLs as text', () => {
    const search = parse('foo:bar http://x/y');
    expect(search.text).toEqual(['foo:bar', 'http://x/y']);
    expect(search.services).toEqual([]);
  });

  it('rejects an unknown level, listing the levels', () => {
    const error = thrown(() => parse('level:loud'));
    expect(error.code).toBe('SL_ERR_BAD_REQUEST');
    expect(error.message).toBe(
      'level:loud is not a level; use one of trace, debug, info, warn, error, fatal',
    );
  });

  it('rejects an unclosed quote, giving its column', () => {
    const error = thrown(() => parse('disk "full'));
    expect(error.code).toBe('SL_ERR_BAD_REQUEST');
    expect(error.message).toBe('q has an unclosed quote at column 6');
  });
});

describe('parseLogSearch: limit and time range', () => {
  it('defaults the limit to 1000 and accepts 1 to 10000', () => {
    expect(DEFAULT_LOG_LIMIT).toBe(1000);
    expect(MAX_LOG_LIMIT).toBe(10_000);
    expect(parseLogSearch({}, NOW_MS).limit).toBe(1000);
    expect(parseLogSearch({ limit: '' }, NOW_MS).limit).toBe(1000);
    expect(parseLogSearch({ limit: '1' }, NOW_MS).limit).toBe(1);
    expect(parseLogSearch({ limit: '10000' }, NOW_MS).limit).toBe(10_000);
  });

  it('rejects limits outside 1..10000 or not integers', () => {
    for (const limit of ['0', '10001', '2.5', 'ten', '-3']) {
      const error = thrown(() => parseLogSearch({ limit }, NOW_MS));
      expect(error.code).toBe('SL_ERR_BAD_REQUEST');
      expect(error.message).toBe(`limit=${JSON.stringify(limit)} must be an integer from 1 to 10000`);
    }
  });

  it('searches the last hour before now by default', () => {
    const search = parseLogSearch({}, NOW_MS);
    expect(search.toNs).toBe(NOW_NS);
    expect(search.fromNs).toBe(NOW_NS - 3_600_000_000_000n);
  });

  it('uses the given from and to', () => {
    const search = parseLogSearch({ from: '2024-05-01T11:00:00Z', to: '1714564800000' }, NOW_MS + 999_999);
    expect(search.fromNs).toBe(NOW_NS - 3_600_000_000_000n);
    expect(search.toNs).toBe(NOW_NS);
  });
});

describe('quotes in the simple log search', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  it('accepts a phrase that ends in an escaped backslash', () => {
    expect(parseLogSearch({ q: '"C:\\\\"' }, now).text).toEqual(['C:\\']);
  });

  it('points at the quote that was left open', () => {
    expect(() => parseLogSearch({ q: 'error "oops \\"' }, now)).toThrow(
      'q has an unclosed quote at column 7',
    );
  });
});
