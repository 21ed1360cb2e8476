import { CommanderError } from 'commander';
import type mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  APPLICATION_NAME,
  LOAD_KINDS,
  SCHEMA_MARKER,
  UNUSED_INDEX,
  parseMix,
  type LoadSummary,
} from '../../src/collect/loadgen/driver.js';
import { MARKER_TABLE, prepareSchema, runLoad } from '../../src/collect/mysql/loadgen.js';
import { freePort } from '../harness/free-port.js';
import type { MariadbInstance } from '../harness/mariadb.js';
import { MARIADB_INSTALL_HINT, mariadbAvailable, startMariadb } from '../harness/mariadb.js';
import { requireService } from '../harness/service-missing.js';
import { captureStdio, loadgenProgram, runLoadgen, total } from '../helpers/loadgen-cli.js';

const available = requireService('MariaDB', mariadbAvailable(), MARIADB_INSTALL_HINT);

/** What setup leaves behind: tables with their comment and row count, and indexes. */
async function databaseSnapshot(mariadb: MariadbInstance, database: string): Promise<unknown> {
  const tables = await mariadb.sql(
    `SELECT TABLE_NAME AS name, TABLE_COMMENT AS comment, ENGINE AS engine FROM information_schema.TABLES
     WHERE TABLE_SCHEMA = '${database}' ORDER BY 1`,
  );
  const rows: Record<string, number> = {};
  for (const { name } of tables) {
    const [count] = await mariadb.sql(`SELECT COUNT(*) AS n FROM \`${database}\`.\`${String(name)}\``);
    rows[String(name)] = Number(count?.n);
  }
  const indexes = await mariadb.sql(
    `SELECT DISTINCT CONCAT(TABLE_NAME, '.', INDEX_NAME) AS name FROM information_schema.STATISTICS
     WHERE TABLE_SCHEMA = '${database}' ORDER BY 1`,
  );
  return {
    tables: Object.fromEntries(
      tables.map((t) => [String(t.name), `${String(t.engine)} ${String(t.comment)}`]),
    ),
    rows,
    indexes: indexes.map((i) => i.name),
  };
}

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe.skipIf(!available)('loadgen against MariaDB', () => {
  let mariadb: MariadbInstance;

  beforeAll(async () => {
    mariadb = await startMariadb();
  });

  afterAll(async () => {
    await mariadb?.stop();
  });

  it('creates its database once, reuses it unchanged, tops it up for a larger scale and recreates it on reset', async () => {
    const connection = await mariadb.connect();
    try {
      const options = { schema: 'lg_setup', scale: 500, reset: false };
      const first = await prepareSchema(connection, options);
      expect(first).toEqual({
        schema: 'lg_setup',
        identifier: '`lg_setup`',
        created: true,
        accounts: 500,
        insertedAccounts: 500,
      });
      const snapshot = await databaseSnapshot(mariadb, 'lg_setup');
      expect(snapshot).toEqual({
        tables: {
          accounts: 'InnoDB ',
          events: 'InnoDB ',
          [MARKER_TABLE]: `InnoDB ${SCHEMA_MARKER}`,
          orders: 'InnoDB ',
        },
        rows: { accounts: 500, events: 0, [MARKER_TABLE]: 0, orders: 500 },
        indexes: [
          'accounts.accounts_email_key',
          `accounts.${UNUSED_INDEX}`,
          'accounts.PRIMARY',
          'events.PRIMARY',
          `${MARKER_TABLE}.PRIMARY`,
          'orders.PRIMARY',
        ],
      });

      const second = await prepareSchema(connection, options);
      expect(second).toMatchObject({ created: false, accounts: 500, insertedAccounts: 0 });
      expect(await databaseSnapshot(mariadb, 'lg_setup')).toEqual(snapshot);

      await mariadb.sql(`INSERT INTO lg_setup.events (account_id, kind, payload) VALUES (1, 'x', '{}')`);
      // 4,100 more rows: three seed batches, the ids still 1..n without a gap.
      const larger = await prepareSchema(connection, { ...options, scale: 4_600 });
      expect(larger).toMatchObject({ created: false, accounts: 4_600, insertedAccounts: 4_100 });
      expect(await databaseSnapshot(mariadb, 'lg_setup')).toMatchObject({
        rows: { accounts: 4_600, events: 1, orders: 4_600 },
      });
      const [ids] = await mariadb.sql(
        'SELECT MIN(id) AS low, MAX(id) AS high, COUNT(DISTINCT id) AS n FROM lg_setup.accounts',
      );
      expect(ids).toEqual({ low: '1', high: '4600', n: '4600' });

      const reset = await prepareSchema(connection, { ...options, reset: true });
      expect(reset).toMatchObject({ created: true, accounts: 500, insertedAccounts: 500 });
      expect(await databaseSnapshot(mariadb, 'lg_setup')).toEqual(snapshot);
    } finally {
      await connection.end();
    }
  });

  it('neither uses nor drops a database of its name that it did not create, even with --reset', async () => {
    await mariadb.sql('CREATE DATABASE sightline_loadgen');
    await mariadb.sql('CREATE TABLE sightline_loadgen.precious (id int PRIMARY KEY)');
    // A table of the marker's name is not enough: the comment is what marks the database.
    await mariadb.sql(`CREATE DATABASE lg_lookalike`);
    await mariadb.sql(`CREATE TABLE lg_lookalike.${MARKER_TABLE} (id tinyint PRIMARY KEY) COMMENT = 'mine'`);
    try {
      await expect(runLoad({ url: mariadb.url, reset: true, durationS: 1 })).rejects.toMatchObject({
        code: 'SL_ERR_LOADGEN_SCHEMA_NOT_OURS',
        message: expect.stringContaining(
          'database sightline_loadgen exists but sightline loadgen did not create it',
        ) as unknown,
      });
      await expect(
        runLoad({ url: mariadb.url, schema: 'lg_lookalike', reset: true, durationS: 1 }),
      ).rejects.toMatchObject({ code: 'SL_ERR_LOADGEN_SCHEMA_NOT_OURS' });
      const left = await mariadb.sql(
        `SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) AS name FROM information_schema.TABLES
         WHERE TABLE_SCHEMA IN ('sightline_loadgen', 'lg_lookalike') ORDER BY 1`,
      );
      expect(left.map((t) => t.name)).toEqual([`lg_lookalike.${MARKER_TABLE}`, 'sightline_loadgen.precious']);
    } finally {
      await mariadb.sql('DROP DATABASE sightline_loadgen');
      await mariadb.sql('DROP DATABASE lg_lookalike');
    }
  });

  it('runs 5 s at 100/s with every kind: counts on schedule, digests, rows written, lock waits, idle transactions', async () => {
    const observer = await mariadb.connect();
    try {
      await observer.query('TRUNCATE TABLE performance_schema.events_statements_summary_by_digest');
      let maxLockWaits = 0;
      let maxIdleInTransaction = 0;
      let maxSessions = 0;
      let polling = true;
      // Polls from its own connection, as Sightline's collector would, while the load runs. InnoDB
      // refreshes INNODB_TRX and INNODB_LOCK_WAITS only when they have not been read for 0.1 s
      // (trx0i_s.cc, CACHE_MIN_IDLE_TIME_US), so polling faster than that would see one frozen picture.
      const poll = (async () => {
        while (polling) {
          const [rows] = await observer.query<mysql.RowDataPacket[]>(
            `SELECT
               (SELECT COUNT(*) FROM information_schema.INNODB_LOCK_WAITS) AS lockWaits,
               (SELECT COUNT(*) FROM information_schema.INNODB_TRX t
                  JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
                  JOIN performance_schema.session_connect_attrs a
                    ON a.PROCESSLIST_ID = p.ID AND a.ATTR_NAME = 'program_name'
                WHERE p.COMMAND = 'Sleep' AND a.ATTR_VALUE = ?) AS idle,
               (SELECT COUNT(*) FROM performance_schema.session_connect_attrs
                WHERE ATTR_NAME = 'program_name' AND ATTR_VALUE = ?) AS sessions`,
            [APPLICATION_NAME, APPLICATION_NAME],
          );
          maxLockWaits = Math.max(maxLockWaits, Number(rows[0]?.lockWaits));
          maxIdleInTransaction = Math.max(maxIdleInTransaction, Number(rows[0]?.idle));
          maxSessions = Math.max(maxSessions, Number(rows[0]?.sessions));
          await new Promise((resolve) => setTimeout(resolve, 150));
        }
      })();

      const ready: unknown[] = [];
      let summary: LoadSummary;
      try {
        summary = await runLoad(
          {
            url: mariadb.url,
            scale: 2_000,
            rate: 100,
            durationS: 5,
            connections: 16,
            mix: parseMix('point=60,scan=5,write=20,lock=2,error=5,idle=2'),
          },
          { onReady: (info) => ready.push(info) },
        );
      } finally {
        polling = false;
        await poll;
      }

      expect(ready).toEqual([
        expect.objectContaining({ schema: 'sightline_loadgen', created: true, accounts: 2_000 }),
      ]);
      // Every one of the 500 ticks either ran or was skipped: the schedule neither drifted nor queued.
      expect(total(summary) + summary.skipped).toBe(500);
      expect(total(summary)).toBeGreaterThanOrEqual(475);
      for (const kind of LOAD_KINDS) expect(summary.statements[kind], kind).toBeGreaterThan(0);
      expect(summary.errors).toBe(summary.statements.error);
      expect(summary.unexpectedErrors).toBe(0);
      expect(summary.firstUnexpectedError).toBeUndefined();
      expect(summary.durationS).toBeGreaterThanOrEqual(5);
      expect(summary.durationS).toBeLessThan(5.5);
      expect(summary.rate).toBeGreaterThan(85);
      expect(summary.rate).toBeLessThanOrEqual(100);

      expect(maxLockWaits).toBeGreaterThan(0);
      expect(maxIdleInTransaction).toBeGreaterThan(0);
      expect(maxSessions).toBeGreaterThan(1);
      expect(maxSessions).toBeLessThanOrEqual(16);

      const [digests] = await observer.query<mysql.RowDataPacket[]>(
        `SELECT DIGEST_TEXT AS text, COUNT_STAR AS calls, SUM_ERRORS AS errors, SUM_NO_INDEX_USED AS noIndex
         FROM performance_schema.events_statements_summary_by_digest
         WHERE DIGEST_TEXT LIKE '%sightline\\_loadgen%'`,
      );
      const matching = (pattern: RegExp) => digests.filter((d) => pattern.test(String(d.text)));
      // Each point read has its own literal and text, and all of them are one digest.
      const point = matching(
        // MariaDB writes keywords it recognises (id, name) upper-case and unquoted.
        /^SELECT `?id`? , `email` , `?name`? , `balance` FROM `sightline_loadgen` \. `accounts` WHERE `?id`? = \? $/i,
      );
      expect(point).toHaveLength(1);
      expect(Number(point[0]?.calls)).toBe(summary.statements.point);
      const scan = matching(/`SLEEP` \(\?\)/);
      expect(scan).toHaveLength(1);
      expect(Number(scan[0]?.calls)).toBe(summary.statements.scan);
      expect(Number(scan[0]?.noIndex)).toBe(summary.statements.scan);
      // The error kind alternates a duplicate key and a missing table, and those are the only errors.
      const failing = digests.filter((d) => Number(d.errors) > 0);
      expect(failing.map((d) => /accounts_archive/.test(String(d.text))).sort()).toEqual([false, true]);
      expect(failing.reduce((sum, d) => sum + Number(d.errors), 0)).toBe(summary.statements.error);

      // Before the row counts below: COUNT(*) reads the smallest index, which is the unused one.
      const [indexUse] = await observer.query<mysql.RowDataPacket[]>(
        `SELECT INDEX_NAME AS name, COUNT_FETCH AS fetches FROM performance_schema.table_io_waits_summary_by_index_usage
         WHERE OBJECT_SCHEMA = 'sightline_loadgen' AND OBJECT_NAME = 'accounts' AND INDEX_NAME IS NOT NULL`,
      );
      const reads = Object.fromEntries(indexUse.map((row) => [String(row.name), Number(row.fetches)]));
      expect(reads.PRIMARY).toBeGreaterThan(0);
      expect(reads[UNUSED_INDEX]).toBe(0);

      // Writes rotate: insert an order, update a balance, insert an event.
      const writes = summary.statements.write;
      const [counts] = await observer.query<mysql.RowDataPacket[]>(
        `SELECT (SELECT COUNT(*) FROM sightline_loadgen.orders) AS orders,
                (SELECT COUNT(*) FROM sightline_loadgen.events) AS events,
                (SELECT COUNT(*) FROM sightline_loadgen.accounts) AS accounts`,
      );
      expect(counts[0]).toEqual({
        orders: String(2_000 + Math.ceil(writes / 3)),
        events: String(Math.floor(writes / 3)),
        accounts: '2000',
      });
    } finally {
      await observer.end();
    }
  });

  it('stops cleanly on abort: in-flight operations finish quickly and no session is left open', async () => {
    const abort = new AbortController();
    const stopAfter = setTimeout(() => abort.abort(), 1_500);
    const started = performance.now();
    const summary = await runLoad(
      {
        url: mariadb.url,
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
    await vi.waitFor(
      async () => {
        const [left] = await mariadb.sql(
          `SELECT COUNT(*) AS n FROM performance_schema.session_connect_attrs
           WHERE ATTR_NAME = 'program_name' AND ATTR_VALUE = '${APPLICATION_NAME}'`,
        );
        expect(left?.n).toBe('0');
      },
      { timeout: 2_000, interval: 50 },
    );
  });

  it('explains a connection failure naming the host and port, the user or the database', async () => {
    const port = await freePort();
    await expect(runLoad({ url: `mysql://root:x@127.0.0.1:${port}/` })).rejects.toMatchObject({
      code: 'SL_ERR_LOADGEN_CONNECT',
      message: expect.stringMatching(
        new RegExp(`^cannot connect to MySQL at 127\\.0\\.0\\.1:${port}: connection refused`),
      ) as unknown,
    });
    await expect(runLoad({ url: `mariadb://root:wrong@127.0.0.1:${mariadb.port}/` })).rejects.toMatchObject({
      code: 'SL_ERR_LOADGEN_CONNECT',
      message: expect.stringMatching(
        new RegExp(
          `^cannot connect to MariaDB at 127\\.0\\.0\\.1:${mariadb.port}: access denied for user "root"`,
        ),
      ) as unknown,
    });
    const noDatabase = `mysql://root:${encodeURIComponent(mariadb.password)}@127.0.0.1:${mariadb.port}/nope`;
    await expect(runLoad({ url: noDatabase })).rejects.toMatchObject({
      code: 'SL_ERR_LOADGEN_CONNECT',
      message: expect.stringContaining('database "nope" does not exist') as unknown,
    });
  });

  it('sightline loadgen mysql prints progress on stderr and the JSON summary on stdout, exit code 0', async () => {
    const stdio = captureStdio();
    const { program: root } = loadgenProgram();
    await runLoadgen(root, 'mysql', [
      '--url',
      mariadb.url,
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
    expect(summary.unexpectedErrors).toBe(0);
    expect(stdio.stderr()).toMatch(/^loadgen: database sightline_loadgen reused \(2000 accounts\)/m);
    expect(stdio.stderr()).toMatch(
      /^loadgen 1s {2}point \d+ scan \d+ write \d+ lock \d+ error \d+ idle \d+ {2}errors \d+ {2}skipped \d+ {2}rate [\d.]+\/s$/m,
    );
  });

  it('sightline loadgen mysql --reset drops the database it made and seeds it again', async () => {
    const before = await mariadb.sql('SELECT COUNT(*) AS n FROM sightline_loadgen.events');
    expect(Number(before[0]?.n)).toBeGreaterThan(0);
    const stdio = captureStdio();
    const { program: root } = loadgenProgram();
    await runLoadgen(root, 'mysql', [
      '--url',
      mariadb.url,
      '--reset',
      '--scale',
      '1000',
      '--mix',
      'point=1',
      '--duration',
      '0.5',
    ]);
    expect(process.exitCode).toBe(0);
    expect(stdio.stderr()).toMatch(/^loadgen: database sightline_loadgen created \(1000 accounts\)/m);
    expect(await databaseSnapshot(mariadb, 'sightline_loadgen')).toMatchObject({
      rows: { accounts: 1000, orders: 1000, events: 0 },
    });
  });
});

describe('sightline loadgen mysql flags', () => {
  it.each([
    [
      ['--url', 'mysql://h/db', '--rate', '0'],
      'commander.invalidArgument',
      /It must be a number from 0.1 to 100000/,
    ],
    [
      ['--url', 'mysql://h/db', '--schema', 'mysql'],
      'commander.invalidArgument',
      /not mysql, sys, information_schema or performance_schema/,
    ],
    [
      ['--url', 'mysql://h/db', '--mix', 'reads=5'],
      'commander.invalidArgument',
      /"reads" in the mix is not a kind/,
    ],
    [
      ['--rate', '10'],
      'commander.missingMandatoryOptionValue',
      /required option '--url <url>' not specified/,
    ],
  ])('rejects %j with exit code 2', async (args, code, message) => {
    vi.stubEnv('SIGHTLINE_LOADGEN_URL', undefined);
    const { program: root, output } = loadgenProgram();
    const error = await runLoadgen(root, 'mysql', args).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CommanderError);
    expect(error).toMatchObject({ exitCode: 2, code });
    expect(output()).toMatch(message);
    vi.unstubAllEnvs();
  });

  it('rejects a PostgreSQL URL with exit code 2 before connecting', async () => {
    const stdio = captureStdio();
    const { program: root } = loadgenProgram();
    await runLoadgen(root, 'mysql', ['--url', 'postgresql://127.0.0.1:1/db', '--duration', '1']);
    expect(process.exitCode).toBe(2);
    expect(stdio.stderr()).toContain('url must be a mysql:// (or mariadb://) connection URL');
  });

  it('exits 5 naming the host and port when nothing listens there', async () => {
    const port = await freePort();
    const stdio = captureStdio();
    const { program: root } = loadgenProgram();
    await runLoadgen(root, 'mysql', ['--url', `mariadb://u:p@127.0.0.1:${port}/`, '--duration', '1']);
    expect(process.exitCode).toBe(5);
    expect(stdio.stderr()).toContain(
      `sightline loadgen: cannot connect to MariaDB at 127.0.0.1:${port}: connection refused`,
    );
    expect(stdio.stdout()).toBe('');
  });

  it('documents every option, every kind, the marker, the exit codes and examples in --help', async () => {
    const { program: root, output } = loadgenProgram();
    await expect(runLoadgen(root, 'mysql', ['--help'])).rejects.toMatchObject({
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
    expect(help).toContain('SLEEP(0.05-0.2)');
    expect(help).toContain(`program_name=${APPLICATION_NAME}`);
    expect(help).toContain(MARKER_TABLE);
    expect(help).toContain('drop the database (only if loadgen created it)');
    expect(help).toContain('5 cannot connect to MySQL');
    expect(help).toContain('sightline loadgen mysql --url mysql://root:secret@localhost:3306/');
    expect(help).toContain('SIGHTLINE_LOADGEN_URL=mysql://');
  });
});
