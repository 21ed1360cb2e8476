import type { EntityRecord } from '../../bus/raw-records.js';
import { text, type MysqlServerInfo, type MysqlSession } from './session.js';
import { schemaEntityId, type MysqlTarget } from './target.js';

/** Settings a DBA looks at first, shown with the instance. */
const SETTINGS = [
  'max_connections',
  'innodb_buffer_pool_size',
  'innodb_log_file_size',
  'innodb_flush_log_at_trx_commit',
  'sync_binlog',
  'log_bin',
  'binlog_format',
  'gtid_mode',
  'read_only',
  'slow_query_log',
  'long_query_time',
  'log_output',
  'performance_schema',
  'performance_schema_digests_size',
  'max_digest_length',
  'table_open_cache',
  'tmp_table_size',
  'max_heap_table_size',
  'character_set_server',
  'collation_server',
  'time_zone',
];

/** The schemas the server keeps for itself: not application databases. */
export const SYSTEM_SCHEMAS = ['mysql', 'information_schema', 'performance_schema', 'sys'];

/** The instance, its schemas and its host, as the collector sees them now. */
export async function discoverMysqlEntities(
  session: MysqlSession,
  server: MysqlServerInfo,
  target: MysqlTarget,
  nowNs: bigint,
): Promise<EntityRecord[]> {
  const settings = await session.query(
    `SHOW GLOBAL VARIABLES WHERE Variable_name IN (${SETTINGS.map(() => '?').join(', ')})`,
    SETTINGS,
  );
  const attributes: EntityRecord['attributes'] = {
    'server.address': target.host,
    'server.port': target.port,
    'mysql.flavor': server.flavor,
    'mysql.version_number': server.versionNumber,
    'mysql.started_at': server.startedAt.toISOString(),
    'mysql.read_only': server.readOnly,
    'mysql.hostname': server.hostname,
  };
  for (const row of settings) attributes[`setting.${text(row.Variable_name)}`] = text(row.Value);
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
      kind: 'mysql.instance',
      name: target.name,
      parentId: hostId,
      ts,
      version: server.version,
      attributes,
    },
  ];
  const schemas = await session.query(
    `SELECT SCHEMA_NAME AS name, DEFAULT_CHARACTER_SET_NAME AS charset, DEFAULT_COLLATION_NAME AS collation
       FROM information_schema.SCHEMATA
      WHERE SCHEMA_NAME NOT IN (${SYSTEM_SCHEMAS.map(() => '?').join(', ')})
      ORDER BY SCHEMA_NAME`,
    SYSTEM_SCHEMAS,
  );
  for (const row of schemas) {
    const name = text(row.name);
    records.push({
      type: 'entity',
      entityId: schemaEntityId(target.entityId, name),
      kind: 'mysql.database',
      name,
      parentId: target.entityId,
      ts,
      version: '',
      attributes: { 'mysql.charset': text(row.charset), 'mysql.collation': text(row.collation) },
    });
  }
  return records;
}
