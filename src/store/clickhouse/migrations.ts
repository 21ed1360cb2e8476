import { SightlineError } from '../../core/errors.js';
import { MIN_SERVER_VERSION, versionAtLeast, type ClickhouseDatabase } from './database.js';
import * as schema from './schema.js';
import { rawSql, sql } from './sql.js';

export interface Migration {
  version: number;
  name: string;
  /**
   * Each must be idempotent (`CREATE … IF NOT EXISTS`, `ADD COLUMN IF NOT EXISTS`): ClickHouse
   * DDL is not transactional, so a migration cut short is run again from its first statement,
   * and two processes starting at once may both run it.
   */
  statements: readonly string[];
}

export interface MigrationReport {
  applied: number[];
  current: number;
  serverVersion: string;
}

/**
 * Append-only, as in DuckDB: a released migration is never edited, a change is a new one. The
 * numbers are ClickHouse's own (its schema starts at today's DuckDB tables, not at their
 * history).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'telemetry, collector, rollup and usage tables',
    statements: [
      schema.LOGS,
      schema.SPANS,
      schema.SPANS_TRACE_INDEX,
      schema.SPANS_TRACE_INDEX_VIEW,
      schema.METRIC_POINTS,
      schema.DEAD_LETTERS,
      schema.QUERY_STATS,
      schema.QUERY_SAMPLES,
      schema.ACTIVITY_SAMPLES,
      schema.ACTIVITY_SNAPSHOTS,
      schema.ENTITIES,
      schema.ENTITIES_INPUT,
      schema.ENTITIES_VIEW,
      schema.RUM_EVENTS,
      schema.METRIC_ROLLUPS_1M,
      schema.METRIC_ROLLUPS_5M,
      schema.METRIC_ROLLUPS_1H,
      schema.LOG_COUNTS_1M,
      schema.SPAN_LATENCY_1M,
      schema.ROLLUP_PROGRESS,
      schema.USAGE_DAILY,
    ],
  },
];

const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version UInt32,
  name String,
  applied_at DateTime
) ENGINE = MergeTree()
ORDER BY version`;

/**
 * Applies the migrations the database has not recorded, in order, recording each after its
 * last statement. Refuses a server older than MIN_SERVER_VERSION and a database whose schema
 * is newer than this Sightline knows.
 */
export async function runMigrations(
  database: ClickhouseDatabase,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrationReport> {
  const serverVersion = await database.serverVersion();
  if (!versionAtLeast(serverVersion, MIN_SERVER_VERSION)) {
    throw new SightlineError(
      'SL_ERR_CONFIG_INVALID',
      `ClickHouse ${serverVersion} is older than ${MIN_SERVER_VERSION.join('.')}, the oldest Sightline supports; ` +
        'upgrade the server (see src/store/clickhouse/README.md for the tested versions).',
    );
  }
  await database.run(rawSql(MIGRATIONS_TABLE));
  // Two processes migrating at once may both record a version: DISTINCT reads it once.
  const rows = await database.select<{ version: number }>(
    rawSql('SELECT DISTINCT version FROM schema_migrations ORDER BY version'),
  );
  const done = new Set(rows.map((row) => Number(row.version)));
  const newest = Math.max(0, ...migrations.map((m) => m.version));
  const stored = Math.max(0, ...done);
  if (stored > newest) {
    throw new SightlineError(
      'SL_ERR_DATA_DIR_UNUSABLE',
      `the ClickHouse database holds schema version ${stored}, newer than this Sightline knows (${newest}). ` +
        'Run the newer Sightline that wrote it, or point store.database at another database.',
    );
  }
  const applied: number[] = [];
  for (const migration of migrations) {
    if (done.has(migration.version)) continue;
    for (const statement of migration.statements) await database.run(rawSql(statement));
    await database.run(
      sql`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${migration.version}, ${migration.name}, now())`,
    );
    applied.push(migration.version);
  }
  return { applied, current: newest, serverVersion };
}
