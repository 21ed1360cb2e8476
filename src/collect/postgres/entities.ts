import type { EntityRecord } from '../../bus/raw-records.js';
import { asText, type PostgresSession, type ServerInfo } from './session.js';
import { databaseEntityId, type PostgresTarget } from './target.js';

/** Settings a DBA looks at first, shown with the instance. */
const SETTINGS = [
  'max_connections',
  'shared_buffers',
  'effective_cache_size',
  'work_mem',
  'maintenance_work_mem',
  'wal_level',
  'max_wal_size',
  'checkpoint_timeout',
  'autovacuum',
  'autovacuum_freeze_max_age',
  'random_page_cost',
  'shared_preload_libraries',
  'track_io_timing',
  'log_min_duration_statement',
  'log_destination',
  'logging_collector',
  'pg_stat_statements.max',
  'pg_stat_statements.track',
  'server_encoding',
  'TimeZone',
];

/** The instance, its databases and its host, as the collector sees them now. */
export async function discoverEntities(
  session: PostgresSession,
  server: ServerInfo,
  target: PostgresTarget,
  nowNs: bigint,
): Promise<EntityRecord[]> {
  const settings = await session.query(`SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)`, [
    SETTINGS,
  ]);
  const attributes: EntityRecord['attributes'] = {
    'server.address': target.host,
    'server.port': target.port,
    'postgresql.version_num': server.versionNum,
    'postgresql.in_recovery': server.inRecovery,
    'postgresql.started_at': server.startedAt.toISOString(),
    'postgresql.pg_stat_statements': server.statementsExtension ?? '',
  };
  for (const row of settings) {
    const unit = asText(row.unit);
    attributes[`setting.${asText(row.name)}`] =
      unit === '' ? asText(row.setting) : `${asText(row.setting)} ${unit}`;
  }
  const ts = nowNs.toString();
  const hostId = `host:${target.host}`;
  const records: EntityRecord[] = [
    {
      type: 'entity',
      entityId: hostId,
      kind: 'host',
      name: target.host,
      parentId: '',
      ts,
      version: '',
      attributes: {},
    },
    {
      type: 'entity',
      entityId: target.entityId,
      kind: 'postgresql.instance',
      name: target.name,
      parentId: hostId,
      ts,
      version: server.version,
      attributes,
    },
  ];
  const databases = await session.query(
    `SELECT datname, pg_encoding_to_char(encoding) AS encoding, datcollate AS collation
       FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname`,
  );
  for (const row of databases) {
    const name = asText(row.datname);
    records.push({
      type: 'entity',
      entityId: databaseEntityId(target.entityId, name),
      kind: 'postgresql.database',
      name,
      parentId: target.entityId,
      ts,
      version: server.version,
      // Sizes are the postgresql.db_size metric: the file walk is done once, by the metrics.
      attributes: { encoding: asText(row.encoding), collation: asText(row.collation) },
    });
  }
  return records;
}
