import type { QueryStatsRecord } from '../../bus/raw-records.js';
import { sqlShape } from './sql-shape.js';
import { StatementDeltaTracker, type StatementCounters } from './statement-deltas.js';
import { asText, type PostgresSession, type ServerInfo } from './session.js';

interface Shape {
  query: string;
  fingerprint: string;
}

/** The most characters of statement text kept: pg_stat_statements texts can be megabytes. */
const MAX_QUERY_CHARS = 16_384;

/**
 * Query analytics for one target: reads pg_stat_statements, turns it into per-interval
 * deltas and shapes them into `raw-queries` records. Texts are read only for statements not
 * seen before (`pg_stat_statements(false)` skips the text file the rest of the time).
 */
export class StatementCollector {
  private readonly tracker = new StatementDeltaTracker();
  private readonly shapes = new Map<string, Shape>();
  private lastAtNs: bigint | undefined;

  constructor(private readonly entityId: string) {}

  async collect(session: PostgresSession, server: ServerInfo, nowNs: bigint): Promise<QueryStatsRecord[]> {
    const epoch = await this.epochOf(session, server);
    const entries = await this.read(session, server);
    await this.learnTexts(session, entries);
    const deltas = this.tracker.next({ epoch, entries });
    const startNs = this.lastAtNs ?? nowNs;
    this.lastAtNs = nowNs;
    return deltas.map((delta) => this.toRecord(delta, startNs, nowNs));
  }

  /** After an outage the baseline is stale; the next snapshot starts a new one. */
  forgetBaseline(): void {
    this.tracker.reset();
    this.lastAtNs = undefined;
  }

  private async epochOf(session: PostgresSession, server: ServerInfo): Promise<string> {
    let reset = '';
    if (server.versionNum >= 140000) {
      const [row] = await session.query(`SELECT stats_reset FROM pg_stat_statements_info`);
      reset = row?.stats_reset instanceof Date ? row.stats_reset.toISOString() : '';
    }
    return `${server.startedAt.toISOString()}|${reset}`;
  }

  private async read(session: PostgresSession, server: ServerInfo): Promise<StatementCounters[]> {
    const v13 = server.versionNum >= 130000;
    const rows = await session.query(`
      SELECT coalesce(d.datname, s.dbid::text) AS database, coalesce(r.rolname, s.userid::text) AS username,
             s.queryid::text AS queryid, s.calls,
             ${v13 ? 's.total_exec_time' : 's.total_time'} AS total_time,
             ${v13 ? 's.min_exec_time' : 's.min_time'} AS min_time,
             ${v13 ? 's.max_exec_time' : 's.max_time'} AS max_time,
             s.rows, s.shared_blks_hit, s.shared_blks_read, s.shared_blks_dirtied, s.shared_blks_written,
             s.temp_blks_read, s.temp_blks_written, ${v13 ? 's.wal_bytes' : '0'} AS wal_bytes
        FROM pg_stat_statements(false) s
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

  private async learnTexts(session: PostgresSession, entries: readonly StatementCounters[]): Promise<void> {
    const present = new Set(entries.map((e) => e.queryId));
    for (const id of this.shapes.keys()) if (!present.has(id)) this.shapes.delete(id);
    const unknown = [...present].filter((id) => !this.shapes.has(id));
    if (unknown.length === 0) return;
    const rows = await session.query(
      `SELECT DISTINCT ON (queryid) queryid::text AS queryid, left(query, ${MAX_QUERY_CHARS}) AS query
         FROM pg_stat_statements(true) WHERE queryid::text = ANY($1)`,
      [unknown],
    );
    for (const row of rows) {
      const text = asText(row.query);
      const shape = sqlShape(text);
      this.shapes.set(asText(row.queryid), {
        query: shape.normalized,
        // A text the parser cannot read (truncated, or not SQL) is still one shape: its queryid.
        fingerprint: shape.fingerprint === '' ? `queryid:${asText(row.queryid)}` : shape.fingerprint,
      });
    }
  }

  private toRecord(delta: StatementCounters, startNs: bigint, endNs: bigint): QueryStatsRecord {
    const shape = this.shapes.get(delta.queryId) ?? { query: '', fingerprint: `queryid:${delta.queryId}` };
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
    };
  }
}
