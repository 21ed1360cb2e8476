import { BIGINT, VARCHAR, type DuckDBType } from '@duckdb/node-api';
import type { OrgId } from '../rows.js';
import {
  DEAD_LETTER_HEAD_BYTES,
  MAX_DEAD_LETTER_REASONS,
  type DeadLetterPage,
  type DeadLetterQuery,
} from '../store.js';
import type { DuckDBDatabase } from './database.js';
import type { Params } from './log-search-sql.js';
import { big, str } from './values.js';

/**
 * The dead-letter reads as DuckDB SQL: a page newest first (keyset on `ts, id`, so a page does
 * not move when newer records arrive), the total and the counts per reason over the range.
 * Every value is a parameter; the payload leaves the database only as its first bytes.
 */
export async function readDeadLetters(
  database: DuckDBDatabase,
  org: OrgId,
  query: DeadLetterQuery,
): Promise<DeadLetterPage> {
  const params: Params = { org, fromNs: query.fromNs, toNs: query.toNs, limit: BigInt(query.limit + 1) };
  const types: Record<string, DuckDBType> = { fromNs: BIGINT, toNs: BIGINT, limit: BIGINT };
  const inRange = 'org_id = $org AND ts >= $fromNs AND ts < $toNs';
  let page = inRange;
  if (query.after !== undefined) {
    params.afterTs = query.after.ts;
    params.afterId = query.after.id;
    types.afterTs = BIGINT;
    types.afterId = VARCHAR;
    page += ' AND (ts < $afterTs OR (ts = $afterTs AND id < $afterId))';
  }
  return database.query(async (connection) => {
    const rows = (
      await connection.runAndReadAll(
        `SELECT id, ts, source_topic, reason, CAST(headers AS VARCHAR) AS headers,
                octet_length(payload) AS size, hex(payload[1:${DEAD_LETTER_HEAD_BYTES}]) AS head
         FROM dead_letters WHERE ${page}
         ORDER BY ts DESC, id DESC LIMIT $limit`,
        params,
        types,
      )
    ).getRowObjectsJS();
    const pageParams = { org, fromNs: query.fromNs, toNs: query.toNs };
    const pageTypes = { fromNs: BIGINT, toNs: BIGINT };
    const reasons = (
      await connection.runAndReadAll(
        `SELECT source_topic, reason, count(*) AS n FROM dead_letters WHERE ${inRange}
         GROUP BY source_topic, reason ORDER BY n DESC, source_topic, reason
         LIMIT ${MAX_DEAD_LETTER_REASONS}`,
        pageParams,
        pageTypes,
      )
    ).getRowObjectsJS();
    const total = (
      await connection.runAndReadAll(
        `SELECT count(*) AS n FROM dead_letters WHERE ${inRange}`,
        pageParams,
        pageTypes,
      )
    ).getRowObjectsJS();
    return {
      records: rows.slice(0, query.limit).map((r) => ({
        id: str(r.id),
        ts: big(r.ts),
        sourceTopic: str(r.source_topic),
        reason: str(r.reason),
        headers: str(r.headers),
        size: Number(r.size),
        payloadHead: Buffer.from(str(r.head), 'hex'),
      })),
      more: rows.length > query.limit,
      total: Number(total[0]?.n ?? 0),
      reasons: reasons.map((r) => ({
        sourceTopic: str(r.source_topic),
        reason: str(r.reason),
        count: Number(r.n),
      })),
    };
  });
}
