import { blockingTree } from '../blocking-tree.js';
import type { OrgId } from '../rows.js';
import type { Activity, ActivityBucket, ActivityQuery, StoredSession } from '../store.js';
import type { ClickhouseDatabase } from './database.js';
import { orgScoped } from './scope.js';
import { rawSql, sql, type Sql } from './sql.js';

/**
 * The activity view of one instance (sessions of a moment with their blocking tree, and the
 * sessions per state and wait over time), as ../duckdb/telemetry-store.ts computes it.
 */
export async function readActivity(
  database: ClickhouseDatabase,
  org: OrgId,
  entityId: string,
  query: ActivityQuery,
): Promise<Activity> {
  const byDatabase: Sql[] = query.database === undefined ? [] : [sql`database = ${query.database}`];
  // Not max(ts): over no rows ClickHouse's max is 0, not NULL, so "no snapshot" needs no row.
  const found = await database.select<{ ts: string }>(
    sql`SELECT ts ${orgScoped('activity_snapshots', org, [
      sql`entity_id = ${entityId}`,
      sql`ts <= ${query.atNs}`,
    ])} ORDER BY ts DESC LIMIT 1`,
  );
  let snapshot: Activity['snapshot'] = null;
  if (found[0] !== undefined) {
    const snapshotTs = BigInt(found[0].ts);
    const sessions = (
      await database.select<SessionRecord>(
        sql`SELECT ${SESSION_COLUMNS} ${orgScoped('activity_samples', org, [
          sql`entity_id = ${entityId}`,
          sql`ts = ${snapshotTs}`,
          ...byDatabase,
        ])} ORDER BY pid, id`,
      )
    ).map(sessionOf);
    snapshot = { ts: snapshotTs, sessions, blocking: blockingTree(sessions) };
  }
  const range = [sql`entity_id = ${entityId}`, sql`ts >= ${query.fromNs}`, sql`ts < ${query.toNs}`];
  const bucket = sql`intDiv(ts, ${query.stepNs}) * ${query.stepNs}`;
  const snapshotCounts = await database.select<{ a_bucket: string; a_n: string }>(
    sql`SELECT ${bucket} AS a_bucket, count() AS a_n ${orgScoped('activity_snapshots', org, range)}
        GROUP BY a_bucket ORDER BY a_bucket`,
  );
  const counts = await database.select<{ a_bucket: string; state: string; a_wait: string; a_n: string }>(
    sql`SELECT ${bucket} AS a_bucket, state,
               if(wait_event_type = '', 'CPU', wait_event_type) AS a_wait, count() AS a_n
        ${orgScoped('activity_samples', org, [...range, ...byDatabase])}
        GROUP BY a_bucket, state, a_wait ORDER BY a_bucket`,
  );
  const buckets = new Map<bigint, ActivityBucket>();
  for (const r of snapshotCounts) {
    const ts = BigInt(r.a_bucket);
    buckets.set(ts, { ts, snapshots: Number(r.a_n), waits: {}, states: {} });
  }
  for (const r of counts) {
    const entry = buckets.get(BigInt(r.a_bucket));
    if (entry === undefined) continue;
    const average = Number(r.a_n) / entry.snapshots;
    const state = r.state === '' ? 'background' : r.state;
    entry.states[state] = (entry.states[state] ?? 0) + average;
    // "Where did the time go": only sessions running a statement spend it.
    if (state === 'active') entry.waits[r.a_wait] = (entry.waits[r.a_wait] ?? 0) + average;
  }
  return { snapshot, series: [...buckets.values()] };
}

const SESSION_COLUMNS = rawSql(`id, ts, entity_id, pid, database, user_name, application, client_addr,
  backend_type, state, wait_event_type, wait_event, fingerprint, query, duration_ms, xact_duration_ms, blocked_by`);

interface SessionRecord {
  id: string;
  ts: string;
  entity_id: string;
  pid: number;
  database: string;
  user_name: string;
  application: string;
  client_addr: string;
  backend_type: string;
  state: string;
  wait_event_type: string;
  wait_event: string;
  fingerprint: string;
  query: string;
  duration_ms: number | string;
  xact_duration_ms: number | string | null;
  blocked_by: number[];
}

function sessionOf(r: SessionRecord): StoredSession {
  return {
    id: r.id,
    ts: BigInt(r.ts),
    entityId: r.entity_id,
    pid: Number(r.pid),
    database: r.database,
    userName: r.user_name,
    application: r.application,
    clientAddr: r.client_addr,
    backendType: r.backend_type,
    state: r.state,
    waitEventType: r.wait_event_type,
    waitEvent: r.wait_event,
    fingerprint: r.fingerprint,
    query: r.query,
    durationMs: Number(r.duration_ms),
    xactDurationMs: r.xact_duration_ms === null ? null : Number(r.xact_duration_ms),
    blockedBy: r.blocked_by.map(Number),
  };
}
