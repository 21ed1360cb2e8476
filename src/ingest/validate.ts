import { MAX_TIME_NS } from '../core/time.js';
import { attributesDepth, toBigInt, valueDepth, type Int64 } from '../otlp/values.js';
import type {
  KeyValue,
  LogRecord,
  LogsRequest,
  Metric,
  MetricsRequest,
  OtlpRequest,
  ResourceLogs,
  ResourceMetrics,
  ResourceSpans,
  Span,
  TracesRequest,
} from '../otlp/types.js';

export interface ValidationLimits {
  maxAttributeDepth: number;
}

/** Bounded reason codes: they label the rejection counters. */
export type RejectReason =
  | 'invalid_trace_id'
  | 'invalid_span_id'
  | 'invalid_parent_span_id'
  | 'attribute_too_deep'
  | 'missing_metric_name'
  | 'missing_metric_data'
  | 'unsupported_metric_type'
  | 'missing_timestamp'
  | 'invalid_timestamp';

export interface Problem {
  reason: RejectReason;
  detail: string;
}

export interface Validated {
  /** The request without its rejected records; the same object when nothing was rejected. */
  request: OtlpRequest;
  received: number;
  rejected: number;
  /** Per reason: how many records, and the first record's problem in words. */
  reasons: Map<RejectReason, { count: number; detail: string }>;
}

/**
 * Checks each record against what the store and the query side rely on. A record that fails
 * is left out and reported (OTLP partial success); the rest of the request goes on.
 */
export function validateRequest(request: OtlpRequest, limits: ValidationLimits): Validated {
  const tally = new Tally();
  switch (request.signal) {
    case 'logs': {
      const message = validateLogs(request.message, limits, tally);
      return tally.result(tally.rejected === 0 ? request : { signal: 'logs', message });
    }
    case 'traces': {
      const message = validateTraces(request.message, limits, tally);
      return tally.result(tally.rejected === 0 ? request : { signal: 'traces', message });
    }
    case 'metrics': {
      const message = validateMetrics(request.message, limits, tally);
      return tally.result(tally.rejected === 0 ? request : { signal: 'metrics', message });
    }
  }
}

/** The partial-success message: how many were rejected and why, in at most ~1 KB. */
export function describeRejections(validated: Validated, unit: string): string {
  const parts = [...validated.reasons.values()].map(({ count, detail }) => `${detail} (${count})`);
  const text = `${validated.rejected} of ${validated.received} ${unit} rejected: ${parts.join('; ')}`;
  return text.length > 1000 ? `${text.slice(0, 999)}…` : text;
}

class Tally {
  received = 0;
  rejected = 0;
  readonly reasons = new Map<RejectReason, { count: number; detail: string }>();

  accept(): void {
    this.received++;
  }

  reject(problem: Problem, count = 1): void {
    this.received += count;
    this.rejected += count;
    const seen = this.reasons.get(problem.reason);
    if (seen === undefined) this.reasons.set(problem.reason, { count, detail: problem.detail });
    else seen.count += count;
  }

  result(request: OtlpRequest): Validated {
    return { request, received: this.received, rejected: this.rejected, reasons: this.reasons };
  }
}

function validateLogs(message: LogsRequest, limits: ValidationLimits, tally: Tally): LogsRequest {
  const resourceLogs: ResourceLogs[] = [];
  for (const rl of message.resourceLogs ?? []) {
    const outer = attributesProblem(rl.resource?.attributes, 'resource', limits);
    const scopeLogs = (rl.scopeLogs ?? []).map((sl) => {
      const scopeProblem = outer ?? attributesProblem(sl.scope?.attributes, 'scope', limits);
      const logRecords = (sl.logRecords ?? []).filter((record) =>
        keep(tally, scopeProblem ?? logProblem(record, limits)),
      );
      return { ...sl, logRecords };
    });
    resourceLogs.push({ ...rl, scopeLogs });
  }
  return { resourceLogs };
}

function validateTraces(message: TracesRequest, limits: ValidationLimits, tally: Tally): TracesRequest {
  const resourceSpans: ResourceSpans[] = [];
  for (const rs of message.resourceSpans ?? []) {
    const outer = attributesProblem(rs.resource?.attributes, 'resource', limits);
    const scopeSpans = (rs.scopeSpans ?? []).map((ss) => {
      const scopeProblem = outer ?? attributesProblem(ss.scope?.attributes, 'scope', limits);
      const spans = (ss.spans ?? []).filter((span) => keep(tally, scopeProblem ?? spanProblem(span, limits)));
      return { ...ss, spans };
    });
    resourceSpans.push({ ...rs, scopeSpans });
  }
  return { resourceSpans };
}

function validateMetrics(message: MetricsRequest, limits: ValidationLimits, tally: Tally): MetricsRequest {
  const resourceMetrics: ResourceMetrics[] = [];
  for (const rm of message.resourceMetrics ?? []) {
    const outer = attributesProblem(rm.resource?.attributes, 'resource', limits);
    const scopeMetrics = (rm.scopeMetrics ?? []).map((sm) => {
      const scopeProblem = outer ?? attributesProblem(sm.scope?.attributes, 'scope', limits);
      const metrics = (sm.metrics ?? []).flatMap((metric) =>
        validateMetric(metric, scopeProblem, limits, tally),
      );
      return { ...sm, metrics };
    });
    resourceMetrics.push({ ...rm, scopeMetrics });
  }
  return { resourceMetrics };
}

/** A metric keeps the data points that pass; the unit counted is the data point. */
function validateMetric(
  metric: Metric,
  inherited: Problem | undefined,
  limits: ValidationLimits,
  tally: Tally,
): Metric[] {
  const name = metric.name ?? '';
  const points = metric.gauge?.dataPoints ?? metric.sum?.dataPoints ?? metric.histogram?.dataPoints ?? null;
  const unsupported = metric.exponentialHistogram?.dataPoints ?? metric.summary?.dataPoints ?? null;
  const metricProblem: Problem | undefined =
    inherited ??
    (name === ''
      ? { reason: 'missing_metric_name', detail: 'a metric has no name' }
      : unsupported !== null
        ? {
            reason: 'unsupported_metric_type',
            detail: `metric "${name}" is ${metric.summary ? 'a summary' : 'an exponential histogram'}, which Sightline does not store yet (send explicit-bucket histograms)`,
          }
        : points === null
          ? { reason: 'missing_metric_data', detail: `metric "${name}" has no gauge, sum or histogram data` }
          : undefined);
  if (metricProblem !== undefined) {
    const count = (points ?? unsupported ?? []).length;
    if (count > 0) tally.reject(metricProblem, count);
    return [];
  }
  const kept = (points ?? []).filter((point) => {
    const problem: Problem | undefined =
      toBigInt(point.timeUnixNano) === 0n
        ? { reason: 'missing_timestamp', detail: `a data point of "${name}" has no time_unix_nano` }
        : (timeProblem(point.timeUnixNano, 'time_unix_nano') ??
          timeProblem(point.startTimeUnixNano, 'start_time_unix_nano') ??
          attributesProblem(point.attributes, `data point of "${name}"`, limits));
    return keep(tally, problem);
  });
  if (kept.length === 0) return [];
  if (kept.length === points?.length) return [metric];
  if (metric.gauge) return [{ ...metric, gauge: { ...metric.gauge, dataPoints: kept } }];
  if (metric.sum) return [{ ...metric, sum: { ...metric.sum, dataPoints: kept } }];
  return [{ ...metric, histogram: { ...metric.histogram, dataPoints: kept } }];
}

function keep(tally: Tally, problem: Problem | undefined): boolean {
  if (problem === undefined) {
    tally.accept();
    return true;
  }
  tally.reject(problem);
  return false;
}

function logProblem(record: LogRecord, limits: ValidationLimits): Problem | undefined {
  return (
    timeProblem(record.timeUnixNano, 'time_unix_nano') ??
    timeProblem(record.observedTimeUnixNano, 'observed_time_unix_nano') ??
    idProblem(record.traceId, 16, 'invalid_trace_id', 'trace_id', true) ??
    idProblem(record.spanId, 8, 'invalid_span_id', 'span_id', true) ??
    depthProblem(valueDepth(record.body, limits.maxAttributeDepth), 'the body', limits) ??
    attributesProblem(record.attributes, 'a log record', limits)
  );
}

function spanProblem(span: Span, limits: ValidationLimits): Problem | undefined {
  const own =
    timeProblem(span.startTimeUnixNano, 'start_time_unix_nano') ??
    timeProblem(span.endTimeUnixNano, 'end_time_unix_nano') ??
    idProblem(span.traceId, 16, 'invalid_trace_id', 'trace_id', false) ??
    idProblem(span.spanId, 8, 'invalid_span_id', 'span_id', false) ??
    idProblem(span.parentSpanId, 8, 'invalid_parent_span_id', 'parent_span_id', true) ??
    attributesProblem(span.attributes, 'a span', limits);
  if (own !== undefined) return own;
  for (const event of span.events ?? []) {
    const problem = attributesProblem(event.attributes, 'a span event', limits);
    if (problem !== undefined) return problem;
  }
  for (const link of span.links ?? []) {
    const problem =
      idProblem(link.traceId, 16, 'invalid_trace_id', 'a link trace_id', false) ??
      idProblem(link.spanId, 8, 'invalid_span_id', 'a link span_id', false) ??
      attributesProblem(link.attributes, 'a span link', limits);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** Times are kept as signed 64-bit nanoseconds; a larger fixed64 cannot be stored. */
function timeProblem(value: Int64, field: string): Problem | undefined {
  if (toBigInt(value) <= MAX_TIME_NS) return undefined;
  return {
    reason: 'invalid_timestamp',
    detail: `${field} is after the year 2262 (more than 2^63-1 nanoseconds)`,
  };
}

function idProblem(
  id: Uint8Array | null | undefined,
  size: number,
  reason: RejectReason,
  field: string,
  optional: boolean,
): Problem | undefined {
  const length = id?.length ?? 0;
  if (length === 0 && optional) return undefined;
  if (length !== size) return { reason, detail: `${field} must be ${size} bytes, got ${length}` };
  if (id?.every((byte) => byte === 0)) return { reason, detail: `${field} must not be all zeros` };
  return undefined;
}

function attributesProblem(
  attributes: readonly KeyValue[] | null | undefined,
  where: string,
  limits: ValidationLimits,
): Problem | undefined {
  return depthProblem(
    attributesDepth(attributes, limits.maxAttributeDepth),
    `attributes of ${where}`,
    limits,
  );
}

function depthProblem(depth: number, what: string, limits: ValidationLimits): Problem | undefined {
  if (depth <= limits.maxAttributeDepth) return undefined;
  return {
    reason: 'attribute_too_deep',
    detail: `${what} nest deeper than ${limits.maxAttributeDepth} levels (ingest.maxAttributeDepth)`,
  };
}
