import type { opentelemetry } from './generated/otlp.js';

/**
 * The OTLP message shapes the rest of Sightline works with. They are the generated
 * property interfaces: decoded protobuf messages and objects built from OTLP/JSON both
 * satisfy them, and every field may be missing (proto3 defaults).
 */
export type AnyValue = opentelemetry.proto.common.v1.AnyValue.$Properties;
export type KeyValue = opentelemetry.proto.common.v1.KeyValue.$Properties;
export type InstrumentationScope = opentelemetry.proto.common.v1.InstrumentationScope.$Properties;
export type Resource = opentelemetry.proto.resource.v1.Resource.$Properties;

export type LogsRequest = opentelemetry.proto.collector.v1.ExportLogsServiceRequest.$Properties;
export type ResourceLogs = opentelemetry.proto.logs.v1.ResourceLogs.$Properties;
export type ScopeLogs = opentelemetry.proto.logs.v1.ScopeLogs.$Properties;
export type LogRecord = opentelemetry.proto.logs.v1.LogRecord.$Properties;

export type TracesRequest = opentelemetry.proto.collector.v1.ExportTraceServiceRequest.$Properties;
export type ResourceSpans = opentelemetry.proto.trace.v1.ResourceSpans.$Properties;
export type ScopeSpans = opentelemetry.proto.trace.v1.ScopeSpans.$Properties;
export type Span = opentelemetry.proto.trace.v1.Span.$Properties;
export type SpanEvent = opentelemetry.proto.trace.v1.Span.Event.$Properties;
export type SpanLink = opentelemetry.proto.trace.v1.Span.Link.$Properties;
export type SpanStatus = opentelemetry.proto.trace.v1.Status.$Properties;

export type MetricsRequest = opentelemetry.proto.collector.v1.ExportMetricsServiceRequest.$Properties;
export type ResourceMetrics = opentelemetry.proto.metrics.v1.ResourceMetrics.$Properties;
export type ScopeMetrics = opentelemetry.proto.metrics.v1.ScopeMetrics.$Properties;
export type Metric = opentelemetry.proto.metrics.v1.Metric.$Properties;
export type NumberDataPoint = opentelemetry.proto.metrics.v1.NumberDataPoint.$Properties;
export type HistogramDataPoint = opentelemetry.proto.metrics.v1.HistogramDataPoint.$Properties;
export type ExponentialHistogramDataPoint =
  opentelemetry.proto.metrics.v1.ExponentialHistogramDataPoint.$Properties;
export type SummaryDataPoint = opentelemetry.proto.metrics.v1.SummaryDataPoint.$Properties;
export type Exemplar = opentelemetry.proto.metrics.v1.Exemplar.$Properties;

export type OtlpSignal = 'logs' | 'metrics' | 'traces';
export type OtlpFormat = 'protobuf' | 'json';

export type OtlpRequest =
  | { signal: 'logs'; message: LogsRequest }
  | { signal: 'traces'; message: TracesRequest }
  | { signal: 'metrics'; message: MetricsRequest };
