import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { APPLICATION_NAME, UNUSED_INDEX } from '../../src/collect/loadgen/driver.js';
import { prepareSchema, runLoad } from '../../src/collect/postgres/loadgen.js';
import { freePort } from '../harness/free-port.js';
import type { PostgresInstance } from '../harness/postgres.js';
import { POSTGRES_INSTALL_HINT, postgresAvailable, startPostgres } from '../harness/postgres.js';
import { requireService } from '../harness/service-missing.js';
import { checkCliFlags, checkCliRun } from '../helpers/loadgen-cli.js';
import { checkStopsOnAbort, expectCannotConnect, runEveryKind } from '../helpers/loadgen-run.js';

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

/** What setup leaves behind: tables with their row counts, and indexes. */
async function schemaSnapshot(client: pg.Client, schema: string): Promise<unknown> {
  const tables = await client.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1`,
    [schema],
  );
  const rows: Record<string, number> = {};
  for (const { relname } of tables.rows) {
    const count = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.${relname}`);
    rows[relname] = count.rows[0]?.n ?? -1;
  }
  const indexes = await client.query<{ indexname: string }>(
    'SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY 1',
    [schema],
  );
  return { rows, indexes: indexes.rows.map((r) => r.indexname) };
}

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe.skipIf(!available)('loadgen against PostgreSQL 15', () => {
  let postgres: PostgresInstance;

  beforeAll(async () => {
    postgres = await startPostgres();
  });

  afterAll(async () => {
    await postgres?.stop();
  });

  it('creates its schema once, reuses it unchanged, tops it up for a larger scale and recreates it on reset', async () => {
    await withClient(postgres.url, async (client) => {
      const options = { schema: 'lg_setup', scale: 500, reset: false };
      const first = await prepareSchema(client, options);
      expect(first).toEqual({
        schema: 'lg_setup',
        identifier: 'lg_setup',
        created: true,
        accounts: 500,
        insertedAccounts: 500,
      });
      const snapshot = await schemaSnapshot(client, 'lg_setup');
      expect(snapshot).toEqual({
        rows: { accounts: 500, events: 0, orders: 500 },
        indexes: ['accounts_email_key', 'accounts_pkey', UNUSED_INDEX, 'events_pkey', 'orders_pkey'],
      });

      const second = await prepareSchema(client, options);
      expect(second).toMatchObject({ created: false, accounts: 500, insertedAccounts: 0 });
      expect(await schemaSnapshot(client, 'lg_setup')).toEqual(snapshot);

      await client.query('INSERT INTO lg_setup.events (account_id, kind, payload) VALUES (1, $1, $2)', [
        'x',
        '{}',
      ]);
      const larger = await prepareSchema(client, { ...options, scale: 800 });
      expect(larger).toMatchObject({ created: false, accounts: 800, insertedAccounts: 300 });
      expect(await schemaSnapshot(client, 'lg_setup')).toMatchObject({
        rows: { accounts: 800, events: 1, orders: 800 },
      });

      const reset = await prepareSchema(client, { ...options, reset: true });
      expect(reset).toMatchObject({ created: true, accounts: 500, insertedAccounts: 500 });
      expect(await schemaSnapshot(client, 'lg_setup')).toEqual(snapshot);
    });
  });

  it('neither uses nor drops a schema it did not create', async () => {
    await withClient(postgres.url, async (client) => {
      await client.query('CREATE SCHEMA app_data');
      await client.query('CREATE TABLE app_data.precious (id int)');
    });
    await expect(
      runLoad({ url: postgres.url, schema: 'app_data', reset: true, durationS: 1 }),
    ).rejects.toMatchObject({
      code: 'SL_ERR_LOADGEN_SCHEMA_NOT_OURS',
      message: expect.stringContaining(
        'schema app_data exists but sightline loadgen did not create it',
      ) as unknown,
    });
    const tables = await withClient(
      postgres.url,
      async (client) =>
        (
          await client.query(
            `SELECT 1 FROM pg_tables WHERE schemaname = 'app_data' AND tablename = 'precious'`,
          )
        ).rowCount,
    );
    expect(tables).toBe(1);
  });

  it('runs 3 s at 100/s with every kind: counts on schedule, a real blocked session, idle in transaction', async () => {
    await withClient(postgres.url, async (observer) => {
      await observer.query('SELECT pg_stat_statements_reset()');
      let maxBlocked = 0;
      let maxIdleInTransaction = 0;
      let maxSessions = 0;
      const summary = await runEveryKind(runLoad, postgres.url, 3, {
        intervalMs: 50,
        read: async () => {
          const { rows } = await observer.query<{ blocked: number; idle: number; sessions: number }>(
            `SELECT count(*) FILTER (WHERE cardinality(pg_blocking_pids(pid)) > 0)::int AS blocked,
                    count(*) FILTER (WHERE state = 'idle in transaction' AND application_name = $1)::int AS idle,
                    count(*) FILTER (WHERE application_name = $1)::int AS sessions
             FROM pg_stat_activity`,
            [APPLICATION_NAME],
          );
          maxBlocked = Math.max(maxBlocked, rows[0]?.blocked ?? 0);
          maxIdleInTransaction = Math.max(maxIdleInTransaction, rows[0]?.idle ?? 0);
          maxSessions = Math.max(maxSessions, rows[0]?.sessions ?? 0);
        },
      });

      expect(maxBlocked).toBeGreaterThan(0);
      expect(maxIdleInTransaction).toBeGreaterThan(0);
      expect(maxSessions).toBeGreaterThan(1);
      expect(maxSessions).toBeLessThanOrEqual(16);

      const statements = await observer.query<{ calls: string; query: string }>(
        `SELECT calls, query FROM pg_stat_statements WHERE query = $1`,
        ['SELECT id, email, name, balance FROM sightline_loadgen.accounts WHERE id = $1'],
      );
      expect(statements.rows).toHaveLength(1);
      expect(Number(statements.rows[0]?.calls)).toBe(summary.statements.point);

      // Counters reach pg_stat_user_indexes when the sessions end; the pool closed them, so wait for the flush.
      const indexUse = async () =>
        (
          await observer.query<{ indexrelname: string; idx_scan: string }>(
            `SELECT indexrelname, idx_scan FROM pg_stat_user_indexes
             WHERE schemaname = 'sightline_loadgen' AND indexrelname IN ('accounts_pkey', $1)`,
            [UNUSED_INDEX],
          )
        ).rows;
      await vi.waitFor(
        async () => {
          const rows = await indexUse();
          expect(Number(rows.find((r) => r.indexrelname === 'accounts_pkey')?.idx_scan)).toBeGreaterThan(0);
        },
        { timeout: 5_000, interval: 100 },
      );
      expect((await indexUse()).find((r) => r.indexrelname === UNUSED_INDEX)?.idx_scan).toBe('0');
    });
  });

  checkStopsOnAbort(
    runLoad,
    () => postgres.url,
    () =>
      withClient(
        postgres.url,
        async (client) =>
          (
            await client.query<{ n: number }>(
              'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
              [APPLICATION_NAME],
            )
          ).rows[0]?.n ?? -1,
      ),
  );

  it('explains a connection failure naming the host and port, the user or the database', async () => {
    const port = await freePort();
    await expectCannotConnect(
      runLoad({ url: `postgresql://postgres:x@127.0.0.1:${port}/postgres` }),
      new RegExp(`^cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port}: connection refused`),
    );
    const wrongPassword = `postgresql://postgres:wrong@127.0.0.1:${postgres.port}/postgres`;
    await expectCannotConnect(
      runLoad({ url: wrongPassword }),
      'password authentication failed for user "postgres"',
    );
    const noDatabase = `postgresql://postgres:${encodeURIComponent(postgres.password)}@127.0.0.1:${postgres.port}/nope`;
    await expectCannotConnect(runLoad({ url: noDatabase }), 'database "nope" does not exist');
  });

  checkCliRun('postgres', 'schema', () => postgres.url);
});

describe('sightline loadgen postgres flags', () => {
  checkCliFlags('postgres', {
    usageErrors: [
      [
        ['--url', 'postgresql://h/db', '--rate', 'abc'],
        'commander.invalidArgument',
        /option '--rate <n>' argument 'abc' is invalid/,
      ],
      [
        ['--url', 'postgresql://h/db', '--rate', '0'],
        'commander.invalidArgument',
        /It must be a number from 0.1 to 100000/,
      ],
      [
        ['--url', 'postgresql://h/db', '--connections', '2.5'],
        'commander.invalidArgument',
        /whole number from 1 to 500/,
      ],
      [
        ['--url', 'postgresql://h/db', '--mix', 'reads=5'],
        'commander.invalidArgument',
        /"reads" in the mix is not a kind; the kinds are point, scan/,
      ],
      [['--url', 'postgresql://h/db', '--schema', 'public'], 'commander.invalidArgument', /not public/],
      [['--url', 'postgresql://h/db', '--bogus'], 'commander.unknownOption', /unknown option '--bogus'/],
      [
        ['--rate', '10'],
        'commander.missingMandatoryOptionValue',
        /required option '--url <url>' not specified/,
      ],
    ],
    refusedOptions: [
      [
        ['--url', 'postgresql://127.0.0.1:1/db', '--connections', '1', '--mix', 'lock=1'],
        'the lock kind needs two connections',
      ],
    ],
    nothingListens: { url: (port) => `postgresql://u:p@127.0.0.1:${port}/db`, server: 'PostgreSQL' },
    help: ['5 cannot connect to PostgreSQL'],
  });
});
