import { SeverityNumber } from '@opentelemetry/api-logs';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPLogExporter as HttpLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as HttpMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as HttpTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordExporter,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';

/**
 * The real OpenTelemetry JS SDK, pointed at a Sightline: the exporters a user would use
 * (protobuf and JSON over HTTP). Exports are observed, not replaced, so a test knows which
 * batches Sightline acknowledged.
 */

export type Encoding = 'proto' | 'json';

export interface ExportTally {
  succeeded: number;
  failed: number;
  errors: string[];
}

function observed<T>(tally: ExportTally, count: (items: T) => number) {
  return (items: T, result: ExportResult): void => {
    if (result.code === ExportResultCode.SUCCESS) tally.succeeded += count(items);
    else {
      tally.failed += count(items);
      tally.errors.push(result.error?.message ?? 'unknown export error');
    }
  };
}

function exporterConfig(url: string, key: string) {
  return { url, headers: { Authorization: `Bearer ${key}` }, timeoutMillis: 30_000 };
}

export function logsPipeline(ingestUrl: string, key: string, encoding: Encoding, service: string) {
  const config = exporterConfig(`${ingestUrl}/v1/logs`, key);
  const inner: LogRecordExporter =
    encoding === 'proto' ? new ProtoLogExporter(config) : new HttpLogExporter(config);
  const tally: ExportTally = { succeeded: 0, failed: 0, errors: [] };
  const record = observed<ReadableLogRecord[]>(tally, (records) => records.length);
  const exporter: LogRecordExporter = {
    export: (records, done) => inner.export(records, (result) => (record(records, result), done(result))),
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
  };
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'host.name': 'e2e-host' }),
    processors: [
      new BatchLogRecordProcessor({
        exporter,
        maxExportBatchSize: 200,
        maxQueueSize: 100_000,
        scheduledDelayMillis: 50,
      }),
    ],
  });
  return { provider, logger: provider.getLogger('e2e', '1.0.0'), tally, SeverityNumber };
}

export function tracesPipeline(ingestUrl: string, key: string, encoding: Encoding, service: string) {
  const config = exporterConfig(`${ingestUrl}/v1/traces`, key);
  const inner: SpanExporter =
    encoding === 'proto' ? new ProtoTraceExporter(config) : new HttpTraceExporter(config);
  const tally: ExportTally = { succeeded: 0, failed: 0, errors: [] };
  const record = observed<ReadableSpan[]>(tally, (spans) => spans.length);
  const exporter: SpanExporter = {
    export: (spans, done) => inner.export(spans, (result) => (record(spans, result), done(result))),
    shutdown: () => inner.shutdown(),
  };
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  return { provider, tracer: provider.getTracer('e2e', '1.0.0'), tally };
}

export function metricsPipeline(ingestUrl: string, key: string, encoding: Encoding, service: string) {
  const config = exporterConfig(`${ingestUrl}/v1/metrics`, key);
  const inner: PushMetricExporter =
    encoding === 'proto' ? new ProtoMetricExporter(config) : new HttpMetricExporter(config);
  const tally: ExportTally = { succeeded: 0, failed: 0, errors: [] };
  const record = observed<ResourceMetrics>(tally, () => 1);
  const exporter: PushMetricExporter = {
    export: (metrics, done) => inner.export(metrics, (result) => (record(metrics, result), done(result))),
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
    ...(inner.selectAggregationTemporality
      ? { selectAggregationTemporality: inner.selectAggregationTemporality.bind(inner) }
      : {}),
  };
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })],
  });
  return { provider, meter: provider.getMeter('e2e', '1.0.0'), tally };
}
