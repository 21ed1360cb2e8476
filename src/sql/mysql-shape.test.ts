import { describe, expect, it } from 'vitest';
import { mysqlShape } from './mysql-shape.js';

describe('mysqlShape query', () => {
  it.each([
    // Literals
    ['a number', 'SELECT * FROM t WHERE id = 42', 'SELECT * FROM t WHERE id = ?'],
    ['decimals and exponents', 'SELECT 1.5, .5, 3., 1e10, 1.5E-3, 2e+5', 'SELECT ?, ?, ?, ?, ?, ?'],
    [
      'a negative number after an operator',
      'SELECT * FROM t WHERE a = -5 AND b = - 5',
      'SELECT * FROM t WHERE a = ? AND b = ?',
    ],
    ['signs after ( , and another sign', 'SELECT (-1), +2, - -3 FROM t', 'SELECT (?), ?, ? FROM t'],
    ['a binary minus', 'SELECT a - 5, a -5, a+-5 FROM t', 'SELECT a - ?, a - ?, a + ? FROM t'],
    ['a minus before a column', 'UPDATE t SET a = -a', 'UPDATE t SET a = - a'],
    [
      'a minus after a column named like a keyword',
      'SELECT value - 1, at - 1 FROM t',
      'SELECT value - ?, at - ? FROM t',
    ],
    ['single and double quoted strings', `SELECT 'a', "b"`, 'SELECT ?, ?'],
    ['backslash escapes', String.raw`SELECT 'it\'s', "say \"hi\"", 'C:\\' FROM t`, 'SELECT ?, ?, ? FROM t'],
    ['doubled quotes', `SELECT 'it''s', "x""y" FROM t`, 'SELECT ?, ? FROM t'],
    [
      'N and introducers',
      `SELECT N'x', n'y', _utf8mb4'z', _latin1 'w', _binary 0xAB`,
      'SELECT ?, ?, ?, ?, ?',
    ],
    ['hex and bit literals', `SELECT X'ab', x'CD', 0xAB, b'01', B'10', 0b01`, 'SELECT ?, ?, ?, ?, ?, ?'],
    [
      'multi-byte text',
      `SELECT 'ünïcödé', '日本語', café FROM t WHERE b = '😀'`,
      'SELECT ?, ?, café FROM t WHERE b = ?',
    ],
    [
      'NULL as a value',
      'UPDATE t SET a = NULL WHERE b IS NULL AND c IS NOT NULL',
      'UPDATE t SET a = ? WHERE b IS NULL AND c IS NOT NULL',
    ],
    [
      'NULL in column definitions',
      'CREATE TABLE t (a INT NOT NULL, b INT NULL DEFAULT NULL)',
      'CREATE TABLE t (a INT NOT NULL, b INT NULL DEFAULT ?)',
    ],
    ['LIMIT', 'SELECT * FROM t LIMIT 10', 'SELECT * FROM t LIMIT ?'],
    ['LIMIT with offset', 'SELECT * FROM t LIMIT 5, 10', 'SELECT * FROM t LIMIT ?, ?'],
    ['placeholders', 'SELECT * FROM t WHERE a = ? AND b IN (?)', 'SELECT * FROM t WHERE a = ? AND b IN (?)'],

    // Identifiers are not literals
    ['digits inside identifiers', 'SELECT t1.col_2, a1b FROM t1', 'SELECT t1.col_2, a1b FROM t1'],
    ['identifiers starting with digits', 'SELECT 1abc, 2e, 0x FROM t', 'SELECT 1abc, 2e, 0x FROM t'],
    ['digits after a qualifier', 'SELECT t.5 FROM t', 'SELECT t.5 FROM t'],
    [
      'backticks that are not needed go',
      'SELECT `id`, `t`.`order_id` FROM `app`.`t`',
      'SELECT id, t.order_id FROM app.t',
    ],
    [
      'backticks that are needed stay',
      'SELECT `a``b`, `my col`, `select`, `1x` FROM t',
      'SELECT `a``b`, `my col`, `select`, `1x` FROM t',
    ],
    ['identifier case is kept', 'select MyCol from MyTable', 'SELECT MyCol FROM MyTable'],

    // Lists
    [
      'IN lists',
      'SELECT * FROM t WHERE a IN (1, 2, 3) AND b NOT IN (-1, "x")',
      'SELECT * FROM t WHERE a IN (...) AND b NOT IN (...)',
    ],
    ['IN with one value', 'SELECT * FROM t WHERE a IN (1)', 'SELECT * FROM t WHERE a IN (?)'],
    ['IN with a column inside', 'SELECT * FROM t WHERE a IN (1, b)', 'SELECT * FROM t WHERE a IN (?, b)'],
    [
      'IN with tuples',
      'SELECT * FROM t WHERE (a, b) IN ((1, 2), (3, 4))',
      'SELECT * FROM t WHERE (a, b) IN (...)',
    ],
    [
      'IN with a subquery',
      'SELECT * FROM t WHERE a IN (SELECT b FROM u WHERE c = 1)',
      'SELECT * FROM t WHERE a IN (SELECT b FROM u WHERE c = ?)',
    ],
    ['VALUES rows', "INSERT INTO t (a,b) VALUES (1,'x'),(2,'y')", 'INSERT INTO t (a, b) VALUES (...)'],
    ['VALUES single-value rows', 'INSERT INTO t (a) VALUES (1), (2), (NULL)', 'INSERT INTO t (a) VALUES (?)'],
    [
      'VALUES with expressions',
      'INSERT INTO t (a, b) VALUES (1, NOW())',
      'INSERT INTO t (a, b) VALUES (?, NOW ())',
    ],
    [
      'the VALUES function',
      'INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = VALUES(a)',
      'INSERT INTO t (a) VALUES (?) ON DUPLICATE KEY UPDATE a = VALUES (a)',
    ],

    // Comments
    ['-- comments', 'SELECT 1 -- one\nFROM t', 'SELECT ? FROM t'],
    ['-- without a space is two minus signs', 'SELECT a --b FROM t', 'SELECT a - - b FROM t'],
    ['# comments', "SELECT a FROM t # where a = 'x'", 'SELECT a FROM t'],
    ['block comments', "SELECT /* 'secret' */ a FROM t /* end", 'SELECT a FROM t'],
    ['block comments do not nest', 'SELECT 1 /* a /* b */ + 2', 'SELECT ? + ?'],
    ['optimizer hints are comments', 'SELECT /*+ MAX_EXECUTION_TIME(1000) */ a FROM t', 'SELECT a FROM t'],
    [
      'executable comments keep their content',
      'SELECT /*!40101 SQL_NO_CACHE */ a FROM t /*M!100100 WHERE a = 1 */',
      'SELECT SQL_NO_CACHE a FROM t WHERE a = ?',
    ],
    [
      'executable comments without a version',
      'SELECT /*! STRAIGHT_JOIN */ a FROM t',
      'SELECT STRAIGHT_JOIN a FROM t',
    ],

    // Variables
    [
      'user and system variables',
      'SELECT @x, @a.b, @`q`, @@session.sql_mode, @@version',
      'SELECT @x, @a.b, @`q`, @@SESSION.sql_mode, @@version',
    ],
    [
      'a quoted user variable hides its name',
      "GRANT SELECT ON db.* TO 'app'@'10.0.0.1'",
      'GRANT SELECT ON db.* TO ? @?',
    ],
    ['assignments', 'SET @a := 5, @b = -1', 'SET @a := ?, @b = ?'],

    // Shape of the text
    ['whitespace and keyword case', 'select\n\t*  from t\r\nwhere a=1', 'SELECT * FROM t WHERE a = ?'],
    ['a trailing semicolon', 'SELECT 1;  ', 'SELECT ?'],
    ['function calls', 'SELECT COUNT(*), lower(name) FROM t', 'SELECT COUNT (*), lower (name) FROM t'],
    [
      'DIGEST_TEXT from MariaDB',
      'SELECT * FROM `app` . `t` WHERE ID = ? ',
      'SELECT * FROM app.t WHERE ID = ?',
    ],
    [
      'DIGEST_TEXT with collapsed lists',
      'INSERT INTO `t` ( `a` , `b` ) VALUES (...) /* , ... */ ',
      'INSERT INTO t (a, b) VALUES (...)',
    ],
    ['DIGEST_TEXT with unknown literals and introducers', 'SELECT (unknown) , (_charset) ? ', 'SELECT ?, ?'],
    ['empty text', '  \n ', ''],
  ])('%s', (_name, sql, query) => {
    expect(mysqlShape(sql).query).toBe(query);
  });

  it.each([
    [
      'an unterminated string',
      "SELECT * FROM t WHERE a = 'secret and the rest",
      'SELECT * FROM t WHERE a = ?',
    ],
    ['an unterminated double-quoted string', 'SELECT "secret', 'SELECT ?'],
    ['an unterminated backtick identifier', "SELECT `a FROM t WHERE b = 'secret'", 'SELECT ?'],
    ['a string cut after a backslash', "SELECT 'secret\\", 'SELECT ?'],
    ['an unterminated executable comment', 'SELECT /*!50000 a', 'SELECT a'],
    ['an unterminated quoted variable name', "SELECT @`a FROM t WHERE b = 'secret'", 'SELECT ?'],
  ])('treats the rest of %s as a literal', (_name, sql, query) => {
    const shape = mysqlShape(sql);
    expect(shape.query).toBe(query);
    expect(shape.query).not.toContain('secret');
  });

  it('cuts text longer than 64 KiB with ...', () => {
    const sql = `SELECT ${Array.from({ length: 20_000 }, (_, i) => `column_${i}`).join(', ')} FROM t`;
    const { query } = mysqlShape(sql);
    expect(Buffer.byteLength(query, 'utf8')).toBeLessThanOrEqual(64 * 1024);
    expect(query.endsWith('...')).toBe(true);
    expect(query.startsWith('SELECT column_0, column_1, ')).toBe(true);
  });

  it('cuts multi-byte text at a character boundary', () => {
    const { query } = mysqlShape(`SELECT ${'é'.repeat(40_000)} FROM t`);
    expect(Buffer.byteLength(query, 'utf8')).toBeLessThanOrEqual(64 * 1024);
    expect(query).toMatch(/^SELECT é+\.\.\.$/);
  });
});

describe('mysqlShape fingerprint', () => {
  it('is 16 lowercase hex digits', () => {
    expect(mysqlShape('SELECT 1').fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(mysqlShape('').fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });

  it.each([
    // DIGEST_TEXT forms seen on MariaDB 10.11 (see test/integration/mysql-sql-shape.test.ts)
    ['MariaDB digest text', 'select * from app.t where id = 42', 'SELECT * FROM `app` . `t` WHERE `id` = ? '],
    [
      'a keyword-named column in digest text',
      'select * from app.t where id = 42',
      'SELECT * FROM `app` . `t` WHERE ID = ? ',
    ],
    [
      'digest IN (...)',
      'SELECT a,b FROM t WHERE x IN (1,2,3)',
      'SELECT `a` , `b` FROM `t` WHERE `x` IN (...) ',
    ],
    [
      'digest VALUES rows',
      "INSERT INTO t (a,b) VALUES (1,'x'),(2,'y')",
      'INSERT INTO `t` ( `a` , `b` ) VALUES (...)',
    ],
    [
      'digest VALUES rows with the comment',
      "INSERT INTO t (a,b) VALUES (1,'x'),(2,'y')",
      'INSERT INTO `t` ( `a` , `b` ) VALUES (...) /* , ... */ ',
    ],
    [
      'digest single-value rows',
      'INSERT INTO t (a) VALUES (5),(6)',
      'INSERT INTO `t` ( `a` ) VALUES (?) /* , ... */ ',
    ],
    [
      'digest value lists',
      'SELECT 1, a, 2, 3 FROM t LIMIT 5, 10',
      'SELECT ? , `a` , ?, ... FROM `t` LIMIT ?, ... ',
    ],
    ['digest lists across operators', 'SELECT 1 + 1, 2 * -3, 4 / +2', 'SELECT ? + ?, ... * ?, ... / ? '],
    ['digest keeping a sign after =', 'SELECT * FROM t WHERE a = -5', 'SELECT * FROM `t` WHERE `a` = - ? '],
    [
      'digest NULL',
      'SELECT * FROM t WHERE a = NULL AND b IS NULL',
      'SELECT * FROM `t` WHERE `a` = ? AND `b` IS NULL ',
    ],
    ['digest user variables', 'SET @x = -1', 'SET @? = - ? '],
    [
      'digest NOT NULL expressions',
      'SELECT NOT NULL, a IS NOT NULL FROM t',
      'SELECT NOT ? , `a` IS NOT NULL FROM `t` ',
    ],
    [
      'digest signs after keyword-named columns',
      'SELECT at - 1, `at` - 2 FROM t',
      'SELECT AT ? , `at` - ? FROM `t` ',
    ],
    [
      'digest system variables',
      'SELECT @@session.sql_mode, @@version',
      'SELECT @@SESSION . `sql_mode` , @@`version` ',
    ],
    [
      'digest keyword synonyms',
      'SELECT CAST(a AS CHAR(10)) FROM t WHERE d > NOW() - INTERVAL 1 DAY',
      'SELECT CAST ( `a` AS CHARACTER (?) ) FROM `t` WHERE `d` > NOW ( ) - INTERVAL ? SQL_TSI_DAY ',
    ],
    [
      'digest operator spellings',
      'SELECT a <> b, a RLIKE "x" FROM t',
      'SELECT `a` != `b` , `a` RLIKE ? FROM `t` ',
    ],
    [
      'digest function-named keywords',
      'SELECT user FROM mysql.user',
      'SELECT SYSTEM_USER FROM `mysql` . `user` ',
    ],
    [
      'digest unknown literals and introducers',
      "SELECT X'ab', _utf8mb4'x'",
      'SELECT (unknown) , (_charset) ? ',
    ],
    ['MySQL 8 introducers', "SELECT _utf8mb4'x'", 'SELECT _utf8mb4 ? '],
    ['digest text cut with ...', 'SELECT a FROM t WHERE b = ?', 'SELECT `a` FROM `t` WHERE `b` = ? ...'],
    ['digest executable comment content', 'SELECT /*!50000 id, */ a FROM t', 'SELECT `id` , `a` FROM `t` '],

    // One statement written differently
    [
      'other literals',
      "SELECT * FROM t WHERE a = 1 AND b = 'x'",
      "SELECT * FROM t WHERE a = 22.5 AND b = 'a much longer string'",
    ],
    ['other whitespace and case', 'SELECT a FROM t WHERE b = 1', 'select   a\n from t\twhere b=2'],
    [
      'comments',
      'SELECT a FROM t WHERE b = 1',
      "/* app=web */ SELECT a -- one\n FROM t # x\n WHERE b = 1 /* 'tail' */",
    ],
    ['backticks', 'SELECT `a` FROM `db`.`t`', 'SELECT a FROM db.t'],
    ['a trailing semicolon', 'SELECT a FROM t', 'SELECT a FROM t;'],
    [
      'IN lists of any length',
      'SELECT * FROM t WHERE a IN (1, 2)',
      'SELECT * FROM t WHERE a IN (3, 4, 5, 6, 7)',
    ],
    [
      'VALUES with any number of rows',
      'INSERT INTO t (a, b) VALUES (1, 2)',
      'INSERT INTO t (a, b) VALUES (1, 2), (3, 4), (5, 6)',
    ],
    ['a negative number', 'SELECT * FROM t WHERE a = 5', 'SELECT * FROM t WHERE a = -5'],
    ['a prepared statement', 'SELECT * FROM t WHERE a = 5', 'SELECT * FROM t WHERE a = ?'],
  ])('is equal across %s', (_name, a, b) => {
    expect(mysqlShape(a).fingerprint).toBe(mysqlShape(b).fingerprint);
  });

  it.each([
    ['tables', 'SELECT a FROM t1 WHERE b = 1', 'SELECT a FROM t2 WHERE b = 1'],
    ['schemas', 'SELECT a FROM app.t', 'SELECT a FROM test.t'],
    ['columns', 'SELECT a FROM t WHERE b = 1', 'SELECT a FROM t WHERE c = 1'],
    ['selected columns', 'SELECT a, b FROM t', 'SELECT a, c FROM t'],
    ['comparison operators', 'SELECT a FROM t WHERE b = 1', 'SELECT a FROM t WHERE b > 1'],
    ['arithmetic operators', 'SELECT a + 1 FROM t', 'SELECT a - 1 FROM t'],
    ['boolean operators', 'SELECT a FROM t WHERE b = 1 AND c = 2', 'SELECT a FROM t WHERE b = 1 OR c = 2'],
    ['IS NULL and IS NOT NULL', 'SELECT a FROM t WHERE b IS NULL', 'SELECT a FROM t WHERE b IS NOT NULL'],
    ['one value and a list', 'SELECT a FROM t WHERE b IN (1)', 'SELECT a FROM t WHERE b IN (1, 2)'],
    ['a value and a column', 'SELECT a FROM t WHERE b = 1', 'SELECT a FROM t WHERE b = c'],
    ['statements', 'SELECT a FROM t', 'DELETE FROM t'],
    ['sort order', 'SELECT a FROM t ORDER BY a', 'SELECT a FROM t ORDER BY a DESC'],
    ['a quoted name with a space and two names', 'SELECT `a b` FROM t', 'SELECT a b FROM t'],
  ])('differs for different %s', (_name, a, b) => {
    expect(mysqlShape(a).fingerprint).not.toBe(mysqlShape(b).fingerprint);
  });
});

describe('mysqlShape on any input', () => {
  it.each([
    ['empty', ''],
    ['only a comment', '/* nothing */'],
    ['only punctuation', '(((,,,))) ;;; ... @@ @ ` \\'],
    ['unbalanced parentheses', 'SELECT ((a) FROM t WHERE b IN ((1, 2)'],
    ['closing parentheses first', ')) SELECT 1 ) , ( 2'],
    ['lone surrogates and control characters', 'SELECT \ud800 \udfff \u0000 \u0007 FROM t'],
    ['a comment marker at the end', 'SELECT 1 /'],
    ['a dash at the end', 'SELECT 1 -'],
    ['an executable comment end without a start', 'SELECT 1 */ 2'],
    ['a variable at the end', 'SELECT @'],
    ['an introducer at the end', 'SELECT _utf8mb4'],
    ['an X at the end', "SELECT X'"],
    ['hex prefix at the end', 'SELECT 0x'],
    ['an exponent at the end', 'SELECT 1e'],
    ['deep nesting', `SELECT ${'('.repeat(50_000)}1${')'.repeat(50_000)}`],
    ['deep IN nesting', `SELECT * FROM t WHERE a IN ${'('.repeat(50_000)}1, 2${')'.repeat(50_000)}`],
  ])('never throws on %s', (_name, sql) => {
    const shape = mysqlShape(sql);
    expect(typeof shape.query).toBe('string');
    expect(shape.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });

  it('never throws on random text', () => {
    const alphabet = `abcSELECTin01xX9 '"\`\\/*!-#@?.,()=;\n\t_é😀${'\ud800'}`;
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let n = 0; n < 2000; n++) {
      let sql = '';
      const length = Math.floor(random() * 80);
      for (let k = 0; k < length; k++) sql += alphabet[Math.floor(random() * alphabet.length)] ?? '';
      const shape = mysqlShape(sql);
      expect(shape.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it('handles 1 MB of SQL quickly', () => {
    const row = "(12345, 'some text with \\'escapes\\' and ünïcode', 3.14, NULL, X'abcd'), ";
    const sql = `INSERT INTO t (a, b, c, d, e) VALUES ${row.repeat(Math.ceil(1_000_000 / row.length))}(1, 'x', 2, NULL, X'00')`;
    expect(sql.length).toBeGreaterThanOrEqual(1_000_000);
    const started = performance.now();
    const shape = mysqlShape(sql);
    const elapsed = performance.now() - started;
    expect(shape.query).toBe('INSERT INTO t (a, b, c, d, e) VALUES (...)');
    expect(shape.fingerprint).toBe(
      mysqlShape("INSERT INTO t (a, b, c, d, e) VALUES (1, 'x', 2, NULL, X'00')").fingerprint,
    );
    expect(elapsed).toBeLessThan(2000);
  });

  it('handles 1 MB of identifiers and operators quickly', () => {
    const sql = `SELECT * FROM t WHERE ${'col_1 = col_2 AND '.repeat(60_000)}1 = 1`;
    const started = performance.now();
    const shape = mysqlShape(sql);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(shape.query.endsWith('...')).toBe(true);
  });
});
