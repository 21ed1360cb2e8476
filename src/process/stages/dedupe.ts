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
  /** Id → when it was stored (ns). A Map iterates in insertion order: the oldest first. */
  private readonly seen = new Map<string, bigint>();
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
        if (this.seen.has(row.id) || inMessage.has(row.id)) return false;
        inMessage.add(row.id);
        return true;
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
    for (const id of ids) {
      this.seen.delete(id);
      this.seen.set(id, atNs);
    }
    const excess = this.seen.size - this.options.maxIds;
    if (excess <= 0) return;
    let dropped = 0;
    for (const id of this.seen.keys()) {
      if (dropped++ >= excess) break;
      this.seen.delete(id);
    }
  }

  private forgetBefore(limitNs: bigint): void {
    for (const [id, at] of this.seen) {
      if (at >= limitNs) break;
      this.seen.delete(id);
    }
  }
}

export function createDedupeStage(options: DedupeOptions): Processor {
  return new DedupeStage(options);
}
