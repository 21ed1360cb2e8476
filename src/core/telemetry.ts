import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Signal = 'logs' | 'metrics' | 'traces';

/**
 * The process's own metrics, exposed on `/metrics`. Labels are bounded: signals, tables,
 * topics, reason codes and org ids (orgs are created by an admin), never an error message.
 */
export class SelfMetrics {
  readonly registry = new Registry();

  readonly recordsReceived = new Counter({
    name: 'sightline_records_received_total',
    help: 'Records received by the ingest gateway, before validation.',
    labelNames: ['signal'] as const,
    registers: [this.registry],
  });

  readonly recordsAccepted = new Counter({
    name: 'sightline_records_accepted_total',
    help: 'Records the ingest gateway acknowledged (published and durable).',
    labelNames: ['signal'] as const,
    registers: [this.registry],
  });

  readonly recordsRejected = new Counter({
    name: 'sightline_records_rejected_total',
    help: 'Records rejected, by signal and reason (partial success or dead letter).',
    labelNames: ['signal', 'reason'] as const,
    registers: [this.registry],
  });

  readonly ingestRejected = new Counter({
    name: 'sightline_ingest_rejected_total',
    help: 'Records the ingest gateway rejected in validation (reported as OTLP partial success), by org id, signal and reason.',
    labelNames: ['org', 'signal', 'reason'] as const,
    registers: [this.registry],
  });

  readonly ingestTruncated = new Counter({
    name: 'sightline_ingest_truncated_total',
    help: 'Records the ingest gateway accepted with attribute values cut to the limit, by org id, signal and reason.',
    labelNames: ['org', 'signal', 'reason'] as const,
    registers: [this.registry],
  });

  readonly recordsStored = new Counter({
    name: 'sightline_records_stored_total',
    help: 'Rows committed to the store, by table (duplicates excluded).',
    labelNames: ['table'] as const,
    registers: [this.registry],
  });

  readonly recordsDuplicate = new Counter({
    name: 'sightline_records_duplicate_total',
    help: 'Rows not stored because a row with the same id was already stored.',
    labelNames: ['table'] as const,
    registers: [this.registry],
  });

  readonly stageRecords = new Counter({
    name: 'sightline_stage_records_total',
    help: 'Records a pipeline stage dropped or changed, by org, outcome, kind of row and reason (duplicate, sampled, email, series_limit, …).',
    labelNames: ['org', 'outcome', 'kind', 'reason'] as const,
    registers: [this.registry],
  });

  readonly orgSeries = new Gauge({
    name: 'sightline_org_series',
    help: 'Distinct metric series an org has active, as the limit stage counts them against its maxSeries.',
    labelNames: ['org'] as const,
    registers: [this.registry],
  });

  readonly orgBytesToday = new Gauge({
    name: 'sightline_org_bytes_today',
    help: 'Estimated bytes an org stored today (UTC), as the limit stage counts them against its maxBytesPerDay.',
    labelNames: ['org'] as const,
    registers: [this.registry],
  });

  readonly sampleProbability = new Gauge({
    name: 'sightline_sample_probability',
    help: 'Probability the sample stage keeps a record it samples, by org and signal (1: nothing is sampled out).',
    labelNames: ['org', 'signal'] as const,
    registers: [this.registry],
  });

  readonly stageDuration = new Histogram({
    name: 'sightline_stage_duration_seconds',
    help: 'Time a pipeline stage took for one message, by stage.',
    labelNames: ['stage'] as const,
    buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1],
    registers: [this.registry],
  });

  readonly batchLatency = new Histogram({
    name: 'sightline_store_batch_duration_seconds',
    help: 'Time to commit one batch to the store, by table.',
    labelNames: ['table'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly batchRows = new Histogram({
    name: 'sightline_store_batch_rows',
    help: 'Rows per batch written to the store, by table.',
    labelNames: ['table'] as const,
    buckets: [1, 10, 100, 500, 1000, 5000, 10_000, 50_000],
    registers: [this.registry],
  });

  readonly rollupRowsWritten = new Counter({
    name: 'sightline_rollup_rows_written_total',
    help: 'Rollup rows written (replacing the rows of the same buckets), by table.',
    labelNames: ['table'] as const,
    registers: [this.registry],
  });

  readonly retentionRowsDeleted = new Counter({
    name: 'sightline_retention_rows_deleted_total',
    help: 'Rows deleted because they were older than their table keeps them, by table.',
    labelNames: ['table'] as const,
    registers: [this.registry],
  });

  readonly maintenanceDuration = new Histogram({
    name: 'sightline_maintenance_pass_duration_seconds',
    help: 'Time one pass of a maintenance job took, by job (rollups, retention).',
    labelNames: ['job'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });

  readonly maintenanceErrors = new Counter({
    name: 'sightline_maintenance_errors_total',
    help: 'Maintenance passes (or, for retention, tables of a pass) that failed, by job.',
    labelNames: ['job'] as const,
    registers: [this.registry],
  });

  observeRollups(report: { rows: Record<string, number>; durationMs: number }): void {
    for (const [table, rows] of Object.entries(report.rows)) this.rollupRowsWritten.inc({ table }, rows);
    this.maintenanceDuration.observe({ job: 'rollups' }, report.durationMs / 1000);
  }

  observeRetention(report: { deleted: Record<string, number>; failed: string[]; durationMs: number }): void {
    for (const [table, rows] of Object.entries(report.deleted))
      this.retentionRowsDeleted.inc({ table }, rows);
    if (report.failed.length > 0) this.maintenanceErrors.inc({ job: 'retention' }, report.failed.length);
    this.maintenanceDuration.observe({ job: 'retention' }, report.durationMs / 1000);
  }

  readonly httpErrors = new Counter({
    name: 'sightline_http_errors_total',
    help: 'HTTP error responses by server and error code.',
    labelNames: ['server', 'code'] as const,
    registers: [this.registry],
  });

  readonly collectorCycleDuration = new Histogram({
    name: 'sightline_collector_cycle_duration_seconds',
    help: 'Time one collection cycle took on the watched server, by target and kind of cycle.',
    labelNames: ['target', 'cycle'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly collectorQueries = new Counter({
    name: 'sightline_collector_queries_total',
    help: 'Statements the collector ran on the watched server, by target.',
    labelNames: ['target'] as const,
    registers: [this.registry],
  });

  readonly collectorRows = new Counter({
    name: 'sightline_collector_rows_read_total',
    help: 'Rows the collector read from the watched server, by target.',
    labelNames: ['target'] as const,
    registers: [this.registry],
  });

  readonly collectorErrors = new Counter({
    name: 'sightline_collector_errors_total',
    help: 'Failed collection cycles, by target and kind of cycle.',
    labelNames: ['target', 'cycle'] as const,
    registers: [this.registry],
  });

  readonly collectorBreakerState = new Gauge({
    name: 'sightline_collector_breaker_state',
    help: 'Circuit breaker per target: 0 closed, 1 half-open, 2 open (the server is left alone).',
    labelNames: ['target'] as const,
    registers: [this.registry],
  });

  readonly collectorInterval = new Gauge({
    name: 'sightline_collector_interval_seconds',
    help: 'Current wait between cycles, by target and kind of cycle.',
    labelNames: ['target', 'cycle'] as const,
    registers: [this.registry],
  });

  readonly collectorIntervalStretched = new Gauge({
    name: 'sightline_collector_interval_stretched',
    help: '1 while cycles take more than their share of the interval and the interval is stretched.',
    labelNames: ['target', 'cycle'] as const,
    registers: [this.registry],
  });

  private queueStats: () => ReadonlyArray<{ topic: string; pendingMessages: number; pendingBytes: number }> =
    () => [];

  readonly queueDepth = new Gauge({
    name: 'sightline_bus_queue_depth',
    help: 'Messages published but not yet committed by every consumer group, by topic.',
    labelNames: ['topic'] as const,
    registers: [this.registry],
    collect: () => {
      for (const s of this.queueStats()) this.queueDepth.set({ topic: s.topic }, s.pendingMessages);
    },
  });

  readonly queueBytes = new Gauge({
    name: 'sightline_bus_queue_bytes',
    help: 'Bytes published but not yet committed by every consumer group, by topic.',
    labelNames: ['topic'] as const,
    registers: [this.registry],
    collect: () => {
      for (const s of this.queueStats()) this.queueBytes.set({ topic: s.topic }, s.pendingBytes);
    },
  });

  /** Where the queue gauges read from when scraped. */
  observeQueues(
    stats: () => ReadonlyArray<{ topic: string; pendingMessages: number; pendingBytes: number }>,
  ): void {
    this.queueStats = stats;
  }

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: 'sightline_' });
  }
}
