import type { OrgId } from '../rows.js';
import {
  DEAD_LETTER_HEAD_BYTES,
  MAX_DEAD_LETTER_REASONS,
  type DeadLetterPage,
  type DeadLetterQuery,
} from '../store.js';
import type { ClickhouseDatabase } from './database.js';
import { orgScoped } from './scope.js';
import { sql, type Sql } from './sql.js';

interface DeadLetterRecord {
  id: string;
  dl_ts: string;
  source_topic: string;
  reason: string;
  headers: string;
  dl_size: string;
  dl_head: string;
}

/**
 * The dead-letter reads in ClickHouse 18.16 SQL, the same answers as ../duckdb/dead-letter-sql.ts:
 * a page newest first (keyset on `ts, id`), the total and the counts per reason over the range.
 * The payload leaves the server as the hex of its first bytes: JSON output would mangle bytes
 * that are not UTF-8. Aliases differ from column names: 18.16 substitutes an alias wherever the
 * name appears, WHERE included.
 */
export async function readDeadLetters(
  database: ClickhouseDatabase,
  org: OrgId,
  query: DeadLetterQuery,
): Promise<DeadLetterPage> {
  const inRange: Sql[] = [sql`ts >= ${query.fromNs}`, sql`ts < ${query.toNs}`];
  const page =
    query.after === undefined
      ? inRange
      : [...inRange, sql`(ts < ${query.after.ts} OR (ts = ${query.after.ts} AND id < ${query.after.id}))`];
  const rows = await database.select<DeadLetterRecord>(
    sql`SELECT id, toString(ts) AS dl_ts, source_topic, reason, headers,
               toString(length(payload)) AS dl_size,
               hex(substring(payload, 1, ${DEAD_LETTER_HEAD_BYTES})) AS dl_head
        ${orgScoped('dead_letters', org, page)}
        ORDER BY ts DESC, id DESC LIMIT ${query.limit + 1}`,
  );
  const reasons = await database.select<{ source_topic: string; reason: string; dl_n: string }>(
    sql`SELECT source_topic, reason, toString(count()) AS dl_n ${orgScoped('dead_letters', org, inRange)}
        GROUP BY source_topic, reason ORDER BY count() DESC, source_topic, reason
        LIMIT ${MAX_DEAD_LETTER_REASONS}`,
  );
  const total = await database.select<{ n: string }>(
    sql`SELECT toString(count()) AS n ${orgScoped('dead_letters', org, inRange)}`,
  );
  return {
    records: rows.slice(0, query.limit).map((r) => ({
      id: r.id,
      ts: BigInt(r.dl_ts),
      sourceTopic: r.source_topic,
      reason: r.reason,
      headers: r.headers,
      size: Number(r.dl_size),
      payloadHead: Buffer.from(r.dl_head, 'hex'),
    })),
    more: rows.length > query.limit,
    total: Number(total[0]?.n ?? 0),
    reasons: reasons.map((r) => ({ sourceTopic: r.source_topic, reason: r.reason, count: Number(r.dl_n) })),
  };
}
