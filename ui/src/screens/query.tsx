import { useMemo } from 'react';
import type uPlot from 'uplot';
import { api } from '../api.js';
import { useApp } from '../app-context.js';
import { TimeChart } from '../components/chart.js';
import { SqlText } from '../components/sql-text.js';
import { ErrorBox, Loading } from '../components/states.js';
import { formatNumber } from '../format.js';
import { planRoot, planVersions, type PlanNode } from '../plan-shape.js';
import { queryColumns, type QueryBucket } from '../query-series.js';
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
          <SqlText sql={detail.data.query} />
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
          <OverTime fingerprint={fingerprint} entity={entity} />
          <PlanChanges samples={detail.data.samples} />
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

/** PostgreSQL's EXPLAIN (FORMAT JSON): `[{"Plan": {...}}]`; text plans as they are. */
function Plan({ plan }: { plan: unknown }) {
  if (plan === null || plan === undefined) return <p className="muted">No plan.</p>;
  if (typeof plan === 'string') return <pre className="plan-text">{plan}</pre>;
  const root = planRoot(plan);
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

/** Calls, mean latency and rows over the range, per bucket (GET /api/v1/queries/:fingerprint/series). */
function OverTime({ fingerprint, entity }: { fingerprint: string; entity: string }) {
  const { range, tick } = useApp();
  const series = useQuery<{ buckets: QueryBucket[]; xRange: readonly [number, number] }>(
    async (signal) => {
      const { from, to } = resolveRange(range);
      const params = new URLSearchParams({ from: String(from), to: String(to) });
      if (entity !== '') params.set('entity', entity);
      const answer = await api<{ data: QueryBucket[] }>(
        `/api/v1/queries/${encodeURIComponent(fingerprint)}/series?${params.toString()}`,
        { signal },
      );
      return { buckets: answer.data, xRange: [from / 1000, to / 1000] as const };
    },
    [fingerprint, entity, range, tick],
  );
  const charts = useMemo(() => {
    if (series.data === undefined) return undefined;
    const columns = queryColumns(series.data.buckets);
    const x = columns.timesS;
    return {
      count: x.length,
      xRange: series.data.xRange,
      calls: [x, columns.calls] as uPlot.AlignedData,
      mean: [x, columns.meanTimeMs] as uPlot.AlignedData,
      rows: [x, columns.rows] as uPlot.AlignedData,
    };
  }, [series.data]);
  if (series.status === 'error')
    return <ErrorBox error={series.error} action="chart the statement over time" />;
  if (charts === undefined) return <Loading what="the statement over time" />;
  if (charts.count === 0) {
    return <p className="muted">No interval of this statement was collected in this range.</p>;
  }
  return (
    <>
      <h2>Over time</h2>
      <div className="query-charts" data-points={charts.count}>
        <OverTimeChart title="Calls" data={charts.calls} label="calls" xRange={charts.xRange} />
        <OverTimeChart
          title="Mean latency"
          data={charts.mean}
          label="mean"
          xRange={charts.xRange}
          formatValue={(v) => formatDurationMs(v)}
        />
        <OverTimeChart title="Rows" data={charts.rows} label="rows" xRange={charts.xRange} />
      </div>
    </>
  );
}

const SERIES_LABELS: Record<string, Array<{ label: string }>> = {
  calls: [{ label: 'calls' }],
  mean: [{ label: 'mean' }],
  rows: [{ label: 'rows' }],
};

function OverTimeChart(props: {
  title: string;
  data: uPlot.AlignedData;
  label: string;
  xRange: readonly [number, number];
  formatValue?: (value: number) => string;
}) {
  return (
    <section className="panel" aria-label={props.title}>
      <h3 className="panel-title">{props.title}</h3>
      <TimeChart
        data={props.data}
        series={SERIES_LABELS[props.label] ?? [{ label: props.label }]}
        kind="line"
        height={150}
        ariaLabel={props.title}
        formatValue={props.formatValue ?? formatNumber}
        xRange={props.xRange}
        legend={false}
      />
    </section>
  );
}

/** The distinct plans of the sampled executions, by shape, with when each was first and last seen. */
function PlanChanges({ samples }: { samples: Sample[] }) {
  const versions = useMemo(() => planVersions(samples), [samples]);
  if (versions.length === 0) return null;
  return (
    <>
      <h2>Plans over time</h2>
      <p className="muted small">
        {versions.length === 1
          ? 'Every sampled execution in this range ran with the same plan shape.'
          : `${versions.length} plan shapes in this range: the plan changed.`}
      </p>
      <table className="data-table" aria-label="Plan shapes">
        <thead>
          <tr>
            <th scope="col">Shape</th>
            <th scope="col">Plan</th>
            <th scope="col">First seen</th>
            <th scope="col">Last seen</th>
            <th scope="col" className="num">
              Samples
            </th>
            <th scope="col" className="num">
              Mean
            </th>
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.hash}>
              <td className="mono">{v.hash}</td>
              <td>
                <pre className="plan-shape">{v.shape}</pre>
              </td>
              <td>{formatTimestamp(v.firstSeen)}</td>
              <td>{formatTimestamp(v.lastSeen)}</td>
              <td className="num">{v.samples}</td>
              <td className="num">{formatDurationMs(v.meanDurationMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
