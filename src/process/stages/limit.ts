import type { z } from 'zod';
import type { StageConfig } from '../../config/schema.js';
import type { limitStageSchema } from '../../config/stages/limit.js';
import type { Logger } from '../../core/logger.js';
import type { MetricPointRow, OrgId } from '../../store/rows.js';
import { ROW_KINDS, type Processor, type RowBatch, type RowKind, type StageContext } from './processor.js';
import { ROW_BYTES, utcDay, type UsageEntry } from './usage.js';

export type LimitOptions = Pick<
  z.infer<typeof limitStageSchema>,
  'maxSeries' | 'seriesIdleSeconds' | 'maxBytesPerDay'
>;

/** The self-metrics the stage sets (src/core/telemetry.ts); its drops are counted through StageContext.count. */
export interface LimitMetrics {
  orgSeries: { set(labels: { org: string }, value: number): void };
  orgBytesToday: { set(labels: { org: string }, value: number): void };
}

/**
 * Where the limits start from when the process starts, so a restart does not hand every org a
 * fresh day of bytes and an empty series set (see loadLimitBaseline).
 */
export interface LimitBaseline {
  /** The UTC day (`YYYY-MM-DD`) the bytes are of; on another day they do not apply. */
  day: string;
  /** Bytes each org stored on `day` (usage_daily). */
  bytes: ReadonlyMap<string, number>;
  /** Each org's series that had a point recently, with when (ms since the epoch) they last had one. */
  series: ReadonlyMap<string, ReadonlyArray<readonly [seriesId: string, lastSeenMs: number]>>;
}

export interface LimitDeps {
  baseline?: LimitBaseline;
  metrics?: LimitMetrics;
  /** Told once per org, limit and UTC day when a limit starts dropping records. */
  logger?: Logger;
}

const NS_PER_DAY = 86_400_000_000_000n;
/** The most often a full series set is searched for idle series (it costs one pass over the set). */
const MAX_SWEEP_INTERVAL_MS = 60_000;

/**
 * Cardinality and cost control per org, the last stage before the store:
 *
 * - Distinct metric series: the series of the last `seriesIdleSeconds` are remembered (series id
 *   → last point), at most `maxSeries` of them, which bounds the memory. A point of a known series
 *   passes; a point of a new one passes while there is room and is dropped (`series_limit`) when
 *   there is none. A series that stays idle for `seriesIdleSeconds` is forgotten when room is
 *   needed, so a fleet that replaced its pods does not hold the limit forever.
 * - Bytes per UTC day (ROW_BYTES, every signal together): a record that would take the day's
 *   total over `maxBytesPerDay` is dropped (`bytes_limit`); the total starts again at midnight UTC.
 *
 * Bytes and series are counted when the stage lets records through, not when the store commits
 * them, so the messages of one delivery see each other's; a message the store refused and that is
 * delivered again counts twice, which errs on the side of the limit. The day's bytes and the
 * series start from `deps.baseline` (usage_daily and metric_points) after a restart. Each
 * processor counts what it processes: with several processors (Kafka) an org's limit applies per
 * processor.
 *
 * One instance serves one org (see chain.ts).
 */
export class LimitStage implements Processor {
  readonly name = 'limit';
  /** Series id → when its last point passed (ms). */
  private readonly series = new Map<string, number>();
  private readonly idleMs: number;
  private readonly sweepIntervalMs: number;
  private nextSweepMs = 0;
  private day: bigint | undefined;
  private bytesToday = 0;
  private readonly warned = new Set<string>();

  constructor(
    private readonly options: LimitOptions,
    private readonly deps: LimitDeps = {},
  ) {
    this.idleMs = options.seriesIdleSeconds * 1000;
    this.sweepIntervalMs = Math.min(MAX_SWEEP_INTERVAL_MS, this.idleMs / 10);
  }

  process(batch: RowBatch, context: StageContext): RowBatch {
    const nowMs = Number(context.nowNs / 1_000_000n);
    const day = context.nowNs / NS_PER_DAY;
    if (this.day === undefined) {
      this.startFrom(context, nowMs);
      this.day = day;
    } else if (day > this.day) {
      // Only forward: a clock stepped back over midnight must not hand out a second day.
      this.day = day;
      this.bytesToday = 0;
      this.warned.clear();
    }
    let out = batch;
    for (const kind of ROW_KINDS) {
      if (batch[kind].length === 0) continue;
      const kept = this.limit(kind, batch[kind], nowMs, context);
      if (kept !== batch[kind]) out = { ...out, [kind]: kept };
    }
    const org = context.orgId;
    if (this.options.maxSeries > 0) this.deps.metrics?.orgSeries.set({ org }, this.series.size);
    this.deps.metrics?.orgBytesToday.set({ org }, this.bytesToday);
    return out;
  }

  /** The series this org had and the bytes it stored today, before this process started. */
  private startFrom(context: StageContext, nowMs: number): void {
    const baseline = this.deps.baseline;
    if (baseline === undefined) return;
    if (baseline.day === utcDay(context.nowNs)) this.bytesToday = baseline.bytes.get(context.orgId) ?? 0;
    if (this.options.maxSeries === 0) return;
    for (const [id, lastSeenMs] of baseline.series.get(context.orgId) ?? []) {
      if (this.series.size >= this.options.maxSeries) break;
      if (nowMs - lastSeenMs < this.idleMs) this.series.set(id, Math.min(lastSeenMs, nowMs));
    }
  }

  /** The rows of one kind that pass; the same array when all do. */
  private limit<K extends RowKind>(
    kind: K,
    rows: RowBatch[K],
    nowMs: number,
    context: StageContext,
  ): RowBatch[K] {
    const size = ROW_BYTES[kind];
    const maxBytes = this.options.maxBytesPerDay;
    const seriesLimited = kind === 'metricPoints' && this.options.maxSeries > 0;
    const kept: Array<RowBatch[K][number]> = [];
    let overBytes = 0;
    let overSeries = 0;
    for (const row of rows as Array<RowBatch[K][number]>) {
      const bytes = size(row);
      // Bytes first: a point dropped for the day's bytes must not take a place in the series set.
      if (maxBytes > 0 && this.bytesToday + bytes > maxBytes) overBytes++;
      else if (seriesLimited && !this.admitSeries((row as MetricPointRow).seriesId, nowMs)) overSeries++;
      else {
        this.bytesToday += bytes;
        kept.push(row);
      }
    }
    if (overBytes > 0) this.dropped(context, kind, 'bytes_limit', overBytes);
    if (overSeries > 0) this.dropped(context, kind, 'series_limit', overSeries);
    return kept.length === rows.length ? rows : (kept as RowBatch[K]);
  }

  private admitSeries(id: string, nowMs: number): boolean {
    const seen = this.series.get(id);
    if (seen !== undefined) {
      if (nowMs > seen) this.series.set(id, nowMs);
      return true;
    }
    if (this.series.size >= this.options.maxSeries && nowMs >= this.nextSweepMs) {
      this.nextSweepMs = nowMs + this.sweepIntervalMs;
      for (const [known, lastMs] of this.series) if (nowMs - lastMs >= this.idleMs) this.series.delete(known);
    }
    if (this.series.size >= this.options.maxSeries) return false;
    this.series.set(id, nowMs);
    return true;
  }

  private dropped(context: StageContext, kind: RowKind, reason: 'bytes_limit' | 'series_limit', n: number) {
    context.count('dropped', kind, reason, n);
    if (this.warned.has(reason)) return;
    this.warned.add(reason);
    this.deps.logger?.warn(
      reason === 'bytes_limit'
        ? { org: context.orgId, reason, maxBytesPerDay: this.options.maxBytesPerDay }
        : { org: context.orgId, reason, maxSeries: this.options.maxSeries },
      'an org reached a limit: records beyond it are dropped (told once per limit and UTC day)',
    );
  }
}

export function createLimitStage(options: LimitOptions, deps: LimitDeps = {}): Processor {
  return new LimitStage(options, deps);
}

/** What loadLimitBaseline reads (src/store/duckdb/usage-store.ts). */
export interface UsageSource {
  dayUsage(day: string): Promise<UsageEntry[]>;
  /** Each org's series with a point at or after `sinceNs`, at most `maxPerOrg` (the newest) per org. */
  activeSeries(
    sinceNs: bigint,
    maxPerOrg: number,
  ): Promise<Array<{ orgId: OrgId; seriesId: string; lastSeenNs: bigint }>>;
}

/**
 * Reads what the limit stages start from: today's bytes per org, and the series of the longest
 * `seriesIdleSeconds` any org is configured with (at most the largest `maxSeries` per org). Reads
 * nothing when no org has the limit stage switched on.
 */
export async function loadLimitBaseline(
  source: UsageSource,
  stages: readonly StageConfig[],
  nowNs: bigint,
): Promise<LimitBaseline> {
  const day = utcDay(nowNs);
  const effective = stages.flatMap((stage) =>
    stage.type === 'limit'
      ? [stage, ...Object.values(stage.orgs).map((override) => ({ ...stage, ...override }))].filter(
          (options) => options.enabled,
        )
      : [],
  );
  if (effective.length === 0) return { day, bytes: new Map(), series: new Map() };
  const bytes = new Map<string, number>();
  for (const entry of await source.dayUsage(day))
    bytes.set(entry.orgId, (bytes.get(entry.orgId) ?? 0) + entry.bytes);
  const series = new Map<string, Array<readonly [string, number]>>();
  const maxSeries = Math.max(...effective.map((options) => options.maxSeries));
  if (maxSeries > 0) {
    const idleSeconds = Math.max(...effective.map((options) => options.seriesIdleSeconds));
    const sinceNs = nowNs - BigInt(Math.round(idleSeconds * 1e9));
    for (const { orgId, seriesId, lastSeenNs } of await source.activeSeries(sinceNs, maxSeries)) {
      let list = series.get(orgId);
      if (list === undefined) series.set(orgId, (list = []));
      list.push([seriesId, Number(lastSeenNs / 1_000_000n)]);
    }
  }
  return { day, bytes, series };
}
