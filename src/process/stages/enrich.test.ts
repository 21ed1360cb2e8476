import { describe, expect, it } from 'vitest';
import { logRow, metricRow, rumEventRow, spanRow } from '../../../test/fixtures/rows.js';
import { RecordingContext, batchOf } from '../../../test/helpers/stage-context.js';
import { resolveMysqlTarget } from '../../collect/mysql/target.js';
import { resolveTarget } from '../../collect/postgres/target.js';
import { mysqlTargetSchema, postgresTargetSchema } from '../../config/schema.js';
import { enrichStageSchema } from '../../config/stages/enrich.js';
import { createEnrichStage, EnrichStage, type EnrichDeps, type EnrichOptions } from './enrich.js';
import { packagedGeoLookup, type GeoLookup } from './enrich/geoip.js';
import { UserAgentParser } from './enrich/user-agent.js';

/** The stage's options as the config gives them: the defaults, with what a test names. */
function optionsOf(input: Record<string, unknown> = {}): EnrichOptions {
  return enrichStageSchema.parse({ type: 'enrich', ...input });
}

function stage(input: Record<string, unknown> = {}, deps?: EnrichDeps): EnrichStage {
  return new EnrichStage(optionsOf(input), deps);
}

/** A lookup that knows one address, so tests of the stage's logic need no database. */
const fakeGeo: GeoLookup = {
  locate: (value) =>
    value === '203.0.113.9' ? { countryIsoCode: 'NZ', localityName: 'Wellington' } : undefined,
};

const attributesOf = (row: { attributes: string }): Record<string, unknown> =>
  JSON.parse(row.attributes) as Record<string, unknown>;
const resourceOf = (row: { resource: string }): Record<string, unknown> =>
  JSON.parse(row.resource) as Record<string, unknown>;

const CHROME_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 14_7_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.1.2 Mobile/15E148 Safari/604.1';

describe('enrich options', () => {
  it('has a default for every option', () => {
    expect(optionsOf()).toEqual({
      type: 'enrich',
      enabled: true,
      defaultService: 'unknown_service',
      hostKeys: ['host.name', 'k8s.node.name'],
      databases: { link: true, aliases: {} },
      geoip: {
        enabled: true,
        addressKeys: ['client.address', 'http.client_ip', 'net.peer.ip', 'source.address'],
      },
      userAgent: { enabled: true, keys: ['user_agent.original', 'http.user_agent'], cacheSize: 10_000 },
      tags: {},
      overwrite: false,
      orgs: {},
    });
  });

  it('fills the defaults of a nested option an org override replaces', () => {
    const parsed = enrichStageSchema.parse({
      type: 'enrich',
      orgs: { org_1: { geoip: { enabled: false } } },
    });
    expect(parsed.orgs['org_1']).toEqual({
      geoip: {
        enabled: false,
        addressKeys: ['client.address', 'http.client_ip', 'net.peer.ip', 'source.address'],
      },
    });
  });

  it('rejects an unknown option and a bad value, naming it', () => {
    expect(() => optionsOf({ geoip: { enable: true } })).toThrow(/enable/);
    expect(() => optionsOf({ userAgent: { cacheSize: -1 } })).toThrow(/cacheSize/);
    expect(() => optionsOf({ tags: { env: 1 } })).toThrow(/tags/);
  });
});

describe('GeoIP from the packaged DB-IP database', () => {
  const geo = packagedGeoLookup();

  // Addresses whose operator and country have been fixed for many years; the city of 8.8.8.8 too.
  it.each<[string, string, string | undefined]>([
    ['8.8.8.8', 'US', 'Mountain View'],
    ['1.1.1.1', 'AU', undefined],
    ['193.0.6.139', 'NL', undefined], // RIPE NCC, Amsterdam
    ['81.2.69.142', 'GB', undefined], // MaxMind's own test address, London
    ['::ffff:8.8.8.8', 'US', 'Mountain View'], // how a dual-stack socket reports an IPv4 client
    ['8.8.8.8:443', 'US', 'Mountain View'],
    ['2001:67c:2e8:22::c100:68b', 'NL', undefined], // RIPE NCC over IPv6
    ['[2a00:1450:4001:81c::200e]:443', 'DE', undefined], // Google, Frankfurt
  ])('locates %s in %s', (address, country, city) => {
    const location = geo.locate(address);
    expect(location?.countryIsoCode).toBe(country);
    if (city !== undefined) expect(location?.localityName).toBe(city);
    else expect(location?.localityName).toMatch(/\S/);
  });

  it.each([
    '10.0.0.1',
    '192.168.1.20',
    '172.20.1.1',
    '127.0.0.1',
    '100.64.1.1',
    '169.254.169.254',
    '::1',
    'fd00::1',
    'fe80::1%eth0',
    '::ffff:10.0.0.1',
    '',
    'unknown',
    'not.an.ip.address',
    '999.1.1.1',
    '8.8.8',
    '::zz',
  ])('gives nothing for %j', (address) => {
    expect(geo.locate(address)).toBeUndefined();
  });

  it('opens each family file on its first address only, and keeps looking up fast', () => {
    const addresses = Array.from(
      { length: 20_000 },
      (_, i) => `${(i % 200) + 1}.${(i * 7) % 256}.${i % 256}.1`,
    );
    const started = performance.now();
    let located = 0;
    for (const address of addresses) if (geo.locate(address) !== undefined) located++;
    const microseconds = ((performance.now() - started) * 1000) / addresses.length;
    expect(geo.state()).toMatchObject({ ipv4Loaded: true, error: undefined });
    expect(located).toBeGreaterThan(addresses.length * 0.8);
    // About 2 µs on this machine; a generous bound so a busy CI host does not fail it.
    expect(microseconds).toBeLessThan(50);
  });

  it('answers an address seen before as it did the first time, with a location no caller can change', () => {
    for (const address of ['8.8.8.8', '[2a00:1450:4001:81c::200e]:443', '10.0.0.1', 'unknown']) {
      const first = geo.locate(address);
      const again = geo.locate(address);
      expect(again).toEqual(first);
      if (again !== undefined) expect(Object.isFrozen(again)).toBe(true);
    }
  });
});

describe('EnrichStage: geo and user agent in record attributes', () => {
  it('adds the client location from the first address attribute that has one', () => {
    const s = stage({}, { geo: fakeGeo });
    const context = new RecordingContext();
    const out = s.process(
      batchOf({
        logs: [
          logRow({ attributes: '{"client.address":"203.0.113.9"}' }),
          logRow({ attributes: '{"client.address":"10.0.0.1","http.client_ip":"203.0.113.9"}' }),
          logRow({ attributes: '{"client.address":"10.0.0.1"}' }),
        ],
        spans: [spanRow({ attributes: '{"source.address":"203.0.113.9","http.route":"/"}' })],
      }),
      context,
    );
    const located = { 'geo.country.iso_code': 'NZ', 'geo.locality.name': 'Wellington' };
    expect(attributesOf(out.logs[0]!)).toEqual({ 'client.address': '203.0.113.9', ...located });
    expect(attributesOf(out.logs[1]!)).toMatchObject(located);
    expect(out.logs[2]!.attributes).toBe('{"client.address":"10.0.0.1"}');
    expect(attributesOf(out.spans[0]!)).toEqual({
      'source.address': '203.0.113.9',
      'http.route': '/',
      ...located,
    });
    expect(context.counts).toEqual([
      { outcome: 'changed', kind: 'logs', reason: 'geo', n: 2 },
      { outcome: 'changed', kind: 'spans', reason: 'geo', n: 1 },
    ]);
  });

  it('locates with the packaged database end to end through the stage', () => {
    const out = createEnrichStage(optionsOf()).process(
      batchOf({ logs: [logRow({ attributes: '{"client.address":"8.8.8.8"}' })] }),
      new RecordingContext(),
    );
    expect(attributesOf(out.logs[0]!)).toEqual({
      'client.address': '8.8.8.8',
      'geo.country.iso_code': 'US',
      'geo.locality.name': 'Mountain View',
    });
  });

  it('keeps a location the sender gave unless overwrite is set', () => {
    const given = '{"client.address":"203.0.113.9","geo.country.iso_code":"FR"}';
    const kept = stage({}, { geo: fakeGeo }).process(
      batchOf({ logs: [logRow({ attributes: given })] }),
      new RecordingContext(),
    );
    expect(kept.logs[0]!.attributes).toBe(given);
    const replaced = stage({ overwrite: true }, { geo: fakeGeo }).process(
      batchOf({ logs: [logRow({ attributes: given })] }),
      new RecordingContext(),
    );
    expect(attributesOf(replaced.logs[0]!)).toMatchObject({ 'geo.country.iso_code': 'NZ' });
  });

  it.each<[string, string, Record<string, string>]>([
    [
      'Chrome on Windows',
      CHROME_WINDOWS,
      {
        'user_agent.name': 'Chrome',
        'user_agent.version': '120.0.0.0',
        'user_agent.os.name': 'Windows',
        'user_agent.os.version': '10',
      },
    ],
    [
      'Safari on an iPhone',
      SAFARI_IPHONE,
      {
        'user_agent.name': 'Mobile Safari',
        'user_agent.version': '14.1.2',
        'user_agent.os.name': 'iOS',
        'user_agent.os.version': '14.7.1',
        'user_agent.device.type': 'mobile',
      },
    ],
    [
      'Chrome on an Android tablet',
      'Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36',
      {
        'user_agent.name': 'Chrome',
        'user_agent.version': '119.0.0.0',
        'user_agent.os.name': 'Android',
        'user_agent.os.version': '13',
        'user_agent.device.type': 'tablet',
      },
    ],
    [
      'Firefox on macOS',
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0',
      {
        'user_agent.name': 'Firefox',
        'user_agent.version': '121.0',
        'user_agent.os.name': 'Mac OS',
        'user_agent.os.version': '10.15',
      },
    ],
    ['curl (nothing known)', 'curl/8.5.0', {}],
  ])('parses the user agent of %s', (_name, userAgent, expected) => {
    for (const key of ['user_agent.original', 'http.user_agent']) {
      const attributes = JSON.stringify({ [key]: userAgent });
      const out = stage({}, { geo: fakeGeo }).process(
        batchOf({ spans: [spanRow({ attributes })] }),
        new RecordingContext(),
      );
      expect(attributesOf(out.spans[0]!)).toEqual({ [key]: userAgent, ...expected });
    }
  });

  it('adds user-agent fields to a resource that carries the string (the OpenTelemetry browser SDK)', () => {
    const resource = JSON.stringify({ 'service.name': 'web', 'user_agent.original': SAFARI_IPHONE });
    const out = stage().process(batchOf({ logs: [logRow({ resource })] }), new RecordingContext());
    expect(resourceOf(out.logs[0]!)).toMatchObject({
      'user_agent.name': 'Mobile Safari',
      'user_agent.os.name': 'iOS',
    });
    expect(out.logs[0]!.attributes).toBe(logRow().attributes);
  });

  it('keeps at most cacheSize parsed user agents, the least recently used forgotten first', () => {
    const parser = new UserAgentParser(3);
    for (let i = 0; i < 10; i++)
      parser.parse(`Mozilla/5.0 (Windows NT 10.0) Chrome/${i}.0.0.0 Safari/537.36`);
    expect(parser.cacheSize).toBe(3);
    const first = parser.parse(CHROME_WINDOWS);
    expect(parser.parse(CHROME_WINDOWS)).toBe(first);
    expect(new UserAgentParser(0).parse(CHROME_WINDOWS)).toEqual(first);
    // Strings longer than the parser reads (500 characters) are cached under what it reads.
    const long = new UserAgentParser(2);
    const read = CHROME_WINDOWS.padEnd(500, ' ');
    long.parse(read + 'x'.repeat(10_000));
    long.parse(read + 'y'.repeat(10_000));
    expect(long.cacheSize).toBe(1);
  });

  it('leaves attributes without a relevant key untouched, without parsing them', () => {
    const s = stage({}, { geo: fakeGeo });
    const rows = [logRow({ attributes: '{"order.id":42}' }), logRow({ attributes: 'not json at all' })];
    const out = s.process(batchOf({ logs: rows }), new RecordingContext());
    expect(out.logs[0]).toBe(rows[0]);
    expect(out.logs[1]).toBe(rows[1]);
  });

  it('switches off per feature', () => {
    const s = stage({ geoip: { enabled: false }, userAgent: { enabled: false }, databases: { link: false } });
    const row = logRow({
      attributes: JSON.stringify({
        'client.address': '8.8.8.8',
        'user_agent.original': CHROME_WINDOWS,
        'db.system': 'postgresql',
        'server.address': 'db',
      }),
    });
    expect(s.process(batchOf({ logs: [row] }), new RecordingContext()).logs[0]).toBe(row);
  });
});

describe('EnrichStage: never throws', () => {
  const hostile = [
    '',
    '{',
    '[]',
    'null',
    '"client.address"',
    '{"client.address":12345}',
    '{"client.address":null,"user_agent.original":42}',
    '{"client.address":"::ffff:999.1.1.1"}',
    '{"client.address":"1.2.3.4.5"}',
    '{"client.address":"[::1"}',
    `{"client.address":"${'9'.repeat(100_000)}"}`,
    '{"user_agent.original":""}',
    `{"user_agent.original":"${'(('.repeat(50_000)}"}`,
    '{"db.system":"postgresql"}',
    '{"db.system":"postgresql","server.address":"db","server.port":"not a port"}',
    '{"db.system":{"nested":true},"server.address":["a"]}',
  ];

  const named = hostile.map((text) => [text.length > 80 ? `${text.slice(0, 60)}…` : text, text]);
  it.each(named)('keeps a record whose attributes are %j', (_name, attributes) => {
    const s = stage();
    const row = logRow({ attributes });
    const out = s.process(
      batchOf({ logs: [row], spans: [spanRow({ attributes, resource: attributes })] }),
      new RecordingContext(),
    );
    expect(out.logs).toHaveLength(1);
    expect(out.spans).toHaveLength(1);
  });

  it('stores a record as it came when the lookup itself throws', () => {
    const broken: GeoLookup = {
      locate: () => {
        throw new Error('disk on fire');
      },
    };
    const row = logRow({ attributes: '{"client.address":"8.8.8.8"}' });
    expect(stage({}, { geo: broken }).process(batchOf({ logs: [row] }), new RecordingContext()).logs[0]).toBe(
      row,
    );
  });
});

describe('EnrichStage: database entities', () => {
  const postgresId = (host: string, port: number): string =>
    resolveTarget(postgresTargetSchema.parse({ host, port }), {}).entityId;
  const mysqlId = (host: string, port: number): string =>
    resolveMysqlTarget(mysqlTargetSchema.parse({ host, port }), {}).entityId;

  it.each<[string, Record<string, unknown>, string]>([
    [
      'a PostgreSQL client span',
      { 'db.system': 'postgresql', 'server.address': 'db.internal', 'server.port': 5433 },
      postgresId('db.internal', 5433),
    ],
    [
      'the default port when none is given',
      { 'db.system': 'postgresql', 'server.address': 'db.internal' },
      postgresId('db.internal', 5432),
    ],
    [
      'db.system.name (semantic conventions 1.26+)',
      { 'db.system.name': 'postgresql', 'server.address': '10.0.0.5', 'server.port': 5432 },
      postgresId('10.0.0.5', 5432),
    ],
    [
      'older net.peer.* attributes',
      { 'db.system': 'mysql', 'net.peer.name': 'mysql-primary', 'net.peer.port': '3307' },
      mysqlId('mysql-primary', 3307),
    ],
    [
      'MariaDB, which the MySQL collector watches',
      { 'db.system': 'mariadb', 'server.address': 'maria', 'server.port': 3306 },
      mysqlId('maria', 3306),
    ],
    [
      'an IPv6 server address',
      { 'db.system': 'postgresql', 'server.address': '::1', 'server.port': 5432 },
      postgresId('::1', 5432),
    ],
  ])('links %s to the instance the collector watches', (_name, attributes, entityId) => {
    const out = stage().process(
      batchOf({ spans: [spanRow({ kind: 'client', attributes: JSON.stringify(attributes) })] }),
      new RecordingContext(),
    );
    expect(out.spans[0]!.entityId).toBe(entityId);
    expect(entityId).toMatch(/^(pg|mysql):/);
  });

  it('uses an alias for a target with a name of its own, and links logs too', () => {
    const context = new RecordingContext();
    const out = stage({ databases: { aliases: { 'db.internal:5432': 'pg:main' } } }).process(
      batchOf({
        logs: [logRow({ attributes: '{"db.system":"postgresql","server.address":"db.internal"}' })],
        spans: [
          spanRow({ attributes: '{"db.system":"postgresql","server.address":"other","server.port":5432}' }),
        ],
      }),
      context,
    );
    expect(out.logs[0]!.entityId).toBe('pg:main');
    expect(out.spans[0]!.entityId).toBe('pg:other-5432');
    expect(context.total('database')).toBe(2);
  });

  it.each([
    { 'db.system': 'redis', 'server.address': 'cache' },
    { 'db.system': 'postgresql' },
    { 'server.address': 'db.internal', 'server.port': 5432 },
  ])('leaves the entity of %j as it is', (attributes) => {
    const row = spanRow({ attributes: JSON.stringify(attributes) });
    expect(stage().process(batchOf({ spans: [row] }), new RecordingContext()).spans[0]).toBe(row);
  });
});

describe('EnrichStage: service, host and static tags', () => {
  it('fills an empty service and host from the resource, else the default service', () => {
    const context = new RecordingContext();
    const out = stage({ defaultService: 'unnamed' }).process(
      batchOf({
        logs: [
          logRow({ service: '', host: '', resource: '{"k8s.node.name":"node-7"}' }),
          logRow({
            service: '',
            host: '',
            resource: '{"service.name":"api","host.name":"vm-1","k8s.node.name":"node-7"}',
          }),
          logRow({ service: '', host: '', resource: 'not json' }),
        ],
        metricPoints: [metricRow({ service: '', host: '', resource: '{"k8s.node.name":"node-2"}' })],
      }),
      context,
    );
    expect(out.logs.map((r) => [r.service, r.host])).toEqual([
      ['unnamed', 'node-7'],
      ['api', 'vm-1'],
      ['unnamed', ''],
    ]);
    expect([out.metricPoints[0]!.service, out.metricPoints[0]!.host]).toEqual(['unnamed', 'node-2']);
    expect(context.counts).toEqual([
      { outcome: 'changed', kind: 'logs', reason: 'service', n: 3 },
      { outcome: 'changed', kind: 'logs', reason: 'host', n: 2 },
      { outcome: 'changed', kind: 'metricPoints', reason: 'service', n: 1 },
      { outcome: 'changed', kind: 'metricPoints', reason: 'host', n: 1 },
    ]);
  });

  it('defaults to unknown_service, as the OpenTelemetry SDKs do', () => {
    const out = stage().process(
      batchOf({ spans: [spanRow({ service: '', resource: '{}' })] }),
      new RecordingContext(),
    );
    expect(out.spans[0]!.service).toBe('unknown_service');
  });

  it('adds static tags to the resource of every row, keeping what the sender said', () => {
    const s = stage({ tags: { env: 'prod', region: 'eu-west-1' } });
    const resource = '{"service.name":"checkout","env":"staging"}';
    const out = s.process(
      batchOf({
        logs: [logRow({ resource })],
        spans: [spanRow({ resource })],
        metricPoints: [metricRow({ resource })],
      }),
      new RecordingContext(),
    );
    for (const row of [out.logs[0]!, out.spans[0]!, out.metricPoints[0]!]) {
      expect(resourceOf(row)).toEqual({ 'service.name': 'checkout', env: 'staging', region: 'eu-west-1' });
    }
    // The attributes and a metric's labels (its series identity) are not touched.
    expect(out.logs[0]!.attributes).toBe(logRow().attributes);
    expect(out.metricPoints[0]!.labels).toBe(metricRow().labels);
    expect(out.metricPoints[0]!.seriesId).toBe(metricRow().seriesId);
  });

  it('replaces a resource attribute with a tag of the same name when overwrite is set', () => {
    const out = stage({ tags: { env: 'prod' }, overwrite: true }).process(
      batchOf({ logs: [logRow({ resource: '{"env":"staging"}' })] }),
      new RecordingContext(),
    );
    expect(resourceOf(out.logs[0]!)).toEqual({ env: 'prod' });
  });

  it('returns rows it has nothing to add to as they are, counting nothing', () => {
    const context = new RecordingContext();
    const batch = batchOf({ logs: [logRow()], spans: [spanRow()], metricPoints: [metricRow()] });
    const out = stage().process(batch, context);
    expect(out.logs[0]).toBe(batch.logs[0]);
    expect(out.spans[0]).toBe(batch.spans[0]);
    expect(out.metricPoints[0]).toBe(batch.metricPoints[0]);
    expect(context.counts).toEqual([]);
  });
});

describe('EnrichStage: browser events (RUM) in their own columns', () => {
  it('fills browser, OS, device, country and city from the user agent and the client address', () => {
    const context = new RecordingContext();
    const rows = [
      rumEventRow({ userAgent: SAFARI_IPHONE, clientAddress: '203.0.113.9' }),
      rumEventRow({ id: 'rum-2', userAgent: CHROME_WINDOWS, clientAddress: '10.0.0.1' }),
    ];
    const out = stage({}, { geo: fakeGeo }).process(batchOf({ rumEvents: rows }), context);
    expect(out.rumEvents[0]).toMatchObject({
      browserName: 'Mobile Safari',
      browserVersion: '14.1.2',
      osName: 'iOS',
      osVersion: '14.7.1',
      deviceType: 'mobile',
      country: 'NZ',
      city: 'Wellington',
    });
    // A private address has no place on a map; a desktop browser no device type.
    expect(out.rumEvents[1]).toMatchObject({
      browserName: 'Chrome',
      browserVersion: '120.0.0.0',
      osName: 'Windows',
      osVersion: '10',
      deviceType: '',
      country: '',
      city: '',
    });
    // The attributes are not where a browser event's user agent or location go.
    expect(out.rumEvents[0]!.attributes).toBe('{}');
    expect(context.counts).toEqual([
      { outcome: 'changed', kind: 'rumEvents', reason: 'user_agent', n: 2 },
      { outcome: 'changed', kind: 'rumEvents', reason: 'geo', n: 1 },
    ]);
  });

  it('locates a public address with the packaged database', () => {
    const out = createEnrichStage(optionsOf()).process(
      batchOf({ rumEvents: [rumEventRow({ clientAddress: '8.8.8.8' })] }),
      new RecordingContext(),
    );
    expect(out.rumEvents[0]).toMatchObject({ country: 'US', city: 'Mountain View' });
  });

  it('fills an empty service with the default, and keeps what is there unless overwrite is set', () => {
    const filled = rumEventRow({
      userAgent: CHROME_WINDOWS,
      browserName: 'Given',
      clientAddress: '203.0.113.9',
      country: 'FR',
    });
    const kept = stage({}, { geo: fakeGeo }).process(
      batchOf({ rumEvents: [filled, rumEventRow({ id: 'rum-2', service: '' })] }),
      new RecordingContext(),
    );
    expect(kept.rumEvents[0]).toMatchObject({
      browserName: 'Given',
      browserVersion: '120.0.0.0',
      country: 'FR',
      city: '',
    });
    expect(kept.rumEvents[1]?.service).toBe('unknown_service');
    const replaced = stage({ overwrite: true }, { geo: fakeGeo }).process(
      batchOf({ rumEvents: [filled] }),
      new RecordingContext(),
    );
    expect(replaced.rumEvents[0]).toMatchObject({ browserName: 'Chrome', country: 'NZ', city: 'Wellington' });
  });

  it('switches off per feature, returns rows it has nothing to add to as they are, and never throws', () => {
    const row = rumEventRow({ userAgent: CHROME_WINDOWS, clientAddress: '203.0.113.9' });
    const off = stage({ geoip: { enabled: false }, userAgent: { enabled: false } }, { geo: fakeGeo });
    expect(off.process(batchOf({ rumEvents: [row] }), new RecordingContext()).rumEvents[0]).toBe(row);
    const plain = rumEventRow();
    const context = new RecordingContext();
    expect(stage({}, { geo: fakeGeo }).process(batchOf({ rumEvents: [plain] }), context).rumEvents[0]).toBe(
      plain,
    );
    expect(context.counts).toEqual([]);
    const throwing: GeoLookup = {
      locate: () => {
        throw new Error('damaged database');
      },
    };
    expect(
      stage({}, { geo: throwing }).process(batchOf({ rumEvents: [row] }), new RecordingContext())
        .rumEvents[0],
    ).toBe(row);
  });
});
