import type { Migration } from './migrations.js';

/**
 * One metric rollup table per resolution, all alike (DESIGN.md: `metric_rollups_1m|5m|1h`):
 * one row per series and bucket. `count`, `min`, `max`, `sum` and `last` summarise the points'
 * values (a histogram point's value is the mean of its observations, as in the raw queries);
 * `count` counts the points that have a value, so `sum / count` is their mean. `delta` is the
 * increase of a sum within the bucket, ready for rates: for cumulative monotonic sums it counts
 * from the last point before the bucket and treats a drop or a new start time as a reset; for
 * delta sums it is their total; null for gauges and non-monotonic cumulative sums.
 * `hist_count` and `hist_sum` are the same increase for histograms' observations.
 *
 * No primary key: DuckDB keeps an ART index in memory, too much for a month of series ×
 * minutes. The rollup job replaces a bucket range by delete and insert in one transaction
 * instead, and it is the only writer.
 */
const metricRollupTable = (table: string): string => `CREATE TABLE ${table} (
  org_id VARCHAR NOT NULL,
  series_id VARCHAR NOT NULL,
  bucket_ts BIGINT NOT NULL,
  name VARCHAR NOT NULL,
  kind VARCHAR NOT NULL,
  unit VARCHAR NOT NULL,
  temporality VARCHAR NOT NULL,
  monotonic BOOLEAN NOT NULL,
  entity_id VARCHAR NOT NULL,
  service VARCHAR NOT NULL,
  host VARCHAR NOT NULL,
  labels JSON NOT NULL,
  resource JSON NOT NULL,
  scope_name VARCHAR NOT NULL,
  count BIGINT NOT NULL,
  min DOUBLE,
  max DOUBLE,
  sum DOUBLE,
  last DOUBLE,
  last_ts BIGINT NOT NULL,
  delta DOUBLE,
  hist_count BIGINT,
  hist_sum DOUBLE
)`;

/** Rollup tables: metric points per 1m/5m/1h, log counts and span latency per minute. */
export const ROLLUP_MIGRATION: Migration = {
  version: 5,
  name: 'rollups: metric_rollups (1m, 5m, 1h), log_counts_1m, span_latency_1m',
  statements: [
    metricRollupTable('metric_rollups_1m'),
    metricRollupTable('metric_rollups_5m'),
    metricRollupTable('metric_rollups_1h'),
    `CREATE TABLE log_counts_1m (
      org_id VARCHAR NOT NULL,
      bucket_ts BIGINT NOT NULL,
      service VARCHAR NOT NULL,
      severity VARCHAR NOT NULL,
      count BIGINT NOT NULL
    )`,
    // Spans are placed by their end: a span is known (and exported) when it ends, so a long one
    // still lands in a bucket the job recomputes. Durations in nanoseconds; the sum is a DOUBLE so
    // one absurd duration cannot overflow the bucket.
    `CREATE TABLE span_latency_1m (
      org_id VARCHAR NOT NULL,
      bucket_ts BIGINT NOT NULL,
      service VARCHAR NOT NULL,
      name VARCHAR NOT NULL,
      kind VARCHAR NOT NULL,
      count BIGINT NOT NULL,
      errors BIGINT NOT NULL,
      sum_ns DOUBLE NOT NULL,
      min_ns BIGINT NOT NULL,
      max_ns BIGINT NOT NULL,
      p50_ns DOUBLE NOT NULL,
      p95_ns DOUBLE NOT NULL,
      p99_ns DOUBLE NOT NULL
    )`,
    // Where each job got to: buckets before done_to were complete when last computed, so a
    // pass after downtime starts there rather than only at its lateness window.
    `CREATE TABLE rollup_progress (
      job VARCHAR PRIMARY KEY,
      done_to BIGINT NOT NULL
    )`,
  ],
};
