/**
 * Plan changes: the sampled executions of a statement grouped by the shape of their plan
 * (node types and what each reads, not costs, times or row counts, which vary run to run).
 */

export interface PlanNode {
  'Node Type'?: string;
  'Join Type'?: string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Total Cost'?: number;
  'Plan Rows'?: number;
  'Actual Total Time'?: number;
  'Actual Rows'?: number;
  Plans?: PlanNode[];
  [key: string]: unknown;
}

/** PostgreSQL's EXPLAIN (FORMAT JSON) is `[{"Plan": {...}}]`; auto_explain logs `{"Plan": {...}}`. */
export function planRoot(plan: unknown): PlanNode | null {
  if (plan === null || typeof plan !== 'object') return null;
  const top = (Array.isArray(plan) ? (plan[0] as unknown) : plan) as { Plan?: unknown } | undefined;
  const root = top?.Plan;
  return root !== null && typeof root === 'object' && !Array.isArray(root) ? (root as PlanNode) : null;
}

/** One line per node, indented by depth: `Hash Join (Inner)`, `  Seq Scan on orders`. */
export function planShape(plan: unknown): string | null {
  if (typeof plan === 'string') return plan.trim() === '' ? null : 'text plan';
  const root = planRoot(plan);
  if (root === null) return null;
  const lines: string[] = [];
  const walk = (node: PlanNode, depth: number): void => {
    const on = node['Index Name'] ?? node['Relation Name'];
    const join = node['Join Type'] === undefined ? '' : ` (${node['Join Type']})`;
    lines.push(
      `${'  '.repeat(depth)}${node['Node Type'] ?? 'Node'}${join}${on === undefined ? '' : ` on ${on}`}`,
    );
    for (const child of node.Plans ?? []) walk(child, depth + 1);
  };
  walk(root, 0);
  return lines.join('\n');
}

/** FNV-1a, 32 bits, as 8 hex digits: a short stable name for a shape. */
export function shapeHash(shape: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < shape.length; i++) {
    hash ^= shape.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}

export interface PlannedSample {
  timestamp: string;
  durationMs: number;
  plan: unknown;
}

export interface PlanVersion {
  hash: string;
  shape: string;
  firstSeen: string;
  lastSeen: string;
  samples: number;
  meanDurationMs: number;
}

/** Distinct plan shapes, oldest first seen first; samples without a plan are left out. */
export function planVersions(samples: readonly PlannedSample[]): PlanVersion[] {
  const versions = new Map<string, PlanVersion & { firstMs: number; lastMs: number; totalMs: number }>();
  for (const sample of samples) {
    const shape = planShape(sample.plan);
    const at = Date.parse(sample.timestamp);
    if (shape === null || !Number.isFinite(at)) continue;
    const hash = shapeHash(shape);
    const version = versions.get(hash);
    if (version === undefined) {
      versions.set(hash, {
        hash,
        shape,
        firstSeen: sample.timestamp,
        lastSeen: sample.timestamp,
        firstMs: at,
        lastMs: at,
        samples: 1,
        totalMs: sample.durationMs,
        meanDurationMs: sample.durationMs,
      });
      continue;
    }
    version.samples++;
    version.totalMs += sample.durationMs;
    version.meanDurationMs = version.totalMs / version.samples;
    if (at < version.firstMs) [version.firstMs, version.firstSeen] = [at, sample.timestamp];
    if (at > version.lastMs) [version.lastMs, version.lastSeen] = [at, sample.timestamp];
  }
  return [...versions.values()]
    .sort((a, b) => a.firstMs - b.firstMs)
    .map(({ hash, shape, firstSeen, lastSeen, samples: count, meanDurationMs }) => ({
      hash,
      shape,
      firstSeen,
      lastSeen,
      samples: count,
      meanDurationMs,
    }));
}
