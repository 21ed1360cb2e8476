import type { ActivitySnapshot, SessionSample } from '../../bus/raw-records.js';
import { sqlShape } from '../../sql/postgres-shape.js';
import { asText, type PostgresSession } from './session.js';

/** Sessions sampled per snapshot at most; the longest-running first. */
const MAX_SESSIONS = 2000;

/**
 * One sample of the server's sessions: everything not idle, with what it waits for, how
 * long it has run, its statement with literals removed, and who blocks it. Blockers that are
 * themselves idle are included, so every lock chain is whole.
 */
export async function sampleActivity(
  session: PostgresSession,
  entityId: string,
  nowNs: bigint,
): Promise<ActivitySnapshot> {
  const rows = await session.query(
    `WITH blocked AS (
       SELECT pid, pg_blocking_pids(pid) AS blockers
         FROM pg_stat_activity WHERE wait_event_type = 'Lock'
     )
     SELECT a.pid, coalesce(a.datname, '') AS datname, coalesce(a.usename, '') AS usename,
            coalesce(a.application_name, '') AS application_name,
            coalesce(host(a.client_addr), '') AS client_addr, coalesce(a.backend_type, '') AS backend_type,
            coalesce(a.state, '') AS state, coalesce(a.wait_event_type, '') AS wait_event_type,
            coalesce(a.wait_event, '') AS wait_event, coalesce(a.query, '') AS query,
            extract(epoch FROM now() - CASE WHEN a.state = 'active' THEN a.query_start ELSE a.state_change END) * 1000 AS duration_ms,
            extract(epoch FROM now() - a.xact_start) * 1000 AS xact_ms,
            coalesce(b.blockers, '{}') AS blocked_by
       FROM pg_stat_activity a LEFT JOIN blocked b ON b.pid = a.pid
      WHERE a.pid <> pg_backend_pid()
        AND (coalesce(a.state, '') NOT IN ('idle', '')
             OR a.pid IN (SELECT unnest(blockers) FROM blocked))
      ORDER BY duration_ms DESC NULLS LAST
      LIMIT ${MAX_SESSIONS}`,
  );
  const sessions: SessionSample[] = rows.map((row) => {
    const shape = sqlShape(asText(row.query));
    return {
      pid: Number(row.pid),
      database: asText(row.datname),
      user: asText(row.usename),
      application: asText(row.application_name),
      clientAddr: asText(row.client_addr),
      backendType: asText(row.backend_type),
      state: asText(row.state),
      waitEventType: asText(row.wait_event_type),
      waitEvent: asText(row.wait_event),
      fingerprint: shape.fingerprint,
      query: shape.normalized,
      durationMs: Math.max(0, Number(row.duration_ms ?? 0)),
      xactDurationMs: row.xact_ms === null ? null : Math.max(0, Number(row.xact_ms)),
      blockedBy: (row.blocked_by as number[]).map(Number),
    };
  });
  return { type: 'activity', entityId, ts: nowNs.toString(), sessions };
}
