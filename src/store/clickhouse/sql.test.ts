import { describe, expect, it } from 'vitest';
import { identifier, joinSql, literal, rawSql, sql } from './sql.js';

describe('literal', () => {
  it('quotes strings, escaping backslash, quote and control characters', () => {
    expect(literal('plain')).toBe("'plain'");
    expect(literal("it's")).toBe("'it\\'s'");
    expect(literal('a\\b')).toBe("'a\\\\b'");
    expect(literal('line\nnext\r\ttab\u0000nul\u007f')).toBe("'line\\x0anext\\x0d\\x09tab\\x00nul\\x7f'");
    expect(literal('zażółć 日本 🚀')).toBe("'zażółć 日本 🚀'");
    expect(literal('')).toBe("''");
  });

  it('keeps injection attempts inside one literal', () => {
    const attempts = [
      "'; DROP TABLE logs; --",
      "\\'; DROP TABLE logs; --",
      "x' OR 1=1 OR 'a'='a",
      "\\\\' OR 1 --",
      "a\u0000'); SELECT 1; --",
      "' FORMAT JSON",
    ];
    for (const attempt of attempts) {
      const text = literal(attempt);
      // Unescaped, the literal's body must be exactly the input: no quote ends it early.
      expect(text.startsWith("'") && text.endsWith("'")).toBe(true);
      const body = text.slice(1, -1);
      expect(body.replace(/\\\\|\\'/g, '')).not.toContain("'");
      expect(unescape(body)).toBe(attempt);
    }
  });

  it('renders numbers, bigints, booleans and NULL', () => {
    expect(literal(42)).toBe('42');
    expect(literal(-1.5)).toBe('-1.5');
    expect(literal(0.1)).toBe('0.1');
    expect(literal(1e21)).toBe('1e+21');
    expect(literal(2 ** 53 + 2)).toBe('9.007199254740994e+15');
    expect(literal(1e-7)).toBe('1e-7');
    expect(literal(-0)).toBe('-0.');
    expect(literal(NaN)).toBe('nan');
    expect(literal(Infinity)).toBe('inf');
    expect(literal(-Infinity)).toBe('-inf');
    expect(literal(9223372036854775807n)).toBe('9223372036854775807');
    expect(literal(-9223372036854775808n)).toBe('-9223372036854775808');
    expect(literal(true)).toBe('1');
    expect(literal(false)).toBe('0');
    expect(literal(null)).toBe('NULL');
  });

  it('renders bytes as \\x escapes and arrays element by element', () => {
    expect(literal(new Uint8Array([0, 39, 92, 255]))).toBe("'\\x00\\x27\\x5c\\xff'");
    expect(literal([1.5, NaN, -Infinity])).toBe('[1.5, nan, -inf]');
    expect(literal([1n, 18446744073709551615n])).toBe('[1, 18446744073709551615]');
    expect(literal(["a'b", null])).toBe("['a\\'b', NULL]");
    expect(literal([])).toBe('[]');
  });
});

describe('sql', () => {
  it('renders interpolated values as literals and inlines Sql fragments', () => {
    const org = "o'; DROP TABLE logs; --";
    const where = joinSql([sql`org_id = ${org}`, sql`ts >= ${10n}`], ' AND ');
    expect(sql`SELECT count() FROM ${identifier('logs')} WHERE ${where} LIMIT ${5}`.text).toBe(
      "SELECT count() FROM logs WHERE org_id = 'o\\'; DROP TABLE logs; --' AND ts >= 10 LIMIT 5",
    );
    expect(sql`${rawSql('SELECT 1')}`.text).toBe('SELECT 1');
  });

  it('refuses identifiers that are not plain names', () => {
    expect(() => identifier('logs; DROP TABLE x')).toThrow(/not a plain SQL identifier/);
    expect(() => identifier('`logs`')).toThrow();
    expect(() => identifier('')).toThrow();
    expect(identifier('metric_rollups_1m').text).toBe('metric_rollups_1m');
  });
});

/** ClickHouse's reading of the escapes literal() writes. */
function unescape(body: string): string {
  return body.replace(/\\(x[0-9a-f]{2}|.)/g, (_match, escape: string) =>
    escape.length === 3 ? String.fromCharCode(parseInt(escape.slice(1), 16)) : escape,
  );
}
