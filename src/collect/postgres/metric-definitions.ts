import type { MetricDefinition } from '../metric-batch.js';

/**
 * The metrics the PostgreSQL collector emits. Names follow OpenTelemetry's `postgresql.*`
 * semantic conventions (the collector-contrib postgresqlreceiver) where one exists; the
 * others use the same prefix and style.
 */
function gauge(name: string, unit: string, description: string): MetricDefinition {
  return { name, unit, description };
}
function counter(name: string, unit: string, description: string): MetricDefinition {
  return { name, unit, description, counter: true };
}

export const PG = {
  up: gauge('postgresql.up', '1', '1 when the collector reached the server in this cycle, else 0.'),
  backends: gauge('postgresql.backends', '{connections}', 'Client connections per database.'),
  connectionMax: gauge('postgresql.connection.max', '{connections}', 'max_connections.'),
  sessionsByState: gauge('postgresql.sessions', '{sessions}', 'Client sessions by state.'),
  sessionsByWait: gauge(
    'postgresql.sessions.waiting',
    '{sessions}',
    'Active client sessions by wait event type (CPU when not waiting).',
  ),
  sessionsBlocked: gauge(
    'postgresql.sessions.blocked',
    '{sessions}',
    'Sessions waiting for a lock another holds.',
  ),
  longestQuery: gauge(
    'postgresql.query.longest_duration',
    's',
    'Age of the longest running active statement.',
  ),
  longestIdleInTransaction: gauge(
    'postgresql.idle_in_transaction.longest_duration',
    's',
    'Longest time a session has been idle inside an open transaction.',
  ),
  oldestTransaction: gauge(
    'postgresql.transaction.oldest_duration',
    's',
    'Age of the oldest open transaction.',
  ),
  commits: counter('postgresql.commits', '{transactions}', 'Committed transactions per database.'),
  rollbacks: counter('postgresql.rollbacks', '{transactions}', 'Rolled back transactions per database.'),
  blksRead: counter(
    'postgresql.blks_read',
    '{blocks}',
    'Blocks read from disk (or the OS cache) per database.',
  ),
  blksHit: counter('postgresql.blks_hit', '{blocks}', 'Blocks found in shared buffers per database.'),
  tupReturned: counter('postgresql.tup_returned', '{tuples}', 'Rows returned by scans per database.'),
  tupFetched: counter('postgresql.tup_fetched', '{tuples}', 'Rows fetched by index scans per database.'),
  tupInserted: counter('postgresql.tup_inserted', '{tuples}', 'Rows inserted per database.'),
  tupUpdated: counter('postgresql.tup_updated', '{tuples}', 'Rows updated per database.'),
  tupDeleted: counter('postgresql.tup_deleted', '{tuples}', 'Rows deleted per database.'),
  deadlocks: counter('postgresql.deadlocks', '{deadlocks}', 'Deadlocks detected per database.'),
  tempFiles: counter('postgresql.temp_files', '{files}', 'Temporary files created per database.'),
  tempBytes: counter('postgresql.temp.io', 'By', 'Bytes written to temporary files per database.'),
  conflicts: counter(
    'postgresql.conflicts',
    '{queries}',
    'Queries cancelled by recovery conflicts per database.',
  ),
  dbSize: gauge('postgresql.db_size', 'By', 'Database size on disk.'),
  blkReadTime: counter(
    'postgresql.blk_read_time',
    'ms',
    'Time backends spent reading blocks (needs track_io_timing).',
  ),
  blkWriteTime: counter(
    'postgresql.blk_write_time',
    'ms',
    'Time backends spent writing blocks (needs track_io_timing).',
  ),
  databaseSessions: counter(
    'postgresql.database.sessions',
    '{sessions}',
    'Sessions established per database, and how many were abandoned, ended by a fatal error or killed (PG 14+).',
  ),
  databaseSessionTime: counter(
    'postgresql.database.session_time',
    'ms',
    'Time sessions spent connected, active and idle in transaction per database (PG 14+).',
  ),
  databaseCount: gauge('postgresql.database.count', '{databases}', 'Databases that accept connections.'),
  checkpoints: counter('postgresql.bgwriter.checkpoint.count', '{checkpoints}', 'Checkpoints by type.'),
  checkpointDuration: counter(
    'postgresql.bgwriter.duration',
    'ms',
    'Time spent writing and syncing checkpoints.',
  ),
  buffersWritten: counter('postgresql.bgwriter.buffers.writes', '{buffers}', 'Buffers written by source.'),
  buffersAllocated: counter('postgresql.bgwriter.buffers.allocated', '{buffers}', 'Buffers allocated.'),
  maxWritten: counter(
    'postgresql.bgwriter.maxwritten',
    '{stops}',
    'Times the background writer stopped because it wrote too many buffers.',
  ),
  walGenerated: counter('postgresql.wal.generated', 'By', 'WAL written since the cluster was created.'),
  walRecords: counter('postgresql.wal.records', '{records}', 'WAL records written (pg_stat_wal).'),
  walFpi: counter('postgresql.wal.full_page_images', '{images}', 'Full page images written to WAL.'),
  replicationDataDelay: gauge(
    'postgresql.replication.data_delay',
    'By',
    'WAL bytes a replica has not replayed yet, per replica.',
  ),
  walLag: gauge(
    'postgresql.wal.lag',
    's',
    'Replication lag per replica and operation (write, flush, replay).',
  ),
  replayDelay: gauge(
    'postgresql.replication.replay_delay',
    's',
    'On a replica: time since the last replayed transaction committed on the primary.',
  ),
  slotRetainedWal: gauge(
    'postgresql.replication_slot.retained_wal',
    'By',
    'WAL kept on disk for a replication slot.',
  ),
  slotActive: gauge('postgresql.replication_slot.active', '1', '1 when something is using the slot.'),
  xidAge: gauge(
    'postgresql.database.xid_age',
    '{transactions}',
    'Age of the oldest unfrozen transaction id.',
  ),
  mxidAge: gauge('postgresql.database.mxid_age', '{multixacts}', 'Age of the oldest unfrozen multixact id.'),
  wraparoundRemaining: gauge(
    'postgresql.database.wraparound_remaining',
    '{transactions}',
    'Transaction ids left before the server stops accepting writes to avoid wraparound.',
  ),
  locks: gauge('postgresql.database.locks', '{locks}', 'Locks by mode and whether they are granted.'),
  tableCount: gauge('postgresql.table.count', '{tables}', 'User tables in the database.'),
  seqScans: counter('postgresql.sequential_scans', '{scans}', 'Sequential scans of a table.'),
  seqTupRead: counter('postgresql.table.seq_tup_read', '{rows}', 'Rows read by sequential scans of a table.'),
  tableIndexScans: counter('postgresql.table.index_scans', '{scans}', 'Index scans on a table.'),
  idxTupFetch: counter('postgresql.table.idx_tup_fetch', '{rows}', 'Rows fetched by index scans of a table.'),
  modifiedSinceAnalyze: gauge(
    'postgresql.table.modified_since_analyze',
    '{rows}',
    'Rows changed since the table was last analyzed.',
  ),
  analyzeCount: counter(
    'postgresql.table.analyze.count',
    '{analyzes}',
    'Analyzes of a table (manual and auto).',
  ),
  blocksRead: counter(
    'postgresql.blocks_read',
    '{blocks}',
    'Blocks of a table, its indexes and TOAST read from disk or found in shared buffers, by source.',
  ),
  rows: gauge('postgresql.rows', '{rows}', 'Live and dead rows of a table.'),
  operations: counter(
    'postgresql.operations',
    '{operations}',
    'Row inserts, updates, deletes and HOT updates.',
  ),
  tableSize: gauge('postgresql.table.size', 'By', 'Table size with its indexes and TOAST.'),
  vacuumCount: counter('postgresql.table.vacuum.count', '{vacuums}', 'Vacuums of a table (manual and auto).'),
  lastVacuumAge: gauge(
    'postgresql.table.vacuum.age',
    's',
    'Time since the table was last vacuumed (manual or auto).',
  ),
  lastAnalyzeAge: gauge(
    'postgresql.table.analyze.age',
    's',
    'Time since the table was last analyzed (manual or auto).',
  ),
  indexScans: counter('postgresql.index.scans', '{scans}', 'Scans of an index.'),
  indexSize: gauge('postgresql.index.size', 'By', 'Index size.'),
  unusedIndexes: gauge(
    'postgresql.index.unused',
    '{indexes}',
    'Indexes never scanned since statistics were reset (excluding unique and primary keys).',
  ),
  unusedIndexSize: gauge('postgresql.index.unused.size', 'By', 'Size of an index never scanned.'),
} as const;
