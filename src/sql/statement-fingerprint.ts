import { mysqlShape } from './mysql-shape.js';
import { sqlShape } from './postgres-shape.js';

/**
 * The fingerprint the database collectors give a statement's shape, for a statement an
 * application reported (a span's `db.query.text` / `db.statement`), so the span can lead to that
 * statement's statistics: PostgreSQL's parser for `postgresql` (the literals or `$n` of the text do
 * not change it; call `loadSqlParser()` first), the MySQL shaper for `mysql` and `mariadb`. '' for
 * other systems and for text that does not parse.
 */
export function statementFingerprint(statement: string, system: string): string {
  if (statement.trim() === '') return '';
  switch (system.toLowerCase()) {
    case 'postgresql':
    case 'postgres':
      return sqlShape(statement).fingerprint;
    case 'mysql':
    case 'mariadb':
      return mysqlShape(statement).fingerprint;
    default:
      return '';
  }
}
