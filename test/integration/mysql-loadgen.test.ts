import type mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { APPLICATION_NAME, SCHEMA_MARKER, UNUSED_INDEX } from '../../src/collect/loadgen/driver.js';
import { MARKER_TABLE, prepareSchema, runLoad } from '../../src/collect/mysql/loadgen.js';
import { freePort } from '../harness/free-port.js';
import type { MariadbInstance } from '../harness/mariadb.js';
import { MARIADB_INSTALL_HINT, mariadbAvailable, startMariadb } from '../harness/mariadb.js';
import { requireService } from '../harness/service-missing.js';
import { checkCliFlags, checkCliRun, runLoadgenCli } from '../helpers/loadgen-cli.js';
import { checkStopsOnAbort, expectCannotConnect, runEveryKind } from '../helpers/loadgen-run.js';

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
      // InnoDB refreshes INNODB_TRX and INNODB_LOCK_WAITS only when they have not been read for 0.1 s
      // (trx0i_s.cc, CACHE_MIN_IDLE_TIME_US), so polling faster than that would see one frozen picture.
      const summary = await runEveryKind(runLoad, mariadb.url, 5, {
        intervalMs: 150,
        read: async () => {
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
        },
      });

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

  checkStopsOnAbort(
    runLoad,
    () => mariadb.url,
    async () => {
      const [left] = await mariadb.sql(
        `SELECT COUNT(*) AS n FROM performance_schema.session_connect_attrs
         WHERE ATTR_NAME = 'program_name' AND ATTR_VALUE = '${APPLICATION_NAME}'`,
      );
      return Number(left?.n);
    },
  );

  it('explains a connection failure naming the host and port, the user or the database', async () => {
    const port = await freePort();
    await expectCannotConnect(
      runLoad({ url: `mysql://root:x@127.0.0.1:${port}/` }),
      new RegExp(`^cannot connect to MySQL at 127\\.0\\.0\\.1:${port}: connection refused`),
    );
    await expectCannotConnect(
      runLoad({ url: `mariadb://root:wrong@127.0.0.1:${mariadb.port}/` }),
      new RegExp(
        `^cannot connect to MariaDB at 127\\.0\\.0\\.1:${mariadb.port}: access denied for user "root"`,
      ),
    );
    const noDatabase = `mysql://root:${encodeURIComponent(mariadb.password)}@127.0.0.1:${mariadb.port}/nope`;
    await expectCannotConnect(runLoad({ url: noDatabase }), 'database "nope" does not exist');
  });

  checkCliRun('mysql', 'database', () => mariadb.url);

  it('sightline loadgen mysql --reset drops the database it made and seeds it again', async () => {
    const before = await mariadb.sql('SELECT COUNT(*) AS n FROM sightline_loadgen.events');
    expect(Number(before[0]?.n)).toBeGreaterThan(0);
    const run = await runLoadgenCli('mysql', [
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
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toMatch(/^loadgen: database sightline_loadgen created \(1000 accounts\)/m);
    expect(await databaseSnapshot(mariadb, 'sightline_loadgen')).toMatchObject({
      rows: { accounts: 1000, orders: 1000, events: 0 },
    });
  });
});

describe('sightline loadgen mysql flags', () => {
  checkCliFlags('mysql', {
    usageErrors: [
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
    ],
    refusedOptions: [
      [
        ['--url', 'postgresql://127.0.0.1:1/db', '--duration', '1'],
        'url must be a mysql:// (or mariadb://) connection URL',
      ],
    ],
    nothingListens: { url: (port) => `mariadb://u:p@127.0.0.1:${port}/`, server: 'MariaDB' },
    help: [
      'SLEEP(0.05-0.2)',
      `program_name=${APPLICATION_NAME}`,
      MARKER_TABLE,
      'drop the database (only if loadgen created it)',
      '5 cannot connect to MySQL',
      'sightline loadgen mysql --url mysql://root:secret@localhost:3306/',
      'SIGHTLINE_LOADGEN_URL=mysql://',
    ],
  });
});
