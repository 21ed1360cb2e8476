/**
 * SQL text for ClickHouse with every value rendered as a literal by one function.
 *
 * ClickHouse 18.16 has no server-side query parameters (`param_x` is an unknown setting there),
 * so values cannot travel beside the statement as they do with DuckDB's `$name`. Instead the
 * `sql` template renders each interpolated value through `literal()`; SQL fragments are
 * interpolated only as `Sql` objects (built by `sql` itself, by `identifier()` from a fixed
 * pattern, or by the explicitly named `rawSql()`), so a string can never become SQL.
 */

/** What `literal()` renders: the values of the row types in ../rows.ts. */
export type SqlValue = string | number | bigint | boolean | null | Uint8Array | readonly SqlValue[];

/** A piece of SQL text that is known to be SQL, not a value. */
export class Sql {
  /** Use `sql`, `identifier` or `rawSql`; the constructor is not for callers. */
  constructor(readonly text: string) {}

  toString(): string {
    return this.text;
  }
}

/** `sql\`SELECT … WHERE id = ${id}\``: values become literals, nested `Sql` is inlined. */
export function sql(strings: TemplateStringsArray, ...values: ReadonlyArray<SqlValue | Sql>): Sql {
  let text = strings[0] ?? '';
  values.forEach((value, index) => {
    text += (value instanceof Sql ? value.text : literal(value)) + (strings[index + 1] ?? '');
  });
  return new Sql(text);
}

/** Joins fragments with a separator (`, ` for lists, ` AND ` for conditions). */
export function joinSql(parts: readonly Sql[], separator: string): Sql {
  return new Sql(parts.map((part) => part.text).join(separator));
}

/** The explicitly named escape hatch: text the caller vouches for (DDL, fixed clauses). */
export function rawSql(text: string): Sql {
  return new Sql(text);
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A table or column name; only plain names, so the schema's own names and nothing else. */
export function identifier(name: string): Sql {
  if (!IDENTIFIER.test(name)) throw new Error(`not a plain SQL identifier: ${JSON.stringify(name)}`);
  return new Sql(name);
}

/**
 * A value as a ClickHouse literal.
 * - strings: single-quoted; backslash and quote escaped, every control character (and DEL) as
 *   `\xHH`, so no byte can end the literal or the line; other characters pass as UTF-8;
 * - bytes (`Uint8Array`): a string literal with every byte as `\xHH` (exact, for String columns);
 * - numbers: integers and finite floats in JavaScript's shortest round-trip form, NaN as `nan`,
 *   the infinities as `inf` / `-inf` (ClickHouse's float literals);
 * - bigint: decimal digits (Int64/UInt64 columns), booleans 1/0 (UInt8), null `NULL`;
 * - arrays: `[a, b]`, elements rendered by the same rules.
 */
export function literal(value: SqlValue): string {
  if (value === null) return 'NULL';
  switch (typeof value) {
    case 'string':
      return quoteString(value);
    case 'number':
      return numberLiteral(value);
    case 'bigint':
      return value.toString(10);
    case 'boolean':
      return value ? '1' : '0';
    default:
      break;
  }
  if (value instanceof Uint8Array) {
    let text = "'";
    for (const byte of value) text += `\\x${byte.toString(16).padStart(2, '0')}`;
    return `${text}'`;
  }
  if (Array.isArray(value)) return `[${value.map((item: SqlValue) => literal(item)).join(', ')}]`;
  throw new TypeError(`cannot render a ${typeof value} as a ClickHouse literal`);
}

function numberLiteral(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  if (Object.is(value, -0)) return '-0.';
  // An integer beyond 2^53 is a float that happens to be whole: in exponent form ClickHouse
  // reads it as Float64, so an array mixing it with fractions still has a common type.
  if (Number.isInteger(value) && Math.abs(value) >= 2 ** 53) return value.toExponential();
  // String() gives the shortest text that reads back as the same double (`0.1`, `1e-7`).
  return String(value);
}

// eslint-disable-next-line no-control-regex -- the point is to find control characters
const NEEDS_ESCAPE = /[\\'\u0000-\u001f\u007f]/g;

function quoteString(value: string): string {
  return `'${value.replace(NEEDS_ESCAPE, (char) =>
    char === '\\' || char === "'" ? `\\${char}` : `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`,
  )}'`;
}
