import { MAX_TIME_NS, formatNs } from '../core/time.js';
import { attributesDepth, toBigInt, valueDepth, type Int64 } from '../otlp/values.js';
import type {
  AnyValue,
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

/** What each record is checked against: `ingest.maxAttributeDepth` and `ingest.limits.*`. */
export interface ValidationLimits {
  maxAttributeDepth: number;
  maxAttributes: number;
  maxAttributeValueBytes: number;
  maxLogBodyBytes: number;
  maxNameBytes: number;
  maxFutureSeconds: number;
  /** 0: no limit. */
  maxPastSeconds: number;
}

/**
 * The defaults of `ingest.limits` (src/config/ingest-limits.ts; ingest may not import config,
 * so a test keeps the two equal). They apply where a caller passes no value.
 */
export const DEFAULT_RECORD_LIMITS: Omit<ValidationLimits, 'maxAttributeDepth'> = {
  maxAttributes: 128,
  maxAttributeValueBytes: 32 * 1024,
  maxLogBodyBytes: 256 * 1024,
  maxNameBytes: 255,
  maxFutureSeconds: 60 * 60,
  maxPastSeconds: 7 * 24 * 60 * 60,
};

/** Bounded reason codes: they label the rejection counters and open each partial-success reason. */
export type RejectReason =
  | 'invalid_trace_id'
  | 'invalid_span_id'
  | 'invalid_parent_span_id'
  | 'attribute_too_deep'
  | 'too_many_attributes'
  | 'attribute_value_too_long'
  | 'invalid_attribute_key'
  | 'body_too_large'
  | 'missing_metric_name'
  | 'invalid_metric_name'
  | 'invalid_label_name'
  | 'missing_metric_data'
  | 'unsupported_metric_type'
  | 'missing_timestamp'
  | 'invalid_timestamp'
  | 'timestamp_in_future'
  | 'timestamp_too_old';

/** Why a kept record was changed (it is stored, and the response carries a warning). */
export type TruncateReason = 'attribute_value_too_long';

export interface Problem {
  reason: RejectReason;
  detail: string;
}

export interface Validated {
  /** The request without its rejected records and with long values cut; the same object when neither happened. */
  request: OtlpRequest;
  received: number;
  rejected: number;
  /** Per reason: how many records, and the first record's problem in words. */
  reasons: Map<RejectReason, { count: number; detail: string }>;
  /** Kept records with a value cut to the limit. */
  truncated: number;
  truncations: Map<TruncateReason, { count: number; detail: string }>;
}

/**
 * Checks each record against what the store and the query side rely on and against the
 * configured limits. A record that fails is left out and reported (OTLP partial success); the
 * rest of the request goes on. `nowNs` is the server's clock, for the time window.
 */
export function validateRequest(request: OtlpRequest, limits: ValidationLimits, nowNs: bigint): Validated {
  const context: Context = {
    limits,
    nowNs,
    latestNs: nowNs + BigInt(limits.maxFutureSeconds) * NS_PER_SECOND,
    earliestNs: limits.maxPastSeconds > 0 ? nowNs - BigInt(limits.maxPastSeconds) * NS_PER_SECOND : undefined,
  };
  const tally = new Tally();
  switch (request.signal) {
    case 'logs': {
      const message = validateLogs(request.message, context, tally);
      return tally.result(tally.changed ? { signal: 'logs', message } : request);
    }
    case 'traces': {
      const message = validateTraces(request.message, context, tally);
      return tally.result(tally.changed ? { signal: 'traces', message } : request);
    }
    case 'metrics': {
      const message = validateMetrics(request.message, context, tally);
      return tally.result(tally.changed ? { signal: 'metrics', message } : request);
    }
  }
}

/**
 * The partial-success message, in at most ~1 KB: how many were rejected, and per reason its
 * code, count and the first problem in words; then, as a warning, how many were stored with
 * values cut short.
 */
export function describeRejections(validated: Validated, unit: string): string {
  const list = (reasons: Map<string, { count: number; detail: string }>): string =>
    [...reasons].map(([reason, { count, detail }]) => `${reason} (${count}): ${detail}`).join('; ');
  const sentences: string[] = [];
  if (validated.rejected > 0)
    sentences.push(
      `${validated.rejected} of ${validated.received} ${unit} rejected: ${list(validated.reasons)}`,
    );
  if (validated.truncated > 0)
    sentences.push(
      `${validated.truncated} of ${validated.received} ${unit} stored with values cut short: ${list(validated.truncations)}`,
    );
  return cutText(sentences.join('. '), 1000);
}

const NS_PER_SECOND = 1_000_000_000n;

interface Context {
  limits: ValidationLimits;
  nowNs: bigint;
  /** Records timed after this are rejected. */
  latestNs: bigint;
  /** Records timed before this are rejected; undefined when any age goes. */
  earliestNs: bigint | undefined;
}

/** A copy of an attribute set with its long values cut, and the first cut in words. */
interface Cut {
  attributes: KeyValue[];
  detail: string;
}

class Tally {
  received = 0;
  rejected = 0;
  truncated = 0;
  readonly reasons = new Map<RejectReason, { count: number; detail: string }>();
  readonly truncations = new Map<TruncateReason, { count: number; detail: string }>();

  get changed(): boolean {
    return this.rejected > 0 || this.truncated > 0;
  }

  accept(cut?: Cut): void {
    this.received++;
    if (cut === undefined) return;
    this.truncated++;
    add(this.truncations, 'attribute_value_too_long', cut.detail, 1);
  }

  reject(problem: Problem, count = 1): void {
    this.received += count;
    this.rejected += count;
    add(this.reasons, problem.reason, problem.detail, count);
  }

  result(request: OtlpRequest): Validated {
    return {
      request,
      received: this.received,
      rejected: this.rejected,
      reasons: this.reasons,
      truncated: this.truncated,
      truncations: this.truncations,
    };
  }
}

function add<K>(map: Map<K, { count: number; detail: string }>, key: K, detail: string, count: number): void {
  const seen = map.get(key);
  if (seen === undefined) map.set(key, { count, detail });
  else seen.count += count;
}

function validateLogs(message: LogsRequest, context: Context, tally: Tally): LogsRequest {
  const resourceLogs: ResourceLogs[] = [];
  for (const rl of message.resourceLogs ?? []) {
    const outer = attributesProblem(rl.resource?.attributes, 'resource', context);
    const resourceCut = outer ? undefined : cutAttributes(rl.resource?.attributes, 'resource', context);
    const scopeLogs = (rl.scopeLogs ?? []).map((sl) => {
      const scopeProblem = outer ?? attributesProblem(sl.scope?.attributes, 'scope', context);
      const scopeCut = scopeProblem ? undefined : cutAttributes(sl.scope?.attributes, 'scope', context);
      const logRecords: LogRecord[] = [];
      for (const record of sl.logRecords ?? []) {
        const problem = scopeProblem ?? logProblem(record, context);
        if (problem !== undefined) {
          tally.reject(problem);
          continue;
        }
        const own = cutAttributes(record.attributes, 'a log record', context);
        tally.accept(own ?? scopeCut ?? resourceCut);
        logRecords.push(own ? { ...record, attributes: own.attributes } : record);
      }
      return scopeCut
        ? { ...sl, scope: { ...sl.scope, attributes: scopeCut.attributes }, logRecords }
        : { ...sl, logRecords };
    });
    resourceLogs.push(
      resourceCut
        ? { ...rl, resource: { ...rl.resource, attributes: resourceCut.attributes }, scopeLogs }
        : { ...rl, scopeLogs },
    );
  }
  return { resourceLogs };
}

function validateTraces(message: TracesRequest, context: Context, tally: Tally): TracesRequest {
  const resourceSpans: ResourceSpans[] = [];
  for (const rs of message.resourceSpans ?? []) {
    const outer = attributesProblem(rs.resource?.attributes, 'resource', context);
    const resourceCut = outer ? undefined : cutAttributes(rs.resource?.attributes, 'resource', context);
    const scopeSpans = (rs.scopeSpans ?? []).map((ss) => {
      const scopeProblem = outer ?? attributesProblem(ss.scope?.attributes, 'scope', context);
      const scopeCut = scopeProblem ? undefined : cutAttributes(ss.scope?.attributes, 'scope', context);
      const spans: Span[] = [];
      for (const span of ss.spans ?? []) {
        const problem = scopeProblem ?? spanProblem(span, context);
        if (problem !== undefined) {
          tally.reject(problem);
          continue;
        }
        const own = cutSpan(span, context);
        tally.accept(own?.cut ?? scopeCut ?? resourceCut);
        spans.push(own?.span ?? span);
      }
      return scopeCut
        ? { ...ss, scope: { ...ss.scope, attributes: scopeCut.attributes }, spans }
        : { ...ss, spans };
    });
    resourceSpans.push(
      resourceCut
        ? { ...rs, resource: { ...rs.resource, attributes: resourceCut.attributes }, scopeSpans }
        : { ...rs, scopeSpans },
    );
  }
  return { resourceSpans };
}

/** Metrics are never cut: resource, scope and label values identify a series. */
function validateMetrics(message: MetricsRequest, context: Context, tally: Tally): MetricsRequest {
  const strict = { valuesMustFit: true };
  const resourceMetrics: ResourceMetrics[] = [];
  for (const rm of message.resourceMetrics ?? []) {
    const outer = attributesProblem(rm.resource?.attributes, 'resource', context, strict);
    const scopeMetrics = (rm.scopeMetrics ?? []).map((sm) => {
      const scopeProblem = outer ?? attributesProblem(sm.scope?.attributes, 'scope', context, strict);
      const metrics = (sm.metrics ?? []).flatMap((metric) =>
        validateMetric(metric, scopeProblem, context, tally),
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
  context: Context,
  tally: Tally,
): Metric[] {
  const name = metric.name ?? '';
  const points = metric.gauge?.dataPoints ?? metric.sum?.dataPoints ?? metric.histogram?.dataPoints ?? null;
  const unsupported = metric.exponentialHistogram?.dataPoints ?? metric.summary?.dataPoints ?? null;
  const badName = name === '' ? undefined : nameIssue(name, context.limits, false);
  const metricProblem: Problem | undefined =
    inherited ??
    (name === ''
      ? { reason: 'missing_metric_name', detail: 'a metric has no name' }
      : badName !== undefined
        ? { reason: 'invalid_metric_name', detail: `metric name ${quote(name)} ${badName}` }
        : unsupported !== null
          ? {
              reason: 'unsupported_metric_type',
              detail: `metric "${name}" is ${metric.summary ? 'a summary' : 'an exponential histogram'}, which Sightline does not store yet (send explicit-bucket histograms)`,
            }
          : points === null
            ? {
                reason: 'missing_metric_data',
                detail: `metric "${name}" has no gauge, sum or histogram data`,
              }
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
        : (windowProblem(point.timeUnixNano, `time_unix_nano of a data point of "${name}"`, context) ??
          // The start of a cumulative series may lie far back (when counting began): only its range is checked.
          timeProblem(point.startTimeUnixNano, 'start_time_unix_nano') ??
          attributesProblem(point.attributes, `data point of "${name}"`, context, {
            valuesMustFit: true,
            labels: true,
          }));
    if (problem === undefined) tally.accept();
    else tally.reject(problem);
    return problem === undefined;
  });
  if (kept.length === 0) return [];
  if (kept.length === points?.length) return [metric];
  if (metric.gauge) return [{ ...metric, gauge: { ...metric.gauge, dataPoints: kept } }];
  if (metric.sum) return [{ ...metric, sum: { ...metric.sum, dataPoints: kept } }];
  return [{ ...metric, histogram: { ...metric.histogram, dataPoints: kept } }];
}

function logProblem(record: LogRecord, context: Context): Problem | undefined {
  const { limits } = context;
  return (
    windowProblem(record.timeUnixNano, 'time_unix_nano', context) ??
    windowProblem(record.observedTimeUnixNano, 'observed_time_unix_nano', context) ??
    idProblem(record.traceId, 16, 'invalid_trace_id', 'trace_id', true) ??
    idProblem(record.spanId, 8, 'invalid_span_id', 'span_id', true) ??
    depthProblem(valueDepth(record.body, limits.maxAttributeDepth), 'the body', limits) ??
    bodyProblem(record.body, limits) ??
    attributesProblem(record.attributes, 'a log record', context)
  );
}

function spanProblem(span: Span, context: Context): Problem | undefined {
  const own =
    windowProblem(span.startTimeUnixNano, 'start_time_unix_nano', context) ??
    windowProblem(span.endTimeUnixNano, 'end_time_unix_nano', context) ??
    idProblem(span.traceId, 16, 'invalid_trace_id', 'trace_id', false) ??
    idProblem(span.spanId, 8, 'invalid_span_id', 'span_id', false) ??
    idProblem(span.parentSpanId, 8, 'invalid_parent_span_id', 'parent_span_id', true) ??
    attributesProblem(span.attributes, 'a span', context);
  if (own !== undefined) return own;
  for (const event of span.events ?? []) {
    const problem = attributesProblem(event.attributes, 'a span event', context);
    if (problem !== undefined) return problem;
  }
  for (const link of span.links ?? []) {
    const problem =
      idProblem(link.traceId, 16, 'invalid_trace_id', 'a link trace_id', false) ??
      idProblem(link.spanId, 8, 'invalid_span_id', 'a link span_id', false) ??
      attributesProblem(link.attributes, 'a span link', context);
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

/** A time that is set (not 0) must lie within the window around the server's clock. */
function windowProblem(value: Int64, field: string, context: Context): Problem | undefined {
  const ns = toBigInt(value);
  if (ns === 0n) return undefined;
  const beyond = timeProblem(value, field);
  if (beyond !== undefined) return beyond;
  const { limits, nowNs } = context;
  if (ns > context.latestNs) {
    return {
      reason: 'timestamp_in_future',
      detail: `${field} ${formatNs(ns)} is ${roughly(ns - nowNs)} ahead of the server's clock; at most ${roughly(BigInt(limits.maxFutureSeconds) * NS_PER_SECOND)} ahead is accepted (ingest.limits.maxFutureSeconds): check the sender's clock`,
    };
  }
  if (context.earliestNs !== undefined && ns < context.earliestNs) {
    return {
      reason: 'timestamp_too_old',
      detail: `${field} ${formatNs(ns)} is ${roughly(nowNs - ns)} old; records older than ${roughly(BigInt(limits.maxPastSeconds) * NS_PER_SECOND)} are not accepted (ingest.limits.maxPastSeconds)`,
    };
  }
  return undefined;
}

/** A span with its (and its events' and links') long attribute values cut; undefined when none is long. */
function cutSpan(span: Span, context: Context): { span: Span; cut: Cut } | undefined {
  let first = cutAttributes(span.attributes, 'a span', context);
  let copy: Span | undefined = first ? { ...span, attributes: first.attributes } : undefined;
  const events = span.events?.map((event) => {
    const cut = cutAttributes(event.attributes, 'a span event', context);
    first ??= cut;
    return cut ? { ...event, attributes: cut.attributes } : event;
  });
  if (events?.some((event, i) => event !== span.events?.[i])) copy = { ...(copy ?? span), events };
  const links = span.links?.map((link) => {
    const cut = cutAttributes(link.attributes, 'a span link', context);
    first ??= cut;
    return cut ? { ...link, attributes: cut.attributes } : link;
  });
  if (links?.some((link, i) => link !== span.links?.[i])) copy = { ...(copy ?? span), links };
  return copy && first ? { span: copy, cut: first } : undefined;
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

/**
 * One attribute set: how many, how deep, its keys, and (`valuesMustFit`, for metrics) the length of
 * its values. `labels`: the keys are a data point's label names.
 */
function attributesProblem(
  attributes: readonly KeyValue[] | null | undefined,
  where: string,
  context: Context,
  options: { valuesMustFit?: boolean; labels?: boolean } = {},
): Problem | undefined {
  if (attributes === null || attributes === undefined || attributes.length === 0) return undefined;
  const { limits } = context;
  if (attributes.length > limits.maxAttributes) {
    return {
      reason: 'too_many_attributes',
      detail: `${where} has ${attributes.length} attributes; at most ${limits.maxAttributes} are accepted (ingest.limits.maxAttributes)`,
    };
  }
  const depth = depthProblem(
    attributesDepth(attributes, limits.maxAttributeDepth),
    `attributes of ${where}`,
    limits,
  );
  if (depth !== undefined) return depth;
  for (const kv of attributes) {
    const key = kv.key ?? '';
    const issue = nameIssue(key, limits, options.labels === true);
    if (issue !== undefined) {
      return options.labels
        ? { reason: 'invalid_label_name', detail: `label name ${quote(key)} of ${where} ${issue}` }
        : { reason: 'invalid_attribute_key', detail: `attribute key ${quote(key)} of ${where} ${issue}` };
    }
    if (options.valuesMustFit) {
      const bytes = longestOver(kv.value, limits.maxAttributeValueBytes);
      if (bytes !== undefined) {
        return {
          reason: 'attribute_value_too_long',
          detail: `attribute ${quote(key)} of ${where} has a value of ${bytes} bytes; at most ${limits.maxAttributeValueBytes} are accepted (ingest.limits.maxAttributeValueBytes), and metric values are not cut since they identify a series`,
        };
      }
    }
  }
  return undefined;
}

function depthProblem(depth: number, what: string, limits: ValidationLimits): Problem | undefined {
  if (depth <= limits.maxAttributeDepth) return undefined;
  return {
    reason: 'attribute_too_deep',
    detail: `${what} nest deeper than ${limits.maxAttributeDepth} levels (ingest.maxAttributeDepth)`,
  };
}

/** Control characters (C0, DEL, C1) never belong in a name. */
const CONTROL = /\p{Cc}/u;

/** What is wrong with a metric name, label name or attribute key, in words; undefined when nothing. */
function nameIssue(name: string, limits: ValidationLimits, label: boolean): string | undefined {
  if (name === '') return 'is empty';
  const bytes = utf8Over(name, limits.maxNameBytes);
  if (bytes !== undefined)
    return `is ${bytes} bytes long; at most ${limits.maxNameBytes} are accepted (ingest.limits.maxNameBytes)`;
  const control = CONTROL.exec(name)?.[0];
  if (control !== undefined) return `contains the control character ${codePoint(control)}`;
  if (label && name.startsWith('__')) return 'starts with "__", which Prometheus reserves for its own labels';
  return undefined;
}

function bodyProblem(body: AnyValue | null | undefined, limits: ValidationLimits): Problem | undefined {
  const max = limits.maxLogBodyBytes;
  if (body?.stringValue !== null && body?.stringValue !== undefined) {
    const bytes = utf8Over(body.stringValue, max);
    return bytes === undefined
      ? undefined
      : {
          reason: 'body_too_large',
          detail: `the body is ${bytes} bytes; at most ${max} are accepted (ingest.limits.maxLogBodyBytes): split the record or move data to attributes`,
        };
  }
  if (valueBytes(body, max) <= max) return undefined;
  return {
    reason: 'body_too_large',
    detail: `the body holds more than ${max} bytes; at most ${max} are accepted (ingest.limits.maxLogBodyBytes): split the record`,
  };
}

/**
 * Bytes a value holds (UTF-8 text, bytes, keys, 8 per number, 1 per boolean), counted only
 * until it passes `budget`: a hostile value costs no more than the budget to measure.
 */
function valueBytes(value: AnyValue | null | undefined, budget: number): number {
  if (value === null || value === undefined) return 0;
  if (value.stringValue !== null && value.stringValue !== undefined)
    return utf8Over(value.stringValue, budget) ?? Buffer.byteLength(value.stringValue, 'utf8');
  if (value.bytesValue !== null && value.bytesValue !== undefined) return value.bytesValue.length;
  if (value.boolValue !== null && value.boolValue !== undefined) return 1;
  if (value.arrayValue !== null && value.arrayValue !== undefined) {
    let total = 0;
    for (const item of value.arrayValue.values ?? []) {
      total += valueBytes(item, budget - total);
      if (total > budget) break;
    }
    return total;
  }
  if (value.kvlistValue !== null && value.kvlistValue !== undefined) {
    let total = 0;
    for (const kv of value.kvlistValue.values ?? []) {
      total += Buffer.byteLength(kv.key ?? '', 'utf8');
      total += valueBytes(kv.value, budget - total);
      if (total > budget) break;
    }
    return total;
  }
  return 8;
}

/** The UTF-8 length of `text` when it is over `max` bytes, else undefined (cheap for short text). */
function utf8Over(text: string, max: number): number | undefined {
  // A UTF-16 code unit is at most 3 bytes of UTF-8 (a surrogate pair, two units, is 4).
  if (text.length * 3 <= max) return undefined;
  const bytes = Buffer.byteLength(text, 'utf8');
  return bytes > max ? bytes : undefined;
}

/** The size of the first string or bytes value (nested ones too) over `max` bytes, or undefined. */
function longestOver(value: AnyValue | null | undefined, max: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (value.stringValue !== null && value.stringValue !== undefined) return utf8Over(value.stringValue, max);
  if (value.bytesValue !== null && value.bytesValue !== undefined)
    return value.bytesValue.length > max ? value.bytesValue.length : undefined;
  const children = value.arrayValue
    ? value.arrayValue.values
    : value.kvlistValue
      ? value.kvlistValue.values?.map((kv) => kv.value)
      : undefined;
  for (const child of children ?? []) {
    const bytes = longestOver(child, max);
    if (bytes !== undefined) return bytes;
  }
  return undefined;
}

/**
 * A copy of `attributes` with string and bytes values over the limit cut to it (at a character
 * boundary), as the OpenTelemetry SDKs' attribute value length limit does; undefined when none is.
 */
function cutAttributes(
  attributes: readonly KeyValue[] | null | undefined,
  where: string,
  context: Context,
): Cut | undefined {
  const max = context.limits.maxAttributeValueBytes;
  let cut: Cut | undefined;
  for (const [i, kv] of (attributes ?? []).entries()) {
    const bytes = longestOver(kv.value, max);
    if (bytes === undefined) continue;
    cut ??= {
      attributes: [...(attributes ?? [])],
      detail: `attribute ${quote(kv.key ?? '')} of ${where} has a value of ${bytes} bytes, cut to ${max} (ingest.limits.maxAttributeValueBytes)`,
    };
    if (kv.value) cut.attributes[i] = { ...kv, value: cutValue(kv.value, max) };
  }
  return cut;
}

function cutValue(value: AnyValue, max: number): AnyValue {
  if (value.stringValue !== null && value.stringValue !== undefined) {
    return utf8Over(value.stringValue, max) === undefined
      ? value
      : { stringValue: cutUtf8(value.stringValue, max) };
  }
  if (value.bytesValue !== null && value.bytesValue !== undefined) {
    return value.bytesValue.length > max ? { bytesValue: value.bytesValue.subarray(0, max) } : value;
  }
  if (value.arrayValue) {
    return { arrayValue: { values: (value.arrayValue.values ?? []).map((item) => cutValue(item, max)) } };
  }
  if (value.kvlistValue) {
    const values = (value.kvlistValue.values ?? []).map((kv) =>
      kv.value ? { ...kv, value: cutValue(kv.value, max) } : kv,
    );
    return { kvlistValue: { values } };
  }
  return value;
}

/** The longest prefix of `text` that is at most `max` bytes of UTF-8, never half a character. */
function cutUtf8(text: string, max: number): string {
  const bytes = Buffer.from(text, 'utf8');
  let end = max;
  // Back off continuation bytes (10xxxxxx) to the start of the character the limit falls in.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** A name as shown in a message: JSON-quoted (control characters visible), long ones cut. */
function quote(name: string): string {
  return JSON.stringify(cutText(name, 64));
}

function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  // Never end on half a surrogate pair.
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 2)) ? max - 2 : max - 1;
  return `${text.slice(0, end)}…`;
}

function codePoint(char: string): string {
  return `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** A duration for people: `45 s`, `12 min`, `1 h`, `2 days`. */
function roughly(ns: bigint): string {
  const seconds = Number(ns / 1_000_000n) / 1000;
  const round = (n: number): number => Math.round(n * 10) / 10;
  if (seconds < 60) return `${round(seconds)} s`;
  if (seconds < 3600) return `${round(seconds / 60)} min`;
  if (seconds < 86_400) return `${round(seconds / 3600)} h`;
  const days = round(seconds / 86_400);
  return days === 1 ? '1 day' : `${days} days`;
}
