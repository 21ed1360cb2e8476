import { beforeAll, describe, expect, it } from 'vitest';
import { querySampleRow, queryStatRow } from '../../../test/fixtures/collector-rows.js';
import { logRow, metricRow, rumEventRow, spanRow } from '../../../test/fixtures/rows.js';
import { RecordingContext, batchOf } from '../../../test/helpers/stage-context.js';
import { redactStageSchema } from '../../config/stages/redact.js';
import { orgId } from '../../store/rows.js';
import type { RowBatch } from './processor.js';
import { createRedactStage, redactStageReady } from './redact.js';
import { CUSTOM_WINDOW_CHARS } from './redact/redactor.js';

/** Options as the config gives them: the defaults, plus what a test sets. */
function options(input: Record<string, unknown> = {}) {
  return redactStageSchema.parse({ type: 'redact', ...input });
}

/** The messages of the config errors the options give, joined. */
function problems(input: Record<string, unknown>): string {
  const result = redactStageSchema.safeParse({ type: 'redact', ...input });
  return result.success ? '' : result.error.issues.map((issue) => issue.message).join('\n');
}

function run(batch: Partial<RowBatch>, input: Record<string, unknown> = {}) {
  const context = new RecordingContext();
  const out = createRedactStage(options(input)).process(batchOf(batch), context);
  return { out, context };
}

/** The attributes of the first log after the stage, parsed. */
function attributesAfter(attributes: Record<string, unknown>, input: Record<string, unknown> = {}) {
  const { out, context } = run({ logs: [logRow({ attributes: JSON.stringify(attributes) })] }, input);
  return { attributes: JSON.parse(out.logs[0]?.attributes ?? 'null') as Record<string, unknown>, context };
}

beforeAll(() => redactStageReady());

describe('redact options', () => {
  it('has a default for every option', () => {
    expect(options()).toEqual({
      type: 'redact',
      enabled: true,
      detectors: {
        email: true,
        creditCard: true,
        iban: true,
        ssn: true,
        phone: true,
        ipv4: false,
        ipv6: false,
        secrets: true,
      },
      custom: [],
      keys: { allow: [], block: [], defaultBlock: true },
      sqlLiterals: true,
      orgs: {},
    });
  });

  it.each([
    [{ name: 'broken', pattern: '([a-z' }, /custom rule "broken": the pattern does not compile/],
    [{ name: 'greedy', pattern: '(a+)+$' }, /custom rule "greedy": .*exponential/],
    [{ name: 'nested', pattern: '((ab)*c)+' }, /custom rule "nested": .*exponential/],
    [{ name: 'empty', pattern: 'x*' }, /custom rule "empty": the pattern matches the empty string/],
    [{ name: 'email', pattern: 'x' }, /custom rule "email": the name is taken/],
    [{ name: 'Bad Name', pattern: 'x' }, /rule name/],
    [{ name: 'flags', pattern: 'x', flags: 'gy' }, /flags/],
  ])('refuses the custom rule %j, naming it', (rule, message) => {
    expect(problems({ custom: [rule] })).toMatch(message);
  });

  it('accepts bounded repetition of a group and repeated names only once', () => {
    expect(options({ custom: [{ name: 'ref', pattern: '(?:ORD-\\d{4})+', flags: 'i' }] }).custom).toEqual([
      { name: 'ref', pattern: '(?:ORD-\\d{4})+', flags: 'i' },
    ]);
    expect(
      problems({
        custom: [
          { name: 'ref', pattern: 'a' },
          { name: 'ref', pattern: 'b' },
        ],
      }),
    ).toMatch(/"ref": the name is taken/);
  });

  it('refuses an unknown detector, also in an org override', () => {
    expect(() => options({ detectors: { passport: true } })).toThrow(/passport/);
    expect(() => options({ orgs: { org_1: { detectors: { passport: true } } } })).toThrow(/passport/);
  });
});

describe('the redact stage on logs', () => {
  it('redacts emails and Luhn-valid cards in bodies, keeps a Luhn-invalid number, and counts per rule', () => {
    const { out, context } = run({
      logs: [
        logRow({ body: 'order by alice@example.com paid with 4111 1111 1111 1111, ref 4111111111111112' }),
        logRow({ body: 'refund to bob@example.org' }),
        logRow({ body: 'nothing here: 42 items, v1.2.3' }),
      ],
    });
    expect(out.logs.map((l) => l.body)).toEqual([
      'order by [REDACTED:email] paid with [REDACTED:credit_card], ref 4111111111111112',
      'refund to [REDACTED:email]',
      'nothing here: 42 items, v1.2.3',
    ]);
    expect(context.counts).toEqual([
      { outcome: 'changed', kind: 'logs', reason: 'email', n: 2 },
      { outcome: 'changed', kind: 'logs', reason: 'credit_card', n: 1 },
    ]);
  });

  it('scans string attribute values, nested maps and arrays, but not numbers', () => {
    const { attributes } = attributesAfter({
      'user.email': 'alice@example.com',
      'card.number': 4111111111111111,
      'http.url': 'https://shop.example/cb?email=bob%40example.com',
      nested: { contact: { phone: '+44 20 7946 0958', ok: true } },
      list: ['ssn 123-45-6789', 17, null],
      'order.id': 42,
    });
    expect(attributes).toEqual({
      'user.email': '[REDACTED:email]',
      'card.number': 4111111111111111,
      'http.url': 'https://shop.example/cb?email=[REDACTED:email]',
      nested: { contact: { phone: '[REDACTED:phone]', ok: true } },
      list: ['ssn [REDACTED:ssn]', 17, null],
      'order.id': 42,
    });
  });

  it('keeps rows with nothing to redact as the same objects, attribute text byte for byte', () => {
    const row = logRow({ attributes: '{"b":1,  "a":"x"}', body: 'GET /health 200 in 3 ms' });
    const { out, context } = run({ logs: [row] });
    expect(out.logs[0]).toBe(row);
    expect(context.counts).toEqual([]);
  });

  it('redacts a kvlist body (JSON text) value by value and keeps it JSON', () => {
    const { out } = run({
      logs: [logRow({ body: '{"msg":"signup","email":"alice@example.com","password":"hunter2","n":5}' })],
    });
    expect(JSON.parse(out.logs[0]?.body ?? '')).toEqual({
      msg: 'signup',
      email: '[REDACTED:email]',
      password: '[REDACTED:key_blocklist]',
      n: 5,
    });
  });

  it('finds what follows a JSON escape in attribute text (a newline, a quote)', () => {
    const { attributes } = attributesAfter({
      'exception.stacktrace': 'Error: failed\n+1 415 555 0100\tcall "alice@example.com"',
    });
    expect(attributes['exception.stacktrace']).toBe(
      'Error: failed\n[REDACTED:phone]\tcall "[REDACTED:email]"',
    );
  });

  it('keeps multi-byte text, replacement characters and lone surrogates around matches intact', () => {
    const body = '日本語 🙂 \uFFFD alice@example.com \uD800 ü 4111-1111-1111-1111 \uDC00 end';
    const { out } = run({ logs: [logRow({ body, attributes: JSON.stringify({ note: body }) })] });
    const expected = '日本語 🙂 \uFFFD [REDACTED:email] \uD800 ü [REDACTED:credit_card] \uDC00 end';
    expect(out.logs[0]?.body).toBe(expected);
    expect(JSON.parse(out.logs[0]?.attributes ?? '')).toEqual({ note: expected });
  });

  it('handles a map of 10,000 attributes: finds the one value to redact and leaves the numbers', () => {
    const attributes: Record<string, unknown> = {};
    for (let i = 0; i < 10_000; i++) attributes[`attr.${i}`] = i % 2 === 0 ? i * 1_000_003 : `value ${i}`;
    attributes['attr.5001'] = 'contact carol@example.com';
    const { attributes: after, context } = attributesAfter(attributes);
    expect(Object.keys(after)).toHaveLength(10_000);
    expect(after['attr.5001']).toBe('contact [REDACTED:email]');
    expect(after['attr.5000']).toBe(5000 * 1_000_003);
    expect(after['attr.4999']).toBe('value 4999');
    expect(context.total('email')).toBe(1);
  });
});

describe('attribute keys', () => {
  it('replaces the whole value of built-in blocklisted keys, case-insensitively, whatever the value', () => {
    const { attributes, context } = attributesAfter({
      password: 'hunter2',
      'db.Password': 'x',
      'http.request.header.authorization': ['Bearer abc'],
      'http.request.header.cookie': ['sid=1'],
      'X-API-KEY': 'k',
      'oauth.access_token': 'tok',
      'client.secret.value': { nested: 'x' },
      pin_pwd: 1234,
      password_reset: true,
      api_key: '',
      'gen_ai.usage.input_tokens': 120,
      'user.name': 'bob',
    });
    const blocked = '[REDACTED:key_blocklist]';
    expect(attributes).toEqual({
      password: blocked,
      'db.Password': blocked,
      'http.request.header.authorization': blocked,
      'http.request.header.cookie': blocked,
      'X-API-KEY': blocked,
      'oauth.access_token': blocked,
      'client.secret.value': blocked,
      pin_pwd: blocked,
      password_reset: true,
      api_key: '',
      'gen_ai.usage.input_tokens': 120,
      'user.name': 'bob',
    });
    expect(context.total('key_blocklist')).toBe(8);
  });

  it('blocks your own keys with globs, and never scans allowlisted ones', () => {
    const { attributes } = attributesAfter(
      {
        'customer.ssn_last4': '6789',
        'app.internal.note': 'x',
        'session.token': 'abc',
        'contact.email': 'alice@example.com',
        'support.email': 'help@example.com',
      },
      {
        keys: {
          block: ['*.ssn_*', 'app.internal.*', 'support.*'],
          allow: ['session.token', 'contact.*', 'support.*'],
        },
      },
    );
    expect(attributes).toEqual({
      'customer.ssn_last4': '[REDACTED:key_blocklist]',
      'app.internal.note': '[REDACTED:key_blocklist]',
      // The allowlist wins over the built-in blocklist, your blocklist over the allowlist.
      'session.token': 'abc',
      'contact.email': 'alice@example.com',
      'support.email': '[REDACTED:key_blocklist]',
    });
  });

  it('can leave the built-in blocklist out', () => {
    const { attributes } = attributesAfter({ password: 'hunter2' }, { keys: { defaultBlock: false } });
    expect(attributes).toEqual({ password: 'hunter2' });
  });
});

describe('custom rules', () => {
  it('replaces their matches with their name and counts them', () => {
    const { out, context } = run(
      {
        logs: [
          logRow({ body: 'orders ord-12345678 and ORD-87654321', attributes: '{"ref":"ORD-11112222"}' }),
        ],
      },
      { custom: [{ name: 'order_ref', pattern: 'ORD-\\d{8}', flags: 'i' }] },
    );
    expect(out.logs[0]?.body).toBe('orders [REDACTED:order_ref] and [REDACTED:order_ref]');
    expect(JSON.parse(out.logs[0]?.attributes ?? '')).toEqual({ ref: '[REDACTED:order_ref]' });
    expect(context.total('order_ref')).toBe(3);
  });

  it('scans a long value window by window and finds matches in each', () => {
    const filler = 'lorem ipsum '.repeat(Math.ceil(CUSTOM_WINDOW_CHARS / 12));
    const body = `EMP-001 ${filler}EMP-002 ${filler}${filler}EMP-003`;
    const { out, context } = run(
      { logs: [logRow({ body })] },
      { custom: [{ name: 'employee', pattern: 'EMP-\\d{3}' }] },
    );
    expect(out.logs[0]?.body).toBe(
      `[REDACTED:employee] ${filler}[REDACTED:employee] ${filler}${filler}[REDACTED:employee]`,
    );
    expect(context.total('employee')).toBe(3);
  });
});

describe('detectors switched on and off', () => {
  it('runs only the enabled detectors', () => {
    const body = 'a@example.com 4111111111111111 10.0.0.1 2001:db8::1 password=x';
    const on = run(
      { logs: [logRow({ body })] },
      { detectors: { email: false, creditCard: false, ipv4: true, ipv6: true, secrets: false } },
    );
    expect(on.out.logs[0]?.body).toBe(
      'a@example.com 4111111111111111 [REDACTED:ipv4] [REDACTED:ipv6] password=x',
    );
  });

  it('lets everything through when disabled', () => {
    const row = logRow({ body: 'alice@example.com' });
    expect(run({ logs: [row] }, { enabled: false }).out.logs[0]).toBe(row);
  });

  it('applies an org override when given the options with their orgs', () => {
    const stage = createRedactStage(
      options({ orgs: { org_plain: { detectors: { email: false } }, org_off: { enabled: false } } }),
    );
    const bodies = (org: string) =>
      stage.process(
        batchOf({ logs: [logRow({ body: 'alice@example.com 123-45-6789' })] }),
        new RecordingContext(undefined, orgId(org)),
      ).logs[0]?.body;
    expect(bodies('org_other')).toBe('[REDACTED:email] [REDACTED:ssn]');
    expect(bodies('org_plain')).toBe('alice@example.com [REDACTED:ssn]');
    expect(bodies('org_off')).toBe('alice@example.com 123-45-6789');
  });
});

describe('SQL literals', () => {
  const statement = "SELECT * FROM users WHERE email = 'alice@example.com' AND id = 42";

  it('uses PostgreSQL’s parser when db.system is postgresql', () => {
    const { out, context } = run({
      spans: [
        spanRow({ attributes: JSON.stringify({ 'db.system': 'postgresql', 'db.statement': statement }) }),
      ],
    });
    expect(JSON.parse(out.spans[0]?.attributes ?? '')).toEqual({
      'db.system': 'postgresql',
      'db.statement': 'SELECT * FROM users WHERE email = $1 AND id = $2',
    });
    expect(context.counts).toEqual([{ outcome: 'changed', kind: 'spans', reason: 'sql_literals', n: 1 }]);
  });

  it('uses the MySQL tokenizer for mysql, mariadb, and a db.system it does not know', () => {
    for (const system of ['mysql', 'mariadb', 'sqlite', undefined]) {
      const { out } = run({
        spans: [spanRow({ attributes: JSON.stringify({ 'db.system': system, 'db.query.text': statement }) })],
      });
      expect(JSON.parse(out.spans[0]?.attributes ?? '')).toMatchObject({
        'db.query.text': 'SELECT * FROM users WHERE email = ? AND id = ?',
      });
    }
  });

  it('reads db.system from the resource, and the engine of a server log from its entity id', () => {
    const { out } = run({
      spans: [
        spanRow({
          attributes: JSON.stringify({ 'db.statement': "SELECT 'a'::text" }),
          resource: JSON.stringify({ 'service.name': 'api', 'db.system': 'postgresql' }),
        }),
      ],
      logs: [
        logRow({
          attributes: JSON.stringify({ statement: "UPDATE t SET v = 'secret' WHERE id = 7" }),
          resource: JSON.stringify({ 'service.name': 'postgresql', 'sightline.entity.id': 'pg:main' }),
        }),
      ],
    });
    expect(JSON.parse(out.spans[0]?.attributes ?? '')).toEqual({ 'db.statement': 'SELECT $1::text' });
    expect(JSON.parse(out.logs[0]?.attributes ?? '')).toEqual({
      statement: 'UPDATE t SET v = $1 WHERE id = $2',
    });
  });

  it('leaves a statement the collector already shaped as it is, uncounted', () => {
    const attributes = JSON.stringify({ statement: 'SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)' });
    const { out, context } = run({
      logs: [logRow({ attributes, resource: '{"sightline.entity.id":"pg:main"}' })],
    });
    expect(out.logs[0]?.attributes).toBe(attributes);
    expect(context.counts).toEqual([]);
  });

  it('only scans statements when sqlLiterals is off', () => {
    const { attributes } = attributesAfter({ 'db.statement': statement }, { sqlLiterals: false });
    expect(attributes['db.statement']).toBe(
      "SELECT * FROM users WHERE email = '[REDACTED:email]' AND id = 42",
    );
  });

  it('runs the detectors over query texts and plans without parsing them again', () => {
    const plan = JSON.stringify([
      { Plan: { 'Node Type': 'Seq Scan', Filter: "((email)::text = 'alice@example.com'::text)" } },
    ]);
    const { out, context } = run({
      queryStats: [queryStatRow({ query: "SELECT * FROM t WHERE status = 'active' /* bob@example.com */" })],
      querySamples: [querySampleRow({ query: "SELECT 1 WHERE phone = '415-555-0100'", plan })],
    });
    expect(out.queryStats[0]?.query).toBe("SELECT * FROM t WHERE status = 'active' /* [REDACTED:email] */");
    expect(out.querySamples[0]?.query).toBe("SELECT 1 WHERE phone = '[REDACTED:phone]'");
    expect(JSON.parse(out.querySamples[0]?.plan ?? '')).toEqual([
      { Plan: { 'Node Type': 'Seq Scan', Filter: "((email)::text = '[REDACTED:email]'::text)" } },
    ]);
    expect(context.counts).toEqual([
      { outcome: 'changed', kind: 'queryStats', reason: 'email', n: 1 },
      { outcome: 'changed', kind: 'querySamples', reason: 'phone', n: 1 },
      { outcome: 'changed', kind: 'querySamples', reason: 'email', n: 1 },
    ]);
  });
});

describe('spans', () => {
  it('redacts attributes, event attributes and the status message; metric points pass untouched', () => {
    const point = metricRow({ labels: '{"user":"alice@example.com"}' });
    const { out, context } = run({
      spans: [
        spanRow({
          attributes: '{"enduser.id":"alice@example.com"}',
          events: JSON.stringify([
            { name: 'exception', attributes: { 'exception.message': 'bad card 4111111111111111' } },
          ]),
          statusMessage: 'no user bob@example.com',
        }),
      ],
      metricPoints: [point],
    });
    const span = out.spans[0];
    expect(span?.attributes).toBe('{"enduser.id":"[REDACTED:email]"}');
    expect(JSON.parse(span?.events ?? '')).toEqual([
      { name: 'exception', attributes: { 'exception.message': 'bad card [REDACTED:credit_card]' } },
    ]);
    expect(span?.statusMessage).toBe('no user [REDACTED:email]');
    expect(out.metricPoints[0]).toBe(point);
    expect(context.total('email')).toBe(2);
    expect(context.total('credit_card')).toBe(1);
  });
});

describe('browser events (RUM)', () => {
  it('redacts the URL and its path, referrer, title, error message, stack and attributes', () => {
    const row = rumEventRow({
      type: 'error',
      url: 'https://shop.example/users/alice@example.com/orders?token=abc123def456',
      urlPath: '/users/alice@example.com/orders',
      referrer: 'https://shop.example/login?email=bob%40example.com',
      title: 'Orders of alice@example.com',
      message: 'payment failed for card 4111111111111111 (carol@example.com)',
      stack: 'Error: no user dave@example.com\n    at pay (app.js:1:2)',
      errorType: 'Error',
      attributes: '{"user.email":"erin@example.com","step":2}',
      clientAddress: '8.8.8.8',
    });
    const { out, context } = run({ rumEvents: [row] });
    expect(out.rumEvents[0]).toEqual({
      ...row,
      url: 'https://shop.example/users/[REDACTED:email]/orders?token=[REDACTED:secret]',
      urlPath: '/users/[REDACTED:email]/orders',
      // Scanned decoded, since forms percent-encode the @; stored decoded once redacted.
      referrer: 'https://shop.example/login?email=[REDACTED:email]',
      title: 'Orders of [REDACTED:email]',
      message: 'payment failed for card [REDACTED:credit_card] ([REDACTED:email])',
      stack: 'Error: no user [REDACTED:email]\n    at pay (app.js:1:2)',
      attributes: '{"user.email":"[REDACTED:email]","step":2}',
    });
    expect(context.counts.filter((c) => c.kind === 'rumEvents')).toContainEqual({
      outcome: 'changed',
      kind: 'rumEvents',
      reason: 'email',
      n: 7,
    });
  });

  it('keeps a clean event as the same object, an encoded URL as it came', () => {
    const row = rumEventRow({
      url: 'https://shop.example/search?q=red%20shoes',
      referrer: 'https://x/%E0%A4%A',
    });
    const { out, context } = run({ rumEvents: [row] });
    expect(out.rumEvents[0]).toBe(row);
    expect(context.counts).toEqual([]);
  });
});

describe('never throwing', () => {
  it('gives the same rows and no new counts when run on its own output', () => {
    const stage = createRedactStage(options());
    const batch = batchOf({
      logs: [
        logRow({
          body: 'a@example.com password=x Bearer abcdef123456 https://u:p@h DE89370400440532013000',
          attributes: JSON.stringify({
            password: 'x',
            'db.statement': "SELECT 'x'",
            note: '+1 415 555 0100',
          }),
        }),
      ],
    });
    const once = stage.process(batch, new RecordingContext());
    const context = new RecordingContext();
    const twice = stage.process(once, context);
    expect(twice.logs[0]).toBe(once.logs[0]);
    expect(context.counts).toEqual([]);
  });

  it('takes attribute text that is not a JSON object as text', () => {
    const { out } = run({
      logs: [
        logRow({ attributes: '{"a": "alice@example.com"' }),
        logRow({ attributes: '"bob@example.com"' }),
        logRow({ attributes: 'null' }),
        logRow({ attributes: '' }),
      ],
    });
    expect(out.logs.map((l) => l.attributes)).toEqual([
      '{"a": "[REDACTED:email]"',
      '"[REDACTED:email]"',
      'null',
      '',
    ]);
  });

  it('replaces a field it cannot read and counts the error, instead of throwing or letting it through', () => {
    const broken = logRow({ body: 'alice@example.com' });
    (broken as unknown as Record<string, unknown>).attributes = undefined;
    const { out, context } = run({ logs: [broken] });
    expect(out.logs[0]).toMatchObject({ body: '[REDACTED:email]', attributes: '{}' });
    expect(context.total('error')).toBe(1);
  });

  it('returns an empty batch as it is', () => {
    const batch = batchOf({});
    const { out, context } = run(batch);
    expect(out).toEqual(batch);
    expect(context.counts).toEqual([]);
  });
});
