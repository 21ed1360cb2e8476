import {
  BIGINT,
  DuckDBDataChunk,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { WriteResult } from '../store.js';
import type { DuckDBDatabase } from './database.js';

export interface Column<Row> {
  name: string;
  value: (row: Row) => DuckDBValue;
}

export interface TableSpec<Row> {
  table: string;
  /** The column that places a row in time; duplicates are looked for within the batch's range of it. */
  timeColumn: string;
  time: (row: Row) => bigint;
  /** In the table's column order. */
  columns: ReadonlyArray<Column<Row>>;
}

/** DuckDB's vector size: the most rows one data chunk holds. */
const CHUNK_ROWS = 2048;

/**
 * Writes batches into one table through a staging table, in one transaction per batch:
 * rows are appended in data chunks (DuckDB's fast path), then copied over except those
 * whose id the table already holds. Duplicates are searched only within the batch's time
 * range, so the check costs what the batch costs, not what the table holds.
 */
export class TableWriter<Row extends { id: string; orgId: string }> {
  private connection: DuckDBConnection | undefined;
  /** Kept open across batches: creating one is a round trip through the event loop. */
  private appender: DuckDBAppender | undefined;
  private types: DuckDBType[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private readonly staging: string;

  constructor(
    private readonly database: DuckDBDatabase,
    private readonly spec: TableSpec<Row>,
  ) {
    this.staging = `staging_${spec.table}`;
  }

  async open(): Promise<void> {
    const connection = await this.database.connect();
    const described = await connection.runAndReadAll(`DESCRIBE ${this.spec.table}`);
    const actual = described
      .getRowObjectsJS()
      .map((row) => (typeof row.column_name === 'string' ? row.column_name : ''));
    const expected = this.spec.columns.map((column) => column.name);
    if (actual.join(',') !== expected.join(',')) {
      throw new Error(
        `table ${this.spec.table} has columns (${actual.join(', ')}) but the writer expects (${expected.join(', ')})`,
      );
    }
    await connection.run(`CREATE TEMP TABLE ${this.staging} AS SELECT * FROM ${this.spec.table} LIMIT 0`);
    const appender = await connection.createAppender(this.staging, 'main', 'temp');
    this.types = expected.map((_name, index) => appender.columnType(index));
    this.appender = appender;
    this.connection = connection;
  }

  /** Batches on one table are written one after another: a connection runs one transaction. */
  write(rows: readonly Row[]): Promise<WriteResult> {
    const result = this.queue.then(() => this.writeNow(rows));
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Few round trips, because each one waits for the event loop, which under load is busy
   * decoding the next requests: the rows are appended synchronously to the temp staging table
   * (not durable, nothing to commit), then one INSERT, atomic and durable on its own, copies the
   * new ones over; a batch spanning several time ranges takes a transaction around its INSERTs.
   */
  private async writeNow(rows: readonly Row[]): Promise<WriteResult> {
    const connection = this.connection;
    const appender = this.appender;
    if (connection === undefined || appender === undefined) {
      throw new Error(`writer for ${this.spec.table} is not open`);
    }
    const unique = uniqueById(rows);
    if (unique.length === 0) return { inserted: 0, duplicates: 0 };
    const ranges = timeRanges(unique.map(this.spec.time));
    const chunks = this.toChunks(unique);
    const { table, timeColumn } = this.spec;
    const several = ranges.length > 1;
    try {
      for (const chunk of chunks) appender.appendDataChunk(chunk);
      appender.flushSync();
      if (several) await connection.run('BEGIN TRANSACTION');
      let inserted = 0;
      for (const [from, to] of ranges) {
        // With one range (the usual case) every staged row is in it and needs no filter.
        const staged = several ? `s.${timeColumn} BETWEEN $from AND $to` : 'TRUE';
        const insert = await connection.run(
          `INSERT INTO ${table} SELECT s.* FROM ${this.staging} s
           WHERE ${staged} AND NOT EXISTS (
             SELECT 1 FROM ${table} t
             WHERE t.${timeColumn} BETWEEN $from AND $to AND t.id = s.id AND t.org_id = s.org_id
           )`,
          { from, to },
          { from: BIGINT, to: BIGINT },
        );
        inserted += insert.rowsChanged;
      }
      if (several) await connection.run('COMMIT');
      return { inserted, duplicates: rows.length - inserted };
    } catch (error) {
      if (several) await connection.run('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      await connection.run(`DELETE FROM ${this.staging}`).catch(() => undefined);
    }
  }

  private toChunks(rows: readonly Row[]): DuckDBDataChunk[] {
    const chunks: DuckDBDataChunk[] = [];
    for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
      const slice = rows.slice(start, start + CHUNK_ROWS);
      const chunk = DuckDBDataChunk.create(this.types, slice.length);
      chunk.setColumns(this.spec.columns.map((column) => slice.map(column.value)));
      chunks.push(chunk);
    }
    return chunks;
  }
}

/** Rows more than this apart in time are looked up for duplicates separately. */
const RANGE_GAP_NS = 3_600_000_000_000n;

/**
 * The batch's times as ranges with no gap longer than an hour: a stray timestamp (1970, or
 * milliseconds sent as nanoseconds) then adds a small range of its own instead of widening
 * the search for duplicates to the whole table.
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

function uniqueById<Row extends { id: string; orgId: string }>(rows: readonly Row[]): Row[] {
  const seen = new Set<string>();
  const unique: Row[] = [];
  for (const row of rows) {
    const key = `${row.orgId}\u0000${row.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(row);
  }
  return unique;
}
