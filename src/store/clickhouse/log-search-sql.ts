import type {
  LogExpr,
  LogField,
  LogGroupField,
  LogQuery,
  LogQueryResult,
  MatchValue,
  PatternPart,
} from '../log-query.js';
import type { OrgId, Severity } from '../rows.js';
import type { StoredLog } from '../store.js';
import type { ClickhouseDatabase } from './database.js';
import { joinSql, rawSql, sql, type Sql } from './sql.js';
import { orgScoped } from './scope.js';

/**
 * Compiles the log search language's AST (../log-query.ts) to ClickHouse SQL with the same
 * meaning as DuckDB's compiler (../duckdb/log-search-sql.ts). Every value from the query —
 * terms, attribute keys, numbers, the cursor — goes through `sql` (rendered by `literal()`);
 * the statement's text comes only from this file's fixed fragments.
 *
 * Engine differences handled here (ClickHouse 18.16, the oldest server supported):
 * - Plain body terms use `positionCaseInsensitiveUTF8` (a substring search, no regex).
 * - Wildcard terms use `match(body, '(?is)(?:…)')`. The group is not decoration: 18.16's
 *   regex optimiser pulls a "required substring" out of the top level of a pattern and looks
 *   for it case-sensitively, ignoring `(?i)` (`match('ONE', '(?i)one')` is 0 there); inside a
 *   group it extracts nothing, so RE2 alone decides, case-insensitively.
 * - Attributes are JSON text and 18.16 has no JSON functions, only `visitParam*` (present in
 *   current releases too, so one dialect): see `attributeExpr` for what that implies.
 * - A condition that is NULL for a record without the attribute is wrapped in ifNull(…, 0), so
 *   it is "no match" and NOT of it is a match, as DuckDB's coalesce(…, false).
 */

export function compileLogQuery(org: OrgId, query: LogQuery): Sql {
  const conditions = [sql`ts >= ${query.fromNs}`, sql`ts < ${query.toNs}`];
  if (query.after !== null && query.aggregate === null) {
    const { ts, id } = query.after;
    // Newest first by (ts, id): the next page starts strictly after the last row shown.
    conditions.push(sql`(ts < ${ts} OR (ts = ${ts} AND id < ${id}))`);
  }
  if (query.filter !== null) conditions.push(compileExpr(query.filter));
  const from = orgScoped('logs', org, conditions);
  // One more than asked for tells whether there is another page.
  const limit = query.limit + 1;
  if (query.aggregate === null) {
    return sql`SELECT ${LOG_COLUMNS} ${from} ORDER BY ts DESC, id DESC LIMIT ${limit}`;
  }
  const select: Sql[] = [];
  const group: Sql[] = [];
  const order: Sql[] = [];
  if (query.aggregate.stepNs !== null) {
    const step = query.aggregate.stepNs;
    select.push(sql`intDiv(ts, ${step}) * ${step} AS bucket`);
    group.push(rawSql('bucket'));
    order.push(rawSql('bucket'));
  }
  query.aggregate.by.forEach((field, index) => {
    const name = rawSql(`g${index}`);
    select.push(sql`${groupExpr(field)} AS ${name}`);
    group.push(name);
  });
  select.push(rawSql('count() AS n'));
  order.push(rawSql('n DESC'), ...query.aggregate.by.map((_, index) => rawSql(`g${index}`)));
  const groupBy = group.length === 0 ? rawSql('') : sql`GROUP BY ${joinSql(group, ', ')}`;
  // Without GROUP BY, count() gives one row even over no records, as DuckDB's does.
  return sql`SELECT ${joinSql(select, ', ')} ${from} ${groupBy} ORDER BY ${joinSql(order, ', ')} LIMIT ${limit}`;
}

/** The columns of a stored log, in the order `storedLogOf` reads them (as DuckDB's LOG_COLUMNS). */
export const LOG_COLUMNS = rawSql(
  `id, ts, observed_ts, service, host, entity_id, severity, severity_number, severity_text,
  body, trace_id, span_id, event_name, scope_name, attributes, resource`,
);

export interface LogRecord {
  id: string;
  ts: string;
  observed_ts: string;
  service: string;
  host: string;
  entity_id: string;
  severity: string;
  severity_number: number;
  severity_text: string;
  body: string;
  trace_id: string;
  span_id: string;
  event_name: string;
  scope_name: string;
  attributes: string;
  resource: string;
}

export function storedLogOf(r: LogRecord): StoredLog {
  return {
    id: r.id,
    ts: BigInt(r.ts),
    observedTs: BigInt(r.observed_ts),
    service: r.service,
    host: r.host,
    entityId: r.entity_id,
    severity: r.severity as Severity,
    severityNumber: Number(r.severity_number),
    severityText: r.severity_text,
    body: r.body,
    traceId: r.trace_id,
    spanId: r.span_id,
    eventName: r.event_name,
    scopeName: r.scope_name,
    attributes: r.attributes,
    resource: r.resource,
  };
}

function compileExpr(expr: LogExpr): Sql {
  switch (expr.kind) {
    case 'and':
    case 'or':
      return sql`(${joinSql(
        expr.operands.map((e) => compileExpr(e)),
        expr.kind === 'and' ? ' AND ' : ' OR ',
      )})`;
    case 'not':
      return sql`(NOT ${compileExpr(expr.operand)})`;
    case 'severity':
      return expr.severities.length === 0 ? rawSql('0') : sql`severity IN (${list(expr.severities)})`;
    case 'compare': {
      const value = sql`toFloat64OrNull(${attributeExpr(expr.field)})`;
      return sql`ifNull(${value} ${compareOp(expr.op)} ${expr.value}, 0)`;
    }
    case 'match':
      return compileMatch(expr.field, expr.value);
  }
}

/** The operators as fixed text (never taken from the query), so `op` cannot carry SQL. */
function compareOp(op: '>' | '>=' | '<' | '<=' | '='): Sql {
  const ops = { '>': '>', '>=': '>=', '<': '<', '<=': '<=', '=': '=' } as const;
  return rawSql(ops[op]);
}

/** Values as `a, b, c` (for IN): each one a literal. */
export function list(values: readonly string[]): Sql {
  return joinSql(
    values.map((v) => sql`${v}`),
    ', ',
  );
}

/** Contains `text`, case-insensitively (a substring, not a pattern). */
export function bodyContains(text: string): Sql {
  return sql`positionCaseInsensitiveUTF8(body, ${text}) > 0`;
}

function compileMatch(field: Exclude<LogField, { kind: 'severity' }>, value: MatchValue): Sql {
  if (field.kind === 'body') {
    // Contains, case-insensitively: a term is a substring, its wildcards stretch inside it
    // (`*` across lines too, as in DuckDB). A lone `*` (or only `*`s) matches every record.
    if (value.kind === 'exact') return bodyContains(value.text);
    if (value.parts.every((part) => 'wildcard' in part && part.wildcard === '*')) return rawSql('1');
    return sql`match(body, ${`(?is)(?:${regexPattern(value.parts)})`})`;
  }
  const column = field.kind === 'column' ? columnName(field.column) : attributeExpr(field);
  // LIKE is case-sensitive and `%` spans newlines (as DuckDB's); `\` escapes %, _ and itself.
  const condition =
    value.kind === 'exact' ? sql`${column} = ${value.text}` : sql`${column} LIKE ${likePattern(value.parts)}`;
  return field.kind === 'attribute' ? sql`ifNull(${condition}, 0)` : condition;
}

/** The stored columns a term can name, as fixed text. */
function columnName(column: Extract<LogField, { kind: 'column' }>['column']): Sql {
  const columns = {
    service: 'service',
    host: 'host',
    entity_id: 'entity_id',
    trace_id: 'trace_id',
    span_id: 'span_id',
  } as const;
  return rawSql(columns[column]);
}

function groupExpr(field: LogGroupField): Sql {
  switch (field.kind) {
    case 'column':
      return columnName(field.column);
    case 'severity':
      return rawSql('severity');
    case 'attribute':
      return attributeExpr(field);
  }
}

/**
 * The attribute's value as text — a string unescaped, a number or boolean as written, an
 * object or array as its JSON text — and NULL when the key is absent or its value is null, as
 * DuckDB's `json_extract_string(attributes, '$."key"')`.
 *
 * 18.16 has no JSON functions (no JSONExtractString; checked on the server), only the
 * `visitParam*` family, which current releases still have. They look for the byte sequence
 * `"key":` in the text, so (differences from DuckDB, none of which Sightline's own writers
 * produce): the key is matched in its JSON-escaped form (we pass it escaped as
 * JSON.stringify writes keys), a space before the colon is not found, and a key of a nested
 * object counts too (the first occurrence wins).
 */
function attributeExpr(field: Extract<LogField, { kind: 'attribute' }>): Sql {
  return jsonText(field.source === 'attributes' ? rawSql('attributes') : rawSql('resource'), field.key);
}

/** A top-level key of the JSON text in `json` as text, NULL when absent (see attributeExpr). */
export function jsonText(json: Sql, keyName: string): Sql {
  const key = JSON.stringify(keyName).slice(1, -1);
  // What the visitParam functions look for; the byte after it tells a string value from others.
  // (Not `visitParamExtractRaw(…)` starting with a quote: on 18.16 it returns '' for a string
  // that ends in an escaped backslash, found by the hostile-input test.)
  const needle = `"${key}":`;
  const first = sql`substring(${json}, position(${json}, ${needle}) + ${Buffer.byteLength(needle)}, 1)`;
  return sql`if(visitParamHas(${json}, ${key}), if(${first} = '"', visitParamExtractString(${json}, ${key}), nullIf(visitParamExtractRaw(${json}, ${key}), 'null')), NULL)`;
}

/** RE2's metacharacters, escaped: the text matches itself (as ../duckdb/log-search-sql.ts). */
export function escapeRegex(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, (c) => `\\${c}`);
}

function regexPattern(parts: readonly PatternPart[]): string {
  return parts
    .map((part) => ('literal' in part ? escapeRegex(part.literal) : part.wildcard === '*' ? '.*' : '.'))
    .join('');
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function likePattern(parts: readonly PatternPart[]): string {
  return parts
    .map((part) => ('literal' in part ? escapeLike(part.literal) : part.wildcard === '*' ? '%' : '_'))
    .join('');
}

interface CountRecord {
  bucket?: string;
  n: string;
  [group: `g${number}`]: string | null;
}

/** Runs a log query; longer than `timeoutMs` is SL_ERR_QUERY_TIMEOUT. Deduplicated by FINAL (orgScoped). */
export async function runLogQuery(
  database: ClickhouseDatabase,
  org: OrgId,
  query: LogQuery,
): Promise<LogQueryResult<StoredLog>> {
  const statement = compileLogQuery(org, query);
  if (query.aggregate === null) {
    const rows = await database.selectWithin<LogRecord>(statement, query.timeoutMs);
    const more = rows.length > query.limit;
    if (more) rows.length = query.limit;
    return { kind: 'logs', logs: rows.map(storedLogOf), more };
  }
  const rows = await database.selectWithin<CountRecord>(statement, query.timeoutMs);
  const more = rows.length > query.limit;
  if (more) rows.length = query.limit;
  const width = query.aggregate.by.length;
  const stepped = query.aggregate.stepNs !== null;
  return {
    kind: 'counts',
    truncated: more,
    buckets: rows.map((r) => ({
      ts: stepped && r.bucket !== undefined ? BigInt(r.bucket) : null,
      group: Array.from({ length: width }, (_, i) => {
        const value = r[`g${i}`];
        return value === null || value === undefined ? null : String(value);
      }),
      count: Number(r.n),
    })),
  };
}
