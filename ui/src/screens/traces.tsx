import { useEffect, useState, type FormEvent } from 'react';
import { api, type ServiceRed, type TraceSummary } from '../api.js';
import { useApp } from '../app-context.js';
import { colourFor } from '../components/chart.js';
import { Empty, ErrorBox, Loading } from '../components/states.js';
import { Link, navigate, useSearch, withParams } from '../router.js';
import { formatDurationMs, formatTimestamp, resolveRange } from '../time-range.js';
import { useQuery } from '../use-query.js';

interface Filters {
  service: string;
  operation: string;
  minMs: string;
  status: string;
}

const FILTER_NAMES = ['service', 'operation', 'minMs', 'status'] as const;

function filtersOf(search: string): Filters {
  const params = new URLSearchParams(search);
  return {
    service: params.get('service') ?? '',
    operation: params.get('operation') ?? '',
    minMs: params.get('minMs') ?? '',
    status: params.get('status') ?? '',
  };
}

export default function TracesScreen() {
  const { range, tick } = useApp();
  const search = useSearch();
  const filters = filtersOf(search);
  const [draft, setDraft] = useState<Filters>(filters);
  useEffect(() => setDraft(filtersOf(search)), [search]);

  const services = useQuery<ServiceRed[]>(
    async (signal) => {
      const { from, to } = resolveRange(range);
      const query = new URLSearchParams({ from: String(from), to: String(to) });
      return (await api<{ data: ServiceRed[] }>(`/api/v1/services?${query.toString()}`, { signal })).data;
    },
    [range, tick],
  );

  const traces = useQuery<TraceSummary[]>(
    async (signal) => {
      const { from, to } = resolveRange(range);
      const body: Record<string, unknown> = { from, to, limit: 100 };
      if (filters.service !== '') body.service = filters.service;
      if (filters.operation !== '') body.operation = filters.operation;
      if (filters.minMs !== '' && Number.isFinite(Number(filters.minMs)))
        body.minDurationMs = Number(filters.minMs);
      if (filters.status !== '') body.status = filters.status;
      return (await api<{ data: TraceSummary[] }>('/api/v1/traces/search', { body, signal })).data;
    },
    [filters.service, filters.operation, filters.minMs, filters.status, range, tick],
  );

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    navigate(withParams(Object.fromEntries(FILTER_NAMES.map((name) => [name, draft[name]]))));
  };
  const field = (name: keyof Filters) => ({
    value: draft[name],
    onChange: (e: { target: { value: string } }) => setDraft({ ...draft, [name]: e.target.value }),
  });

  return (
    <section className="screen traces" aria-labelledby="traces-title">
      <h1 id="traces-title">Traces</h1>
      <form className="filters" onSubmit={submit} role="search">
        <label>
          Service
          <select {...field('service')}>
            <option value="">Any service</option>
            {[...new Set([...(services.data ?? []).map((s) => s.service), filters.service])]
              .filter((s) => s !== '')
              .map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
          </select>
        </label>
        <label>
          Operation
          <input type="text" placeholder="span name" {...field('operation')} />
        </label>
        <label>
          Min duration (ms)
          <input type="number" min="0" step="any" inputMode="decimal" {...field('minMs')} />
        </label>
        <label>
          Status
          <select {...field('status')}>
            <option value="">Any</option>
            <option value="error">Error</option>
            <option value="ok">OK</option>
            <option value="unset">Unset</option>
          </select>
        </label>
        <button type="submit" className="primary">
          Find traces
        </button>
      </form>

      <ServicesTable services={services.data ?? []} selected={filters.service} search={search} />

      {traces.status === 'error' ? <ErrorBox error={traces.error} action="search traces" /> : null}
      {traces.status === 'loading' && traces.data === undefined ? <Loading what="traces" /> : null}
      {traces.data !== undefined && traces.status !== 'error' ? (
        traces.data.length === 0 ? (
          <Empty>
            <p>
              <strong>No traces match</strong> in this time range.
            </p>
            <p>Widen the time range or loosen the filters; spans arrive on port 4318 (/v1/traces).</p>
          </Empty>
        ) : (
          <div className="panel">
            <table className="data-table">
              <caption className="visually-hidden">Matching traces, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Start</th>
                  <th scope="col">Root</th>
                  <th scope="col" className="num">
                    Duration
                  </th>
                  <th scope="col" className="num">
                    Spans
                  </th>
                  <th scope="col" className="num">
                    Errors
                  </th>
                  <th scope="col">Trace id</th>
                </tr>
              </thead>
              <tbody>
                {traces.data.map((t) => (
                  <tr key={t.traceId}>
                    <td>{formatTimestamp(t.startTime)}</td>
                    <td>
                      <span
                        className="dot"
                        style={{ background: colourFor(t.rootService) }}
                        aria-hidden="true"
                      />
                      {t.rootService} <span className="muted">{t.rootOperation}</span>
                    </td>
                    <td className="num">{formatDurationMs(t.durationMs)}</td>
                    <td className="num">{t.spanCount}</td>
                    <td className={`num${t.errorCount > 0 ? ' error-text' : ''}`}>{t.errorCount}</td>
                    <td>
                      <Link to={`/traces/${t.traceId}${shared(search)}`} className="mono">
                        {t.traceId}
                      </Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      ) : null}
    </section>
  );
}

function shared(search: string): string {
  const params = new URLSearchParams(search);
  for (const name of FILTER_NAMES) params.delete(name);
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** Rate, errors and latency per service (from the per-minute span rollup); a name filters the traces. */
function ServicesTable({
  services,
  selected,
  search,
}: {
  services: ServiceRed[];
  selected: string;
  search: string;
}) {
  if (services.length === 0) return null;
  const filterBy = (service: string): string => {
    const params = new URLSearchParams(search);
    params.set('service', service);
    return `/traces?${params.toString()}`;
  };
  return (
    <details className="panel services" open>
      <summary className="panel-title">Services ({services.length})</summary>
      <table className="data-table">
        <caption className="visually-hidden">Requests, errors and latency per service</caption>
        <thead>
          <tr>
            <th scope="col">Service</th>
            <th scope="col" className="num">
              Spans
            </th>
            <th scope="col" className="num">
              Per second
            </th>
            <th scope="col" className="num">
              Error rate
            </th>
            <th scope="col" className="num">
              p50
            </th>
            <th scope="col" className="num">
              p95
            </th>
            <th scope="col" className="num">
              p99
            </th>
          </tr>
        </thead>
        <tbody>
          {services.map((s) => (
            <tr key={s.service} aria-current={s.service === selected ? 'true' : undefined}>
              <td>
                <span className="dot" style={{ background: colourFor(s.service) }} aria-hidden="true" />
                <Link to={filterBy(s.service)}>{s.service}</Link>
              </td>
              <td className="num">{s.requests.toLocaleString()}</td>
              <td className="num">
                {s.requestRate === 0 ? '0' : s.requestRate < 0.01 ? '< 0.01' : s.requestRate.toPrecision(3)}
              </td>
              <td className={`num${s.errorRate > 0 ? ' error-text' : ''}`}>
                {(s.errorRate * 100).toFixed(1)}%
              </td>
              <td className="num">{formatDurationMs(s.p50Ms)}</td>
              <td className="num">{formatDurationMs(s.p95Ms)}</td>
              <td className="num">{formatDurationMs(s.p99Ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">From the per-minute span rollup: the current minute appears once it ends.</p>
    </details>
  );
}
