import type { Component } from '../../core/component.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type {
  LogRow,
  MetricPointRow,
  OrgId,
  QuerySampleRow,
  QueryStatRow,
  RumEventRow,
  SpanRow,
} from '../../store/rows.js';
import { ROW_KINDS, type RowBatch, type RowKind } from './processor.js';

/** The `signal` of `usage_daily` for each kind of row. */
export const USAGE_SIGNAL = {
  logs: 'logs',
  spans: 'spans',
  metricPoints: 'metrics',
  queryStats: 'query_stats',
  querySamples: 'query_samples',
  rumEvents: 'rum',
} as const satisfies Record<RowKind, string>;

export type UsageSignal = (typeof USAGE_SIGNAL)[RowKind];

/** Records and bytes of one org, one UTC day and one signal (a row of `usage_daily`, or an amount to add to one). */
export interface UsageEntry {
  orgId: OrgId;
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  signal: string;
  records: number;
  bytes: number;
}

/** Where usage goes: adds each entry to what is stored for its org, day and signal. */
export interface UsageSink {
  addUsage(entries: readonly UsageEntry[]): Promise<void>;
}

/** The UTC day of a time in nanoseconds since the epoch, as `usage_daily` keys it. */
export function utcDay(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 10);
}

/*
 * What a row costs, estimated without serializing it: the length of its text columns (UTF-16
 * code units, which is bytes for ASCII) plus a fixed size for its ids, timestamps and numbers.
 * It is what the bytes limit and `usage_daily.bytes` count; not the compressed size on disk.
 */

export function logBytes(r: LogRow): number {
  return (
    64 +
    r.body.length +
    r.attributes.length +
    r.resource.length +
    r.service.length +
    r.host.length +
    r.entityId.length +
    r.traceId.length +
    r.spanId.length +
    r.severityText.length +
    r.eventName.length +
    r.scopeName.length
  );
}

export function spanBytes(r: SpanRow): number {
  return (
    96 +
    r.name.length +
    r.attributes.length +
    r.resource.length +
    r.events.length +
    r.links.length +
    r.service.length +
    r.host.length +
    r.entityId.length +
    r.traceId.length +
    r.spanId.length +
    r.parentSpanId.length +
    r.traceState.length +
    r.statusMessage.length +
    r.scopeName.length
  );
}

export function metricPointBytes(r: MetricPointRow): number {
  return (
    96 +
    r.name.length +
    r.labels.length +
    r.resource.length +
    r.service.length +
    r.host.length +
    r.entityId.length +
    r.seriesId.length +
    r.unit.length +
    r.scopeName.length +
    16 * (r.bucketBounds?.length ?? 0)
  );
}

export function queryStatBytes(r: QueryStatRow): number {
  return (
    200 +
    r.query.length +
    r.fingerprint.length +
    r.queryId.length +
    r.database.length +
    r.userName.length +
    r.entityId.length
  );
}

export function querySampleBytes(r: QuerySampleRow): number {
  return (
    48 +
    r.query.length +
    r.plan.length +
    r.fingerprint.length +
    r.database.length +
    r.userName.length +
    r.entityId.length +
    r.source.length
  );
}

/** The client address is left out: it is not stored. */
export function rumEventBytes(r: RumEventRow): number {
  return (
    64 +
    r.sessionId.length +
    r.viewId.length +
    r.type.length +
    r.name.length +
    r.url.length +
    r.urlPath.length +
    r.referrer.length +
    r.title.length +
    r.message.length +
    r.stack.length +
    r.errorType.length +
    r.service.length +
    r.release.length +
    r.userAgent.length +
    r.browserName.length +
    r.browserVersion.length +
    r.osName.length +
    r.osVersion.length +
    r.deviceType.length +
    r.country.length +
    r.city.length +
    r.attributes.length
  );
}

/** The estimate of each kind of row. */
export const ROW_BYTES: { [K in RowKind]: (row: RowBatch[K][number]) => number } = {
  logs: logBytes,
  spans: spanBytes,
  metricPoints: metricPointBytes,
  queryStats: queryStatBytes,
  querySamples: querySampleBytes,
  rumEvents: rumEventBytes,
};

function sumBytes<K extends RowKind>(kind: K, rows: RowBatch[K]): number {
  const size = ROW_BYTES[kind];
  let bytes = 0;
  for (const row of rows) bytes += size(row);
  return bytes;
}

export interface UsageRecorderOptions {
  /** How often what was counted is added to the sink. */
  flushIntervalMs: number;
}

/**
 * Counts records and bytes stored per org, UTC day and signal in memory, and adds them to
 * `usage_daily` every `flushIntervalMs` and at shutdown. The processor records a message's rows
 * once the store committed them (StageContext.onStored), after the stages, so records the stages
 * dropped are not counted. A record the store already had (a replay after a crash between the
 * store's commit and the bus's) is counted again: the store reports duplicates per batch, not
 * per org.
 *
 * What a failed flush held is kept and added to the next one; it is lost only if the process
 * stops while the sink is failing (the shutdown flush logs it).
 */
export class UsageRecorder implements Component {
  private pending = new Map<string, UsageEntry>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly sink: UsageSink,
    private readonly options: UsageRecorderOptions,
    private readonly logger?: Logger,
  ) {}

  async start(): Promise<void> {
    if (this.stopped || this.timer !== undefined) return;
    this.timer = setInterval(() => {
      this.flush().catch((error: unknown) =>
        this.logger?.warn({ err: errorMessage(error) }, 'usage flush failed; retried at the next one'),
      );
    }, this.options.flushIntervalMs);
    this.timer.unref();
  }

  /** Counts the rows of one message of one org, stored at `nowNs`. */
  record(org: OrgId, batch: RowBatch, nowNs: bigint): void {
    let day: string | undefined;
    for (const kind of ROW_KINDS) {
      const rows = batch[kind];
      if (rows.length === 0) continue;
      day ??= utcDay(nowNs);
      this.add({
        orgId: org,
        day,
        signal: USAGE_SIGNAL[kind],
        records: rows.length,
        bytes: sumBytes(kind, rows),
      });
    }
  }

  add(entry: UsageEntry): void {
    const key = `${entry.orgId}\u0000${entry.day}\u0000${entry.signal}`;
    const known = this.pending.get(key);
    if (known === undefined) this.pending.set(key, { ...entry });
    else {
      known.records += entry.records;
      known.bytes += entry.bytes;
    }
  }

  /** What is counted and not yet flushed (a copy). */
  unflushed(): UsageEntry[] {
    return [...this.pending.values()].map((entry) => ({ ...entry }));
  }

  /** Adds what was counted since the last flush to the sink; one flush at a time. */
  flush(): Promise<void> {
    const next = this.flushing.then(() => this.flushNow());
    this.flushing = next.catch(() => undefined);
    return next;
  }

  private async flushNow(): Promise<void> {
    if (this.pending.size === 0) return;
    const entries = [...this.pending.values()];
    this.pending = new Map();
    try {
      await this.sink.addUsage(entries);
    } catch (error) {
      // Added back, so the next flush carries them with what came since.
      for (const entry of entries) this.add(entry);
      throw error;
    }
  }

  /** Stops the timer and flushes what is left. Idempotent; run it after the processor stopped. */
  async shutdown(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.stopped) return;
    this.stopped = true;
    try {
      await this.flush();
    } catch (error) {
      this.logger?.error(
        { err: errorMessage(error), entries: this.pending.size },
        'usage not counted since the last flush is lost: the store refused it at shutdown',
      );
      throw error;
    }
  }
}
