import type { MetricBatch } from '../metric-batch.js';
import { PG } from './metric-definitions.js';
import { asText, type PostgresSession, type ServerInfo } from './session.js';

const DB = 'postgresql.database.name';
const SCHEMA = 'postgresql.schema.name';
const TABLE = 'postgresql.table.name';
const INDEX = 'postgresql.index.name';

/** int8/numeric arrive as strings from pg; nulls stay null so no point is made of them. */
function num(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : null;
}
const str = asText;

/** A statistics view's stats_reset as nanoseconds, for counters' start times. */
function resetNs(value: unknown): bigint | undefined {
  return value instanceof Date ? BigInt(value.getTime()) * 1_000_000n : undefined;
}

export interface MetricQueryContext {
  session: PostgresSession;
  server: ServerInfo;
  batch: MetricBatch;
  topTables: number;
}

/**
 * One family of metrics: the SQL it needs depends on the server version. `fast` families run
 * every metrics interval; `slow` ones (sizes and per-table statistics, which touch files or
 * many rows) with the query statistics, every query-stats interval.
 */
export interface MetricFamily {
  name: string;
  cadence: 'fast' | 'slow';
  collect(context: MetricQueryContext): Promise<void>;
}

const sessions: MetricFamily = {
  name: 'sessions',
  cadence: 'fast',
  async collect({ session, batch }) {
    const rows = await session.query(`
      SELECT datname, state, wait_event_type, count(*) AS n,
             count(*) FILTER (WHERE wait_event_type = 'Lock' AND cardinality(pg_blocking_pids(pid)) > 0) AS blocked,
             max(extract(epoch FROM now() - query_start)) FILTER (WHERE state = 'active') AS longest_query,
             max(extract(epoch FROM now() - state_change)) FILTER (WHERE state LIKE 'idle in transaction%') AS longest_idle_xact,
             max(extract(epoch FROM now() - xact_start)) AS oldest_xact
        FROM pg_stat_activity
       WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
       GROUP BY 1, 2, 3`);
    const perDb = new Map<string, number>();
    const perState = new Map<string, number>();
    const perWait = new Map<string, number>();
    let blocked = 0;
    let longestQuery = 0;
    let longestIdle = 0;
    let oldestXact = 0;
    for (const row of rows) {
      const n = num(row.n) ?? 0;
      const db = str(row.datname);
      const state = str(row.state) || 'unknown';
      perDb.set(db, (perDb.get(db) ?? 0) + n);
      perState.set(state, (perState.get(state) ?? 0) + n);
      if (state === 'active') {
        const wait = str(row.wait_event_type) || 'CPU';
        perWait.set(wait, (perWait.get(wait) ?? 0) + n);
      }
      blocked += num(row.blocked) ?? 0;
      longestQuery = Math.max(longestQuery, num(row.longest_query) ?? 0);
      longestIdle = Math.max(longestIdle, num(row.longest_idle_xact) ?? 0);
      oldestXact = Math.max(oldestXact, num(row.oldest_xact) ?? 0);
    }
    for (const [db, n] of perDb) batch.add(PG.backends, n, { [DB]: db });
    // Every state and wait type every cycle, so a series drops to 0 instead of going silent.
    for (const state of [
      'active',
      'idle',
      'idle in transaction',
      'idle in transaction (aborted)',
      'fastpath function call',
      'disabled',
    ])
      perState.set(state, perState.get(state) ?? 0);
    for (const [state, n] of perState) batch.add(PG.sessionsByState, n, { state });
    for (const wait of [
      'CPU',
      'Lock',
      'LWLock',
      'IO',
      'IPC',
      'Client',
      'Timeout',
      'BufferPin',
      'Extension',
      'Activity',
    ])
      perWait.set(wait, perWait.get(wait) ?? 0);
    for (const [wait, n] of perWait) batch.add(PG.sessionsByWait, n, { wait_event_type: wait });
    batch.add(PG.sessionsBlocked, blocked);
    batch.add(PG.longestQuery, longestQuery);
    batch.add(PG.longestIdleInTransaction, longestIdle);
    batch.add(PG.oldestTransaction, oldestXact);
    const max = await session.query(`SELECT current_setting('max_connections')::int AS max`);
    batch.add(PG.connectionMax, num(max[0]?.max));
  },
};

const databases: MetricFamily = {
  name: 'databases',
  cadence: 'fast',
  async collect({ session, server, batch }) {
    const v14 = server.versionNum >= 140000;
    const rows = await session.query(`
      SELECT d.datname, s.xact_commit, s.xact_rollback, s.blks_read, s.blks_hit, s.tup_returned,
             s.tup_fetched, s.tup_inserted, s.tup_updated, s.tup_deleted, s.deadlocks, s.temp_files,
             s.temp_bytes, s.conflicts, s.blk_read_time, s.blk_write_time, s.stats_reset,
             ${v14 ? 's.sessions, s.sessions_abandoned, s.sessions_fatal, s.sessions_killed, s.session_time, s.active_time, s.idle_in_transaction_time,' : ''}
             age(d.datfrozenxid) AS xid_age, mxid_age(d.datminmxid) AS mxid_age
        FROM pg_database d JOIN pg_stat_database s ON s.datid = d.oid
       WHERE d.datallowconn AND NOT d.datistemplate`);
    batch.add(PG.databaseCount, rows.length);
    for (const row of rows) {
      const at = { [DB]: str(row.datname) };
      const since = resetNs(row.stats_reset);
      batch.add(PG.commits, num(row.xact_commit), at, since);
      batch.add(PG.rollbacks, num(row.xact_rollback), at, since);
      batch.add(PG.blksRead, num(row.blks_read), at, since);
      batch.add(PG.blksHit, num(row.blks_hit), at, since);
      batch.add(PG.tupReturned, num(row.tup_returned), at, since);
      batch.add(PG.tupFetched, num(row.tup_fetched), at, since);
      batch.add(PG.tupInserted, num(row.tup_inserted), at, since);
      batch.add(PG.tupUpdated, num(row.tup_updated), at, since);
      batch.add(PG.tupDeleted, num(row.tup_deleted), at, since);
      batch.add(PG.deadlocks, num(row.deadlocks), at, since);
      batch.add(PG.tempFiles, num(row.temp_files), at, since);
      batch.add(PG.tempBytes, num(row.temp_bytes), at, since);
      batch.add(PG.conflicts, num(row.conflicts), at, since);
      batch.add(PG.blkReadTime, num(row.blk_read_time), at, since);
      batch.add(PG.blkWriteTime, num(row.blk_write_time), at, since);
      if (v14) {
        batch.add(PG.databaseSessions, num(row.sessions), { ...at, outcome: 'all' }, since);
        batch.add(PG.databaseSessions, num(row.sessions_abandoned), { ...at, outcome: 'abandoned' }, since);
        batch.add(PG.databaseSessions, num(row.sessions_fatal), { ...at, outcome: 'fatal' }, since);
        batch.add(PG.databaseSessions, num(row.sessions_killed), { ...at, outcome: 'killed' }, since);
        batch.add(PG.databaseSessionTime, num(row.session_time), { ...at, state: 'all' }, since);
        batch.add(PG.databaseSessionTime, num(row.active_time), { ...at, state: 'active' }, since);
        batch.add(
          PG.databaseSessionTime,
          num(row.idle_in_transaction_time),
          { ...at, state: 'idle_in_transaction' },
          since,
        );
      }
      const xidAge = num(row.xid_age);
      batch.add(PG.xidAge, xidAge, at);
      batch.add(PG.mxidAge, num(row.mxid_age), at);
      // The server refuses writes 3 million xids before 2^31 (PG 14+; 1 million before that).
      const stopAt = 2 ** 31 - 1 - (server.versionNum >= 140000 ? 3_000_000 : 1_000_000);
      if (xidAge !== null) batch.add(PG.wraparoundRemaining, Math.max(0, stopAt - xidAge), at);
    }
  },
};

const bgwriter: MetricFamily = {
  name: 'bgwriter',
  cadence: 'fast',
  async collect({ session, server, batch }) {
    if (server.versionNum >= 170000) {
      const [c] = await session.query(
        `SELECT num_timed, num_requested, write_time, sync_time, buffers_written, stats_reset FROM pg_stat_checkpointer`,
      );
      const [b] = await session.query(
        `SELECT buffers_clean, maxwritten_clean, buffers_alloc, stats_reset FROM pg_stat_bgwriter`,
      );
      batch.add(PG.checkpoints, num(c?.num_timed), { type: 'scheduled' }, resetNs(c?.stats_reset));
      batch.add(PG.checkpoints, num(c?.num_requested), { type: 'requested' }, resetNs(c?.stats_reset));
      batch.add(PG.checkpointDuration, num(c?.write_time), { type: 'write' }, resetNs(c?.stats_reset));
      batch.add(PG.checkpointDuration, num(c?.sync_time), { type: 'sync' }, resetNs(c?.stats_reset));
      batch.add(
        PG.buffersWritten,
        num(c?.buffers_written),
        { source: 'checkpoints' },
        resetNs(c?.stats_reset),
      );
      batch.add(PG.buffersWritten, num(b?.buffers_clean), { source: 'bgwriter' }, resetNs(b?.stats_reset));
      batch.add(PG.maxWritten, num(b?.maxwritten_clean), {}, resetNs(b?.stats_reset));
      batch.add(PG.buffersAllocated, num(b?.buffers_alloc), {}, resetNs(b?.stats_reset));
      return;
    }
    const [b] = await session.query(`
      SELECT checkpoints_timed, checkpoints_req, checkpoint_write_time, checkpoint_sync_time,
             buffers_checkpoint, buffers_clean, maxwritten_clean, buffers_backend,
             buffers_backend_fsync, buffers_alloc, stats_reset
        FROM pg_stat_bgwriter`);
    batch.add(PG.checkpoints, num(b?.checkpoints_timed), { type: 'scheduled' }, resetNs(b?.stats_reset));
    batch.add(PG.checkpoints, num(b?.checkpoints_req), { type: 'requested' }, resetNs(b?.stats_reset));
    batch.add(
      PG.checkpointDuration,
      num(b?.checkpoint_write_time),
      { type: 'write' },
      resetNs(b?.stats_reset),
    );
    batch.add(PG.checkpointDuration, num(b?.checkpoint_sync_time), { type: 'sync' }, resetNs(b?.stats_reset));
    batch.add(
      PG.buffersWritten,
      num(b?.buffers_checkpoint),
      { source: 'checkpoints' },
      resetNs(b?.stats_reset),
    );
    batch.add(PG.buffersWritten, num(b?.buffers_clean), { source: 'bgwriter' }, resetNs(b?.stats_reset));
    batch.add(PG.buffersWritten, num(b?.buffers_backend), { source: 'backend' }, resetNs(b?.stats_reset));
    batch.add(
      PG.buffersWritten,
      num(b?.buffers_backend_fsync),
      { source: 'backend_fsync' },
      resetNs(b?.stats_reset),
    );
    batch.add(PG.maxWritten, num(b?.maxwritten_clean), {}, resetNs(b?.stats_reset));
    batch.add(PG.buffersAllocated, num(b?.buffers_alloc), {}, resetNs(b?.stats_reset));
  },
};

const wal: MetricFamily = {
  name: 'wal',
  cadence: 'fast',
  async collect({ session, server, batch }) {
    if (!server.inRecovery) {
      const [row] = await session.query(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') AS bytes`);
      batch.add(PG.walGenerated, num(row?.bytes));
    }
    if (server.versionNum >= 140000) {
      const [row] = await session.query(`SELECT wal_records, wal_fpi, stats_reset FROM pg_stat_wal`);
      batch.add(PG.walRecords, num(row?.wal_records), {}, resetNs(row?.stats_reset));
      batch.add(PG.walFpi, num(row?.wal_fpi), {}, resetNs(row?.stats_reset));
    }
  },
};

const replication: MetricFamily = {
  name: 'replication',
  cadence: 'fast',
  async collect({ session, server, batch }) {
    if (server.inRecovery) {
      const [row] = await session.query(
        // Caught up means no delay, however long ago the primary last committed (postgres_exporter's formula).
        `SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                     ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END AS delay`,
      );
      batch.add(PG.replayDelay, num(row?.delay));
    } else {
      const replicas = await session.query(`
        SELECT application_name, coalesce(host(client_addr), 'local') AS client,
               pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) AS delay_bytes,
               extract(epoch FROM write_lag) AS write_lag, extract(epoch FROM flush_lag) AS flush_lag,
               extract(epoch FROM replay_lag) AS replay_lag
          FROM pg_stat_replication`);
      for (const row of replicas) {
        const at = { replication_client: `${str(row.application_name)}@${str(row.client)}` };
        batch.add(PG.replicationDataDelay, num(row.delay_bytes), at);
        batch.add(PG.walLag, num(row.write_lag) ?? 0, { ...at, operation: 'write' });
        batch.add(PG.walLag, num(row.flush_lag) ?? 0, { ...at, operation: 'flush' });
        batch.add(PG.walLag, num(row.replay_lag) ?? 0, { ...at, operation: 'replay' });
      }
    }
    const position = server.inRecovery ? 'pg_last_wal_receive_lsn()' : 'pg_current_wal_lsn()';
    const slots = await session.query(`
      SELECT slot_name, slot_type, active, pg_wal_lsn_diff(${position}, restart_lsn) AS retained
        FROM pg_replication_slots`);
    for (const row of slots) {
      const at = { slot_name: str(row.slot_name), slot_type: str(row.slot_type) };
      batch.add(PG.slotRetainedWal, num(row.retained), at);
      batch.add(PG.slotActive, row.active === true ? 1 : 0, at);
    }
  },
};

const locks: MetricFamily = {
  name: 'locks',
  cadence: 'fast',
  async collect({ session, batch }) {
    const rows = await session.query(`SELECT mode, granted, count(*) AS n FROM pg_locks GROUP BY 1, 2`);
    for (const row of rows)
      batch.add(PG.locks, num(row.n), { mode: str(row.mode), granted: row.granted === true });
  },
};

/** Database sizes walk every file of every database: once per query-stats interval is enough. */
const databaseSizes: MetricFamily = {
  name: 'database sizes',
  cadence: 'slow',
  async collect({ session, batch }) {
    const rows = await session.query(`
      SELECT datname, pg_database_size(oid) AS size
        FROM pg_database WHERE datallowconn AND NOT datistemplate`);
    for (const row of rows) batch.add(PG.dbSize, num(row.size), { [DB]: str(row.datname) });
  },
};

/** User relations: what pg_stat_user_tables and pg_stat_user_indexes count. */
const USER_SCHEMA = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'`;

/**
 * Tables and indexes of the target's database. The N largest are picked from pg_class alone
 * (relpages: no statistics, no file system calls), and only they get their statistics and exact
 * sizes, read with the functions the pg_stat_* views are made of: the views compute every
 * relation before any filter, which on 10,000 tables is most of the cost.
 */
const tables: MetricFamily = {
  name: 'tables',
  cadence: 'slow',
  async collect({ session, server, batch: all, topTables }) {
    const at = { [DB]: server.database };
    // pg_stat_reset() restarts the counters of this database's tables: that is their start.
    const [reset] = await session.query(
      `SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()`,
    );
    const batch = all.since(resetNs(reset?.stats_reset));
    const [count] = await session.query(
      `SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'm') AND ${USER_SCHEMA}`,
    );
    batch.add(PG.tableCount, num(count?.n), at);
    const rows = await session.query(
      `WITH top AS (
         SELECT c.oid, c.reltoastrelid, n.nspname, c.relname
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p', 'm') AND ${USER_SCHEMA}
          ORDER BY c.relpages DESC, c.oid
          LIMIT $1)
       SELECT t.nspname AS schemaname, t.relname,
              pg_stat_get_numscans(t.oid) AS seq_scan,
              pg_stat_get_tuples_returned(t.oid) AS seq_tup_read,
              ix.idx_scan, coalesce(ix.idx_tup_fetch, 0) + pg_stat_get_tuples_fetched(t.oid) AS idx_tup_fetch,
              pg_stat_get_live_tuples(t.oid) AS n_live_tup, pg_stat_get_dead_tuples(t.oid) AS n_dead_tup,
              pg_stat_get_mod_since_analyze(t.oid) AS n_mod_since_analyze,
              pg_stat_get_tuples_inserted(t.oid) AS n_tup_ins, pg_stat_get_tuples_updated(t.oid) AS n_tup_upd,
              pg_stat_get_tuples_deleted(t.oid) AS n_tup_del, pg_stat_get_tuples_hot_updated(t.oid) AS n_tup_hot_upd,
              pg_stat_get_vacuum_count(t.oid) + pg_stat_get_autovacuum_count(t.oid) AS vacuums,
              pg_stat_get_analyze_count(t.oid) + pg_stat_get_autoanalyze_count(t.oid) AS analyzes,
              extract(epoch FROM now() - greatest(pg_stat_get_last_vacuum_time(t.oid),
                                                  pg_stat_get_last_autovacuum_time(t.oid))) AS vacuum_age,
              extract(epoch FROM now() - greatest(pg_stat_get_last_analyze_time(t.oid),
                                                  pg_stat_get_last_autoanalyze_time(t.oid))) AS analyze_age,
              pg_stat_get_blocks_fetched(t.oid) - pg_stat_get_blocks_hit(t.oid) AS heap_blks_read,
              pg_stat_get_blocks_hit(t.oid) AS heap_blks_hit,
              ix.idx_blks_read, ix.idx_blks_hit,
              pg_stat_get_blocks_fetched(t.reltoastrelid) - pg_stat_get_blocks_hit(t.reltoastrelid) AS toast_blks_read,
              pg_stat_get_blocks_hit(t.reltoastrelid) AS toast_blks_hit,
              tx.idx_blks_read AS tidx_blks_read, tx.idx_blks_hit AS tidx_blks_hit,
              pg_total_relation_size(t.oid) AS size
         FROM top t
         LEFT JOIN LATERAL (
           SELECT sum(pg_stat_get_numscans(i.indexrelid)) AS idx_scan,
                  sum(pg_stat_get_tuples_fetched(i.indexrelid)) AS idx_tup_fetch,
                  sum(pg_stat_get_blocks_fetched(i.indexrelid) - pg_stat_get_blocks_hit(i.indexrelid)) AS idx_blks_read,
                  sum(pg_stat_get_blocks_hit(i.indexrelid)) AS idx_blks_hit
             FROM pg_index i WHERE i.indrelid = t.oid) ix ON true
         LEFT JOIN LATERAL (
           SELECT sum(pg_stat_get_blocks_fetched(i.indexrelid) - pg_stat_get_blocks_hit(i.indexrelid)) AS idx_blks_read,
                  sum(pg_stat_get_blocks_hit(i.indexrelid)) AS idx_blks_hit
             FROM pg_index i WHERE t.reltoastrelid <> 0 AND i.indrelid = t.reltoastrelid) tx ON true`,
      [topTables],
    );
    for (const row of rows) {
      const table = { ...at, [SCHEMA]: str(row.schemaname), [TABLE]: str(row.relname) };
      batch.add(PG.seqScans, num(row.seq_scan), table);
      batch.add(PG.seqTupRead, num(row.seq_tup_read), table);
      batch.add(PG.tableIndexScans, num(row.idx_scan), table);
      batch.add(PG.idxTupFetch, num(row.idx_tup_fetch), table);
      batch.add(PG.modifiedSinceAnalyze, num(row.n_mod_since_analyze), table);
      batch.add(PG.analyzeCount, num(row.analyzes), table);
      for (const source of ['heap', 'idx', 'toast', 'tidx']) {
        batch.add(PG.blocksRead, num(row[`${source}_blks_read`]), { ...table, source: `${source}_read` });
        batch.add(PG.blocksRead, num(row[`${source}_blks_hit`]), { ...table, source: `${source}_hit` });
      }
      batch.add(PG.rows, num(row.n_live_tup), { ...table, state: 'live' });
      batch.add(PG.rows, num(row.n_dead_tup), { ...table, state: 'dead' });
      batch.add(PG.operations, num(row.n_tup_ins), { ...table, operation: 'ins' });
      batch.add(PG.operations, num(row.n_tup_upd), { ...table, operation: 'upd' });
      batch.add(PG.operations, num(row.n_tup_del), { ...table, operation: 'del' });
      batch.add(PG.operations, num(row.n_tup_hot_upd), { ...table, operation: 'hot_upd' });
      batch.add(PG.vacuumCount, num(row.vacuums), table);
      batch.add(PG.lastVacuumAge, num(row.vacuum_age), table);
      batch.add(PG.lastAnalyzeAge, num(row.analyze_age), table);
      batch.add(PG.tableSize, num(row.size), table);
    }
    const indexes = await session.query(
      `WITH top AS (
         SELECT c.oid, n.nspname, t.relname AS table_name, c.relname
           FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_index i ON i.indexrelid = c.oid
           JOIN pg_class t ON t.oid = i.indrelid
          WHERE c.relkind IN ('i', 'I') AND ${USER_SCHEMA}
          ORDER BY c.relpages DESC, c.oid
          LIMIT $1)
       SELECT nspname AS schemaname, table_name AS relname, relname AS indexrelname,
              pg_stat_get_numscans(oid) AS idx_scan, pg_relation_size(oid) AS size
         FROM top`,
      [topTables],
    );
    for (const row of indexes) {
      const index = {
        ...at,
        [SCHEMA]: str(row.schemaname),
        [TABLE]: str(row.relname),
        [INDEX]: str(row.indexrelname),
      };
      batch.add(PG.indexScans, num(row.idx_scan), index);
      batch.add(PG.indexSize, num(row.size), index);
    }
    // Never scanned since statistics were reset; unique and primary keys enforce something, so they count as used.
    const unused = await session.query(
      `WITH unused AS (
         SELECT c.oid, n.nspname, t.relname AS table_name, c.relname, c.relpages
           FROM pg_index i
           JOIN pg_class c ON c.oid = i.indexrelid
           JOIN pg_class t ON t.oid = i.indrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE NOT i.indisunique AND NOT i.indisprimary AND ${USER_SCHEMA}
            AND pg_stat_get_numscans(i.indexrelid) = 0)
       SELECT top.nspname AS schemaname, top.table_name AS relname, top.relname AS indexrelname,
              pg_relation_size(top.oid) AS size, (SELECT count(*) FROM unused) AS total
         FROM (SELECT * FROM unused ORDER BY relpages DESC, oid LIMIT $1) top`,
      [topTables],
    );
    batch.add(PG.unusedIndexes, num(unused[0]?.total) ?? 0, at);
    for (const row of unused) {
      batch.add(PG.unusedIndexSize, num(row.size), {
        ...at,
        [SCHEMA]: str(row.schemaname),
        [TABLE]: str(row.relname),
        [INDEX]: str(row.indexrelname),
      });
    }
  },
};

export const METRIC_FAMILIES: readonly MetricFamily[] = [
  sessions,
  databases,
  bgwriter,
  wal,
  replication,
  locks,
  databaseSizes,
  tables,
];
