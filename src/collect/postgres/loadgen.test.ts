import { describe, expect, it } from 'vitest';
import { DEFAULT_MIX, resolveLoadOptions, type LoadMix } from '../loadgen/driver.js';
import { POSTGRES_TARGET, runLoad } from './loadgen.js';

const URL = 'postgresql://u:p@127.0.0.1:5432/db';

function mix(weights: Partial<LoadMix>): LoadMix {
  return { point: 0, scan: 0, write: 0, lock: 0, error: 0, idle: 0, ...weights };
}

describe('resolveLoadOptions for PostgreSQL', () => {
  it('fills the defaults', () => {
    expect(resolveLoadOptions({ url: URL }, POSTGRES_TARGET)).toEqual({
      url: URL,
      schema: 'sightline_loadgen',
      scale: 10_000,
      rate: 50,
      durationS: undefined,
      connections: 4,
      mix: DEFAULT_MIX,
      reset: false,
    });
  });

  it.each([
    [{ url: 'mysql://x' }, 'url must be a postgresql:// (or postgres://) connection URL'],
    [{ url: 'postgres://h/db' }, null],
    [{ schema: 'public' }, /schema "public" is not usable/],
    [{ schema: 'pg_temp' }, /not usable/],
    [{ schema: 'information_schema' }, /not usable/],
    [{ schema: 'Has-Dash' }, /not usable/],
    [{ schema: 'a'.repeat(64) }, /not usable: use lower-case letters, digits and _ \(at most 63\)/],
    [{ schema: 'a'.repeat(63) }, null],
    [{ rate: 0 }, /rate is 0/],
    [{ connections: 1 }, /lock kind needs two connections/],
    [{ connections: 1, mix: mix({ point: 1 }) }, null],
  ])('checks %j', (options, message) => {
    const resolve = () => resolveLoadOptions({ url: URL, ...options }, POSTGRES_TARGET);
    if (message === null) expect(resolve).not.toThrow();
    else expect(resolve).toThrow(message);
  });
});

describe('runLoad', () => {
  it('rejects options before connecting anywhere', async () => {
    await expect(runLoad({ url: 'postgresql://[bad/x' })).rejects.toMatchObject({
      code: 'SL_ERR_LOADGEN_OPTIONS',
      message: 'url is not a valid connection URL: Invalid URL',
    });
    await expect(runLoad({ url: URL, rate: -1 })).rejects.toMatchObject({ code: 'SL_ERR_LOADGEN_OPTIONS' });
  });
});
