import { api } from '../api.js';
import { useApp } from '../app-context.js';
import { ErrorBox, Loading } from '../components/states.js';
import { Link, useSearch } from '../router.js';
import { formatDurationMs, formatTimestamp, resolveRange } from '../time-range.js';
import { useQuery } from '../use-query.js';

interface Sample {
  timestamp: string;
  database: string;
  user: string;
  durationMs: number;
  query: string;
  source: string;
  plan: unknown;
}

interface QueryDetail {
  fingerprint: string;
  query: string;
  totals: { calls: number; totalTimeMs: number; meanTimeMs: number; maxTimeMs: number; rows: number };
  samples: Sample[];
}

/** One statement: totals, and its sampled plans as a tree. */
export default function QueryScreen({ fingerprint }: { fingerprint: string }) {
  const { range, tick } = useApp();
  const search = useSearch();
  const entity = new URLSearchParams(search).get('entity') ?? '';
  const detail = useQuery<QueryDetail>(
    (signal) => {
      const { from, to } = resolveRange(range);
      const params = new URLSearchParams({ from: String(from), to: String(to) });
      if (entity !== '') params.set('entity', entity);
      return api<QueryDetail>(`/api/v1/queries/${encodeURIComponent(fingerprint)}?${params.toString()}`, {
        signal,
      });
    },
    [fingerprint, entity, range, tick],
  );
  return (
    <section className="screen query" aria-labelledby="query-title">
      <p>
        <Link to={`/databases${search}`}>← Databases</Link>
      </p>
      <h1 id="query-title">Statement</h1>
      {detail.status === 'error' ? <ErrorBox error={detail.error} action="load the statement" /> : null}
      {detail.status === 'loading' && detail.data === undefined ? <Loading what="the statement" /> : null}
      {detail.data === undefined || detail.status === 'error' ? null : (
        <>
          <pre className="sql">{detail.data.query}</pre>
          <dl className="facts inline-facts">
            <dt>Calls</dt>
            <dd>{detail.data.totals.calls.toLocaleString()}</dd>
            <dt>Total</dt>
            <dd>{formatDurationMs(detail.data.totals.totalTimeMs)}</dd>
            <dt>Mean</dt>
            <dd>{formatDurationMs(detail.data.totals.meanTimeMs)}</dd>
            <dt>Max</dt>
            <dd>{formatDurationMs(detail.data.totals.maxTimeMs)}</dd>
            <dt>Rows</dt>
            <dd>{detail.data.totals.rows.toLocaleString()}</dd>
          </dl>
          <h2>Sampled executions</h2>
          {detail.data.samples.length === 0 ? (
            <p className="muted">
              No plan was sampled in this range (plans are captured for statements slower than the collector’s
              threshold).
            </p>
          ) : (
            detail.data.samples.map((sample, i) => (
              <div className="panel" key={i}>
                <h3 className="panel-title">
                  {formatTimestamp(sample.timestamp)} · {formatDurationMs(sample.durationMs)} ·{' '}
                  {sample.database} <span className="muted small">{sample.source}</span>
                </h3>
                <Plan plan={sample.plan} />
              </div>
            ))
          )}
        </>
      )}
    </section>
  );
}

interface PlanNode {
  'Node Type'?: string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Total Cost'?: number;
  'Plan Rows'?: number;
  'Actual Total Time'?: number;
  'Actual Rows'?: number;
  Plans?: PlanNode[];
  [key: string]: unknown;
}

/** PostgreSQL's EXPLAIN (FORMAT JSON): `[{"Plan": {...}}]`; text plans as they are. */
function Plan({ plan }: { plan: unknown }) {
  if (plan === null || plan === undefined) return <p className="muted">No plan.</p>;
  if (typeof plan === 'string') return <pre className="plan-text">{plan}</pre>;
  const root =
    (Array.isArray(plan)
      ? (plan[0] as { Plan?: PlanNode } | undefined)?.Plan
      : (plan as { Plan?: PlanNode }).Plan) ?? null;
  if (root === null) return <pre className="json">{JSON.stringify(plan, null, 2)}</pre>;
  return (
    <ul className="plan-tree" role="tree" aria-label="Query plan">
      <PlanItem node={root} />
    </ul>
  );
}

function PlanItem({ node }: { node: PlanNode }) {
  const on = node['Relation Name'] ?? node['Index Name'];
  return (
    <li role="treeitem" aria-expanded={node.Plans === undefined ? undefined : true}>
      <span className="plan-node">
        <strong>{node['Node Type'] ?? 'Node'}</strong>
        {on === undefined ? '' : ` on ${on}`}
        <span className="muted small">
          {node['Actual Total Time'] === undefined ? '' : ` · ${formatDurationMs(node['Actual Total Time'])}`}
          {node['Actual Rows'] === undefined ? '' : ` · ${node['Actual Rows']} rows`}
          {node['Total Cost'] === undefined ? '' : ` · cost ${node['Total Cost']}`}
          {node['Plan Rows'] === undefined ? '' : ` · est. ${node['Plan Rows']} rows`}
        </span>
      </span>
      {node.Plans === undefined ? null : (
        <ul role="group">
          {node.Plans.map((child, i) => (
            <PlanItem key={i} node={child} />
          ))}
        </ul>
      )}
    </li>
  );
}
