import { mysqlShape } from '../../../sql/mysql-shape.js';
import { loadSqlParser, removeLiterals, sqlShape } from '../../../sql/postgres-shape.js';

/** Which shaper reads a statement: PostgreSQL's parser, or the MySQL tokenizer (also the generic one). */
export type SqlDialect = 'postgresql' | 'mysql';

/**
 * The dialect of a `db.system` / `db.system.name` value (OTel semconv) or of a Sightline entity id
 * prefix (`postgres:…`, `mysql:…`). Anything else goes to the MySQL tokenizer: it reads any SQL and
 * turns quoted strings and numbers into `?`.
 */
export function dialectOf(system: string | undefined): SqlDialect {
  switch (system?.toLowerCase()) {
    case 'postgresql':
    case 'postgres':
    case 'pg':
      return 'postgresql';
    default:
      return 'mysql';
  }
}

let parserReady = false;
let parserLoad: Promise<void> | undefined;

/**
 * Starts loading PostgreSQL's parser (WebAssembly, ~50 ms) if nothing has, and resolves when it is
 * ready or failed to load (never rejects). Until it is ready, PostgreSQL statements go through the
 * parser's own fallback scrubber (`removeLiterals`), which removes at least as much; a failed load
 * leaves that fallback in place and the next call tries again.
 */
export function warmSqlParser(): Promise<void> {
  parserLoad ??= loadSqlParser().then(
    () => {
      parserReady = true;
    },
    () => {
      parserLoad = undefined;
    },
  );
  return parserLoad;
}

/**
 * Whether a statement can hold a literal at all: a quote, a dollar quote, a comment, or a number
 * that is not part of a name or a `$n` parameter. Statements the collectors already shaped
 * (`WHERE id = $1`, `WHERE id = ?`) have none and are not parsed again.
 */
const MAY_HOLD_LITERAL = /['"#]|--|\/\*|\$[A-Za-z_]*\$|(?<![A-Za-z0-9_$])[0-9]/;

/** The statement with its literals replaced by placeholders, or the same string when it had none. */
export function stripLiterals(statement: string, dialect: SqlDialect): string {
  if (!MAY_HOLD_LITERAL.test(statement)) return statement;
  if (dialect === 'postgresql') {
    return parserReady ? sqlShape(statement).normalized : removeLiterals(statement);
  }
  return mysqlShape(statement).query;
}
