import { describe, expect, it } from 'vitest';
import { checkLoadOptions } from '../../../test/helpers/loadgen-options.js';
import { MYSQL_TARGET, parseMysqlUrl, runLoad } from './loadgen.js';

const URL = 'mysql://u:p@127.0.0.1:3306/';

describe('resolveLoadOptions for MySQL', () => {
  checkLoadOptions(MYSQL_TARGET, URL, [
    [{ url: 'mariadb://u@db/app' }, null],
    [{ url: 'postgresql://u@db/app' }, 'url must be a mysql:// (or mariadb://) connection URL'],
    [{ url: 'mysqlx://u@db/app' }, /url must be a mysql:\/\//],
    [
      { schema: 'mysql' },
      /schema "mysql" is not usable: use lower-case letters, digits and _ \(at most 64\)/,
    ],
    [{ schema: 'sys' }, /not usable/],
    [{ schema: 'performance_schema' }, /not usable/],
    [{ schema: 'information_schema' }, /not usable/],
    [{ schema: 'Loadgen' }, /not usable/],
    [{ schema: 'bad`name' }, /not usable/],
    [{ schema: 'a'.repeat(65) }, /not usable/],
    [{ schema: 'a'.repeat(64) }, null],
    // public and pg_ names mean nothing special in MySQL.
    [{ schema: 'public' }, null],
    [{ connections: 1 }, /lock kind needs two connections/],
  ]);
});

describe('parseMysqlUrl', () => {
  it('reads user, password, host, port and database, decoding percent-escapes', () => {
    expect(parseMysqlUrl('mysql://app%40corp:p%2Fss%3Aw@db.internal:3307/shop%5Fdb')).toEqual({
      server: 'MySQL',
      host: 'db.internal',
      port: 3307,
      user: 'app@corp',
      password: 'p/ss:w',
      database: 'shop_db',
      tls: false,
    });
  });

  it('defaults the port to 3306 and leaves out an empty password and database', () => {
    expect(parseMysqlUrl('mariadb://root@127.0.0.1/')).toEqual({
      server: 'MariaDB',
      host: '127.0.0.1',
      port: 3306,
      user: 'root',
      password: undefined,
      database: undefined,
      tls: false,
    });
    expect(parseMysqlUrl('mysql://root@[::1]:3310')).toMatchObject({ host: '::1', port: 3310 });
  });

  it.each([
    ['mysql://u@h/?ssl=true', true],
    ['mysql://u@h/?ssl=0', false],
    ['mysql://u@h/?ssl-mode=REQUIRED', true],
    ['mysql://u@h/?sslmode=verify_identity', true],
    ['mysql://u@h/?ssl-mode=PREFERRED', false],
    ['mysql://u@h/?ssl-mode=disabled&ssl=true', false],
  ])('reads the TLS parameters of %s as the collector does', (url, tls) => {
    expect(parseMysqlUrl(url).tls).toBe(tls);
  });

  it.each([
    ['mysql://[bad/x', 'url is not a valid connection URL: Invalid URL'],
    ['mysql://u@h/db?charset=latin1', /url parameter charset is not supported/],
    ['mysql://u@h/a/b', '"a/b" in url is not a database name'],
    ['mysql://u:%E0%A4%A@h/db', /the password in url is not valid percent-encoding/],
  ])('rejects %s with SL_ERR_LOADGEN_OPTIONS', (url, message) => {
    expect(() => parseMysqlUrl(url)).toThrow(message);
    expect(() => parseMysqlUrl(url)).toThrow(expect.objectContaining({ code: 'SL_ERR_LOADGEN_OPTIONS' }));
  });
});

describe('runLoad for MySQL', () => {
  it('rejects options before connecting anywhere', async () => {
    await expect(runLoad({ url: 'mysql://[bad/x' })).rejects.toMatchObject({
      code: 'SL_ERR_LOADGEN_OPTIONS',
      message: 'url is not a valid connection URL: Invalid URL',
    });
    await expect(runLoad({ url: URL, schema: 'mysql' })).rejects.toMatchObject({
      code: 'SL_ERR_LOADGEN_OPTIONS',
    });
  });
});
