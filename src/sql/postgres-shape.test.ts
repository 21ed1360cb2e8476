import { describe, expect, it } from 'vitest';
import { loadSqlParser, removeLiterals, sqlShape } from './postgres-shape.js';

describe('sqlShape', () => {
  it('refuses to run before the parser is loaded, naming the fix', () => {
    expect(() => sqlShape('SELECT 1')).toThrow(/await loadSqlParser\(\)/);
  });

  it('replaces literals with $n and leaves no trace of them', async () => {
    await loadSqlParser();
    const shape = sqlShape("SELECT * FROM users WHERE email = 'alice@example.com' AND id = 42");
    expect(shape.normalized).toBe('SELECT * FROM users WHERE email = $1 AND id = $2');
    expect(shape.normalized).not.toContain('alice');
    expect(shape.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });

  it('gives statements that differ only in literals the same fingerprint', async () => {
    await loadSqlParser();
    const a = sqlShape("SELECT * FROM users WHERE email = 'alice@example.com' AND id = 42");
    const b = sqlShape("select *  from users\nwhere email = 'bob@example.org' and id = 7");
    const other = sqlShape("SELECT * FROM users WHERE name = 'alice@example.com'");
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(other.fingerprint).not.toBe(a.fingerprint);
  });

  it('falls back to the conservative rewrite with no fingerprint for a cut statement', async () => {
    await loadSqlParser();
    // libpg-query returns this parse error as its result, literal included; it must not leak.
    const shape = sqlShape("SELECT * FROM users WHERE email = 'alice@exa");
    expect(shape).toEqual({ normalized: 'SELECT * FROM users WHERE email = ?', fingerprint: '' });
    expect(sqlShape('SELECT * FROM users WHERE id = 12 AND').fingerprint).toBe('');
    expect(sqlShape('SELECT * FROM users WHERE id = 12 AND').normalized).toBe(
      'SELECT * FROM users WHERE id = ? AND',
    );
  });

  it('removes the strings libpg-query leaves in utility statements', async () => {
    await loadSqlParser();
    expect(sqlShape("COMMENT ON TABLE t IS 'secret plans'").normalized).toBe('COMMENT ON TABLE t IS ?');
    expect(sqlShape("PREPARE p AS SELECT * FROM t WHERE a = 'alice'").normalized).toBe(
      'PREPARE p AS SELECT * FROM t WHERE a = ?',
    );
    expect(sqlShape("CREATE ROLE app LOGIN PASSWORD 'apppw'").normalized).toBe(
      'CREATE ROLE app LOGIN PASSWORD $1',
    );
    expect(sqlShape('CREATE TABLE t (v varchar(255) DEFAULT 5)').normalized).toBe(
      'CREATE TABLE t (v varchar(255) DEFAULT 5)',
    );
  });

  it('returns an empty shape for empty text', async () => {
    await loadSqlParser();
    expect(sqlShape('  ')).toEqual({ normalized: '', fingerprint: '' });
  });
});

describe('removeLiterals', () => {
  it.each([
    ["WHERE email = 'alice@example.com'", 'WHERE email = ?'],
    ["WHERE a = 'it''s' AND b = E'x\\'y' AND c = U&'d\\0061t'", 'WHERE a = ? AND b = ? AND c = ?'],
    ["SELECT B'101', X'ff', N'n'", 'SELECT ?, ?, ?'],
    ['SELECT $$dollar $ text$$, $tag$ body $tag$', 'SELECT ?, ?'],
    ['SELECT 12, 3.5e3, .5, 0x1F, 1_000', 'SELECT ?, ?, ?, ?, ?'],
    [
      'SELECT t1.c2 FROM t1 WHERE x = $1 AND "col 9" = 9',
      'SELECT t1.c2 FROM t1 WHERE x = $1 AND "col 9" = ?',
    ],
    ["SELECT 1 -- email 'alice'\n, 2 /* 'bob' /* nested */ */", 'SELECT ? \n, ?  '],
    ["SELECT 'cut here and the rest", 'SELECT ?'],
    ['SELECT $$cut dollar', 'SELECT ?'],
  ])('%s', (input, expected) => {
    expect(removeLiterals(input)).toBe(expected);
  });

  it('can keep numbers', () => {
    expect(removeLiterals("varchar(255) DEFAULT 'x'", { numbers: false })).toBe('varchar(255) DEFAULT ?');
  });
});
