/** A session of a blocking tree: what it does, and the sessions that wait for it. */
export interface BlockingNode {
  pid: number;
  /** False for a blocker the snapshot does not hold (a prepared transaction, or one that just ended). */
  sampled: boolean;
  state: string;
  waitEventType: string;
  waitEvent: string;
  database: string;
  userName: string;
  application: string;
  query: string;
  durationMs: number;
  xactDurationMs: number | null;
  /** Every session this one waits for; the tree places it under one of them. */
  blockedBy: number[];
  children: BlockingNode[];
}

export interface BlockingSession {
  pid: number;
  state: string;
  waitEventType: string;
  waitEvent: string;
  database: string;
  userName: string;
  application: string;
  query: string;
  durationMs: number;
  xactDurationMs: number | null;
  blockedBy: readonly number[];
}

/**
 * Who blocks whom, from pg_blocking_pids: the roots block others and wait for nobody, their
 * children wait for them. pg_blocking_pids lists the lock holders and the waiters queued ahead,
 * so a queue of N waiters has N² edges; placing each session once, at the shallowest place
 * (breadth first, under the first blocker reached), keeps the tree as large as the snapshot.
 * Sessions in a cycle (a deadlock the server has not broken yet) are reached from none of the
 * roots: the lowest pid of each such group becomes a root, its `blockedBy` shows the cycle.
 */
export function blockingTree(sessions: readonly BlockingSession[]): BlockingNode[] {
  const byPid = new Map(sessions.map((s) => [s.pid, s]));
  const waiters = new Map<number, number[]>();
  for (const session of [...sessions].sort((a, b) => a.pid - b.pid)) {
    for (const blocker of new Set(session.blockedBy)) {
      if (blocker === session.pid) continue;
      const list = waiters.get(blocker) ?? [];
      list.push(session.pid);
      waiters.set(blocker, list);
    }
  }
  const nodeOf = (pid: number): BlockingNode => {
    const s = byPid.get(pid);
    return {
      pid,
      sampled: s !== undefined,
      state: s?.state ?? '',
      waitEventType: s?.waitEventType ?? '',
      waitEvent: s?.waitEvent ?? '',
      database: s?.database ?? '',
      userName: s?.userName ?? '',
      application: s?.application ?? '',
      query: s?.query ?? '',
      durationMs: s?.durationMs ?? 0,
      xactDurationMs: s?.xactDurationMs ?? null,
      blockedBy: [...new Set(s?.blockedBy ?? [])].sort((a, b) => a - b),
      children: [],
    };
  };
  const placed = new Set<number>();
  const grow = (roots: BlockingNode[]): void => {
    const queue = [...roots];
    for (let node = queue.shift(); node !== undefined; node = queue.shift()) {
      for (const pid of waiters.get(node.pid) ?? []) {
        if (placed.has(pid)) continue;
        placed.add(pid);
        const child = nodeOf(pid);
        node.children.push(child);
        queue.push(child);
      }
    }
  };
  const blockers = [...waiters.keys()].sort((a, b) => a - b);
  const roots = blockers
    .filter((pid) => (byPid.get(pid)?.blockedBy.filter((b) => b !== pid).length ?? 0) === 0)
    .map(nodeOf);
  for (const root of roots) placed.add(root.pid);
  grow(roots);
  for (const pid of blockers) {
    if (placed.has(pid)) continue;
    const root = nodeOf(pid);
    placed.add(pid);
    roots.push(root);
    grow([root]);
  }
  return roots;
}
