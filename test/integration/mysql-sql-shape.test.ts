import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mysqlShape } from '../../src/sql/mysql-shape.js';
import {
  MARIADB_INSTALL_HINT,
  mariadbAvailable,
  startMariadb,
  type MariadbInstance,
} from '../harness/mariadb.js';
import { requireService } from '../harness/service-missing.js';

const available = requireService('MariaDB', mariadbAvailable(), MARIADB_INSTALL_HINT);

/**
 * Statements whose DIGEST_TEXT differs from the raw text in each way MariaDB rewrites it: quoting,
 * spaces around `.` and `,`, keyword-named columns in upper case (`ID`), keyword synonyms
 * (`SQL_TSI_DAY`, `CHARACTER`, `!=`), a sign kept after `=`, collapsed value lists and rows,
 * `@?` for user variables, `(unknown)` and `(_charset)` for some literals.
 */
const statements: [name: string, sql: string][] = [
  ['a qualified point lookup', 'select * from app.t where id = 42'],
  ['an IN list', 'SELECT a,b FROM t WHERE x IN (1,2,3) AND a NOT IN (-1, -2)'],
  ['an IN list of one', "SELECT a FROM t WHERE b IN ('x')"],
  ['multi-row VALUES', "INSERT INTO t (id,b) VALUES (1,'x'),(2,'y')"],
  ['single-value rows', 'INSERT INTO t (id) VALUES (3),(4),(5)'],
  ['a negative number after =', 'UPDATE t SET a = -5, b = NULL WHERE id = - 1 AND a <> -3'],
  ['lists across operators and LIMIT', 'SELECT 1 + 1, 2 * -3, id FROM t LIMIT 5, 10'],
  [
    'keyword synonyms',
    'SELECT CAST(a AS CHAR(10)), CURRENT_TIMESTAMP FROM t WHERE d > NOW() - INTERVAL 1 DAY',
  ],
  ['variables', "SET @x = -1, @@session.sql_mode = 'STRICT_TRANS_TABLES'"],
  ['introducers and hex strings', "SELECT X'ab', _utf8mb4'x', _binary 0xAB, N'y', b'01' FROM t"],
  [
    'comments and an executable comment',
    "SELECT /*!50000 a, */ b /* 'c' */ FROM t -- tail\nWHERE b = 'z' # end",
  ],
  ['multi-byte text and names', "SELECT café, `my col` FROM t WHERE b = '日本語😀'"],
  [
    'NULL, IS NULL and column definitions',
    'CREATE TABLE t2 (a INT NOT NULL, b INT NULL DEFAULT NULL, c DEC(10,2) DEFAULT -1)',
  ],
  ['a column named like a keyword', 'SELECT at - 1, `at` - 2, user FROM t'],
  [
    'a subquery, joins and grouping',
    'SELECT t.a, COUNT(*) FROM t JOIN u ON u.t_id = t.id WHERE t.a IN (SELECT t_id FROM u WHERE id > 3) GROUP BY t.a HAVING COUNT(*) > 1',
  ],
];

describe.skipIf(!available)('mysqlShape against MariaDB DIGEST_TEXT', () => {
  let mariadb: MariadbInstance;
  let connection: Connection;
  const fingerprints = new Map<string, string>();

  beforeAll(async () => {
    mariadb = await startMariadb();
    connection = await mariadb.connect();
    await connection.query('CREATE DATABASE app CHARACTER SET utf8mb4');
    await connection.query('USE app');
    await connection.query(
      'CREATE TABLE t (id INT PRIMARY KEY, a INT, b VARCHAR(20), x INT, d DATETIME, café INT, `my col` INT, `at` INT, user VARCHAR(20))',
    );
    await connection.query('CREATE TABLE u (id INT, t_id INT)');
  }, 120_000);

  afterAll(async () => {
    await connection?.end();
    await mariadb?.stop();
  });

  /** Runs one statement on an empty digest table and returns the DIGEST_TEXT it left. */
  async function digestTextOf(sql: string): Promise<string[]> {
    await connection.query('TRUNCATE performance_schema.events_statements_summary_by_digest');
    await connection.query(sql);
    const [rows] = await connection.query(
      `SELECT DIGEST_TEXT AS text FROM performance_schema.events_statements_summary_by_digest
        WHERE DIGEST_TEXT NOT LIKE 'TRUNCATE %'`,
    );
    return (rows as { text: string }[]).map((row) => row.text);
  }

  it.each(statements)('gives %s and its DIGEST_TEXT one fingerprint', async (_name, sql) => {
    const digestTexts = await digestTextOf(sql);
    expect(digestTexts).toHaveLength(1);
    const digestText = digestTexts[0] ?? '';
    const shape = mysqlShape(sql);
    expect(mysqlShape(digestText).fingerprint, `DIGEST_TEXT: ${digestText}`).toBe(shape.fingerprint);
    expect(shape.query).not.toMatch(/'|\b42\b|日本語/);
    fingerprints.set(digestText, shape.fingerprint);
  });

  it('gives statements with different digests different fingerprints', () => {
    expect(fingerprints.size).toBe(statements.length);
    expect(new Set(fingerprints.values()).size).toBe(fingerprints.size);
  });
});
