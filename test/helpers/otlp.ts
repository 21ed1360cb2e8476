import type { LogsRequest, MetricsRequest, OtlpRequest, TracesRequest } from '../../src/otlp/types.js';

/** The message of a decoded request of the expected signal (the test fails on another). */
export function logsOf(request: OtlpRequest): LogsRequest {
  if (request.signal !== 'logs') throw new Error(`expected logs, got ${request.signal}`);
  return request.message;
}

export function tracesOf(request: OtlpRequest): TracesRequest {
  if (request.signal !== 'traces') throw new Error(`expected traces, got ${request.signal}`);
  return request.message;
}

export function metricsOf(request: OtlpRequest): MetricsRequest {
  if (request.signal !== 'metrics') throw new Error(`expected metrics, got ${request.signal}`);
  return request.message;
}
