import type { z } from 'zod';
import type { dedupeStageSchema } from '../../config/stages/dedupe.js';
import { ROW_KINDS, type Processor, type RowBatch, type StageContext } from './processor.js';

export type DedupeOptions = Pick<z.infer<typeof dedupeStageSchema>, 'windowSeconds' | 'maxIds'>;

/**
 * Drops records whose id was stored within the window, so a batch a client sends again (a retry
 * after a timeout) costs no store write. Ids are content digests (see process/otlp-rows.ts), the
 * same for the same record however often it arrives. Only stored ids are remembered: a message
 * the store refused comes again and must pass. The store still refuses an id it holds, so a
 * duplicate older than the window is stored once as well.
 */
export class DedupeStage implements Processor {
  readonly name = 'dedupe';
  /** The ids in the window. */
  private readonly seen = new Set<string>();
  /**
   * The stored messages' ids by when they were stored, oldest first: what the window forgets
   * from. An id stored again stays where it was first stored, so it is forgotten with that
   * message; a duplicate then reaching the store is refused there. Cheaper than moving every id
   * to the end of an ordered map, which took a third of the stage's time.
   */
  private readonly stored: StoredIds[] = [];
  private readonly windowNs: bigint;

  constructor(private readonly options: DedupeOptions) {
    this.windowNs = BigInt(Math.round(options.windowSeconds * 1e9));
  }

  process(batch: RowBatch, context: StageContext): RowBatch {
    this.forgetBefore(context.nowNs - this.windowNs);
    const kept = { ...batch };
    const stored: string[] = [];
    for (const kind of ROW_KINDS) {
      const rows = batch[kind];
      if (rows.length === 0) continue;
      // Within one message too: an SDK that repeats a record in one request stores it once.
      const inMessage = new Set<string>();
      const unique = rows.filter((row) => {
        if (this.seen.has(row.id)) return false;
        const size = inMessage.size;
        return inMessage.add(row.id).size > size;
      });
      if (unique.length < rows.length)
        context.count('dropped', kind, 'duplicate', rows.length - unique.length);
      (kept as Record<string, unknown>)[kind] = unique;
      for (const id of inMessage) stored.push(id);
    }
    if (stored.length > 0) context.onStored(() => this.remember(stored, context.nowNs));
    return kept;
  }

  private remember(ids: readonly string[], atNs: bigint): void {
    for (const id of ids) this.seen.add(id);
    this.stored.push({ atNs, ids, next: 0 });
    let excess = this.seen.size - this.options.maxIds;
    while (excess > 0) {
      const oldest = this.stored[0];
      if (oldest === undefined) break;
      while (excess > 0 && oldest.next < oldest.ids.length) {
        if (this.seen.delete(oldest.ids[oldest.next++] as string)) excess--;
      }
      if (oldest.next === oldest.ids.length) this.stored.shift();
    }
  }

  private forgetBefore(limitNs: bigint): void {
    while (this.stored.length > 0 && (this.stored[0] as StoredIds).atNs < limitNs) {
      const oldest = this.stored.shift() as StoredIds;
      for (let i = oldest.next; i < oldest.ids.length; i++) this.seen.delete(oldest.ids[i] as string);
    }
  }
}

/** One stored message's ids; those before `next` are forgotten already (the maxIds limit). */
interface StoredIds {
  atNs: bigint;
  ids: readonly string[];
  next: number;
}

export function createDedupeStage(options: DedupeOptions): Processor {
  return new DedupeStage(options);
}
