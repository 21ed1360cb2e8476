import { orgId, type OrgId } from '../rows.js';
import type { ClickhouseDatabase } from './database.js';
import { acrossOrgs, orgScoped } from './scope.js';
import { joinSql, rawSql, sql, type Sql } from './sql.js';

/** One row of `usage_daily`, or an amount to add to one (the shape of ../duckdb/usage-store.ts). */
export interface UsageRow {
  orgId: OrgId;
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  signal: string;
  records: number;
  bytes: number;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * A real calendar day in ClickHouse's Date range. DuckDB's CAST refuses `2024-02-30`; 18.16's
 * toDate reads it without complaint as some other day, so the check happens here.
 */
function checkDay(day: string): void {
  const valid =
    DAY.test(day) &&
    day >= '1970-01-01' &&
    day <= '2105-12-31' &&
    new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) === day;
  if (!valid) throw new Error(`usage day ${JSON.stringify(day)} is not YYYY-MM-DD`);
}

/** Sums per key: a SummingMergeTree adds rows only when parts merge, so every read sums. */
const COLUMNS = rawSql(
  'org_id, toString(day) AS u_day, signal, sum(records) AS u_records, sum(bytes) AS u_bytes',
);
const GROUP = rawSql('GROUP BY org_id, day, signal');

interface UsageRecord {
  org_id: string;
  u_day: string;
  signal: string;
  u_records: string;
  u_bytes: string;
}

/**
 * `usage_daily` in ClickHouse (schema.ts USAGE_DAILY, a SummingMergeTree keyed by org, day and
 * signal): the same reads and writes as DuckDBUsageStore. A flush is one INSERT of increments
 * instead of DuckDB's read-modify-write upsert: rows with the same key add up when parts merge,
 * and reads `sum()` what is not merged yet.
 */
export class ClickhouseUsageStore {
  constructor(private readonly database: ClickhouseDatabase) {}

  /**
   * Adds each entry to its (org, day, signal) row. One INSERT: atomic within a month partition;
   * a flush spanning two months is two parts, each stored or not on its own (DuckDB: one
   * transaction). A malformed day refuses the whole flush before anything is sent.
   */
  async addUsage(entries: readonly UsageRow[]): Promise<void> {
    const merged = mergeRows(entries);
    if (merged.length === 0) return;
    for (const entry of merged) checkDay(entry.day);
    const values = merged.map(
      (e) =>
        sql`(${e.orgId}, toDate(${e.day}), ${e.signal}, ${BigInt(Math.round(e.records))}, ${BigInt(Math.round(e.bytes))})`,
    );
    await this.database.run(
      sql`INSERT INTO usage_daily (org_id, day, signal, records, bytes) VALUES ${joinSql(values, ', ')}`,
    );
  }

  /** Every org's usage on one day. */
  async dayUsage(day: string): Promise<UsageRow[]> {
    checkDay(day);
    return this.read(
      sql`SELECT ${COLUMNS} ${acrossOrgs('usage_daily', [sql`day = toDate(${day})`])} ${GROUP}
          ORDER BY org_id, signal`,
    );
  }

  /** One org's usage from `fromDay` to `toDay`, both included, oldest first. */
  async usage(org: OrgId, fromDay: string, toDay: string): Promise<UsageRow[]> {
    checkDay(fromDay);
    checkDay(toDay);
    return this.read(
      sql`SELECT ${COLUMNS} ${orgScoped('usage_daily', org, [
        sql`day >= toDate(${fromDay})`,
        sql`day <= toDate(${toDay})`,
      ])} ${GROUP} ORDER BY day, signal`,
    );
  }

  /**
   * Each org's metric series with a point at or after `sinceNs`, the most recent `maxPerOrg` of
   * them, newest first. `LIMIT n BY org_id` after the ORDER BY is DuckDB's QUALIFY row_number()
   * (18.16 has no window functions).
   */
  async activeSeries(
    sinceNs: bigint,
    maxPerOrg: number,
  ): Promise<Array<{ orgId: OrgId; seriesId: string; lastSeenNs: bigint }>> {
    if (!Number.isSafeInteger(maxPerOrg) || maxPerOrg < 0)
      throw new Error(`maxPerOrg must be a whole number ≥ 0, not ${maxPerOrg}`);
    if (maxPerOrg === 0) return [];
    const rows = await this.database.select<{ org_id: string; series_id: string; u_last_ts: string }>(
      sql`SELECT org_id, series_id, max(ts) AS u_last_ts ${acrossOrgs('metric_points', [sql`ts >= ${sinceNs}`])}
          GROUP BY org_id, series_id
          ORDER BY org_id, u_last_ts DESC, series_id
          LIMIT ${maxPerOrg} BY org_id`,
    );
    return rows.map((row) => ({
      orgId: orgId(row.org_id),
      seriesId: row.series_id,
      lastSeenNs: BigInt(row.u_last_ts),
    }));
  }

  private async read(statement: Sql): Promise<UsageRow[]> {
    const rows = await this.database.select<UsageRecord>(statement);
    return rows.map((row) => ({
      orgId: orgId(row.org_id),
      day: row.u_day,
      signal: row.signal,
      records: Number(row.u_records),
      bytes: Number(row.u_bytes),
    }));
  }
}

/** One entry per key, so a flush inserts one row per key it touches; empty entries are skipped. */
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
