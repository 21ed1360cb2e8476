import { describe, expect, it } from 'vitest';
import { tokenizeSql, type SqlToken } from './sql-tokens.js';

const kinds = (tokens: SqlToken[]) =>
  tokens.filter((t) => t.kind !== 'whitespace').map((t) => [t.kind, t.text]);

describe('tokenizeSql', () => {
  it('splits a normalized PostgreSQL statement into keywords, names, parameters and operators', () => {
    expect(
      kinds(tokenizeSql('SELECT a.id, count(*) FROM orders a WHERE a.total >= $1 AND note <> $2')),
    ).toEqual([
      ['keyword', 'SELECT'],
      ['identifier', 'a'],
      ['punctuation', '.'],
      ['identifier', 'id'],
      ['punctuation', ','],
      ['identifier', 'count'],
      ['punctuation', '('],
      ['operator', '*'],
      ['punctuation', ')'],
      ['keyword', 'FROM'],
      ['identifier', 'orders'],
      ['identifier', 'a'],
      ['keyword', 'WHERE'],
      ['identifier', 'a'],
      ['punctuation', '.'],
      ['identifier', 'total'],
      ['operator', '>='],
      ['parameter', '$1'],
      ['keyword', 'AND'],
      ['identifier', 'note'],
      ['operator', '<>'],
      ['parameter', '$2'],
    ]);
  });

  it('keeps strings, quoted names and comments whole, with doubled quotes and escapes inside', () => {
    const sql = `select 'it''s -- no comment', E'a\\'b', "Weird ""name""", \`my col\` -- tail\n/* block */ from t`;
    expect(kinds(tokenizeSql(sql))).toEqual([
      ['keyword', 'select'],
      ['string', "'it''s -- no comment'"],
      ['punctuation', ','],
      ['string', "E'a\\'b'"],
      ['punctuation', ','],
      ['quoted-identifier', '"Weird ""name"""'],
      ['punctuation', ','],
      ['quoted-identifier', '`my col`'],
      ['comment', '-- tail'],
      ['comment', '/* block */'],
      ['keyword', 'from'],
      ['identifier', 't'],
    ]);
  });

  it('reads MySQL digest placeholders, numbers and dollar-quoted bodies', () => {
    expect(kinds(tokenizeSql('SELECT ? , 1.5e3, .5, 0x1F, $fn$ body; $$ $fn$'))).toEqual([
      ['keyword', 'SELECT'],
      ['parameter', '?'],
      ['punctuation', ','],
      ['number', '1.5e3'],
      ['punctuation', ','],
      ['number', '.5'],
      ['punctuation', ','],
      ['number', '0x1F'],
      ['punctuation', ','],
      ['string', '$fn$ body; $$ $fn$'],
    ]);
  });

  it('gives back the input exactly when the tokens are joined, even for unterminated text', () => {
    for (const sql of [
      "SELECT 'open string",
      'SELECT "open name',
      'SELECT /* open comment',
      'UPDATE t SET x = x + $1 WHERE id = ANY($2::int[]) RETURNING *;\n\t',
      'ünïcode_名前 = ∑ ~* $$',
      '',
    ]) {
      expect(
        tokenizeSql(sql)
          .map((t) => t.text)
          .join(''),
      ).toBe(sql);
    }
  });
});
