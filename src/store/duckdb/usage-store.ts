import { BIGINT, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { orgId, type OrgId } from '../rows.js';
import type { DuckDBDatabase } from './database.js';

/** One row of `usage_daily`, or an amount to add to one. */
export interface UsageRow {
  orgId: OrgId;
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  signal: string;
  records: number;
  bytes: number;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Adds to the day's row; a first flush of the day creates it. */
const ADD = `INSERT INTO usage_daily (org_id, day, signal, records, bytes)
  VALUES ($org, CAST($day AS DATE), $signal, $records, $bytes)
  ON CONFLICT (org_id, day, signal) DO UPDATE SET
    records = usage_daily.records + excluded.records,
    bytes = usage_daily.bytes + excluded.bytes,
    updated_at = now()`;

const COLUMNS = "org_id, strftime(day, '%Y-%m-%d') AS day, signal, records, bytes";

/**
 * `usage_daily` in the embedded DuckDB file: what the processor's UsageRecorder flushes, what the
 * limit stage starts from after a restart (today's bytes, the series seen recently), and what an
 * org's usage report reads.
 */
export class DuckDBUsageStore {
  constructor(private readonly database: DuckDBDatabase) {}

  /** Adds each entry to its (org, day, signal) row, all in one transaction. */
  async addUsage(entries: readonly UsageRow[]): Promise<void> {
    const merged = mergeRows(entries);
    if (merged.length === 0) return;
    const malformed = merged.find((entry) => !DAY.test(entry.day));
    if (malformed !== undefined)
      throw new Error(`usage day ${JSON.stringify(malformed.day)} is not YYYY-MM-DD`);
    await this.database.withConnection(async (connection) => {
      await connection.run('BEGIN TRANSACTION');
      try {
        for (const entry of merged) {
          if (!DAY.test(entry.day))
            throw new Error(`usage day ${JSON.stringify(entry.day)} is not YYYY-MM-DD`);
          await connection.run(
            ADD,
            {
              org: entry.orgId,
              day: entry.day,
              signal: entry.signal,
              records: BigInt(Math.round(entry.records)),
              bytes: BigInt(Math.round(entry.bytes)),
            },
            { records: BIGINT, bytes: BIGINT },
          );
        }
        await connection.run('COMMIT');
      } catch (error) {
        await connection.run('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }

  /** Every org's usage on one day. */
  async dayUsage(day: string): Promise<UsageRow[]> {
    return this.read(
      `SELECT ${COLUMNS} FROM usage_daily WHERE day = CAST($day AS DATE) ORDER BY org_id, signal`,
      { day },
    );
  }

  /** One org's usage from `fromDay` to `toDay`, both included, oldest first. */
  async usage(org: OrgId, fromDay: string, toDay: string): Promise<UsageRow[]> {
    return this.read(
      `SELECT ${COLUMNS} FROM usage_daily
       WHERE org_id = $org AND day BETWEEN CAST($fromDay AS DATE) AND CAST($toDay AS DATE)
       ORDER BY day, signal`,
      { org, fromDay, toDay },
    );
  }

  /**
   * Each org's metric series with a point at or after `sinceNs`, the most recent `maxPerOrg` of
   * them, newest first: the series the limit stage had admitted before a restart.
   */
  async activeSeries(
    sinceNs: bigint,
    maxPerOrg: number,
  ): Promise<Array<{ orgId: OrgId; seriesId: string; lastSeenNs: bigint }>> {
    return this.database.withConnection(async (connection) => {
      const reader = await connection.runAndReadAll(
        `SELECT org_id, series_id, max(ts) AS last_ts FROM metric_points
         WHERE ts >= $since
         GROUP BY org_id, series_id
         QUALIFY row_number() OVER (PARTITION BY org_id ORDER BY max(ts) DESC, series_id) <= $max
         ORDER BY org_id, last_ts DESC, series_id`,
        { since: sinceNs, max: BigInt(maxPerOrg) },
        { since: BIGINT, max: BIGINT },
      );
      return reader.getRowObjectsJS().map((row) => ({
        orgId: orgId(str(row.org_id)),
        seriesId: str(row.series_id),
        lastSeenNs: BigInt(row.last_ts as bigint),
      }));
    });
  }

  private read(sql: string, params: Record<string, DuckDBValue>): Promise<UsageRow[]> {
    return this.database.withConnection(async (connection: DuckDBConnection) => {
      const reader = await connection.runAndReadAll(sql, params);
      return reader.getRowObjectsJS().map((row) => ({
        orgId: orgId(str(row.org_id)),
        day: str(row.day),
        signal: str(row.signal),
        records: Number(row.records),
        bytes: Number(row.bytes),
      }));
    });
  }
}

/** One entry per key, so a flush runs one statement per row it touches; empty entries are skipped. */
function mergeRows(entries: readonly UsageRow[]): UsageRow[] {
  const byKey = new Map<string, UsageRow>();
  for (const entry of entries) {
    if (entry.records === 0 && entry.bytes === 0) continue;
    const key = `${entry.orgId}\u0000${entry.day}\u0000${entry.signal}`;
    const known = byKey.get(key);
    if (known === undefined) byKey.set(key, { ...entry });
    else {
      known.records += entry.records;
      known.bytes += entry.bytes;
    }
  }
  return [...byKey.values()];
}

/** A VARCHAR column's value as DuckDB's JS conversion gives it. */
function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
