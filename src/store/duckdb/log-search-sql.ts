import { BIGINT, DOUBLE, VARCHAR, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { SightlineError, errorMessage } from '../../core/errors.js';
import type {
  LogExpr,
  LogField,
  LogGroupField,
  LogQuery,
  LogQueryResult,
  MatchValue,
  PatternPart,
} from '../log-query.js';
import type { Severity } from '../rows.js';
import type { StoredLog } from '../store.js';
import type { DuckDBDatabase } from './database.js';
import { LOG_COLUMNS, big, storedLogOf, str } from './values.js';

/**
 * Compiles the log search language's AST (src/query/log-language) to DuckDB SQL. Every value
 * from the query — terms, attribute keys (as JSON paths), numbers, the cursor — is a
 * parameter; the SQL text is built only from this file's fixed fragments, so a query string
 * cannot change the statement's shape. Attribute conditions are wrapped in coalesce(…, false)
 * so a record without the attribute is simply "no match", and NOT of it is a match.
 */

export type Params = Record<string, DuckDBValue>;

/** The telemetry store's org scope (`orgScoped`): `FROM logs WHERE org_id = $org AND …`. */
export type OrgScope = (conditions: readonly string[]) => { from: string; params: Params };

export interface CompiledLogQuery {
  sql: string;
  params: Params;
  types: Record<string, DuckDBType>;
}

class ParamList {
  readonly params: Params = {};
  readonly types: Record<string, DuckDBType> = {};
  private count = 0;

  add(value: DuckDBValue, type: DuckDBType): string {
    const name = `p${this.count++}`;
    this.params[name] = value;
    this.types[name] = type;
    return `$${name}`;
  }

  named(name: string, value: DuckDBValue, type: DuckDBType): string {
    this.params[name] = value;
    this.types[name] = type;
    return `$${name}`;
  }
}

export function compileLogQuery(scope: OrgScope, query: LogQuery): CompiledLogQuery {
  const p = new ParamList();
  const conditions = [
    `ts >= ${p.named('fromNs', query.fromNs, BIGINT)}`,
    `ts < ${p.named('toNs', query.toNs, BIGINT)}`,
  ];
  if (query.after !== null && query.aggregate === null) {
    const ts = p.named('afterTs', query.after.ts, BIGINT);
    const id = p.named('afterId', query.after.id, VARCHAR);
    // Newest first by (ts, id): the next page starts strictly after the last row shown.
    conditions.push(`(ts < ${ts} OR (ts = ${ts} AND id < ${id}))`);
  }
  if (query.filter !== null) conditions.push(compileExpr(query.filter, p));
  const { from, params: scopeParams } = scope(conditions);
  // One more than asked for tells whether there is another page.
  const limit = p.named('limit', query.limit + 1, BIGINT);
  let sql: string;
  if (query.aggregate === null) {
    sql = `SELECT ${LOG_COLUMNS} ${from} ORDER BY ts DESC, id DESC LIMIT ${limit}`;
  } else {
    const select: string[] = [];
    const order: string[] = [];
    if (query.aggregate.stepNs !== null) {
      const step = p.named('stepNs', query.aggregate.stepNs, BIGINT);
      select.push(`(ts // ${step}) * ${step} AS bucket`);
      order.push('bucket');
    }
    query.aggregate.by.forEach((field, index) => select.push(`${groupExpr(field, p)} AS g${index}`));
    select.push('count(*) AS n');
    order.push('n DESC', ...query.aggregate.by.map((_, index) => `g${index}`));
    sql = `SELECT ${select.join(', ')} ${from} GROUP BY ALL ORDER BY ${order.join(', ')} LIMIT ${limit}`;
  }
  return { sql, params: { ...scopeParams, ...p.params }, types: p.types };
}

function compileExpr(expr: LogExpr, p: ParamList): string {
  switch (expr.kind) {
    case 'and':
    case 'or':
      return `(${expr.operands.map((e) => compileExpr(e, p)).join(expr.kind === 'and' ? ' AND ' : ' OR ')})`;
    case 'not':
      return `(NOT ${compileExpr(expr.operand, p)})`;
    case 'severity':
      return expr.severities.length === 0
        ? 'false'
        : `severity IN (${expr.severities.map((s: Severity) => p.add(s, VARCHAR)).join(', ')})`;
    case 'compare': {
      const value = `TRY_CAST(${attributeExpr(expr.field, p)} AS DOUBLE)`;
      return `coalesce(${value} ${expr.op} ${p.add(expr.value, DOUBLE)}, false)`;
    }
    case 'match':
      return compileMatch(expr.field, expr.value, p);
  }
}

function compileMatch(
  field: Exclude<LogField, { kind: 'severity' }>,
  value: MatchValue,
  p: ParamList,
): string {
  if (field.kind === 'body') {
    // Contains, case-insensitively: a term is a substring, its wildcards stretch inside it. A
    // regular expression rather than ILIKE: DuckDB runs it about ten times faster over bodies
    // (bench/README.md, query benchmark); 's' lets the wildcards span lines as ILIKE's do.
    if (
      value.kind === 'pattern' &&
      value.parts.every((part) => 'wildcard' in part && part.wildcard === '*')
    ) {
      return 'true';
    }
    const pattern = value.kind === 'exact' ? escapeRegex(value.text) : regexPattern(value.parts);
    return `regexp_matches(body, ${p.add(pattern, VARCHAR)}, 'is')`;
  }
  const column = field.kind === 'column' ? field.column : attributeExpr(field, p);
  const condition =
    value.kind === 'exact'
      ? `${column} = ${p.add(value.text, VARCHAR)}`
      : `${column} LIKE ${p.add(likePattern(value.parts), VARCHAR)} ESCAPE '\\'`;
  return field.kind === 'attribute' ? `coalesce(${condition}, false)` : condition;
}

function groupExpr(field: LogGroupField, p: ParamList): string {
  switch (field.kind) {
    case 'column':
      return field.column;
    case 'severity':
      return 'severity';
    case 'attribute':
      return attributeExpr(field, p);
  }
}

/** The attribute's value as text (numbers and booleans as JSON writes them), NULL when absent. */
function attributeExpr(field: Extract<LogField, { kind: 'attribute' }>, p: ParamList): string {
  // The key is a parameter too: a quoted JSON path member, so dots stay part of the key.
  return `json_extract_string(${field.source}, ${p.add(jsonPath(field.key), VARCHAR)})`;
}

export function jsonPath(key: string): string {
  return `$."${key.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** RE2's metacharacters, escaped: the text matches itself. */
export function escapeRegex(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, (c) => `\\${c}`);
}

function regexPattern(parts: readonly PatternPart[]): string {
  return parts
    .map((part) => ('literal' in part ? escapeRegex(part.literal) : part.wildcard === '*' ? '.*' : '.'))
    .join('');
}

function likePattern(parts: readonly PatternPart[]): string {
  return parts
    .map((part) => ('literal' in part ? escapeLike(part.literal) : part.wildcard === '*' ? '%' : '_'))
    .join('');
}

/** Runs a log query; longer than `timeoutMs` (or the store's query timeout) is SL_ERR_QUERY_TIMEOUT. */
export async function runLogQuery(
  database: DuckDBDatabase,
  scope: OrgScope,
  query: LogQuery,
): Promise<LogQueryResult<StoredLog>> {
  const { sql, params, types } = compileLogQuery(scope, query);
  const rows = await database.query(async (connection) => {
    try {
      const reader = await connection.runAndReadAll(sql, params, types);
      return reader.getRowObjectsJS();
    } catch (error) {
      throw new SightlineError('SL_ERR_STORE_UNAVAILABLE', `the log search failed: ${errorMessage(error)}`, {
        cause: error,
        retryAfterSeconds: 5,
      });
    }
  }, query.timeoutMs);
  const more = rows.length > query.limit;
  if (more) rows.length = query.limit;
  if (query.aggregate === null) return { kind: 'logs', logs: rows.map(storedLogOf), more };
  const width = query.aggregate.by.length;
  const stepped = query.aggregate.stepNs !== null;
  return {
    kind: 'counts',
    truncated: more,
    buckets: rows.map((r) => ({
      ts: stepped ? big(r.bucket) : null,
      group: Array.from({ length: width }, (_, i) => {
        const value = r[`g${i}`];
        return value === null || value === undefined ? null : str(value);
      }),
      count: Number(r.n),
    })),
  };
}
