import type { DuckDBConnection } from '@duckdb/node-api';
import { SightlineError } from '../../core/errors.js';
import { CONTROL_AUTH_MIGRATION } from './control-schema.js';
import { ROLLUP_MIGRATION } from './rollup-schema.js';
import { USAGE_MIGRATION } from './usage-schema.js';

export interface Migration {
  version: number;
  name: string;
  statements: readonly string[];
}

export interface MigrationReport {
  applied: number[];
  current: number;
}

/**
 * The schema, as an append-only list: a released migration is never edited, a change is a
 * new migration. Timestamps are BIGINT nanoseconds since the epoch (UTC), the same in
 * DuckDB and ClickHouse; attribute maps are JSON.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'telemetry tables: logs, spans, metric_points, dead_letters',
    statements: [
      `CREATE TABLE logs (
        id VARCHAR NOT NULL,
        ts BIGINT NOT NULL,
        observed_ts BIGINT NOT NULL,
        org_id VARCHAR NOT NULL,
        service VARCHAR NOT NULL,
        host VARCHAR NOT NULL,
        entity_id VARCHAR NOT NULL,
        severity VARCHAR NOT NULL,
        severity_number INTEGER NOT NULL,
        severity_text VARCHAR NOT NULL,
        body VARCHAR NOT NULL,
        trace_id VARCHAR NOT NULL,
        span_id VARCHAR NOT NULL,
        event_name VARCHAR NOT NULL,
        scope_name VARCHAR NOT NULL,
        attributes JSON NOT NULL,
        resource JSON NOT NULL
      )`,
      `CREATE TABLE spans (
        id VARCHAR NOT NULL,
        start_ts BIGINT NOT NULL,
        end_ts BIGINT NOT NULL,
        duration_ns BIGINT NOT NULL,
        org_id VARCHAR NOT NULL,
        trace_id VARCHAR NOT NULL,
        span_id VARCHAR NOT NULL,
        parent_span_id VARCHAR NOT NULL,
        trace_state VARCHAR NOT NULL,
        service VARCHAR NOT NULL,
        host VARCHAR NOT NULL,
        entity_id VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        status_message VARCHAR NOT NULL,
        scope_name VARCHAR NOT NULL,
        attributes JSON NOT NULL,
        resource JSON NOT NULL,
        events JSON NOT NULL,
        links JSON NOT NULL
      )`,
      `CREATE TABLE metric_points (
        id VARCHAR NOT NULL,
        ts BIGINT NOT NULL,
        start_ts BIGINT NOT NULL,
        org_id VARCHAR NOT NULL,
        entity_id VARCHAR NOT NULL,
        service VARCHAR NOT NULL,
        host VARCHAR NOT NULL,
        series_id VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        unit VARCHAR NOT NULL,
        temporality VARCHAR NOT NULL,
        monotonic BOOLEAN NOT NULL,
        value DOUBLE,
        labels JSON NOT NULL,
        resource JSON NOT NULL,
        scope_name VARCHAR NOT NULL,
        hist_count UBIGINT,
        hist_sum DOUBLE,
        hist_min DOUBLE,
        hist_max DOUBLE,
        bucket_bounds DOUBLE[],
        bucket_counts UBIGINT[]
      )`,
      `CREATE TABLE dead_letters (
        id VARCHAR NOT NULL,
        ts BIGINT NOT NULL,
        org_id VARCHAR NOT NULL,
        source_topic VARCHAR NOT NULL,
        reason VARCHAR NOT NULL,
        headers JSON NOT NULL,
        payload BLOB NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    name: 'control plane: orgs, api_keys',
    statements: [
      `CREATE TABLE orgs (
        id VARCHAR PRIMARY KEY,
        name VARCHAR NOT NULL UNIQUE,
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
      )`,
      `CREATE TABLE api_keys (
        id VARCHAR PRIMARY KEY,
        org_id VARCHAR NOT NULL REFERENCES orgs (id),
        name VARCHAR NOT NULL,
        prefix VARCHAR NOT NULL,
        key_hash VARCHAR NOT NULL UNIQUE,
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
        revoked_at TIMESTAMP
      )`,
    ],
  },
  {
    version: 3,
    name: 'database collectors: query_stats, query_samples, activity_samples, activity_snapshots, entities',
    statements: [
      `CREATE TABLE query_stats (
        id VARCHAR NOT NULL,
        interval_start BIGINT NOT NULL,
        interval_end BIGINT NOT NULL,
        org_id VARCHAR NOT NULL,
        entity_id VARCHAR NOT NULL,
        database VARCHAR NOT NULL,
        user_name VARCHAR NOT NULL,
        query_id VARCHAR NOT NULL,
        fingerprint VARCHAR NOT NULL,
        query VARCHAR NOT NULL,
        calls BIGINT NOT NULL,
        total_time_ms DOUBLE NOT NULL,
        min_time_ms DOUBLE NOT NULL,
        max_time_ms DOUBLE NOT NULL,
        mean_time_ms DOUBLE NOT NULL,
        rows BIGINT NOT NULL,
        shared_blks_hit BIGINT NOT NULL,
        shared_blks_read BIGINT NOT NULL,
        shared_blks_dirtied BIGINT NOT NULL,
        shared_blks_written BIGINT NOT NULL,
        temp_blks_read BIGINT NOT NULL,
        temp_blks_written BIGINT NOT NULL,
        wal_bytes BIGINT NOT NULL
      )`,
      // plan is VARCHAR, not JSON: auto_explain may be configured for text plans, and a sample
      // without a plan has an empty one; the API parses it when it is JSON.
      `CREATE TABLE query_samples (
        id VARCHAR NOT NULL,
        ts BIGINT NOT NULL,
        org_id VARCHAR NOT NULL,
        entity_id VARCHAR NOT NULL,
        database VARCHAR NOT NULL,
        user_name VARCHAR NOT NULL,
        fingerprint VARCHAR NOT NULL,
        query VARCHAR NOT NULL,
        duration_ms DOUBLE NOT NULL,
        plan VARCHAR NOT NULL,
        source VARCHAR NOT NULL
      )`,
      `CREATE TABLE activity_samples (
        id VARCHAR NOT NULL,
        ts BIGINT NOT NULL,
        org_id VARCHAR NOT NULL,
        entity_id VARCHAR NOT NULL,
        pid INTEGER NOT NULL,
        database VARCHAR NOT NULL,
        user_name VARCHAR NOT NULL,
        application VARCHAR NOT NULL,
        client_addr VARCHAR NOT NULL,
        backend_type VARCHAR NOT NULL,
        state VARCHAR NOT NULL,
        wait_event_type VARCHAR NOT NULL,
        wait_event VARCHAR NOT NULL,
        fingerprint VARCHAR NOT NULL,
        query VARCHAR NOT NULL,
        duration_ms DOUBLE NOT NULL,
        xact_duration_ms DOUBLE,
        blocked_by INTEGER[] NOT NULL
      )`,
      // One row per snapshot, sessions or not: without it a server that went idle would show
      // the last snapshot that had sessions as its current state.
      `CREATE TABLE activity_snapshots (
        id VARCHAR NOT NULL,
        ts BIGINT NOT NULL,
        org_id VARCHAR NOT NULL,
        entity_id VARCHAR NOT NULL,
        sessions INTEGER NOT NULL
      )`,
      `CREATE TABLE entities (
        org_id VARCHAR NOT NULL,
        id VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        parent_id VARCHAR NOT NULL,
        version VARCHAR NOT NULL,
        attributes JSON NOT NULL,
        first_seen BIGINT NOT NULL,
        last_seen BIGINT NOT NULL,
        PRIMARY KEY (org_id, id)
      )`,
    ],
  },
  {
    version: 4,
    name: 'query_stats: MySQL/MariaDB digest counters (rows examined, lock time, errors, no index used, tmp disk tables)',
    // DuckDB cannot add a NOT NULL column; the writer always sets these, the default covers older rows.
    statements: [
      'ALTER TABLE query_stats ADD COLUMN rows_examined BIGINT DEFAULT 0',
      'ALTER TABLE query_stats ADD COLUMN lock_time_ms DOUBLE DEFAULT 0',
      'ALTER TABLE query_stats ADD COLUMN errors BIGINT DEFAULT 0',
      'ALTER TABLE query_stats ADD COLUMN no_index_used BIGINT DEFAULT 0',
      'ALTER TABLE query_stats ADD COLUMN tmp_disk_tables BIGINT DEFAULT 0',
    ],
  },
  ROLLUP_MIGRATION,
  USAGE_MIGRATION,
  {
    version: 7,
    name: 'rum_events: browser page views, web vitals, errors, resources, actions',
    // No client address column: the processor locates the address (country, city) and drops it,
    // since an IP address is personal data. value and duration_ms are NULL where a type has none.
    statements: [
      `CREATE TABLE rum_events (
        id VARCHAR NOT NULL,
        ts BIGINT NOT NULL,
        org_id VARCHAR NOT NULL,
        session_id VARCHAR NOT NULL,
        view_id VARCHAR NOT NULL,
        type VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        value DOUBLE,
        url VARCHAR NOT NULL,
        url_path VARCHAR NOT NULL,
        referrer VARCHAR NOT NULL,
        title VARCHAR NOT NULL,
        message VARCHAR NOT NULL,
        stack VARCHAR NOT NULL,
        error_type VARCHAR NOT NULL,
        duration_ms DOUBLE,
        service VARCHAR NOT NULL,
        release VARCHAR NOT NULL,
        user_agent VARCHAR NOT NULL,
        browser_name VARCHAR NOT NULL,
        browser_version VARCHAR NOT NULL,
        os_name VARCHAR NOT NULL,
        os_version VARCHAR NOT NULL,
        device_type VARCHAR NOT NULL,
        country VARCHAR NOT NULL,
        city VARCHAR NOT NULL,
        attributes JSON NOT NULL
      )`,
    ],
  },
  CONTROL_AUTH_MIGRATION,
];

export async function runMigrations(
  connection: DuckDBConnection,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrationReport> {
  await connection.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp
  )`);
  const reader = await connection.runAndReadAll('SELECT version FROM schema_migrations ORDER BY version');
  const done = new Set(reader.getRowsJS().map((row) => Number(row[0])));
  const newest = Math.max(0, ...migrations.map((m) => m.version));
  const stored = Math.max(0, ...done);
  if (stored > newest) {
    throw new SightlineError(
      'SL_ERR_DATA_DIR_UNUSABLE',
      `the data directory holds schema version ${stored}, newer than this Sightline knows (${newest}). ` +
        'Run the newer Sightline that wrote it, or start this one with another --data-dir.',
    );
  }
  const applied: number[] = [];
  for (const migration of migrations) {
    if (done.has(migration.version)) continue;
    await connection.run('BEGIN TRANSACTION');
    try {
      for (const statement of migration.statements) await connection.run(statement);
      await connection.run('INSERT INTO schema_migrations (version, name) VALUES ($version, $name)', {
        version: migration.version,
        name: migration.name,
      });
      await connection.run('COMMIT');
    } catch (error) {
      await connection.run('ROLLBACK');
      throw error;
    }
    applied.push(migration.version);
  }
  return { applied, current: newest };
}
