import { SightlineError } from '../core/errors.js';
import { msToNs } from '../core/time.js';
import type { OrgId } from '../store/rows.js';
import type { SeriesPoints, SeriesResolution, Store, StoredSeriesMeta, TimeRange } from '../store/store.js';
import { promNamesOf, seriesLabels, type PromMetricName, type SeriesPart } from './prometheus-labels.js';
import {
  formatSampleValue,
  matcherMatches,
  type LabelMatcher,
  type RawSeries,
  type SelectHints,
  type SeriesSource,
} from './promql/index.js';

/** The store reads the engine's samples come from. */
export type SeriesStore = Pick<
  Store,
  'listMetricNames' | 'listSeries' | 'readSeriesPoints' | 'rollupsCompleteTo'
>;

export interface StoreSourceLimits {
  /** Points one query may read (PromQL's `--query.max-samples`). */
  maxSamples: number;
  /** Series one selector may match. */
  maxSeries: number;
}

/** Coarsest first: the rollups a selector may be answered from. */
const ROLLUPS: ReadonlyArray<{ resolution: SeriesResolution; ms: number }> = [
  { resolution: '1h', ms: 3_600_000 },
  { resolution: '5m', ms: 300_000 },
  { resolution: '1m', ms: 60_000 },
];

/** Steps finer than this read raw points: a chart of a day or less gets Prometheus' exact answers. */
const MIN_ROLLUP_STEP_MS = 300_000;

/**
 * Long charts (steps of 5 minutes and more, e.g. a week at Grafana's ~1000 points) read the
 * coarsest rollup that still gives every step five points and every window two (a rate needs
 * two); instant queries and finer steps read raw points. Rollups answer with each bucket's last
 * point, so `rate`, `increase` and latest values match raw data closely, while `max_over_time`
 * and the like see only those points: an approximation, as in any downsampled store. Rollups are
 * also what is left of a series after raw retention (7 days by default).
 */
export function resolutionFor(hints: SelectHints | undefined): SeriesResolution {
  if (hints === undefined || hints.stepMs < MIN_ROLLUP_STEP_MS) return 'raw';
  const rollup = ROLLUPS.find((r) => 5 * r.ms <= hints.stepMs && 2 * r.ms <= hints.windowMs);
  return rollup?.resolution ?? 'raw';
}

/** A window read at a resolution: rollups before `splitMs`, raw points from it on. */
interface Plan {
  resolution: SeriesResolution;
  startMs: number;
  endMs: number;
  splitMs: number;
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
 * Prometheus reads counters. Long charts read rollups (`resolutionFor`).
 */
export class StoreSeriesSource implements SeriesSource {
  private pointsRead = 0;

  constructor(
    private readonly store: SeriesStore,
    private readonly org: OrgId,
    private readonly limits: StoreSourceLimits,
  ) {}

  async select(
    matchers: readonly LabelMatcher[],
    startMs: number,
    endMs: number,
    _signal?: AbortSignal,
    hints?: SelectHints,
  ): Promise<RawSeries[]> {
    const plan = await this.plan(startMs, endMs, resolutionFor(hints));
    const resolutions: SeriesResolution[] = plan.resolution === 'raw' ? ['raw'] : [plan.resolution, 'raw'];
    const names = await this.matchingNames(matchers, plan, resolutions);
    if (names.length === 0) return [];
    const stored = [...new Set(names.map((n) => n.stored))];
    const series = await this.seriesOf(stored, plan, resolutions);
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
    const points = await this.readPoints(candidates, plan);
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

  /**
   * Rollups are complete only up to the rollup job's progress; the newer part of a window is
   * read raw, so the latest minutes are never missing.
   */
  private async plan(startMs: number, endMs: number, resolution: SeriesResolution): Promise<Plan> {
    if (resolution === 'raw') return { resolution, startMs, endMs, splitMs: startMs };
    const completeTo = await this.store.rollupsCompleteTo();
    const splitMs = completeTo === undefined ? startMs : Math.min(Number(completeTo / 1_000_000n), endMs + 1);
    return splitMs <= startMs
      ? { resolution: 'raw', startMs, endMs, splitMs: startMs }
      : { resolution, startMs, endMs, splitMs };
  }

  private async matchingNames(
    matchers: readonly LabelMatcher[],
    plan: Plan,
    resolutions: readonly SeriesResolution[],
  ): Promise<PromMetricName[]> {
    const nameMatchers = matchers.filter((m) => m.name === '__name__');
    const range = windowRange(plan);
    const byName = new Map<string, PromMetricName>();
    for (const resolution of resolutions) {
      const entries = await this.store.listMetricNames(this.org, range, resolution);
      for (const name of entries.flatMap(promNamesOf)) {
        if (nameMatchers.every((m) => matcherMatches(m, name.name))) byName.set(name.name, name);
      }
    }
    return [...byName.values()];
  }

  private async seriesOf(
    stored: readonly string[],
    plan: Plan,
    resolutions: readonly SeriesResolution[],
  ): Promise<StoredSeriesMeta[]> {
    const byId = new Map<string, StoredSeriesMeta>();
    for (const resolution of resolutions) {
      const { series, truncated } = await this.store.listSeries(this.org, {
        ...windowRange(plan),
        resolution,
        names: stored,
        maxSeries: this.limits.maxSeries,
      });
      for (const meta of series) byId.set(meta.seriesId, meta);
      if (truncated || byId.size > this.limits.maxSeries) {
        throw new SightlineError(
          'SL_ERR_QUERY_LIMIT',
          `a selector matches more than ${this.limits.maxSeries} series (api.query.maxSeries); add label matchers to narrow it`,
        );
      }
    }
    return [...byId.values()];
  }

  /** Histograms' buckets exist only raw, so they are always read raw. */
  private async readPoints(candidates: readonly Candidate[], plan: Plan): Promise<Map<string, SeriesPoints>> {
    const points = new Map<string, SeriesPoints>();
    const histograms = uniqueMetas(candidates.filter((c) => c.meta.kind === 'histogram'));
    const others = uniqueMetas(candidates.filter((c) => c.meta.kind !== 'histogram'));
    const whole = { fromNs: msToNs(plan.startMs), toNs: msToNs(plan.endMs) };
    for (const [id, read] of await this.readAt(histograms, 'raw', whole, true)) points.set(id, read);
    if (plan.resolution === 'raw') {
      for (const [id, read] of await this.readAt(others, 'raw', whole, false)) points.set(id, read);
      return points;
    }
    const older = await this.readAt(
      others,
      plan.resolution,
      { fromNs: msToNs(plan.startMs), toNs: msToNs(plan.splitMs) - 1n },
      false,
    );
    const newer =
      plan.splitMs <= plan.endMs
        ? await this.readAt(others, 'raw', { fromNs: msToNs(plan.splitMs), toNs: msToNs(plan.endMs) }, false)
        : new Map<string, SeriesPoints>();
    const bucketMs = ROLLUPS.find((r) => r.resolution === plan.resolution)?.ms ?? 60_000;
    for (const meta of others) {
      const delta = meta.kind === 'sum' && meta.temporality === 'delta';
      const recent = newer.get(meta.seriesId);
      points.set(
        meta.seriesId,
        joinRollupAndRaw(
          meta,
          older.get(meta.seriesId),
          recent === undefined ? undefined : lastPerBucket(recent, bucketMs, delta, plan.endMs),
        ),
      );
    }
    return points;
  }

  private async readAt(
    metas: readonly StoredSeriesMeta[],
    resolution: SeriesResolution,
    range: TimeRange,
    histogram: boolean,
  ): Promise<Map<string, SeriesPoints>> {
    const points = new Map<string, SeriesPoints>();
    if (metas.length === 0) return points;
    const read = await this.store.readSeriesPoints(this.org, {
      ...range,
      resolution,
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

/** `listSeries` and `listMetricNames` take an exclusive end; the window's end is inclusive. */
function windowRange(plan: Plan): TimeRange {
  return { fromNs: msToNs(plan.startMs), toNs: msToNs(plan.endMs) + 1n };
}

/**
 * One series' rollup rows (older) and raw points (newer) as one run of points. A delta sum's
 * rollup rows carry their bucket's increase, which is what its raw points are too, so `values`
 * holds increases throughout and `build` turns them into one running total.
 */
function joinRollupAndRaw(
  meta: StoredSeriesMeta,
  older: SeriesPoints | undefined,
  newer: SeriesPoints | undefined,
): SeriesPoints {
  const olderValues =
    older === undefined
      ? new Float64Array(0)
      : meta.kind === 'sum' && meta.temporality === 'delta' && older.rollup !== undefined
        ? older.rollup.deltas
        : older.values;
  return {
    timestampsMs: concat(older?.timestampsMs, newer?.timestampsMs),
    values: concat(olderValues, newer?.values),
  };
}

/**
 * Raw points cut to the rollup's shape, one per bucket: its last point, or for a delta sum the
 * bucket's total at its last point. Windows that reach across the end of the rollups then see
 * evenly spaced points, as inside them; otherwise `rate` would extrapolate over the change of
 * spacing and come out wrong there. A bucket that ends after `endMs` is still filling and is
 * left out for the same reason: at this resolution the newest point may be a bucket old.
 */
function lastPerBucket(points: SeriesPoints, bucketMs: number, delta: boolean, endMs: number): SeriesPoints {
  const ts: number[] = [];
  const values: number[] = [];
  let bucket = Number.NaN;
  for (let i = 0; i < points.timestampsMs.length; i++) {
    const t = points.timestampsMs[i] ?? 0;
    const v = points.values[i] ?? Number.NaN;
    const b = Math.floor(t / bucketMs);
    if (b !== bucket) {
      bucket = b;
      ts.push(t);
      values.push(v);
    } else {
      ts[ts.length - 1] = t;
      values[values.length - 1] = delta ? (values[values.length - 1] ?? 0) + v : v;
    }
  }
  if ((bucket + 1) * bucketMs > endMs + 1) {
    ts.pop();
    values.pop();
  }
  return { timestampsMs: Float64Array.from(ts), values: Float64Array.from(values) };
}

function concat(a: Float64Array | undefined, b: Float64Array | undefined): Float64Array {
  const out = new Float64Array((a?.length ?? 0) + (b?.length ?? 0));
  if (a !== undefined) out.set(a, 0);
  if (b !== undefined) out.set(b, a?.length ?? 0);
  return out;
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
