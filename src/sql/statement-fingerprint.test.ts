import { beforeAll, describe, expect, it } from 'vitest';
import { mysqlShape } from './mysql-shape.js';
import { loadSqlParser, sqlShape } from './postgres-shape.js';
import { statementFingerprint } from './statement-fingerprint.js';

describe('statementFingerprint', () => {
  beforeAll(() => loadSqlParser());

  it('gives a PostgreSQL statement with literals the fingerprint of its normalized text', () => {
    const collected = sqlShape('SELECT name FROM items WHERE id = $1 AND price > $2').fingerprint;
    expect(collected).toMatch(/^[0-9a-f]{16}$/);
    expect(statementFingerprint('SELECT name FROM items WHERE id = 42 AND price > 9.5', 'postgresql')).toBe(
      collected,
    );
    expect(statementFingerprint('select name from items where id = 7 and price > 1', 'PostgreSQL')).toBe(
      collected,
    );
    expect(statementFingerprint('SELECT name FROM orders WHERE id = 42', 'postgresql')).not.toBe(collected);
  });

  it('gives a MySQL statement the fingerprint of its digest text', () => {
    const digest = mysqlShape('SELECT `name` FROM `items` WHERE `id` = ?').fingerprint;
    expect(statementFingerprint("SELECT name FROM items WHERE id = 'abc'", 'mysql')).toBe(digest);
    expect(statementFingerprint("SELECT name FROM items WHERE id = 'abc'", 'mariadb')).toBe(digest);
  });

  it('has none for other systems, empty text and text PostgreSQL cannot parse', () => {
    expect(statementFingerprint('SELECT 1', 'mssql')).toBe('');
    expect(statementFingerprint('  ', 'postgresql')).toBe('');
    expect(statementFingerprint('SELEKT * FROM', 'postgresql')).toBe('');
  });
});
