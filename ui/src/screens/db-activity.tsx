import { useMemo } from 'react';
import type uPlot from 'uplot';
import { api } from '../api.js';
import { useApp } from '../app-context.js';
import { TimeChart } from '../components/chart.js';
import { Empty, ErrorBox, Loading } from '../components/states.js';
import { formatDurationMs, formatTimestamp, resolveRange } from '../time-range.js';
import { useQuery } from '../use-query.js';

interface Session {
  pid: number;
  database: string;
  user: string;
  application: string;
  state: string;
  waitEventType: string;
  waitEvent: string;
  query: string;
  durationMs: number;
  blockedBy: number[];
}

interface Blocking {
  pid: number;
  sampled: boolean;
  state: string;
  waitEvent: string;
  query: string;
  durationMs: number;
  children: Blocking[];
}

interface Activity {
  snapshot: { timestamp: string; sessionCount: number; sessions: Session[]; blocking: Blocking[] } | null;
  series: Array<{ timeMs: number; waits: Record<string, number> }>;
}

/** One instance's or database's sessions: average active sessions by wait, now and over the range. */
export function DbActivity({ entityId }: { entityId: string }) {
  const { range, tick } = useApp();
  const activity = useQuery<Activity>(
    (signal) => {
      const { from, to } = resolveRange(range);
      const params = new URLSearchParams({ from: String(from), to: String(to) });
      return api<Activity>(
        `/api/v1/databases/${encodeURIComponent(entityId)}/activity?${params.toString()}`,
        {
          signal,
        },
      );
    },
    [entityId, range, tick],
  );
  const chart = useMemo(() => {
    const series = activity.data?.series ?? [];
    const waits = [...new Set(series.flatMap((p) => Object.keys(p.waits)))].sort();
    const data = [
      series.map((p) => p.timeMs / 1000),
      ...waits.map((w) => series.map((p) => p.waits[w] ?? 0)),
    ];
    return { data: data as uPlot.AlignedData, series: waits.map((label) => ({ label })) };
  }, [activity.data]);

  if (activity.status === 'error') return <ErrorBox error={activity.error} action="load the sessions" />;
  if (activity.data === undefined) return <Loading what="sessions" />;
  const { snapshot } = activity.data;
  return (
    <div className="panel" aria-labelledby="activity-title">
      <h2 className="panel-title" id="activity-title">
        Average active sessions by wait <span className="muted small">(CPU: running)</span>
      </h2>
      {chart.series.length === 0 ? (
        <p className="muted">No session snapshots in this range.</p>
      ) : (
        <TimeChart
          data={chart.data}
          series={chart.series}
          kind="line"
          height={200}
          ariaLabel="Average active sessions by wait event type"
        />
      )}
      {snapshot === null ? (
        <Empty>
          <p>No session snapshot yet.</p>
        </Empty>
      ) : (
        <>
          <h3>
            {snapshot.sessionCount} sessions at {formatTimestamp(snapshot.timestamp)}
          </h3>
          {snapshot.blocking.length === 0 ? null : (
            <>
              <h3 className="error-text">Blocking</h3>
              <ul className="plan-tree" role="tree" aria-label="Blocking sessions">
                {snapshot.blocking.map((b) => (
                  <BlockingItem key={b.pid} node={b} />
                ))}
              </ul>
            </>
          )}
          <table className="data-table" aria-label="Sessions">
            <thead>
              <tr>
                <th scope="col">PID</th>
                <th scope="col">Database</th>
                <th scope="col">User</th>
                <th scope="col">State</th>
                <th scope="col">Wait</th>
                <th scope="col" className="num">
                  For
                </th>
                <th scope="col">Query</th>
              </tr>
            </thead>
            <tbody>
              {snapshot.sessions.map((s) => (
                <tr key={s.pid}>
                  <td className="num">{s.pid}</td>
                  <td>{s.database}</td>
                  <td>{s.user}</td>
                  <td>{s.state}</td>
                  <td>{s.waitEventType === '' ? '' : `${s.waitEventType}: ${s.waitEvent}`}</td>
                  <td className="num">{formatDurationMs(s.durationMs)}</td>
                  <td className="mono statement">
                    {s.query.length > 120 ? `${s.query.slice(0, 120)}…` : s.query}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}

function BlockingItem({ node }: { node: Blocking }) {
  return (
    <li role="treeitem" aria-expanded={node.children.length === 0 ? undefined : true}>
      <span className="plan-node">
        <strong>pid {node.pid}</strong> {node.sampled ? node.state : '(not in the snapshot)'}
        <span className="muted small">
          {' '}
          · {formatDurationMs(node.durationMs)} · {node.query.slice(0, 100)}
        </span>
      </span>
      {node.children.length === 0 ? null : (
        <ul role="group">
          {node.children.map((child) => (
            <BlockingItem key={child.pid} node={child} />
          ))}
        </ul>
      )}
    </li>
  );
}
