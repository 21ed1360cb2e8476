import type { EntityRow } from '../rows.js';
import type { WriteResult } from '../store.js';
import type { ClickhouseDatabase } from './database.js';
import { identifier, joinSql, literal, rawSql, sql, type Sql, type SqlValue } from './sql.js';

export interface Column<Row> {
  name: string;
  value: (row: Row) => SqlValue;
}

export interface TableSpec<Row> {
  table: string;
  /** The column that places a row in time (and in a day partition). */
  timeColumn: string;
  time: (row: Row) => bigint;
  /**
   * Sorting-key columns between org_id and the time column, with the row's value: the check
   * for stored ids filters on them too, so it reads only the granules of the batch's services
   * (or metric names, …) in the batch's time ranges.
   */
  keyColumns: ReadonlyArray<{ name: string; value: (row: Row) => string }>;
  /** In the table's column order. */
  columns: ReadonlyArray<Column<Row>>;
}

/** Rows per INSERT statement: one part per day partition per statement, a bounded request body. */
const INSERT_ROWS = 20_000;
/** Rows more than this apart in time are looked up for duplicates separately (as in DuckDB). */
const RANGE_GAP_NS = 3_600_000_000_000n;
/**
 * The check for stored ids lists the batch's ids in the statement, and the statement text (not
 * an INSERT's data) is limited by max_query_size, 256 KiB by default.
 */
const CHECK_SETTINGS = { max_query_size: '16777216' };

/**
 * Writes batches into one ReplacingMergeTree record table, one batch at a time per table.
 *
 * A replay is stored once to every reader without any server-side help: the rows of a
 * replayed batch have the same ids and values, hence the same sorting key as the stored copy,
 * and reads use FINAL (schema.ts). The writer also looks for the batch's ids in the batch's
 * time ranges first and leaves the ones found out of the INSERT: that makes `duplicates` the
 * same number DuckDB reports (rows repeated within the batch plus rows already stored) and keeps
 * replays from adding copies for merges to remove. Two writers racing on the same batch may
 * both insert it; then `inserted` counts it twice, while FINAL still shows it once.
 */
export class TableWriter<Row extends { id: string; orgId: string }> {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly database: ClickhouseDatabase,
    private readonly spec: TableSpec<Row>,
  ) {}

  /** Checks that the table has the columns the writer sends, in its order. */
  async open(): Promise<void> {
    // DESCRIBE lists the columns in table order; 18.16's system.columns has no position column.
    const rows = await this.database.select<{ name: string }>(
      sql`DESCRIBE TABLE ${identifier(this.spec.table)}`,
    );
    const actual = rows.map((row) => row.name);
    const expected = this.spec.columns.map((column) => column.name);
    if (actual.join(',') !== expected.join(',')) {
      throw new Error(
        `ClickHouse table ${this.spec.table} has columns (${actual.join(', ')}) but the writer expects (${expected.join(', ')})`,
      );
    }
  }

  write(rows: readonly Row[]): Promise<WriteResult> {
    const result = this.queue.then(() => this.writeNow(rows));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async writeNow(rows: readonly Row[]): Promise<WriteResult> {
    const unique = uniqueBy(rows, (row) => `${row.orgId}\u0000${row.id}`);
    if (unique.length === 0) return { inserted: 0, duplicates: rows.length };
    const stored = await this.storedIds(unique);
    const fresh = unique.filter((row) => !stored.has(`${row.orgId}\u0000${row.id}`));
    const { table, columns } = this.spec;
    const into = sql`INSERT INTO ${identifier(table)} (${joinSql(
      columns.map((column) => identifier(column.name)),
      ', ',
    )}) VALUES `;
    for (let start = 0; start < fresh.length; start += INSERT_ROWS) {
      const values = fresh
        .slice(start, start + INSERT_ROWS)
        .map((row) => `(${columns.map((column) => literal(column.value(row))).join(', ')})`)
        .join(',\n');
      // Every value above went through literal(); the statement is the INSERT plus those.
      await this.database.run(rawSql(`${into.text}${values}`));
    }
    return { inserted: fresh.length, duplicates: rows.length - fresh.length };
  }

  /** `org \0 id` of the batch's rows the table already holds. */
  private async storedIds(rows: readonly Row[]): Promise<Set<string>> {
    const { table, timeColumn, time, keyColumns } = this.spec;
    const found = new Set<string>();
    const byOrg = groupBy(rows, (row) => row.orgId);
    for (const [org, orgRows] of byOrg) {
      const ranges = timeRanges(orgRows.map(time));
      const conditions: Sql[] = [
        sql`org_id = ${org}`,
        joinSql(
          ranges.map(([from, to]) => sql`${identifier(timeColumn)} BETWEEN ${from} AND ${to}`),
          ' OR ',
        ),
        ...keyColumns.map((key) => sql`${identifier(key.name)} IN (${distinctValues(orgRows, key.value)})`),
        sql`id IN (${distinctValues(orgRows, (row) => row.id)})`,
      ];
      const ids = await this.database.select<{ id: string }>(
        sql`SELECT DISTINCT id FROM ${identifier(table)} WHERE (${joinSql(conditions, ') AND (')})`,
        CHECK_SETTINGS,
      );
      for (const { id } of ids) found.add(`${org}\u0000${id}`);
    }
    return found;
  }
}

/**
 * Entity sightings go to `entities_input`, whose view folds them into aggregate states
 * (schema.ts): no read-modify-write, so replays and concurrent writers merge correctly.
 * `inserted` counts the entities that were not known before the batch, `duplicates` every
 * other row (as DuckDB's upsert reports them).
 */
export class EntityWriter {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly database: ClickhouseDatabase) {}

  async open(): Promise<void> {}

  upsert(rows: readonly EntityRow[]): Promise<WriteResult> {
    const result = this.queue.then(() => this.upsertNow(rows));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async upsertNow(rows: readonly EntityRow[]): Promise<WriteResult> {
    if (rows.length === 0) return { inserted: 0, duplicates: 0 };
    let inserted = 0;
    for (const [org, orgRows] of groupBy(rows, (row) => row.orgId)) {
      const known = await this.database.select<{ id: string }>(
        sql`SELECT DISTINCT id FROM entities WHERE org_id = ${org} AND id IN (${distinctValues(orgRows, (row) => row.id)})`,
        CHECK_SETTINGS,
      );
      const knownIds = new Set(known.map((row) => row.id));
      inserted += new Set(orgRows.map((row) => row.id).filter((id) => !knownIds.has(id))).size;
    }
    const values = rows
      .map(
        (r) =>
          `(${[r.orgId, r.id, r.kind, r.name, r.parentId, r.version, r.attributes, r.firstSeen, r.lastSeen]
            .map(literal)
            .join(', ')})`,
      )
      .join(',\n');
    await this.database.run(
      rawSql(
        `INSERT INTO entities_input (org_id, id, kind, name, parent_id, version, attributes, first_seen_ns, last_seen_ns) VALUES ${values}`,
      ),
    );
    return { inserted, duplicates: rows.length - inserted };
  }
}

/**
 * The batch's times as ranges with no gap longer than an hour: a stray timestamp (1970, or
 * milliseconds sent as nanoseconds) adds a small range of its own instead of widening the
 * search for stored ids to everything in between.
 */
export function timeRanges(times: readonly bigint[]): Array<[bigint, bigint]> {
  const sorted = [...times].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const ranges: Array<[bigint, bigint]> = [];
  for (const ts of sorted) {
    const last = ranges[ranges.length - 1];
    if (last !== undefined && ts - last[1] <= RANGE_GAP_NS) last[1] = ts;
    else ranges.push([ts, ts]);
  }
  return ranges;
}

function distinctValues<Row>(rows: readonly Row[], value: (row: Row) => string): Sql {
  return rawSql([...new Set(rows.map(value))].map(literal).join(', '));
}

function uniqueBy<Row>(rows: readonly Row[], key: (row: Row) => string): Row[] {
  const seen = new Set<string>();
  return rows.filter((row) => {
    const k = key(row);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function groupBy<Row>(rows: readonly Row[], key: (row: Row) => string): Map<string, Row[]> {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const k = key(row);
    const group = groups.get(k);
    if (group === undefined) groups.set(k, [row]);
    else group.push(row);
  }
  return groups;
}
