import { describe, expect, it } from 'vitest';
import { configSchema, mysqlTargetSchema } from '../../config/schema.js';
import { isSightlineError } from '../../core/errors.js';
import { mysqlTargetsOf, resolveMysqlTarget, schemaEntityId } from './target.js';

const parse = (input: object) => mysqlTargetSchema.parse(input);

describe('resolveMysqlTarget', () => {
  it('reads everything from a URL and names the target host-port', () => {
    const target = resolveMysqlTarget(
      parse({ url: 'mysql://mon:p%40ss@db1.example:3307/app?ssl-mode=REQUIRED' }),
    );
    expect(target).toMatchObject({
      name: 'db1.example-3307',
      entityId: 'mysql:db1.example-3307',
      address: 'db1.example:3307',
      user: 'mon',
      password: 'p@ss',
      database: 'app',
      tls: true,
      statementTimeoutMs: 5000,
      metricsIntervalMs: 15_000,
      queryStatsIntervalMs: 60_000,
      maxDigests: 10_000,
      explain: { enabled: false },
      logs: { errorLog: 'auto', slowLog: 'auto', keepLiterals: false },
    });
  });

  it('takes defaults for what the URL leaves out, and mariadb:// as well', () => {
    expect(resolveMysqlTarget(parse({ url: 'mariadb://db2' }))).toMatchObject({
      host: 'db2',
      port: 3306,
      user: 'sightline',
      password: undefined,
      database: undefined,
      tls: false,
    });
  });

  it('prefers fields over the URL and reads the password from the environment', () => {
    const target = resolveMysqlTarget(
      parse({ name: 'main', url: 'mysql://a:b@h1:1/x', host: 'h2', passwordEnv: 'MYSQL_PW' }),
      { MYSQL_PW: 'from-env' },
    );
    expect(target).toMatchObject({
      name: 'main',
      host: 'h2',
      port: 1,
      password: 'from-env',
      entityId: 'mysql:main',
    });
  });

  it('says which variable is missing', () => {
    expect(() => resolveMysqlTarget(parse({ name: 'm', host: 'h', passwordEnv: 'NOPE' }), {})).toThrow(
      'MySQL target m: the environment variable NOPE (passwordEnv) is not set',
    );
  });
});

describe('mysqlTargetsOf', () => {
  it('resolves configured targets and quick-path URLs, and refuses two with one name', () => {
    const config = configSchema.parse({
      collect: { mysql: { urls: ['mysql://a@h:3306/', 'mysql://b@h2/'] } },
    });
    expect(mysqlTargetsOf(config.collect.mysql).map((t) => t.entityId)).toEqual([
      'mysql:h-3306',
      'mysql:h2-3306',
    ]);
    try {
      mysqlTargetsOf({ targets: [], urls: ['mysql://a@h/', 'mysql://b@h/'] });
      expect.unreachable();
    } catch (error) {
      expect(isSightlineError(error) && error.code).toBe('SL_ERR_CONFIG_INVALID');
    }
  });

  it.each([
    [{}, 'needs a url or a host'],
    [
      { host: 'h', password: 'a', passwordEnv: 'B' },
      'give at most one of password, passwordEnv and passwordFile',
    ],
  ])('rejects %j: %s', (target, message) => {
    expect(() => mysqlTargetSchema.parse(target)).toThrow(message);
  });

  it('rejects a URL of another engine', () => {
    expect(() => configSchema.parse({ collect: { mysql: { urls: ['postgresql://h/db'] } } })).toThrow(
      /mysql:\/\//,
    );
  });
});

describe('schemaEntityId', () => {
  it('percent-encodes the schema', () => {
    expect(schemaEntityId('mysql:main', 'my app')).toBe('mysql:main:my%20app');
  });
});
