/** One pg_stat_statements entry: cumulative counters since the entry was created. */
export interface StatementCounters {
  database: string;
  user: string;
  queryId: string;
  calls: number;
  totalTimeMs: number;
  minTimeMs: number;
  maxTimeMs: number;
  rows: number;
  sharedBlksHit: number;
  sharedBlksRead: number;
  sharedBlksDirtied: number;
  sharedBlksWritten: number;
  tempBlksRead: number;
  tempBlksWritten: number;
  walBytes: number;
}

/** What changed for one (database, user, queryid) during one interval. */
export type StatementDelta = StatementCounters;

const SUMMED = [
  'calls',
  'totalTimeMs',
  'rows',
  'sharedBlksHit',
  'sharedBlksRead',
  'sharedBlksDirtied',
  'sharedBlksWritten',
  'tempBlksRead',
  'tempBlksWritten',
  'walBytes',
] as const;

export interface Snapshot {
  /**
   * Changes when every counter restarts: pg_stat_statements_reset() (stats_reset). A restart
   * keeps the entries (pg_stat_statements.save), so it is not an epoch; a crash loses them, and
   * then each entry's calls go down, which the per-entry rule below catches.
   */
  epoch: string;
  entries: readonly StatementCounters[];
}

/**
 * Turns successive pg_stat_statements snapshots into per-interval deltas.
 *
 * Every delta counts only calls made after the previous snapshot, never twice:
 * * the first snapshot is only a baseline (its counts span an unknown past);
 * * an entry new since the previous snapshot counts from zero: it did not exist then;
 * * an entry whose calls went down was evicted and created again after the previous
 *   snapshot (or the view was reset), so its current counts are all new;
 * * when the epoch changes (`pg_stat_statements_reset()`), every entry counts from zero.
 * A negative difference is never emitted.
 */
export class StatementDeltaTracker {
  private previous: Map<string, StatementCounters> | undefined;
  private epoch: string | undefined;

  next(snapshot: Snapshot): StatementDelta[] {
    const { deltas, accept } = this.preview(snapshot);
    accept();
    return deltas;
  }

  /**
   * The deltas of a snapshot, without moving the baseline until `accept` is called: a caller
   * that could not hand the deltas on keeps them for the next interval instead of losing them.
   */
  preview(snapshot: Snapshot): { deltas: StatementDelta[]; accept: () => void } {
    const current = merge(snapshot.entries);
    const accept = (): void => {
      this.previous = current;
      this.epoch = snapshot.epoch;
    };
    return { deltas: this.deltasFrom(current, snapshot.epoch), accept };
  }

  private deltasFrom(current: Map<string, StatementCounters>, epoch: string): StatementDelta[] {
    const previous = this.previous;
    const restarted = this.epoch !== undefined && this.epoch !== epoch;
    if (previous === undefined) return [];
    const deltas: StatementDelta[] = [];
    for (const [key, now] of current) {
      const before = restarted ? undefined : previous.get(key);
      const fresh = before === undefined || now.calls < before.calls;
      const delta: StatementDelta = { ...now };
      if (!fresh) {
        for (const field of SUMMED) delta[field] = Math.max(0, now[field] - before[field]);
      }
      if (delta.calls > 0) deltas.push(delta);
    }
    return deltas;
  }
}

/**
 * pg_stat_statements keeps top-level and nested executions of a statement apart (PG 14+
 * `toplevel`); the contract is one record per (database, user, queryid), so they are summed.
 */
function merge(entries: readonly StatementCounters[]): Map<string, StatementCounters> {
  const merged = new Map<string, StatementCounters>();
  for (const entry of entries) {
    const key = `${entry.database}\u0000${entry.user}\u0000${entry.queryId}`;
    const seen = merged.get(key);
    if (seen === undefined) {
      merged.set(key, { ...entry });
      continue;
    }
    for (const field of SUMMED) seen[field] += entry[field];
    seen.minTimeMs = Math.min(seen.minTimeMs, entry.minTimeMs);
    seen.maxTimeMs = Math.max(seen.maxTimeMs, entry.maxTimeMs);
  }
  return merged;
}
