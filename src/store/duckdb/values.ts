import type { Severity } from '../rows.js';
import type { StoredLog } from '../store.js';

/** A column value as text; DuckDB gives strings, numbers, bigints and booleans, null is ''. */
export function str(value: unknown): string {
  if (typeof value === 'string') return value;
  return typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean'
    ? String(value)
    : '';
}

/** A BIGINT column (nanosecond times) as a bigint. */
export function big(value: unknown): bigint {
  return typeof value === 'bigint' ? value : BigInt(Number(value ?? 0));
}

/** The columns of a stored log, in the order `storedLogOf` reads them. */
export const LOG_COLUMNS = `id, ts, observed_ts, service, host, entity_id, severity, severity_number, severity_text,
  body, trace_id, span_id, event_name, scope_name, attributes, resource`;

export function storedLogOf(r: Record<string, unknown>): StoredLog {
  return {
    id: str(r.id),
    ts: big(r.ts),
    observedTs: big(r.observed_ts),
    service: str(r.service),
    host: str(r.host),
    entityId: str(r.entity_id),
    severity: str(r.severity) as Severity,
    severityNumber: Number(r.severity_number),
    severityText: str(r.severity_text),
    body: str(r.body),
    traceId: str(r.trace_id),
    spanId: str(r.span_id),
    eventName: str(r.event_name),
    scopeName: str(r.scope_name),
    attributes: str(r.attributes),
    resource: str(r.resource),
  };
}
