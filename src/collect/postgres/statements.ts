import type { QueryStatsRecord } from '../../bus/raw-records.js';
import { sqlShape } from '../../sql/postgres-shape.js';
import { StatementDeltaTracker, type StatementCounters } from './statement-deltas.js';
import { asText, type PostgresSession, type ServerInfo } from './session.js';

interface Shape {
  query: string;
  fingerprint: string;
}

/** The most characters of statement text kept: pg_stat_statements texts can be megabytes. */
const MAX_QUERY_CHARS = 16_384;

/** Whether an installed extension version ("1.10") is at least major.minor. */
export function extensionAtLeast(version: string | null, major: number, minor: number): boolean {
  const [m, n] = (version ?? '0.0').split('.').map(Number);
  return (m ?? 0) > major || ((m ?? 0) === major && (n ?? 0) >= minor);
}

function identifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Query analytics for one target: reads pg_stat_statements, turns it into per-interval
 * deltas and shapes them into `raw-queries` records. Texts are read only for statements not
 * seen before (`pg_stat_statements(false)` skips the text file the rest of the time). The
 * columns follow the installed extension's version, which can lag the server's after an upgrade.
 */
export class StatementCollector {
  private readonly tracker = new StatementDeltaTracker();
  /** By database and queryid: a queryid depends on relation oids, so it is only unique per database. */
  private readonly shapes = new Map<string, Shape>();
  private lastAtNs: bigint | undefined;

  constructor(private readonly entityId: string) {}

  /**
   * The records of the interval since the last accepted call. The baseline moves only when
   * `accept` is called, once the records are handed on: records that could not be published
   * are counted again in the next interval rather than lost.
   */
  async collect(
    session: PostgresSession,
    server: ServerInfo,
    nowNs: bigint,
  ): Promise<{ records: QueryStatsRecord[]; accept: () => void }> {
    const extension = server.statementsExtension;
    const view = `${identifier(server.statementsSchema ?? 'public')}.pg_stat_statements`;
    const epoch = await this.epochOf(session, server);
    const entries = await this.read(session, view, extension);
    await this.learnTexts(session, view, entries);
    const { deltas, accept } = this.tracker.preview({ epoch, entries });
    const startNs = this.lastAtNs ?? nowNs;
    return {
      records: deltas.map((delta) => this.toRecord(delta, startNs, nowNs)),
      accept: () => {
        accept();
        this.lastAtNs = nowNs;
      },
    };
  }

  private async epochOf(session: PostgresSession, server: ServerInfo): Promise<string> {
    if (!extensionAtLeast(server.statementsExtension, 1, 9)) return '';
    const schema = identifier(server.statementsSchema ?? 'public');
    const [row] = await session.query(`SELECT stats_reset FROM ${schema}.pg_stat_statements_info`);
    return row?.stats_reset instanceof Date ? row.stats_reset.toISOString() : '';
  }

  private async read(
    session: PostgresSession,
    view: string,
    extension: string | null,
  ): Promise<StatementCounters[]> {
    // 1.8 (PostgreSQL 13) split planning from execution time and added WAL bytes.
    const exec = extensionAtLeast(extension, 1, 8);
    const rows = await session.query(`
      SELECT coalesce(d.datname, s.dbid::text) AS database, coalesce(r.rolname, s.userid::text) AS username,
             s.queryid::text AS queryid, s.calls,
             ${exec ? 's.total_exec_time' : 's.total_time'} AS total_time,
             ${exec ? 's.min_exec_time' : 's.min_time'} AS min_time,
             ${exec ? 's.max_exec_time' : 's.max_time'} AS max_time,
             s.rows, s.shared_blks_hit, s.shared_blks_read, s.shared_blks_dirtied, s.shared_blks_written,
             s.temp_blks_read, s.temp_blks_written, ${exec ? 's.wal_bytes' : '0'} AS wal_bytes
        FROM ${view}(false) s
        LEFT JOIN pg_database d ON d.oid = s.dbid
        LEFT JOIN pg_roles r ON r.oid = s.userid
       WHERE s.queryid IS NOT NULL`);
    return rows.map((row) => ({
      database: asText(row.database),
      user: asText(row.username),
      queryId: asText(row.queryid),
      calls: Number(row.calls),
      totalTimeMs: Number(row.total_time),
      minTimeMs: Number(row.min_time),
      maxTimeMs: Number(row.max_time),
      rows: Number(row.rows),
      sharedBlksHit: Number(row.shared_blks_hit),
      sharedBlksRead: Number(row.shared_blks_read),
      sharedBlksDirtied: Number(row.shared_blks_dirtied),
      sharedBlksWritten: Number(row.shared_blks_written),
      tempBlksRead: Number(row.temp_blks_read),
      tempBlksWritten: Number(row.temp_blks_written),
      walBytes: Number(row.wal_bytes),
    }));
  }

  private async learnTexts(
    session: PostgresSession,
    view: string,
    entries: readonly StatementCounters[],
  ): Promise<void> {
    const present = new Set(entries.map(shapeKey));
    for (const key of this.shapes.keys()) if (!present.has(key)) this.shapes.delete(key);
    const unknown = entries.filter((e) => !this.shapes.has(shapeKey(e)));
    if (unknown.length === 0) return;
    const rows = await session.query(
      `SELECT DISTINCT ON (s.dbid, s.queryid) coalesce(d.datname, s.dbid::text) AS database,
              s.queryid::text AS queryid, left(s.query, ${MAX_QUERY_CHARS}) AS query
         FROM ${view}(true) s LEFT JOIN pg_database d ON d.oid = s.dbid
        WHERE s.queryid::text = ANY($1)`,
      [[...new Set(unknown.map((e) => e.queryId))]],
    );
    for (const row of rows) {
      const shape = sqlShape(asText(row.query));
      this.shapes.set(`${asText(row.database)}\u0000${asText(row.queryid)}`, {
        query: shape.normalized,
        // A text the parser cannot read (truncated, or not SQL) is still one shape: its queryid.
        fingerprint: shape.fingerprint === '' ? `queryid:${asText(row.queryid)}` : shape.fingerprint,
      });
    }
    // A text gone between the two reads (evicted) is not asked for again every interval.
    for (const entry of unknown) {
      if (!this.shapes.has(shapeKey(entry)))
        this.shapes.set(shapeKey(entry), { query: '', fingerprint: `queryid:${entry.queryId}` });
    }
  }

  private toRecord(delta: StatementCounters, startNs: bigint, endNs: bigint): QueryStatsRecord {
    const shape = this.shapes.get(shapeKey(delta)) ?? { query: '', fingerprint: `queryid:${delta.queryId}` };
    return {
      type: 'query_stats',
      entityId: this.entityId,
      database: delta.database,
      user: delta.user,
      queryId: delta.queryId,
      fingerprint: shape.fingerprint,
      query: shape.query,
      intervalStart: startNs.toString(),
      intervalEnd: endNs.toString(),
      calls: delta.calls,
      totalTimeMs: delta.totalTimeMs,
      minTimeMs: delta.minTimeMs,
      maxTimeMs: delta.maxTimeMs,
      meanTimeMs: delta.calls > 0 ? delta.totalTimeMs / delta.calls : 0,
      rows: delta.rows,
      sharedBlksHit: delta.sharedBlksHit,
      sharedBlksRead: delta.sharedBlksRead,
      sharedBlksDirtied: delta.sharedBlksDirtied,
      sharedBlksWritten: delta.sharedBlksWritten,
      tempBlksRead: delta.tempBlksRead,
      tempBlksWritten: delta.tempBlksWritten,
      walBytes: delta.walBytes,
      // pg_stat_statements has no counterpart of these MySQL digest counters.
      rowsExamined: 0,
      lockTimeMs: 0,
      errors: 0,
      noIndexUsed: 0,
      tmpDiskTables: 0,
    };
  }
}

function shapeKey(entry: { database: string; queryId: string }): string {
  return `${entry.database}\u0000${entry.queryId}`;
}
