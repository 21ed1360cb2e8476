import { describe, expect, it } from 'vitest';
import { checkLoadOptions, mix } from '../../../test/helpers/loadgen-options.js';
import { POSTGRES_TARGET, runLoad } from './loadgen.js';

const URL = 'postgresql://u:p@127.0.0.1:5432/db';

describe('resolveLoadOptions for PostgreSQL', () => {
  checkLoadOptions(POSTGRES_TARGET, URL, [
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
  ]);
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
