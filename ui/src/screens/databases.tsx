import { useMemo } from 'react';
import { api } from '../api.js';
import { useApp } from '../app-context.js';
import { NoDatabaseWatched } from '../components/no-database-watched.js';
import { Empty, ErrorBox, Loading } from '../components/states.js';
import { Link, useParam, useSearch } from '../router.js';
import { formatDurationMs, formatTimestamp, resolveRange } from '../time-range.js';
import { useQuery } from '../use-query.js';
import { Sparkline } from '../components/sparkline.js';
import { totalTimeLine, type StatementSeries } from '../statement-sparklines.js';
import { DbActivity } from './db-activity.js';
import { DbChartsGrid } from './db-charts-grid.js';
import { DbMetrics } from './db-metrics.js';
import { DbTables } from './db-tables.js';

interface Entity {
  id: string;
  kind: string;
  name: string;
  version: string;
  up: boolean;
  lastSeen: string;
}

interface Instance extends Entity {
  databases: Entity[];
}

export interface TopQuery {
  fingerprint: string;
  query: string;
  calls: number;
  totalTimeMs: number;
  meanTimeMs: number;
  maxTimeMs: number;
  rows: number;
  /** Blocks read from outside shared buffers (PostgreSQL; 0 for MySQL): the statement's I/O. */
  sharedBlksRead: number;
  cacheHitRatio: number | null;
  shareOfTotalTime: number;
  databases: string[];
  series: StatementSeries;
}

/** GET /api/v1/queries: the statements, and the range and bucket width of their series. */
interface TopQueriesAnswer {
  from: string;
  to: string;
  stepMs: number;
  data: TopQuery[];
}

type SortKey =
  'totalTimeMs' | 'calls' | 'meanTimeMs' | 'maxTimeMs' | 'rows' | 'sharedBlksRead' | 'shareOfTotalTime';

const COLUMNS: Array<{ key: SortKey; label: string; format: (q: TopQuery) => string }> = [
  { key: 'totalTimeMs', label: 'Total time', format: (q) => formatDurationMs(q.totalTimeMs) },
  { key: 'shareOfTotalTime', label: 'Share', format: (q) => `${(q.shareOfTotalTime * 100).toFixed(1)}%` },
  { key: 'calls', label: 'Calls', format: (q) => q.calls.toLocaleString() },
  { key: 'meanTimeMs', label: 'Mean', format: (q) => formatDurationMs(q.meanTimeMs) },
  { key: 'maxTimeMs', label: 'Max', format: (q) => formatDurationMs(q.maxTimeMs) },
  { key: 'rows', label: 'Rows', format: (q) => q.rows.toLocaleString() },
  { key: 'sharedBlksRead', label: 'Blocks read', format: (q) => q.sharedBlksRead.toLocaleString() },
];

/** The instance of the picked entity, and the database's name when a database is picked. */
function pickedEntity(
  instances: readonly Instance[],
  entity: string,
): { instance: Instance; database?: string } | undefined {
  for (const instance of instances) {
    if (instance.id === entity) return { instance };
    const database = instance.databases.find((d) => d.id === entity);
    if (database !== undefined) return { instance, database: database.name };
  }
  return undefined;
}

/** Watched database instances and their top statements (sortable), linking to a statement. */
export default function DatabasesScreen() {
  const { range, tick } = useApp();
  const search = useSearch();
  const [entity, setEntity] = useParam('entity');
  const [sort, setSort] = useParam('sort', 'totalTimeMs');
  const [dir, setDir] = useParam('dir', 'desc');

  const instances = useQuery<Instance[]>(
    async (signal) => (await api<{ data: Instance[] }>('/api/v1/databases', { signal })).data,
    [tick],
  );
  const top = useQuery<TopQueriesAnswer>(
    async (signal) => {
      const { from, to } = resolveRange(range);
      const params = new URLSearchParams({ from: String(from), to: String(to), limit: '100' });
      if (entity !== '') params.set('entity', entity);
      return api<TopQueriesAnswer>(`/api/v1/queries?${params.toString()}`, { signal });
    },
    [entity, range, tick],
  );

  const picked = useMemo(() => pickedEntity(instances.data ?? [], entity), [instances.data, entity]);

  const sorted = useMemo(() => {
    const key: SortKey = COLUMNS.find((c) => c.key === sort)?.key ?? 'totalTimeMs';
    const sign = dir === 'asc' ? 1 : -1;
    return [...(top.data?.data ?? [])].sort((a, b) => sign * (a[key] - b[key]));
  }, [top.data, sort, dir]);

  /** The range the statements were read for, and their buckets: the time axis every sparkline shares. */
  const shown = useMemo(
    () =>
      top.data === undefined
        ? undefined
        : { fromMs: Date.parse(top.data.from), toMs: Date.parse(top.data.to), stepMs: top.data.stepMs },
    [top.data],
  );

  const sortBy = (key: SortKey): void => {
    if (key === sort) setDir(dir === 'desc' ? 'asc' : 'desc');
    else {
      setSort(key);
      setDir('desc');
    }
  };
  const detailSearch = (): string => {
    const params = new URLSearchParams(search);
    for (const name of ['sort', 'dir']) params.delete(name);
    const text = params.toString();
    return text === '' ? '' : `?${text}`;
  };

  return (
    <section className="screen databases" aria-labelledby="db-title">
      <h1 id="db-title">Databases</h1>
      {instances.status === 'error' ? <ErrorBox error={instances.error} action="list the databases" /> : null}
      {instances.data === undefined ? null : instances.data.length === 0 ? (
        <NoDatabaseWatched />
      ) : (
        <ul className="instances">
          <li>
            <button type="button" aria-pressed={entity === ''} onClick={() => setEntity('', true)}>
              All databases
            </button>
          </li>
          {instances.data.map((instance) => (
            <li key={instance.id}>
              <button
                type="button"
                aria-pressed={entity === instance.id}
                onClick={() => setEntity(instance.id, true)}
              >
                <span className={`badge ${instance.up ? 'up' : 'down'}`}>{instance.up ? 'up' : 'down'}</span>{' '}
                {instance.name} <span className="muted small">{instance.kind}</span>
              </button>
              {instance.databases.map((db) => (
                <button
                  key={db.id}
                  type="button"
                  className="sub"
                  aria-pressed={entity === db.id}
                  onClick={() => setEntity(db.id, true)}
                >
                  {db.name}
                </button>
              ))}
            </li>
          ))}
        </ul>
      )}

      {picked === undefined ? null : (
        <DbChartsGrid
          kind={picked.instance.kind}
          instanceId={picked.instance.id}
          {...(picked.database === undefined ? {} : { database: picked.database })}
        />
      )}
      {entity === '' ? null : <DbActivity entityId={entity} />}
      {entity === '' || instances.data === undefined ? null : (
        <DbMetrics
          entityId={entity}
          instanceId={
            instances.data.find((i) => i.id === entity || i.databases.some((d) => d.id === entity))?.id ??
            entity
          }
        />
      )}

      {picked === undefined ? null : (
        <DbTables
          kind={picked.instance.kind}
          instanceId={picked.instance.id}
          {...(picked.database === undefined ? {} : { database: picked.database })}
        />
      )}

      <h2>Top statements</h2>
      {top.status === 'error' ? <ErrorBox error={top.error} action="load the top statements" /> : null}
      {top.status === 'loading' && top.data === undefined ? <Loading what="statements" /> : null}
      {top.data === undefined || top.status === 'error' ? null : top.data.data.length === 0 ? (
        <Empty>
          <p>No statements were recorded in this time range.</p>
        </Empty>
      ) : (
        <div className="panel">
          <table className="data-table queries">
            <caption className="visually-hidden">Top statements; column headers sort</caption>
            <thead>
              <tr>
                <th scope="col">Statement</th>
                {COLUMNS.map((c) => (
                  <th
                    key={c.key}
                    scope="col"
                    className="num"
                    aria-sort={sort === c.key ? (dir === 'asc' ? 'ascending' : 'descending') : 'none'}
                  >
                    <button type="button" className="link-button" onClick={() => sortBy(c.key)}>
                      {c.label}
                      {sort === c.key ? (dir === 'asc' ? ' ▲' : ' ▼') : ''}
                    </button>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {sorted.map((q) => (
                <tr key={q.fingerprint}>
                  <td className="statement">
                    <Link
                      to={`/queries/${encodeURIComponent(q.fingerprint)}${detailSearch()}`}
                      className="mono"
                    >
                      {q.query.length > 160 ? `${q.query.slice(0, 160)}…` : q.query}
                    </Link>
                    {shown === undefined ? null : (
                      <Sparkline
                        points={totalTimeLine(q.series, shown)}
                        xRange={[shown.fromMs / 1000, shown.toMs / 1000]}
                        label="Total time of the statement over the range"
                      />
                    )}
                  </td>
                  {COLUMNS.map((c) => (
                    <td key={c.key} className="num">
                      {c.format(q)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {instances.data === undefined ? null : (
        <p className="muted small">
          Instances last seen:{' '}
          {instances.data.map((i) => `${i.name} ${formatTimestamp(i.lastSeen)}`).join(' · ') || '—'}
        </p>
      )}
    </section>
  );
}
