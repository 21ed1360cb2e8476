import { describe, expect, it } from 'vitest';
import { rumEventRecord } from '../bus/raw-records.js';
import { SightlineError } from '../core/errors.js';
import { MAX_RUM_EVENTS, browserTimeToNs, validateRumRequest, type RumValidated } from './rum.js';
import { DEFAULT_RECORD_LIMITS, type ValidationLimits } from './validate.js';

const limits: ValidationLimits = { maxAttributeDepth: 16, ...DEFAULT_RECORD_LIMITS };
/** The server's clock: a second after the events' time. */
const T_MS = 1_718_000_000_000;
const NOW_NS = BigInt(T_MS + 1000) * 1_000_000n;
const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const context = { userAgent: CHROME, clientAddress: '203.0.113.9', nowNs: NOW_NS };

const pageView = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'page_view',
  sessionId: 's-1',
  timestamp: T_MS,
  url: 'https://shop.example/cart?step=2',
  ...overrides,
});

function validate(request: unknown, overrides: Partial<ValidationLimits> = {}): RumValidated {
  return validateRumRequest(Buffer.from(JSON.stringify(request)), { ...limits, ...overrides }, context);
}

/** The reason each event of `events` was rejected for, or 'ok'. */
function verdicts(events: unknown[], overrides: Partial<ValidationLimits> = {}): string[] {
  const result = validate({ app: 'shop', events }, overrides);
  return events.map((_event, index) => result.rejections.find((r) => r.index === index)?.reason ?? 'ok');
}

function thrown(body: string | Buffer): SightlineError {
  try {
    validateRumRequest(typeof body === 'string' ? Buffer.from(body) : body, limits, context);
  } catch (error) {
    expect(error).toBeInstanceOf(SightlineError);
    return error as SightlineError;
  }
  throw new Error('expected validateRumRequest to throw');
}

describe('browserTimeToNs', () => {
  it('turns epoch milliseconds into nanoseconds, keeping the fraction to the microsecond', () => {
    expect(browserTimeToNs(1_718_000_000_000)).toBe(1_718_000_000_000_000_000n);
    expect(browserTimeToNs(1_718_000_000_123.25)).toBe(1_718_000_000_123_250_000n);
    expect(browserTimeToNs(2.0004)).toBe(2_000_000n);
    expect(browserTimeToNs(2.0006)).toBe(2_001_000n);
  });

  it('has no time for zero, negative, non-finite or unstorable values', () => {
    for (const ms of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 1e300, 9.3e15])
      expect(browserTimeToNs(ms)).toBeUndefined();
  });
});

describe('validateRumRequest', () => {
  it('normalizes each event into a raw-rum record the processor accepts', () => {
    const result = validate({
      app: 'shop-web',
      release: '2024.06.1',
      events: [
        pageView({
          viewId: 'v-1',
          referrer: 'https://search.example/',
          title: 'Cart',
          timestamp: T_MS + 0.5,
        }),
        {
          type: 'web_vital',
          sessionId: 's-1',
          timestamp: T_MS,
          url: 'https://shop.example/cart',
          name: 'lcp',
          value: 1830.4,
        },
        {
          type: 'error',
          sessionId: 's-1',
          timestamp: T_MS,
          url: 'https://shop.example/cart',
          message: 'boom',
          stack: 'Error: boom\n    at pay (app.js:1:2)',
          errorType: 'TypeError',
          userAgent: 'curl/8.0',
          attributes: { component: 'checkout', retries: 2, beta: true },
          unknownField: 'ignored',
        },
      ],
    });
    expect(result.received).toBe(3);
    expect(result.rejections).toEqual([]);
    expect(result.records[0]).toEqual({
      type: 'page_view',
      sessionId: 's-1',
      viewId: 'v-1',
      ts: '1718000000000500000',
      url: 'https://shop.example/cart?step=2',
      referrer: 'https://search.example/',
      title: 'Cart',
      name: '',
      value: null,
      message: '',
      stack: '',
      errorType: '',
      durationMs: null,
      userAgent: CHROME,
      clientAddress: '203.0.113.9',
      service: 'shop-web',
      release: '2024.06.1',
      attributes: {},
    });
    // Web vital names as the web-vitals library spells them.
    expect(result.records[1]).toMatchObject({ name: 'LCP', value: 1830.4 });
    // The event's own user agent wins over the request's.
    expect(result.records[2]).toMatchObject({
      message: 'boom',
      errorType: 'TypeError',
      userAgent: 'curl/8.0',
      attributes: { component: 'checkout', retries: 2, beta: true },
    });
    for (const record of result.records) expect(rumEventRecord.parse(record)).toEqual(record);
  });

  it('rejects each bad event with its index and a bounded reason, and keeps the others', () => {
    const events = [
      pageView(),
      'not an object',
      pageView({ type: 'click' }),
      pageView({ sessionId: '' }),
      pageView({ timestamp: undefined }),
      pageView({ timestamp: 'yesterday' }),
      pageView({ timestamp: -5 }),
      pageView({ timestamp: T_MS + 2 * 3600 * 1000 }),
      pageView({ timestamp: T_MS - 8 * 24 * 3600 * 1000 }),
      pageView({ url: '/relative' }),
      pageView({ type: 'web_vital', name: 'FID', value: 10 }),
      pageView({ type: 'web_vital', name: 'CLS' }),
      pageView({ type: 'error' }),
      pageView({ type: 'action' }),
      pageView({ attributes: { nested: { no: 1 } } }),
      pageView({ attributes: Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`k${i}`, i])) }),
      pageView({ attributes: { ['k'.repeat(256)]: 1 } }),
      pageView({ title: 'x'.repeat(32 * 1024 + 1) }),
      pageView({ sessionId: 's'.repeat(129) }),
      pageView({ durationMs: -1 }),
      pageView({ type: 'session_start', viewId: null, referrer: null }),
    ];
    expect(verdicts(events)).toEqual([
      'ok',
      'invalid_event',
      'invalid_event_type',
      'missing_session_id',
      'missing_timestamp',
      'invalid_timestamp',
      'invalid_timestamp',
      'timestamp_in_future',
      'timestamp_too_old',
      'invalid_url',
      'invalid_web_vital',
      'invalid_web_vital',
      'missing_message',
      'missing_name',
      'invalid_event',
      'too_many_attributes',
      'invalid_attribute_key',
      'value_too_long',
      'value_too_long',
      'invalid_event',
      'ok',
    ]);
  });

  it('says in words what is wrong with a rejected event', () => {
    const result = validate({ events: [pageView({ type: 'web_vital', name: 'FID', value: 3 })] });
    expect(result.rejections).toEqual([
      {
        index: 0,
        reason: 'invalid_web_vital',
        message: 'web vital name "FID" is none of LCP, CLS, INP, FCP, TTFB',
      },
    ]);
    expect(validate({ events: [pageView({ type: 'click' })] }).rejections[0]?.message).toMatch(
      /^type: Invalid option/,
    );
  });

  it('accepts any age with maxPastSeconds 0, and applies the configured limits', () => {
    expect(verdicts([pageView({ timestamp: 1_000_000_000_000 })], { maxPastSeconds: 0 })).toEqual(['ok']);
    expect(verdicts([pageView({ stack: 'x'.repeat(100) })], { maxLogBodyBytes: 99 })).toEqual([
      'value_too_long',
    ]);
    expect(verdicts([pageView({ attributes: { a: 1, b: 2 } })], { maxAttributes: 1 })).toEqual([
      'too_many_attributes',
    ]);
  });

  it('cuts a long user agent instead of rejecting the event', () => {
    const long = `${CHROME} ${'x'.repeat(2000)}`;
    const result = validateRumRequest(Buffer.from(JSON.stringify({ events: [pageView()] })), limits, {
      ...context,
      userAgent: long,
    });
    expect(result.records[0]?.userAgent).toHaveLength(1024);
    expect(result.records[0]?.service).toBe('');
  });

  it('refuses a body that is not a RUM request as a whole', () => {
    expect(thrown('{"events": [').code).toBe('SL_ERR_MALFORMED_BODY');
    expect(thrown('[]').message).toMatch(/not a RUM request/);
    expect(thrown('{"app": "x"}').message).toMatch(/events: Invalid input/);
    expect(thrown(Buffer.from([0x7b, 0xff, 0x7d])).message).toMatch(/not valid UTF-8 JSON/);
    const many = JSON.stringify({ events: Array.from({ length: MAX_RUM_EVENTS + 1 }, () => pageView()) });
    expect(thrown(many)).toMatchObject({ code: 'SL_ERR_BAD_REQUEST', status: 400 });
    expect(thrown(JSON.stringify({ app: 'a'.repeat(256), events: [] })).message).toMatch(
      /app is longer than 255 bytes/,
    );
  });

  it('answers an empty list with nothing to do', () => {
    expect(validate({ events: [] })).toEqual({ records: [], received: 0, rejections: [] });
  });
});

describe('rumEventRecord', () => {
  it('fills what a record leaves out and refuses what the contract does not know', () => {
    const minimal = { type: 'session_start', sessionId: 's', ts: '1718000000000000000', url: 'https://a/' };
    expect(rumEventRecord.parse(minimal)).toMatchObject({
      viewId: '',
      value: null,
      durationMs: null,
      clientAddress: '',
      attributes: {},
    });
    expect(rumEventRecord.safeParse({ ...minimal, extra: 1 }).success).toBe(false);
    expect(rumEventRecord.safeParse({ ...minimal, ts: 1718000000000 }).success).toBe(false);
    expect(rumEventRecord.safeParse({ ...minimal, type: 'click' }).success).toBe(false);
  });
});
