import { CLICKHOUSE_INSTALL_HINT, clickhouseAvailable } from './clickhouse.js';
import { KAFKA_INSTALL_HINT, kafkaAvailable } from './kafka.js';
import { POSTGRES_INSTALL_HINT, postgresAvailable } from './postgres.js';

/** What a scale-out deployment needs and this machine lacks, with how to install it; undefined when nothing. */
export function scaleOutServicesMissing(): string | undefined {
  if (!kafkaAvailable()) return `Kafka: ${KAFKA_INSTALL_HINT}`;
  if (!postgresAvailable()) return `PostgreSQL: ${POSTGRES_INSTALL_HINT}`;
  if (!clickhouseAvailable()) return `ClickHouse: ${CLICKHOUSE_INSTALL_HINT}`;
  return undefined;
}
