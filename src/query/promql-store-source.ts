import { SightlineError } from '../core/errors.js';
import { msToNs } from '../core/time.js';
import type { OrgId } from '../store/rows.js';
import type { SeriesPoints, Store, StoredSeriesMeta, TimeRange } from '../store/store.js';
import { promNamesOf, seriesLabels, type PromMetricName, type SeriesPart } from './prometheus-labels.js';
import {
  formatSampleValue,
  matcherMatches,
  type LabelMatcher,
  type RawSeries,
  type SeriesSource,
} from './promql/index.js';

export interface StoreSourceLimits {
  /** Points one query may read (PromQL's `--query.max-samples`). */
  maxSamples: number;
  /** Series one selector may match. */
  maxSeries: number;
}

interface Candidate {
  meta: StoredSeriesMeta;
  part: SeriesPart;
  name: string;
  labels: Record<string, string>;
}

/**
 * The PromQL engine's samples, read from one org's stored metric points (prometheus-labels.ts
 * says how they are named). Matchers on `__name__` pick stored metrics, the others are applied
 * to each series' labels before any point is read. Delta sums and histograms are turned into
 * running totals from the start of the window, so `rate` and `increase` read them as
 * Prometheus reads counters.
 */
export class StoreSeriesSource implements SeriesSource {
  private pointsRead = 0;

  constructor(
    private readonly store: Store,
    private readonly org: OrgId,
    private readonly limits: StoreSourceLimits,
  ) {}

  async select(matchers: readonly LabelMatcher[], startMs: number, endMs: number): Promise<RawSeries[]> {
    const range: TimeRange = { fromNs: msToNs(startMs), toNs: msToNs(endMs) };
    const names = await this.matchingNames(matchers, range);
    if (names.length === 0) return [];
    const stored = [...new Set(names.map((n) => n.stored))];
    const { series, truncated } = await this.store.listSeries(this.org, {
      ...range,
      toNs: range.toNs + 1n,
      names: stored,
      maxSeries: this.limits.maxSeries,
    });
    if (truncated) {
      throw new SightlineError(
        'SL_ERR_QUERY_LIMIT',
        `a selector matches more than ${this.limits.maxSeries} series; add label matchers to narrow it`,
      );
    }
    const partsOf = groupBy(names, (n) => n.stored);
    const labelMatchers = matchers.filter((m) => m.name !== '__name__' && m.name !== 'le');
    const candidates: Candidate[] = [];
    for (const meta of series) {
      const labels = seriesLabels(meta);
      if (!labelMatchers.every((m) => matcherMatches(m, labels[m.name] ?? ''))) continue;
      for (const part of partsOf.get(meta.name) ?? []) {
        candidates.push({ meta, part: part.part, name: part.name, labels });
      }
    }
    const points = await this.readPoints(candidates, range);
    const leMatchers = matchers.filter((m) => m.name === 'le');
    const raw: RawSeries[] = [];
    for (const candidate of candidates) {
      const read = points.get(candidate.meta.seriesId);
      if (read === undefined || read.timestampsMs.length === 0) continue;
      for (const built of this.build(candidate, read)) {
        if (leMatchers.every((m) => matcherMatches(m, built.labels.le ?? ''))) raw.push(built);
      }
    }
    return mergeSameLabels(raw);
  }

  private async matchingNames(
    matchers: readonly LabelMatcher[],
    range: TimeRange,
  ): Promise<PromMetricName[]> {
    const nameMatchers = matchers.filter((m) => m.name === '__name__');
    const entries = await this.store.listMetricNames(this.org, { ...range, toNs: range.toNs + 1n });
    return entries.flatMap(promNamesOf).filter((n) => nameMatchers.every((m) => matcherMatches(m, n.name)));
  }

  private async readPoints(
    candidates: readonly Candidate[],
    range: TimeRange,
  ): Promise<Map<string, SeriesPoints>> {
    const points = new Map<string, SeriesPoints>();
    for (const histogram of [false, true]) {
      const metas = uniqueMetas(candidates.filter((c) => (c.meta.kind === 'histogram') === histogram));
      if (metas.length === 0) continue;
      const read = await this.store.readSeriesPoints(this.org, {
        ...range,
        seriesIds: metas.map((m) => m.seriesId),
        names: [...new Set(metas.map((m) => m.name))],
        histogram,
        maxPoints: this.limits.maxSamples - this.pointsRead,
      });
      read.forEach((p, i) => {
        const meta = metas[i];
        if (meta === undefined) return;
        this.pointsRead += p.timestampsMs.length;
        points.set(meta.seriesId, p);
      });
    }
    return points;
  }

  private build(candidate: Candidate, points: SeriesPoints): RawSeries[] {
    const { meta, part, name, labels } = candidate;
    const cumulative = meta.temporality === 'delta';
    const withName = { ...labels, __name__: name };
    if (part === 'value') {
      const values = cumulative && meta.kind === 'sum' ? runningTotal(points.values) : points.values;
      return [{ labels: withName, timestampsMs: points.timestampsMs, values }];
    }
    const histogram = points.histogram;
    if (part === 'count') {
      return [
        {
          labels: withName,
          timestampsMs: points.timestampsMs,
          values: maybeTotal(points.values, cumulative),
        },
      ];
    }
    if (histogram === undefined) return [];
    if (part === 'sum') {
      return [
        {
          labels: withName,
          timestampsMs: points.timestampsMs,
          values: maybeTotal(histogram.sums, cumulative),
        },
      ];
    }
    return bucketSeries(withName, points.timestampsMs, histogram.bounds, histogram.counts, cumulative);
  }
}

/** One series per bucket bound: cumulative counts up to and including the bound, `+Inf` last. */
function bucketSeries(
  labels: Record<string, string>,
  timestampsMs: Float64Array,
  bounds: readonly (readonly number[])[],
  counts: readonly (readonly number[])[],
  delta: boolean,
): RawSeries[] {
  const byLe = new Map<string, { ts: number[]; values: number[]; total: number }>();
  for (let i = 0; i < timestampsMs.length; i++) {
    const pointBounds = bounds[i] ?? [];
    const pointCounts = counts[i] ?? [];
    let running = 0;
    for (let b = 0; b < pointCounts.length; b++) {
      running += pointCounts[b] ?? 0;
      const bound = pointBounds[b];
      const le = bound === undefined ? '+Inf' : formatSampleValue(bound);
      let series = byLe.get(le);
      if (series === undefined) {
        series = { ts: [], values: [], total: 0 };
        byLe.set(le, series);
      }
      series.total = delta ? series.total + running : running;
      series.ts.push(timestampsMs[i] ?? 0);
      series.values.push(series.total);
    }
  }
  return [...byLe].map(([le, s]) => ({
    labels: { ...labels, le },
    timestampsMs: Float64Array.from(s.ts),
    values: Float64Array.from(s.values),
  }));
}

function maybeTotal(values: Float64Array, delta: boolean): Float64Array {
  return delta ? runningTotal(values) : values;
}

function runningTotal(values: Float64Array): Float64Array {
  const out = new Float64Array(values.length);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? 0;
    if (!Number.isNaN(v)) total += v;
    out[i] = total;
  }
  return out;
}

function uniqueMetas(candidates: readonly Candidate[]): StoredSeriesMeta[] {
  const seen = new Map<string, StoredSeriesMeta>();
  for (const c of candidates) seen.set(c.meta.seriesId, c.meta);
  return [...seen.values()];
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group === undefined) groups.set(k, [item]);
    else group.push(item);
  }
  return groups;
}

/**
 * Stored series that differ only in what PromQL does not see (other resource attributes, the
 * instrumentation scope) are one Prometheus series: their samples are merged in time order.
 */
function mergeSameLabels(series: readonly RawSeries[]): RawSeries[] {
  const groups = groupBy(series, (s) => labelKey(s.labels));
  return [...groups.values()].map((group) => {
    const [first] = group;
    if (group.length === 1 && first !== undefined) return first;
    const samples = group.flatMap((s) =>
      Array.from(s.timestampsMs, (ts, i): [number, number] => [ts, s.values[i] ?? NaN]),
    );
    samples.sort((a, b) => a[0] - b[0]);
    return {
      labels: first?.labels ?? {},
      timestampsMs: Float64Array.from(samples, (s) => s[0]),
      values: Float64Array.from(samples, (s) => s[1]),
    };
  });
}

function labelKey(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
