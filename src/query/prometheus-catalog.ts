import { SightlineError } from '../core/errors.js';
import { msToNs } from '../core/time.js';
import type { OrgId } from '../store/rows.js';
import type { Store, TimeRange } from '../store/store.js';
import { promNamesOf, seriesLabels } from './prometheus-labels.js';
import { StoreSeriesSource } from './promql-store-source.js';
import { parseQuery } from './promql-query.js';
import { selectorsOf } from './promql/index.js';
import type { QueryLimits } from './query-limits.js';

/**
 * What Grafana asks before it queries: series by selector, label names, label values and
 * metric metadata, all over one org's metrics in a time range.
 */

export interface CatalogContext {
  store: Store;
  org: OrgId;
  limits: QueryLimits;
}

export type LabelSet = Readonly<Record<string, string>>;

/** Label sets of the series matching any of `selectors` (`match[]`); without selectors, every series. */
export async function findSeries(
  context: CatalogContext,
  selectors: readonly string[],
  startMs: number,
  endMs: number,
): Promise<LabelSet[]> {
  if (selectors.length === 0)
    return allSeries(context, { fromNs: msToNs(startMs), toNs: msToNs(endMs) + 1n });
  const source = new StoreSeriesSource(context.store, context.org, context.limits);
  const found = new Map<string, LabelSet>();
  for (const selector of selectors) {
    const parsed = selectorsOf(parseQuery(selector));
    const only = parsed[0];
    if (parsed.length !== 1 || only === undefined) {
      throw new SightlineError(
        'SL_ERR_BAD_REQUEST',
        `match[]=${JSON.stringify(selector)} must be one series selector`,
      );
    }
    for (const series of await source.select(only.matchers, startMs, endMs)) {
      found.set(JSON.stringify(Object.entries(series.labels).sort()), series.labels);
    }
  }
  return [...found.values()];
}

async function allSeries(context: CatalogContext, range: TimeRange): Promise<LabelSet[]> {
  const { series, truncated } = await context.store.listSeries(context.org, {
    ...range,
    maxSeries: context.limits.maxSeries,
  });
  if (truncated) {
    throw new SightlineError(
      'SL_ERR_QUERY_LIMIT',
      `more than ${context.limits.maxSeries} series in this range; pass match[] selectors or a shorter range`,
    );
  }
  return series.flatMap((meta) => {
    const labels = seriesLabels(meta);
    return promNamesOf({ ...meta }).map((name) => ({ ...labels, __name__: name.name }));
  });
}

export function labelNames(sets: readonly LabelSet[]): string[] {
  const names = new Set<string>();
  for (const set of sets) for (const name of Object.keys(set)) names.add(name);
  return [...names].sort();
}

export function labelValues(sets: readonly LabelSet[], name: string): string[] {
  const values = new Set<string>();
  for (const set of sets) {
    const value = set[name];
    if (value !== undefined) values.add(value);
  }
  return [...values].sort();
}

export interface MetricMetadata {
  type: 'counter' | 'gauge' | 'histogram' | 'unknown';
  help: string;
  unit: string;
}

/** Prometheus' `/api/v1/metadata`: per metric name, what kind of metric it is. */
export async function metricMetadata(
  context: CatalogContext,
  range: TimeRange,
  metric: string | undefined,
): Promise<Record<string, MetricMetadata[]>> {
  const entries = await context.store.listMetricNames(context.org, range);
  const metadata: Record<string, MetricMetadata[]> = {};
  for (const entry of entries) {
    const type =
      entry.kind === 'histogram'
        ? 'histogram'
        : entry.kind === 'sum' && entry.monotonic
          ? 'counter'
          : entry.kind === 'gauge' || entry.kind === 'sum'
            ? 'gauge'
            : 'unknown';
    const [first] = promNamesOf(entry);
    const name =
      type === 'histogram' && first !== undefined ? first.name.replace(/_bucket$/, '') : first?.name;
    if (name === undefined || (metric !== undefined && metric !== '' && metric !== name)) continue;
    metadata[name] = [{ type, help: entry.name === name ? '' : `stored as ${entry.name}`, unit: entry.unit }];
  }
  return metadata;
}
