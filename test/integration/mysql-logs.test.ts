import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverLogRecord, type ServerLogRecord } from '../../src/bus/raw-records.js';
import {
  createMysqlLogSource,
  type MysqlLogSource,
  type SqlRunner,
} from '../../src/collect/mysql/log-source.js';
import { mysqlShape } from '../../src/sql/mysql-shape.js';
import { silentLogger } from '../../src/core/logger.js';
import {
  MARIADB_INSTALL_HINT,
  mariadbAvailable,
  startMariadb,
  type MariadbInstance,
} from '../harness/mariadb.js';
import { requireService } from '../harness/service-missing.js';

const available = requireService('MariaDB', mariadbAvailable(), MARIADB_INSTALL_HINT);

/** Statements with values that must not leave the collector. */
const STATEMENTS = [
  "INSERT INTO customers (id, email, balance, note) VALUES (1, 'alice@example.com', 4242.17, 'secret note 987654')",
  "SELECT id, email FROM customers WHERE email = 'bob@example.org' AND balance > 1234.5",
  "UPDATE customers\n   SET note = 'multi\nline 555-0199'\n WHERE id = 31337",
  'SELECT SLEEP(0.05), 271828 AS marker',
];
const LITERALS = [
  'alice@example.com',
  '4242.17',
  'secret note',
  '987654',
  'bob@example.org',
  '1234.5',
  '555-0199',
  '31337',
  '271828',
];

describe.skipIf(!available)('MySQL logs of a real MariaDB', () => {
  let mariadb: MariadbInstance;
  let reader: mysql.Connection;
  let sql: SqlRunner;
  let source: MysqlLogSource;
  const records: ServerLogRecord[] = [];

  async function readUntil(done: () => boolean): Promise<void> {
    for (let attempt = 0; attempt < 50 && !done(); attempt++) {
      records.push(...(await source.read(sql)));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  beforeAll(async () => {
    mariadb = await startMariadb({ settings: { slow_query_log: 'ON', long_query_time: 0 } });
    reader = await mariadb.connect();
    sql = async <T extends Record<string, unknown>>(text: string) => {
      const [rows] = await reader.query(text);
      return rows as T[];
    };
    const found = createMysqlLogSource(
      { entityId: 'mysql:logs-it', host: mariadb.host },
      { errorLog: 'auto', slowLog: 'auto', keepLiterals: false },
      silentLogger(),
    );
    if (found === undefined) throw new Error('expected a log source');
    source = found;
    // The first read finds where each log ends: what the server wrote at start is not replayed.
    expect(await source.read(sql)).toEqual([]);

    await mariadb.sql('CREATE DATABASE shop');
    await mariadb.sql(
      'CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(200), balance DECIMAL(10,2), note TEXT) CHARACTER SET utf8mb4',
      'shop',
    );
    for (const statement of STATEMENTS) await mariadb.sql(statement, 'shop');
    const intruder = mysql.createConnection({
      host: mariadb.host,
      port: mariadb.port,
      user: 'intruder',
      password: 'not-the-password',
    });
    await expect(intruder).rejects.toThrow(/Access denied for user 'intruder'/);

    await readUntil(
      () =>
        records.some((r) => r.message.startsWith("Access denied for user 'intruder'")) &&
        STATEMENTS.every((s) => records.some((r) => r.fingerprint === mysqlShape(s).fingerprint)),
    );
  }, 120_000);

  afterAll(async () => {
    await reader?.end();
    await mariadb?.stop();
  });

  it('reads every statement from the slow log with its duration and the fingerprint of its shape', () => {
    for (const statement of STATEMENTS) {
      const shape = mysqlShape(statement);
      const record = records.find((r) => r.fingerprint === shape.fingerprint);
      expect(record, statement).toMatchObject({
        entityId: 'mysql:logs-it',
        host: mariadb.host,
        category: 'statement_duration',
        level: 'Note',
        database: 'shop',
        user: 'root',
        statement: shape.query,
        attributes: { client_host: '127.0.0.1', log_format: 'slow_log' },
      });
      expect(record?.durationMs).toBeGreaterThanOrEqual(0);
      expect(typeof record?.attributes.lock_time_ms).toBe('number');
      expect(typeof record?.attributes.rows_examined).toBe('number');
    }
    const sleep = records.find((r) => r.fingerprint === mysqlShape(STATEMENTS[3] ?? '').fingerprint);
    expect(sleep?.durationMs).toBeGreaterThanOrEqual(50);
    expect(sleep?.attributes.rows_sent).toBe(1);
    const update = records.find((r) => r.fingerprint === mysqlShape(STATEMENTS[2] ?? '').fingerprint);
    expect(update?.attributes.rows_examined).toBe(0);
  });

  it('links slow log entries to the statement digests', async () => {
    const digests = await mariadb.sql(
      "SELECT DIGEST_TEXT AS digest_text FROM performance_schema.events_statements_summary_by_digest WHERE SCHEMA_NAME = 'shop'",
    );
    const digestFingerprints = new Set(digests.map((d) => mysqlShape(String(d.digest_text)).fingerprint));
    for (const statement of STATEMENTS) {
      expect(digestFingerprints.has(mysqlShape(statement).fingerprint), statement).toBe(true);
    }
  });

  it('reads the failed login from the error log as a Warning with the user and the client host', () => {
    const denied = records.find((r) => r.message.startsWith("Access denied for user 'intruder'"));
    expect(denied).toMatchObject({
      level: 'Warning',
      category: 'connection',
      user: 'intruder',
      attributes: { client_host: '127.0.0.1', using_password: true, log_format: 'error_log' },
    });
    const now = BigInt(Date.now()) * 1_000_000n;
    expect(now - BigInt(denied?.ts ?? '0')).toBeLessThan(120_000_000_000n);
    expect(BigInt(denied?.ts ?? '0') - now).toBeLessThan(5_000_000_000n);
  });

  it('sends valid records and no literal anywhere in them', () => {
    expect(records.length).toBeGreaterThan(STATEMENTS.length);
    for (const record of records) expect(() => serverLogRecord.parse(record)).not.toThrow();
    const json = JSON.stringify(records);
    for (const literal of LITERALS) expect(json).not.toContain(literal);
    expect(json).not.toContain('not-the-password');
  });
});
