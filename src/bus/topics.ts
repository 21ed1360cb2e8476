/** The topic contract of DESIGN.md. Names are stable; payload changes bump SCHEMA_VERSION. */
export const TOPICS = {
  otelMetrics: 'otel-metrics',
  otelLogs: 'otel-logs',
  otelTraces: 'otel-traces',
  rawLogs: 'raw-logs',
  rawQueries: 'raw-queries',
  rawRum: 'raw-rum',
  /** Collectors' samples of the sessions on a database server, one snapshot per message. */
  rawActivity: 'raw-activity',
  /** Collectors' discovery: the instances, databases and hosts they watch. */
  rawEntities: 'raw-entities',
  deadLetter: 'dead-letter',
} as const;

export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

/** Headers every message carries. */
export const HEADERS = {
  orgId: 'org-id',
  contentType: 'content-type',
  schemaVersion: 'schema-version',
  receivedAt: 'received-at',
  /** Dead letters only: why the record was set aside, and where it came from. */
  reason: 'dead-letter-reason',
  sourceTopic: 'source-topic',
} as const;

export const SCHEMA_VERSION = '1';

export const CONTENT_TYPES = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
} as const;
