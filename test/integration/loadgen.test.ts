import { CommanderError } from 'commander';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  APPLICATION_NAME,
  LOAD_KINDS,
  UNUSED_INDEX,
  parseMix,
  type LoadSummary,
} from '../../src/collect/loadgen/driver.js';
import { prepareSchema, runLoad } from '../../src/collect/postgres/loadgen.js';
import { freePort } from '../harness/free-port.js';
import type { PostgresInstance } from '../harness/postgres.js';
import { POSTGRES_INSTALL_HINT, postgresAvailable, startPostgres } from '../harness/postgres.js';
import { requireService } from '../harness/service-missing.js';
import { captureStdio, loadgenProgram, runLoadgen, total } from '../helpers/loadgen-cli.js';

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
      let polling = true;
      // Polls from its own connection, as Sightline's collector would, while the load runs.
      const poll = (async () => {
        while (polling) {
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
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();

      const ready: unknown[] = [];
      let summary: LoadSummary;
      try {
        summary = await runLoad(
          {
            url: postgres.url,
            scale: 2_000,
            rate: 100,
            durationS: 3,
            connections: 16,
            mix: parseMix('point=60,scan=5,write=20,lock=2,error=5,idle=2'),
          },
          { onReady: (info) => ready.push(info) },
        );
      } finally {
        polling = false;
        await poll;
      }

      expect(ready).toEqual([expect.objectContaining({ schema: 'sightline_loadgen', accounts: 2_000 })]);
      // Every one of the 300 ticks either ran or was skipped: the schedule neither drifted nor queued.
      expect(total(summary) + summary.skipped).toBe(300);
      expect(total(summary)).toBeGreaterThanOrEqual(285);
      for (const kind of LOAD_KINDS) expect(summary.statements[kind], kind).toBeGreaterThan(0);
      expect(summary.errors).toBe(summary.statements.error);
      expect(summary.unexpectedErrors).toBe(0);
      expect(summary.firstUnexpectedError).toBeUndefined();
      expect(summary.durationS).toBeGreaterThanOrEqual(3);
      expect(summary.durationS).toBeLessThan(3.5);
      expect(summary.rate).toBeGreaterThan(85);
      expect(summary.rate).toBeLessThanOrEqual(100);

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

  it('stops cleanly on abort: in-flight operations finish quickly and no session is left open', async () => {
    const abort = new AbortController();
    const stopAfter = setTimeout(() => abort.abort(), 1_500);
    const started = performance.now();
    const summary = await runLoad(
      {
        url: postgres.url,
        scale: 2_000,
        rate: 50,
        connections: 8,
        mix: parseMix('point=10,lock=1,idle=1'),
      },
      { signal: abort.signal },
    );
    clearTimeout(stopAfter);
    const tookS = (performance.now() - started) / 1000;
    // lock and idle would hold on for up to 2.5 s; stopping cuts their waits short.
    expect(tookS).toBeLessThan(2.5);
    expect(summary.durationS).toBeGreaterThanOrEqual(1.4);
    expect(summary.durationS).toBeLessThan(2);
    expect(summary.unexpectedErrors).toBe(0);
    expect(summary.statements.lock).toBeGreaterThan(0);
    expect(summary.statements.idle).toBeGreaterThan(0);
    // The pool has closed its connections; the server ends those backends a moment later.
    await vi.waitFor(
      async () => {
        const left = await withClient(
          postgres.url,
          async (client) =>
            (
              await client.query<{ n: number }>(
                'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
                [APPLICATION_NAME],
              )
            ).rows[0]?.n,
        );
        expect(left).toBe(0);
      },
      { timeout: 2_000, interval: 50 },
    );
  });

  it('explains a connection failure naming the host and port, the user or the database', async () => {
    const port = await freePort();
    await expect(
      runLoad({ url: `postgresql://postgres:x@127.0.0.1:${port}/postgres` }),
    ).rejects.toMatchObject({
      code: 'SL_ERR_LOADGEN_CONNECT',
      message: expect.stringMatching(
        new RegExp(`^cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port}: connection refused`),
      ) as unknown,
    });
    const wrongPassword = `postgresql://postgres:wrong@127.0.0.1:${postgres.port}/postgres`;
    await expect(runLoad({ url: wrongPassword })).rejects.toMatchObject({
      code: 'SL_ERR_LOADGEN_CONNECT',
      message: expect.stringContaining('password authentication failed for user "postgres"') as unknown,
    });
    const noDatabase = `postgresql://postgres:${encodeURIComponent(postgres.password)}@127.0.0.1:${postgres.port}/nope`;
    await expect(runLoad({ url: noDatabase })).rejects.toMatchObject({
      code: 'SL_ERR_LOADGEN_CONNECT',
      message: expect.stringContaining('database "nope" does not exist') as unknown,
    });
  });

  it('sightline loadgen postgres prints progress on stderr and the JSON summary on stdout, exit code 0', async () => {
    const stdio = captureStdio();
    const { program: root } = loadgenProgram();
    await runLoadgen(root, 'postgres', [
      '--url',
      postgres.url,
      '--duration',
      '2',
      '--rate',
      '20',
      '--scale',
      '1000',
    ]);
    expect(process.exitCode).toBe(0);
    const summary = JSON.parse(stdio.stdout()) as LoadSummary;
    expect(Object.keys(summary)).toEqual([
      'durationS',
      'statements',
      'errors',
      'rate',
      'skipped',
      'unexpectedErrors',
    ]);
    expect(total(summary) + summary.skipped).toBe(40);
    expect(stdio.stderr()).toMatch(/^loadgen: schema sightline_loadgen reused \(2000 accounts\)/m);
    expect(stdio.stderr()).toMatch(
      /^loadgen 1s {2}point \d+ scan \d+ write \d+ lock \d+ error \d+ idle \d+ {2}errors \d+ {2}skipped \d+ {2}rate [\d.]+\/s$/m,
    );
  });
});

describe('sightline loadgen postgres flags', () => {
  it.each([
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
  ])('rejects %j with exit code 2', async (args, code, message) => {
    vi.stubEnv('SIGHTLINE_LOADGEN_URL', undefined);
    const { program: root, output } = loadgenProgram();
    const error = await runLoadgen(root, 'postgres', args).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CommanderError);
    expect(error).toMatchObject({ exitCode: 2, code });
    expect(output()).toMatch(message);
    expect(output()).toContain('(run with --help for usage)');
    vi.unstubAllEnvs();
  });

  it('rejects a mix whose lock kind cannot get two connections, with exit code 2', async () => {
    const stdio = captureStdio();
    const { program: root } = loadgenProgram();
    await runLoadgen(root, 'postgres', [
      '--url',
      'postgresql://127.0.0.1:1/db',
      '--connections',
      '1',
      '--mix',
      'lock=1',
    ]);
    expect(process.exitCode).toBe(2);
    expect(stdio.stderr()).toContain('the lock kind needs two connections');
  });

  it('exits 5 naming the host and port when nothing listens there', async () => {
    const port = await freePort();
    const stdio = captureStdio();
    const { program: root } = loadgenProgram();
    await runLoadgen(root, 'postgres', ['--url', `postgresql://u:p@127.0.0.1:${port}/db`, '--duration', '1']);
    expect(process.exitCode).toBe(5);
    expect(stdio.stderr()).toContain(
      `sightline loadgen: cannot connect to PostgreSQL at 127.0.0.1:${port}: connection refused`,
    );
    expect(stdio.stdout()).toBe('');
  });

  it('documents every option, every kind, the exit codes and examples in --help', async () => {
    const { program: root, output } = loadgenProgram();
    await expect(runLoadgen(root, 'postgres', ['--help'])).rejects.toMatchObject({
      exitCode: 0,
      code: 'commander.helpDisplayed',
    });
    const help = output();
    for (const flag of [
      '--url',
      '--schema',
      '--scale',
      '--rate',
      '--duration',
      '--connections',
      '--mix',
      '--reset',
      '--quiet',
    ]) {
      expect(help).toContain(flag);
    }
    for (const kind of LOAD_KINDS) expect(help).toMatch(new RegExp(`^ {2}${kind} +\\S`, 'm'));
    expect(help).toContain('5 cannot connect to PostgreSQL');
    expect(help).toContain('2 invalid flags');
    expect(help).toContain('Examples:');
    expect(help).toContain('SIGHTLINE_LOADGEN_URL');
  });
});
