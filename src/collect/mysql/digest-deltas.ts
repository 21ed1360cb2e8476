/**
 * One row of performance_schema.events_statements_summary_by_digest: cumulative counters since
 * the row was created (FIRST_SEEN). Timers are picoseconds and kept exact as bigints: a busy
 * digest passes 2^53 ps (about 2.5 hours of statement time) quickly.
 */
export interface DigestCounters {
  schema: string;
  digest: string;
  /** FIRST_SEEN as the server wrote it: a new value means the row was created again. */
  firstSeen: string;
  /** LAST_SEEN, for reading only the rows that changed. */
  lastSeen: string;
  calls: bigint;
  timerWaitPs: bigint;
  minTimerWaitPs: bigint;
  maxTimerWaitPs: bigint;
  lockTimePs: bigint;
  errors: bigint;
  warnings: bigint;
  rowsAffected: bigint;
  rowsSent: bigint;
  rowsExamined: bigint;
  tmpDiskTables: bigint;
  noIndexUsed: bigint;
}

/** What changed for one (schema, digest) during one interval. */
export type DigestDelta = DigestCounters;

const SUMMED = [
  'calls',
  'timerWaitPs',
  'lockTimePs',
  'errors',
  'warnings',
  'rowsAffected',
  'rowsSent',
  'rowsExamined',
  'tmpDiskTables',
  'noIndexUsed',
] as const;

export interface DigestSnapshot {
  /** Changes when every counter restarts: the server's start time (a restart empties the table). */
  epoch: string;
  /**
   * The rows read. With `partial`, only rows seen since the previous snapshot's newest LAST_SEEN
   * were read; the others are unchanged and keep their counters.
   */
  rows: readonly DigestCounters[];
  partial: boolean;
}

export function digestKey(row: Pick<DigestCounters, 'schema' | 'digest'>): string {
  return `${row.schema}\u0000${row.digest}`;
}

/**
 * Turns successive digest-table snapshots into per-interval deltas. Every delta counts only
 * executions after the previous snapshot, never twice:
 * * the first snapshot is only a baseline (its counts span an unknown past);
 * * a row new since the previous snapshot counts from zero;
 * * a row created again (TRUNCATE of the table, or the row evicted and re-created: FIRST_SEEN
 *   changed, or its count went down) counts from zero: its current counts are all new;
 * * after a restart (the epoch changes) every row counts from zero.
 * A negative difference is never emitted. At most `maxDigests` rows are remembered, the ones
 * seen longest ago are forgotten first, so memory stays bounded on a server with many shapes.
 */
export class DigestDeltaTracker {
  private previous: Map<string, DigestCounters> | undefined;
  private epoch: string | undefined;

  constructor(private readonly maxDigests: number) {}

  /** The newest LAST_SEEN of the accepted baseline: rows not seen since are unchanged. */
  get seenSince(): string | undefined {
    if (this.previous === undefined) return undefined;
    let newest: string | undefined;
    for (const row of this.previous.values())
      if (newest === undefined || row.lastSeen > newest) newest = row.lastSeen;
    return newest;
  }

  get epochOfBaseline(): string | undefined {
    return this.epoch;
  }

  /**
   * The deltas of a snapshot, without moving the baseline until `accept` is called: a caller
   * that could not hand the deltas on keeps them for the next interval instead of losing them.
   */
  preview(snapshot: DigestSnapshot): { deltas: DigestDelta[]; accept: () => void } {
    const previous = this.previous;
    const restarted = this.epoch !== undefined && this.epoch !== snapshot.epoch;
    const deltas: DigestDelta[] = [];
    if (previous !== undefined) {
      for (const now of snapshot.rows) {
        const before = restarted ? undefined : previous.get(digestKey(now));
        const fresh = before === undefined || before.firstSeen !== now.firstSeen || now.calls < before.calls;
        const delta: DigestDelta = { ...now };
        if (!fresh) for (const field of SUMMED) delta[field] = positive(now[field] - before[field]);
        if (delta.calls > 0n) deltas.push(delta);
      }
    }
    const accept = (): void => {
      const next =
        snapshot.partial && !restarted && previous !== undefined
          ? new Map(previous)
          : new Map<string, DigestCounters>();
      for (const row of snapshot.rows) {
        const key = digestKey(row);
        next.delete(key);
        next.set(key, row);
      }
      this.previous = bounded(next, this.maxDigests);
      this.epoch = snapshot.epoch;
    };
    return { deltas, accept };
  }
}

function positive(value: bigint): bigint {
  return value < 0n ? 0n : value;
}

/** Keeps the most recently seen rows: a Map iterates in insertion order, oldest first. */
function bounded(rows: Map<string, DigestCounters>, max: number): Map<string, DigestCounters> {
  if (rows.size <= max) return rows;
  const ordered = [...rows.values()].sort((a, b) =>
    a.lastSeen < b.lastSeen ? -1 : a.lastSeen > b.lastSeen ? 1 : 0,
  );
  return new Map(ordered.slice(ordered.length - max).map((row) => [digestKey(row), row]));
}

/** Picoseconds → milliseconds without going through a double that cannot hold the picoseconds. */
export function psToMs(ps: bigint): number {
  return Number(ps / 1_000_000_000n) + Number(ps % 1_000_000_000n) / 1e9;
}
