import type { Severity } from '../core/severity.js';

export type { Severity };

/**
 * Rows as the store keeps them (the table contracts of DESIGN.md). Timestamps are
 * nanoseconds since the Unix epoch (UTC) as bigint; attribute maps are JSON text.
 */

export type OrgId = string & { readonly __brand: 'OrgId' };

export function orgId(value: string): OrgId {
  return value as OrgId;
}

export interface LogRow {
  id: string;
  ts: bigint;
  observedTs: bigint;
  orgId: OrgId;
  service: string;
  host: string;
  entityId: string;
  severity: Severity;
  severityNumber: number;
  severityText: string;
  body: string;
  traceId: string;
  spanId: string;
  eventName: string;
  scopeName: string;
  attributes: string;
  resource: string;
}

export type SpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type SpanStatus = 'unset' | 'ok' | 'error';

export interface SpanRow {
  id: string;
  startTs: bigint;
  endTs: bigint;
  durationNs: bigint;
  orgId: OrgId;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  traceState: string;
  service: string;
  host: string;
  entityId: string;
  name: string;
  kind: SpanKind;
  status: SpanStatus;
  statusMessage: string;
  scopeName: string;
  attributes: string;
  resource: string;
  events: string;
  links: string;
}

export type MetricKind = 'gauge' | 'sum' | 'histogram';
export type Temporality = '' | 'delta' | 'cumulative';

export interface MetricPointRow {
  id: string;
  ts: bigint;
  startTs: bigint;
  orgId: OrgId;
  entityId: string;
  service: string;
  host: string;
  /** Digest of name, resource and labels: one series. */
  seriesId: string;
  name: string;
  kind: MetricKind;
  unit: string;
  temporality: Temporality;
  monotonic: boolean;
  /** Gauge and sum points; null for histograms. */
  value: number | null;
  labels: string;
  resource: string;
  scopeName: string;
  histCount: bigint | null;
  histSum: number | null;
  histMin: number | null;
  histMax: number | null;
  bucketBounds: number[] | null;
  bucketCounts: bigint[] | null;
}

export interface DeadLetterRow {
  id: string;
  ts: bigint;
  orgId: OrgId;
  sourceTopic: string;
  reason: string;
  headers: string;
  payload: Uint8Array;
}
