import { removeLiterals, sqlShape } from '../../../sql/postgres-shape.js';

/**
 * Literal removal for what a server log carries besides the statement itself: bind parameters,
 * key values of constraint errors, the SQL in a CONTEXT line. Error messages are left as they
 * are (`invalid input syntax for type integer: "abc"` keeps its value).
 */

export interface RedactedStatement {
  /** Literals replaced by $n (or `?` when the text does not parse), unless keepLiterals. */
  statement: string;
  fingerprint: string;
}

/** Requires `await loadSqlParser()` before the first call. */
export function redactStatement(text: string, keepLiterals: boolean): RedactedStatement {
  if (text === '') return { statement: '', fingerprint: '' };
  const shape = sqlShape(text);
  return { statement: keepLiterals ? text : shape.normalized, fingerprint: shape.fingerprint };
}

/**
 * DETAIL lines that hold values: `parameters: $1 = 'alice@example.com', $2 = '5'` (bind
 * parameters logged with a statement), `Key (email)=(alice@example.com) already exists.`,
 * `Failing row contains (1, alice@example.com, null).`
 */
export function redactDetail(detail: string): string {
  if (detail === '') return detail;
  return detail
    .split('\n')
    .map((line) => {
      if (line.startsWith('parameters: ')) return `parameters: ${removeLiterals(line.slice(12))}`;
      const key = /^(Key \((?:[^)]|\)(?!=\())*\))=\((.*)\)( .*)?$/.exec(line);
      if (key !== null) return `${key[1] ?? ''}=(?)${key[3] ?? ''}`;
      if (line.startsWith('Failing row contains (')) return 'Failing row contains (?).';
      return line;
    })
    .join('\n');
}

/**
 * CONTEXT lines: `SQL statement "SELECT 1/0"` (PL/pgSQL), `unnamed portal parameter $1 = '…'`,
 * `COPY t, line 1: "1,alice@example.com"`. Quoted strings elsewhere become `?`.
 */
export function redactContext(context: string): string {
  if (context === '') return context;
  return context
    .split('\n')
    .map((line) => {
      const sql = /^(SQL (?:statement|expression) ")([\s\S]*)(")$/.exec(line);
      if (sql !== null) return `${sql[1] ?? ''}${sqlShape(sql[2] ?? '').normalized}${sql[3] ?? ''}`;
      const copy = /^(COPY [^,]*, line \d+(?:, column [^:]*)?): /.exec(line);
      if (copy !== null) return `${copy[1] ?? ''}: ?`;
      return line.replace(/'(?:[^']|'')*'?/g, '?');
    })
    .join('\n');
}
