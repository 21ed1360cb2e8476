import type { Severity } from '../core/severity.js';

/**
 * The log search language's syntax tree, and the request the store runs. The parser
 * (`src/query/log-language/parser.ts`) builds it; each store compiles it for its engine with parameters only
 * (DuckDB: `src/store/duckdb/log-search-sql.ts`).
 */

/** A stored column a term can name; `entity` is `entity_id`. */
export type LogColumn = 'service' | 'host' | 'entity_id' | 'trace_id' | 'span_id';

export type LogField =
  | { kind: 'column'; column: LogColumn }
  /** Free text and `body:` — contains, case-insensitively. */
  | { kind: 'body' }
  | { kind: 'severity' }
  /** A key of the record's attributes, or with `resource.` of its resource's. */
  | { kind: 'attribute'; source: 'attributes' | 'resource'; key: string };

/** `*` any run of characters, `?` exactly one; everything else is literal. */
export type PatternPart = { literal: string } | { wildcard: '*' | '?' };

export type MatchValue = { kind: 'exact'; text: string } | { kind: 'pattern'; parts: readonly PatternPart[] };

export type CompareOp = '>' | '>=' | '<' | '<=' | '=';

export type LogExpr =
  | { kind: 'and'; operands: readonly LogExpr[] }
  | { kind: 'or'; operands: readonly LogExpr[] }
  | { kind: 'not'; operand: LogExpr }
  /** `field:value`; on the body a substring match, elsewhere the whole value. */
  | { kind: 'match'; field: Exclude<LogField, { kind: 'severity' }>; value: MatchValue }
  /** A number compared with an attribute read as a number; records without it do not match. */
  | {
      kind: 'compare';
      field: Extract<LogField, { kind: 'attribute' }>;
      op: CompareOp;
      value: number;
    }
  /** `severity:warn`, `severity>=warn`: resolved to the severity bands that match. */
  | { kind: 'severity'; severities: readonly Severity[] };

/** A field a count can be grouped by: anything but the body. */
export type LogGroupField = Exclude<LogField, { kind: 'body' }>;

export interface LogAggregate {
  /** Group keys, each with the name the query used for it (the name the buckets show). */
  by: ReadonlyArray<{ name: string; field: LogGroupField }>;
  /** `over 1m`: the step as written; the request layer checks it against the range. */
  over: string | null;
}

export interface ParsedLogQuery {
  /** Null when the query has no terms: every record in the range. */
  filter: LogExpr | null;
  aggregate: LogAggregate | null;
}

/** Where the previous page ended: the last row's time and id (rows are ordered by both). */
export interface LogPosition {
  ts: bigint;
  id: string;
}

/** What the store runs for `POST /api/v1/logs/search`. */
export interface LogQuery {
  fromNs: bigint;
  /** Exclusive. */
  toNs: bigint;
  filter: LogExpr | null;
  /** Counts instead of rows; `stepNs` null means one bucket per group over the whole range. */
  aggregate: { by: readonly LogGroupField[]; stepNs: bigint | null } | null;
  /** Rows (or buckets) to return at most. */
  limit: number;
  /** Rows strictly older than this position (newest first), for the next page. */
  after: LogPosition | null;
  /** The store interrupts the query after this long. */
  timeoutMs: number;
}

export interface LogCountBucket {
  /** The start of the time bucket; null without `over`. */
  ts: bigint | null;
  /** One value per `by` field, in order; null where a record has no such attribute. */
  group: ReadonlyArray<string | null>;
  count: number;
}

export type LogQueryResult<Row> =
  | { kind: 'logs'; logs: Row[]; more: boolean }
  | { kind: 'counts'; buckets: LogCountBucket[]; truncated: boolean };
