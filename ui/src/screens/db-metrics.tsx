import { useState } from 'react';
import { api } from '../api.js';
import { useApp } from '../app-context.js';
import { ErrorBox, Loading } from '../components/states.js';
import { formatNumber } from '../format.js';
import { Link, useSearch } from '../router.js';
import { resolveRange } from '../time-range.js';
import { useQuery } from '../use-query.js';

interface Catalog {
  truncated: boolean;
  metrics: Array<{
    name: string;
    kind: string;
    unit: string;
    seriesCount: number;
    series: Array<{ labels: Record<string, unknown>; lastValue: number | null }>;
  }>;
}

/** PromQL's name for a stored metric (docs/metrics-query.md): every other character becomes `_`. */
function promName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_:]/g, '_');
}

/** What an instance or database reports, with the latest value and a link to chart it. */
export function DbMetrics({ entityId, instanceId }: { entityId: string; instanceId: string }) {
  const { range, tick } = useApp();
  const search = useSearch();
  // The list is read when the panel is opened: over a long range it is one of the page's slowest reads.
  const [open, setOpen] = useState(false);
  const catalog = useQuery<Catalog>(
    open
      ? (signal) => {
          const { from, to } = resolveRange(range);
          const params = new URLSearchParams({ from: String(from), to: String(to) });
          return api<Catalog>(
            `/api/v1/databases/${encodeURIComponent(entityId)}/metrics?${params.toString()}`,
            { signal },
          );
        }
      : null,
    [open, entityId, range, tick],
  );
  const metrics = [...(catalog.data?.metrics ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  return (
    <details className="panel db-metrics" onToggle={(event) => setOpen(event.currentTarget.open)}>
      <summary className="panel-title">
        Metrics
        {catalog.data === undefined
          ? ''
          : ` (${metrics.length}${catalog.data.truncated ? ', cut at the limit' : ''})`}
      </summary>
      {catalog.status === 'error' ? <ErrorBox error={catalog.error} action="list the metrics" /> : null}
      {catalog.status === 'loading' && catalog.data === undefined ? <Loading what="the metrics" /> : null}
      {catalog.data === undefined ? null : (
        <table className="data-table" aria-label="Metrics of the database">
          <thead>
            <tr>
              <th scope="col">Metric</th>
              <th scope="col">Kind</th>
              <th scope="col">Unit</th>
              <th scope="col" className="num">
                Series
              </th>
              <th scope="col" className="num">
                Latest (first series)
              </th>
            </tr>
          </thead>
          <tbody>
            {metrics.map((m) => {
              const query = `${promName(m.kind === 'histogram' ? `${m.name}_count` : m.name)}{entity_id="${instanceId}"}`;
              const latest = m.series[0]?.lastValue;
              const target = new URLSearchParams();
              target.set('query', query);
              // The chart keeps this screen's time range.
              for (const name of ['range', 'from', 'to']) {
                const value = new URLSearchParams(search).get(name);
                if (value !== null) target.set(name, value);
              }
              return (
                <tr key={m.name}>
                  <td>
                    <Link to={`/metrics-explorer?${target.toString()}`} className="mono">
                      {m.name}
                    </Link>
                  </td>
                  <td>{m.kind}</td>
                  <td>{m.unit}</td>
                  <td className="num">{m.seriesCount}</td>
                  <td className="num">
                    {latest === undefined || latest === null ? '—' : formatNumber(latest)}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </details>
  );
}
