import type { ActivitySnapshot, SessionSample } from '../../bus/raw-records.js';
import { num, text, type MysqlServerInfo, type MysqlSession } from './session.js';
import { mysqlShape } from '../../sql/mysql-shape.js';

/** Sessions sampled per snapshot at most; the longest-running first. */
const MAX_SESSIONS = 2000;

/** Processlist states that mean waiting for a lock another session holds. */
const LOCK_STATE = /lock/i;

/**
 * One sample of the server's sessions: every session not sleeping, plus sleeping ones inside a
 * transaction (they hold locks) and every blocker, so lock chains are whole. The state follows
 * PostgreSQL's words where they mean the same (`active`, `idle in transaction`), so one
 * activity view serves both engines; the processlist STATE is the wait event.
 */
export async function sampleMysqlActivity(
  session: MysqlSession,
  server: MysqlServerInfo,
  entityId: string,
  nowNs: bigint,
): Promise<ActivitySnapshot> {
  const processes = await session.query(
    `SELECT ID AS id, USER AS user_name, HOST AS host, DB AS db, COMMAND AS command, TIME AS time_s,
            ${server.flavor === 'mariadb' ? 'TIME_MS' : 'TIME * 1000'} AS time_ms, STATE AS state, INFO AS info
       FROM information_schema.PROCESSLIST
      WHERE ID <> CONNECTION_ID()`,
  );
  const transactions = await session.query(
    `SELECT trx_mysql_thread_id AS thread, TIMESTAMPDIFF(MICROSECOND, trx_started, NOW(6)) / 1000 AS xact_ms
       FROM information_schema.INNODB_TRX`,
  );
  const waits = await session.query(lockWaitsSql(server));
  const xactMs = new Map(transactions.map((t) => [Number(t.thread), num(t.xact_ms) ?? 0]));
  const blockedBy = new Map<number, number[]>();
  const blockers = new Set<number>();
  for (const wait of waits) {
    const waiting = Number(wait.waiting);
    const blocking = Number(wait.blocking);
    blockedBy.set(waiting, [...(blockedBy.get(waiting) ?? []), blocking]);
    blockers.add(blocking);
  }
  const sessions: SessionSample[] = [];
  for (const row of processes) {
    const id = Number(row.id);
    const command = text(row.command);
    const inTransaction = xactMs.has(id);
    const state = stateOf(command, text(row.info), inTransaction);
    if (state === 'idle' && !blockers.has(id)) continue;
    const waitEvent = text(row.state);
    const blocked = blockedBy.get(id) ?? [];
    const shape = mysqlShape(text(row.info));
    const [clientAddr = ''] = text(row.host).split(':');
    sessions.push({
      pid: id,
      database: text(row.db),
      user: text(row.user_name),
      application: '',
      clientAddr,
      backendType: command === 'Daemon' || text(row.user_name) === 'system user' ? 'background' : 'client',
      state,
      waitEventType: waitTypeOf(waitEvent, blocked.length > 0),
      waitEvent,
      fingerprint: shape.query === '' ? '' : shape.fingerprint,
      query: shape.query,
      durationMs: Math.max(0, num(row.time_ms) ?? (num(row.time_s) ?? 0) * 1000),
      xactDurationMs: inTransaction ? Math.max(0, xactMs.get(id) ?? 0) : null,
      blockedBy: [...new Set(blocked)],
    });
  }
  sessions.sort((a, b) => b.durationMs - a.durationMs);
  return { type: 'activity', entityId, ts: nowNs.toString(), sessions: sessions.slice(0, MAX_SESSIONS) };
}

/**
 * The processlist STATE as a wait type in PostgreSQL's words, where one fits: blocked on a
 * lock, or sleeping on purpose (SLEEP(), PostgreSQL's `Timeout`); otherwise on CPU ('').
 */
export function waitTypeOf(state: string, blocked: boolean): string {
  if (blocked || LOCK_STATE.test(state)) return 'Lock';
  if (state === 'User sleep') return 'Timeout';
  return '';
}

/** A processlist COMMAND in PostgreSQL's state words where they mean the same thing. */
export function stateOf(command: string, info: string, inTransaction: boolean): string {
  if (command === 'Sleep') return inTransaction ? 'idle in transaction' : 'idle';
  if (command === 'Query' || command === 'Execute' || info !== '') return 'active';
  return command.toLowerCase();
}

/**
 * Who waits for whom on InnoDB row locks, as thread (processlist) ids. MySQL 8 moved the lock
 * waits to performance_schema.data_lock_waits; MariaDB and MySQL 5.7 keep INNODB_LOCK_WAITS.
 */
export function lockWaitsSql(server: Pick<MysqlServerInfo, 'flavor' | 'versionNumber'>): string {
  const waits =
    server.flavor === 'mysql' && server.versionNumber >= 80000
      ? `performance_schema.data_lock_waits w
           JOIN information_schema.INNODB_TRX r ON r.trx_id = w.REQUESTING_ENGINE_TRANSACTION_ID
           JOIN information_schema.INNODB_TRX b ON b.trx_id = w.BLOCKING_ENGINE_TRANSACTION_ID`
      : `information_schema.INNODB_LOCK_WAITS w
           JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id
           JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id`;
  return `SELECT r.trx_mysql_thread_id AS waiting, b.trx_mysql_thread_id AS blocking FROM ${waits}`;
}
