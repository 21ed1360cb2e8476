import { describe, expect, it } from 'vitest';
import { logRow, metricRow, rumEventRow } from '../../../test/fixtures/rows.js';
import { RecordingContext, batchOf } from '../../../test/helpers/stage-context.js';
import { DedupeStage } from './dedupe.js';

const SECOND = 1_000_000_000n;

describe('DedupeStage', () => {
  it('drops records stored within the window, and counts them', () => {
    const stage = new DedupeStage({ windowSeconds: 60, maxIds: 100 });
    const context = new RecordingContext();
    const batch = batchOf({
      logs: [logRow({ id: 'a' }), logRow({ id: 'b' })],
      metricPoints: [metricRow({ id: 'm' })],
    });
    expect(stage.process(batch, context)).toEqual(batch);
    context.store();
    const again = stage.process(batchOf({ logs: [logRow({ id: 'a' }), logRow({ id: 'c' })] }), context);
    expect(again.logs.map((r) => r.id)).toEqual(['c']);
    expect(context.counts).toEqual([{ outcome: 'dropped', kind: 'logs', reason: 'duplicate', n: 1 }]);
  });

  it('drops a browser event sent again, and one repeated within its request', () => {
    const stage = new DedupeStage({ windowSeconds: 60, maxIds: 100 });
    const context = new RecordingContext();
    const first = stage.process(
      batchOf({
        rumEvents: [rumEventRow({ id: 'r1' }), rumEventRow({ id: 'r1' }), rumEventRow({ id: 'r2' })],
      }),
      context,
    );
    expect(first.rumEvents.map((r) => r.id)).toEqual(['r1', 'r2']);
    context.store();
    const again = stage.process(
      batchOf({ rumEvents: [rumEventRow({ id: 'r2' }), rumEventRow({ id: 'r3' })] }),
      context,
    );
    expect(again.rumEvents.map((r) => r.id)).toEqual(['r3']);
    expect(context.counts).toEqual([
      { outcome: 'dropped', kind: 'rumEvents', reason: 'duplicate', n: 1 },
      { outcome: 'dropped', kind: 'rumEvents', reason: 'duplicate', n: 1 },
    ]);
  });

  it('lets a message through again when its rows were not stored (the store refused them)', () => {
    const stage = new DedupeStage({ windowSeconds: 60, maxIds: 100 });
    const context = new RecordingContext();
    stage.process(batchOf({ logs: [logRow({ id: 'a' })] }), context);
    // No context.store(): the write failed and the message is delivered again.
    expect(stage.process(batchOf({ logs: [logRow({ id: 'a' })] }), context).logs).toHaveLength(1);
  });

  it('forgets ids older than the window', () => {
    const stage = new DedupeStage({ windowSeconds: 60, maxIds: 100 });
    const context = new RecordingContext();
    stage.process(batchOf({ logs: [logRow({ id: 'a' })] }), context);
    context.store();
    context.nowNs += 61n * SECOND;
    expect(stage.process(batchOf({ logs: [logRow({ id: 'a' })] }), context).logs).toHaveLength(1);
  });

  it('remembers at most maxIds, the oldest forgotten first', () => {
    const stage = new DedupeStage({ windowSeconds: 600, maxIds: 2 });
    const context = new RecordingContext();
    for (const id of ['a', 'b', 'c']) {
      stage.process(batchOf({ logs: [logRow({ id })] }), context);
      context.store();
    }
    const replay = stage.process(batchOf({ logs: ['a', 'b', 'c'].map((id) => logRow({ id })) }), context);
    expect(replay.logs.map((r) => r.id)).toEqual(['a']);
  });

  it('forgets part of a message when maxIds cuts through it, its first ids first', () => {
    const stage = new DedupeStage({ windowSeconds: 600, maxIds: 3 });
    const context = new RecordingContext();
    for (const ids of [
      ['a', 'b'],
      ['c', 'd'],
    ]) {
      stage.process(batchOf({ logs: ids.map((id) => logRow({ id })) }), context);
      context.store();
    }
    const replay = stage.process(
      batchOf({ logs: ['a', 'b', 'c', 'd'].map((id) => logRow({ id })) }),
      context,
    );
    expect(replay.logs.map((r) => r.id)).toEqual(['a']);
  });

  it('forgets the window message by message as time passes', () => {
    const stage = new DedupeStage({ windowSeconds: 60, maxIds: 100 });
    const context = new RecordingContext();
    for (const id of ['a', 'b']) {
      stage.process(batchOf({ logs: [logRow({ id })] }), context);
      context.store();
      context.nowNs += 30n * SECOND;
    }
    // a was stored 60 s ago, b 30 s ago (after a stage pass: the window is checked as a message comes).
    context.nowNs += 1n;
    const replay = stage.process(batchOf({ logs: ['a', 'b'].map((id) => logRow({ id })) }), context);
    expect(replay.logs.map((r) => r.id)).toEqual(['a']);
  });
});
