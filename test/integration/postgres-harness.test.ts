import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresInstance } from '../harness/postgres.js';
import { POSTGRES_INSTALL_HINT, postgresAvailable, startPostgres } from '../harness/postgres.js';
import { requireService } from '../harness/service-missing.js';

const available = requireService('PostgreSQL 15', postgresAvailable(), POSTGRES_INSTALL_HINT);

async function withClient<T>(connectionString: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

describe.skipIf(!available)('startPostgres', () => {
  let postgres: PostgresInstance;

  beforeAll(async () => {
    postgres = await startPostgres({ settings: { work_mem: '8MB', 'pg_stat_statements.max': 1000 } });
  });

  afterAll(async () => {
    await postgres?.stop();
  });

  it('serves PostgreSQL 15 to a password-authenticated TCP client at url', async () => {
    expect(postgres.url).toBe(
      `postgresql://postgres:${encodeURIComponent(postgres.password)}@127.0.0.1:${postgres.port}/postgres`,
    );
    expect(postgres.superuserUrl()).toBe(postgres.url);

    const row = await withClient(postgres.url, async (client) => {
      const result = await client.query<{ version: string; addr: string; port: number; superuser: boolean }>(
        `SELECT version(), host(inet_server_addr()) AS addr, inet_server_port() AS port,
                rolsuper AS superuser FROM pg_roles WHERE rolname = current_user`,
      );
      return result.rows[0];
    });
    expect(row?.version).toContain('PostgreSQL 15');
    // inet_server_addr() is NULL over a Unix socket, so this proves the connection used TCP.
    expect(row?.addr).toBe('127.0.0.1');
    expect(row?.port).toBe(postgres.port);
    expect(row?.superuser).toBe(true);
  });

  it('rejects a TCP client with the wrong password', async () => {
    const wrongUrl = `postgresql://postgres:not-the-password@127.0.0.1:${postgres.port}/postgres`;
    await expect(withClient(wrongUrl, (client) => client.query('SELECT 1'))).rejects.toMatchObject({
      code: '28P01',
    });
  });

  it('applies the test defaults and the caller settings', async () => {
    const settings = await withClient(postgres.url, async (client) => {
      const result = await client.query<{ name: string; setting: string }>(
        `SELECT name, current_setting(name) AS setting FROM unnest($1::text[]) AS name`,
        [
          [
            'fsync',
            'synchronous_commit',
            'compute_query_id',
            'shared_preload_libraries',
            'pg_stat_statements.track',
            'pg_stat_statements.max',
            'work_mem',
            'listen_addresses',
            'server_encoding',
          ],
        ],
      );
      return Object.fromEntries(result.rows.map((r) => [r.name, r.setting]));
    });
    expect(settings).toEqual({
      fsync: 'off',
      synchronous_commit: 'off',
      compute_query_id: 'on',
      shared_preload_libraries: 'pg_stat_statements',
      'pg_stat_statements.track': 'all',
      'pg_stat_statements.max': '1000',
      work_mem: '8MB',
      listen_addresses: '127.0.0.1',
      server_encoding: 'UTF8',
    });
  });

  it('counts every execution of a statement in pg_stat_statements', async () => {
    // A unique alias keeps this statement's entry apart from anything else the server ran.
    const marker = `harness_probe_${randomBytes(6).toString('hex')}`;
    const rows = await withClient(postgres.url, async (client) => {
      for (let i = 0; i < 5; i++) await client.query(`SELECT $1::int + 1 AS ${marker}`, [i]);
      // The pattern is a parameter so this lookup's own text does not match it.
      const result = await client.query<{ calls: string; query: string }>(
        'SELECT calls, query FROM pg_stat_statements WHERE query LIKE $1',
        [`%${marker}%`],
      );
      return result.rows;
    });
    // pg returns int8 as a string; pg_stat_statements replaces the literal 1 with the next free $n.
    expect(rows).toEqual([{ calls: '5', query: `SELECT $1::int + $2 AS ${marker}` }]);
  });

  it('refuses settings that would move the server away from the returned address', async () => {
    await expect(startPostgres({ settings: { port: 5432 } })).rejects.toThrow(/chooses port itself/);
  });
});

describe.skipIf(!available)('PostgresInstance.stop', () => {
  let postgres: PostgresInstance | undefined;

  afterAll(async () => {
    await postgres?.stop();
  });

  it('stops the server, removes the data directory and can be called twice', async () => {
    postgres = await startPostgres();
    const { url, dataDir } = postgres;
    const one = await withClient(
      url,
      async (client) => (await client.query<{ one: number }>('SELECT 1 AS one')).rows,
    );
    expect(one).toEqual([{ one: 1 }]);
    expect(existsSync(dataDir)).toBe(true);

    await postgres.stop();

    await expect(withClient(url, (client) => client.query('SELECT 1'))).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    expect(existsSync(dataDir)).toBe(false);
    await expect(postgres.stop()).resolves.toBeUndefined();
  });
});
