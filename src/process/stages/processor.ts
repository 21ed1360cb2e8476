import type {
  LogRow,
  MetricPointRow,
  OrgId,
  QuerySampleRow,
  QueryStatRow,
  RumEventRow,
  SpanRow,
} from '../../store/rows.js';

/**
 * The rows of one bus message that pipeline stages see. A stage returns the rows to keep, changed
 * or not; rows of the other tables (sessions, snapshots, entities) pass the stages untouched.
 */
export interface RowBatch {
  logs: LogRow[];
  spans: SpanRow[];
  metricPoints: MetricPointRow[];
  queryStats: QueryStatRow[];
  querySamples: QuerySampleRow[];
  rumEvents: RumEventRow[];
}

export type RowKind = keyof RowBatch;

export const ROW_KINDS: readonly RowKind[] = [
  'logs',
  'spans',
  'metricPoints',
  'queryStats',
  'querySamples',
  'rumEvents',
];

export function emptyBatch(): RowBatch {
  return { logs: [], spans: [], metricPoints: [], queryStats: [], querySamples: [], rumEvents: [] };
}

/** What a stage may know and report about the message it processes. */
export interface StageContext {
  readonly orgId: OrgId;
  /** When the processor handles the message; stages use it instead of reading the clock per row. */
  readonly nowNs: bigint;
  /**
   * Counts what the stage did to records, per org: `dropped` rows (sampled out, over a limit,
   * duplicates) and `changed` ones (redacted), with a bounded reason code (`sampled`, `email`…).
   */
  count(outcome: 'dropped' | 'changed', kind: RowKind, reason: string, n?: number): void;
  /**
   * Runs `callback` once the rows of this message are committed to the store, and never if they
   * are not (the message is then delivered again): what a stage remembers about records it
   * let through (a dedupe window, usage) must only count stored ones.
   */
  onStored(callback: () => void): void;
}

/**
 * One stage of the processing pipeline (enrich, redact, dedupe, sample, limit): one module, one
 * job, unit-tested on its own, switched on and configured per org. `process` must not throw for
 * a record it does not like: it drops or repairs it and counts why. It may keep state across
 * messages (a dedupe window, a rate); it is called for one message at a time.
 */
export interface Processor {
  readonly name: string;
  process(batch: RowBatch, context: StageContext): RowBatch;
}
