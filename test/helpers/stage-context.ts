import { orgId as toOrgId, type OrgId } from '../../src/store/rows.js';
import {
  emptyBatch,
  type RowBatch,
  type RowKind,
  type StageContext,
} from '../../src/process/stages/processor.js';

/** A StageContext that records what stages count and lets a test say when the rows are stored. */
export class RecordingContext implements StageContext {
  readonly counts: Array<{ outcome: string; kind: RowKind; reason: string; n: number }> = [];
  private readonly stored: Array<() => void> = [];

  constructor(
    public nowNs: bigint = 1_800_000_000_000_000_000n,
    readonly orgId: OrgId = toOrgId('org_test'),
  ) {}

  count(outcome: 'dropped' | 'changed', kind: RowKind, reason: string, n = 1): void {
    this.counts.push({ outcome, kind, reason, n });
  }

  onStored(callback: () => void): void {
    this.stored.push(callback);
  }

  /** The store committed the rows: run what the stages asked for. */
  store(): void {
    for (const callback of this.stored.splice(0)) callback();
  }

  /** Counted records for one reason. */
  total(reason: string): number {
    return this.counts.filter((c) => c.reason === reason).reduce((sum, c) => sum + c.n, 0);
  }
}

export function batchOf(rows: Partial<RowBatch>): RowBatch {
  return { ...emptyBatch(), ...rows };
}
