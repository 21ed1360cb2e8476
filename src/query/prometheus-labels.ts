import type { MetricNameEntry, StoredSeriesMeta } from '../store/store.js';

/**
 * How stored series look to PromQL and the Prometheus API. OpenTelemetry names may hold dots
 * and other characters Prometheus does not allow, so names and label keys are sanitised the
 * way the OpenTelemetry Collector's Prometheus exporters do (`http.server.duration` →
 * `http_server_duration`), without their unit and `_total` suffixes: a name stays findable by
 * what the sender called it. A histogram is three metrics, `<name>_bucket` (with `le`),
 * `<name>_count` and `<name>_sum`. The resource adds `job` (service.name) and `instance`
 * (host) unless the point has those labels itself, and database metrics carry `entity_id` (the
 * entity every service or host gets by default adds nothing to `job` and `instance`).
 */

export type SeriesPart = 'value' | 'bucket' | 'count' | 'sum';

export interface PromMetricName {
  /** As PromQL sees it. */
  name: string;
  stored: string;
  part: SeriesPart;
}

const INVALID_METRIC_CHAR = /[^a-zA-Z0-9_:]/g;
const INVALID_LABEL_CHAR = /[^a-zA-Z0-9_]/g;
const STARTS_WITH_DIGIT = /^[0-9]/;

export function promMetricName(stored: string): string {
  const name = stored.replace(INVALID_METRIC_CHAR, '_');
  return STARTS_WITH_DIGIT.test(name) ? `_${name}` : name;
}

export function promLabelName(key: string): string {
  const name = key.replace(INVALID_LABEL_CHAR, '_');
  return STARTS_WITH_DIGIT.test(name) ? `key_${name}` : name;
}

/** The PromQL metrics a stored metric appears as. */
export function promNamesOf(entry: MetricNameEntry): PromMetricName[] {
  const base = promMetricName(entry.name);
  if (entry.kind !== 'histogram') return [{ name: base, stored: entry.name, part: 'value' }];
  return (['bucket', 'count', 'sum'] as const).map((part) => ({
    name: `${base}_${part}`,
    stored: entry.name,
    part,
  }));
}

/** A series' labels without `__name__` (and without `le`, which comes from its buckets). */
export function seriesLabels(meta: StoredSeriesMeta): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(parseLabels(meta.labels))) {
    const text = labelValue(value);
    if (text !== '') labels[promLabelName(key)] = text;
  }
  if (labels.job === undefined && meta.service !== '') labels.job = meta.service;
  if (labels.instance === undefined && meta.host !== '') labels.instance = meta.host;
  if (labels.entity_id === undefined && explicitEntity(meta)) labels.entity_id = meta.entityId;
  return labels;
}

/** An entity named by its sender (a database), not the one every service or host gets by default. */
function explicitEntity(meta: StoredSeriesMeta): boolean {
  return (
    meta.entityId !== '' &&
    meta.entityId !== `service/${meta.service}` &&
    meta.entityId !== `host/${meta.host}`
  );
}

function parseLabels(json: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(json);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

function labelValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  return value === null || value === undefined ? '' : JSON.stringify(value);
}
