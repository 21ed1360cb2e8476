import { describe, expect, it } from 'vitest';
import { blockingTree, type BlockingNode, type BlockingSession } from './blocking-tree.js';

function session(pid: number, blockedBy: number[] = [], state = 'active'): BlockingSession {
  return {
    pid,
    state,
    waitEventType: blockedBy.length > 0 ? 'Lock' : '',
    waitEvent: blockedBy.length > 0 ? 'relation' : '',
    database: 'shop',
    userName: 'app',
    application: 'api',
    query: `query of ${pid}`,
    durationMs: pid,
    xactDurationMs: null,
    blockedBy,
  };
}

/** The tree as nested [pid, children] pairs, for readable assertions. */
function shape(nodes: readonly BlockingNode[]): unknown[] {
  return nodes.map((n) => (n.children.length === 0 ? n.pid : [n.pid, shape(n.children)]));
}

describe('blockingTree', () => {
  it('is empty when nobody waits for anybody', () => {
    expect(blockingTree([session(1), session(2)])).toEqual([]);
  });

  it('puts the holder at the root and the sessions waiting for it below, with what each does', () => {
    const tree = blockingTree([
      session(10, [], 'idle in transaction'),
      session(11, [10]),
      session(12, [11]),
      session(13),
    ]);
    expect(shape(tree)).toEqual([[10, [[11, [12]]]]]);
    expect(tree[0]).toMatchObject({
      pid: 10,
      sampled: true,
      state: 'idle in transaction',
      query: 'query of 10',
      blockedBy: [],
    });
    expect(tree[0]?.children[0]).toMatchObject({ pid: 11, waitEventType: 'Lock', blockedBy: [10] });
  });

  it('places each waiter of a lock queue once, directly under the holder', () => {
    // pg_blocking_pids lists the holder and every conflicting waiter queued ahead.
    const tree = blockingTree([session(1), session(2, [1]), session(3, [1, 2]), session(4, [1, 2, 3])]);
    expect(shape(tree)).toEqual([[1, [2, 3, 4]]]);
    expect(tree[0]?.children[2]?.blockedBy).toEqual([1, 2, 3]);
  });

  it('shows a blocker the snapshot does not hold as an unsampled root', () => {
    const tree = blockingTree([session(5, [0])]);
    expect(shape(tree)).toEqual([[0, [5]]]);
    expect(tree[0]).toMatchObject({ pid: 0, sampled: false, query: '' });
  });

  it('survives a deadlock cycle by rooting it at its lowest pid', () => {
    const tree = blockingTree([session(7, [8]), session(8, [7]), session(9, [8])]);
    expect(shape(tree)).toEqual([[7, [[8, [9]]]]]);
    expect(tree[0]?.blockedBy).toEqual([8]);
  });

  it('keeps separate chains as separate roots, in pid order', () => {
    const tree = blockingTree([session(30), session(31, [30]), session(20), session(21, [20])]);
    expect(shape(tree)).toEqual([
      [20, [21]],
      [30, [31]],
    ]);
  });
});
