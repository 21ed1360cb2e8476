import { describe, expect, it } from 'vitest';
import { SightlineError } from '../../core/errors.js';
import { endpointOf, failureKind, serveError, startError } from './connection.js';

const ENDPOINT = { host: 'db.internal', port: 6432, database: 'control', user: 'sightline' };

function pgError(code: string, message = 'x'): Error {
  return Object.assign(new Error(message), { code });
}

describe('endpointOf', () => {
  it('reads host, port, database and user from a URL, decoded, never the password', () => {
    const endpoint = endpointOf('postgresql://sl%40ops:s3cret@db.internal:6432/control%20plane', {});
    expect(endpoint).toEqual({ host: 'db.internal', port: 6432, database: 'control plane', user: 'sl@ops' });
    expect(JSON.stringify(endpoint)).not.toContain('s3cret');
  });

  it('fills what is missing the way pg does: PG* variables, then the defaults', () => {
    expect(endpointOf('postgres://', { PGHOST: 'h', PGPORT: '7', PGUSER: 'u' })).toEqual({
      host: 'h',
      port: 7,
      database: 'u',
      user: 'u',
    });
    expect(endpointOf({ host: 'h2', user: 'me', password: 'p' }, {})).toEqual({
      host: 'h2',
      port: 5432,
      database: 'me',
      user: 'me',
    });
  });

  it('lets a connectionString win over discrete options, as pg does', () => {
    expect(endpointOf({ connectionString: 'postgresql://a@x:1/d', host: 'y', user: 'b' }, {})).toEqual({
      host: 'x',
      port: 1,
      database: 'd',
      user: 'a',
    });
  });

  it('refuses a string that is not a postgres URL without echoing it', () => {
    for (const bad of ['host=db password=topsecret', 'mysql://u:topsecret@h/d']) {
      let error: unknown;
      try {
        endpointOf(bad, {});
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SightlineError);
      expect((error as SightlineError).code).toBe('SL_ERR_CONFIG_INVALID');
      expect((error as SightlineError).message).not.toContain('topsecret');
    }
  });
});

describe('failureKind', () => {
  it('tells connection trouble from configuration and from a failing statement', () => {
    expect(failureKind(pgError('ECONNREFUSED'))).toBe('unreachable');
    expect(failureKind(pgError('ENOTFOUND'))).toBe('unreachable');
    expect(failureKind(new Error('timeout exceeded when trying to connect'))).toBe('unreachable');
    expect(failureKind(new Error('Connection terminated due to connection timeout'))).toBe('unreachable');
    expect(failureKind(pgError('57P03'))).toBe('unreachable');
    expect(failureKind(new Error('Connection terminated unexpectedly'))).toBe('lost');
    expect(failureKind(pgError('ECONNRESET'))).toBe('lost');
    expect(failureKind(pgError('57P01'))).toBe('lost');
    expect(failureKind(pgError('08006'))).toBe('lost');
    expect(failureKind(pgError('57014'))).toBe('busy');
    expect(failureKind(pgError('40P01'))).toBe('busy');
    expect(failureKind(pgError('28P01'))).toBe('credentials');
    expect(failureKind(pgError('28000'))).toBe('credentials');
    expect(failureKind(new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string'))).toBe(
      'credentials',
    );
    expect(failureKind(pgError('3D000'))).toBe('no-database');
    expect(failureKind(pgError('42501'))).toBe('privilege');
    expect(failureKind(pgError('23505'))).toBe('statement');
    expect(failureKind(new TypeError('a bug'))).toBe('statement');
  });
});

describe('startError and serveError', () => {
  it('at start: unreachable is retryable, wrong credentials are a config error', () => {
    expect(startError(pgError('ECONNREFUSED'), ENDPOINT, 'sightline')).toMatchObject({
      code: 'SL_ERR_STORE_UNAVAILABLE',
      retryable: true,
    });
    expect(startError(pgError('28P01'), ENDPOINT, 'sightline')).toMatchObject({
      code: 'SL_ERR_CONFIG_INVALID',
      retryable: false,
    });
  });

  it('while serving: a lost or busy server is a 503 with Retry-After, a failing statement stays itself', () => {
    const lost = serveError(pgError('57P01'), ENDPOINT, 7);
    expect(lost).toMatchObject({ code: 'SL_ERR_STORE_UNAVAILABLE', status: 503, retryAfterSeconds: 7 });
    expect((lost as Error).message).toContain(
      'PostgreSQL at db.internal:6432 (database "control", user "sightline")',
    );
    expect(serveError(pgError('57014'), ENDPOINT, 7)).toMatchObject({ status: 503 });
    const unique = pgError('23505');
    expect(serveError(unique, ENDPOINT, 7)).toBe(unique);
  });
});
