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

export interface ScaleOutConfig {
  kafkaBootstrap: string;
  postgresUrl: string;
  /** Left out: the store stays DuckDB (processor and api then run together). */
  clickhouseUrl?: string;
  partitions?: number;
  sessionTimeoutSeconds?: number;
}

/** The sightline.yaml of a scale-out deployment: the bus on Kafka, the control plane in PostgreSQL, the store on ClickHouse. */
export function scaleOutConfigYaml(config: ScaleOutConfig): string {
  return [
    'bus:',
    '  type: kafka',
    '  kafka:',
    `    brokers: ["${config.kafkaBootstrap}"]`,
    ...(config.partitions === undefined ? [] : [`    partitions: ${config.partitions}`]),
    ...(config.sessionTimeoutSeconds === undefined
      ? []
      : [`    sessionTimeoutSeconds: ${config.sessionTimeoutSeconds}`]),
    'control:',
    '  type: postgres',
    '  postgres:',
    `    url: "${config.postgresUrl}"`,
    ...(config.clickhouseUrl === undefined
      ? []
      : ['store:', '  type: clickhouse', '  clickhouse:', `    url: "${config.clickhouseUrl}"`]),
    '',
  ].join('\n');
}
