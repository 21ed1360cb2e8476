import type { FastifyInstance } from 'fastify';
import { authOf } from '../auth/http.js';
import { checkRole } from '../auth/roles.js';
import type { RetainedTable, RetentionConfig } from '../config/retention.js';
import { arrayOf, errorResponses, object, ok, type JsonSchema } from './route-schemas.js';

export interface SettingsDeps {
  /** `store.retention` as loaded at start. */
  retention: RetentionConfig;
  /** Which store applies it: ClickHouse drops whole days (src/store/clickhouse/retention.ts). */
  storeType: 'duckdb' | 'clickhouse';
}

/**
 * Every retained table (a Record, so a table added to the config fails to compile until it is
 * described here), in the order a reader looks for them: raw signals, rollups, database samples.
 */
const TABLES: Record<RetainedTable, { kind: 'raw' | 'rollup' | 'samples'; description: string }> = {
  metricPoints: { kind: 'raw', description: 'Metric points as received' },
  metricRollups1m: { kind: 'rollup', description: 'Metric rollups, 1-minute buckets' },
  metricRollups5m: { kind: 'rollup', description: 'Metric rollups, 5-minute buckets' },
  metricRollups1h: { kind: 'rollup', description: 'Metric rollups, 1-hour buckets' },
  logs: { kind: 'raw', description: 'Log records' },
  logCounts1m: { kind: 'rollup', description: 'Log counts, 1-minute buckets' },
  spans: { kind: 'raw', description: 'Trace spans' },
  spanLatency1m: { kind: 'rollup', description: 'Span latency, 1-minute buckets' },
  rumEvents: { kind: 'raw', description: 'Browser (RUM) events' },
  deadLetters: { kind: 'raw', description: 'Dead letters: records the pipeline rejected' },
  queryStats: { kind: 'samples', description: 'Database query statistics' },
  querySamples: { kind: 'samples', description: 'Database query samples and plans' },
  activitySamples: { kind: 'samples', description: 'Database sessions by wait event' },
  activitySnapshots: { kind: 'samples', description: 'Database activity snapshots (blocking tree)' },
};

const RETENTION_VIEW: JsonSchema = object({
  store: { type: 'string', enum: ['duckdb', 'clickhouse'] },
  intervalSeconds: { type: 'number', description: 'How often rows past their age are deleted.' },
  granularity: {
    type: 'string',
    description: 'How exactly the age is kept: DuckDB deletes rows, ClickHouse drops whole days.',
  },
  data: arrayOf(
    object({
      table: { type: 'string', description: 'The key under store.retention.days.' },
      kind: { type: 'string', enum: ['raw', 'rollup', 'samples'] },
      description: { type: 'string' },
      days: { type: 'number', description: 'Days rows are kept; 0 keeps them forever.' },
      keptForever: { type: 'boolean' },
    }),
  ),
});

/** Read-only settings of the installation: what the config file and environment decided at start. */
export function registerSettingsRoutes(app: FastifyInstance, deps: SettingsDeps): void {
  app.get(
    '/api/v1/settings/retention',
    {
      schema: {
        summary: 'Retention per table',
        description:
          'How long each table keeps its rows (store.retention.days), as configured at start. Changing it ' +
          'means changing the config and restarting: there is no API to edit it. Members and above may read it.',
        tags: ['settings'],
        response: { 200: ok('The retention.', RETENTION_VIEW), ...errorResponses(401, 403, 503) },
      },
    },
    async (request) => {
      checkRole(authOf(request), 'member', 'reading the retention settings');
      return {
        store: deps.storeType,
        intervalSeconds: deps.retention.intervalSeconds,
        granularity:
          deps.storeType === 'clickhouse'
            ? 'whole days: a day’s partition is dropped once all of it is past the age, so rows stay up to a day longer'
            : `rows past their age are deleted every ${deps.retention.intervalSeconds} seconds`,
        data: (Object.entries(TABLES) as Array<[RetainedTable, (typeof TABLES)[RetainedTable]]>).map(
          ([key, { kind, description }]) => ({
            table: key,
            kind,
            description,
            days: deps.retention.days[key],
            keptForever: deps.retention.days[key] === 0,
          }),
        ),
      };
    },
  );
}
