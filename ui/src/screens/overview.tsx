import { useState } from 'react';
import { api, type ServiceRed } from '../api.js';
import { useApp } from '../app-context.js';
import { NoDatabaseWatched } from '../components/no-database-watched.js';
import { Empty, ErrorBox, Loading } from '../components/states.js';
import { formatNumber } from '../format.js';
import { Link, useSearch } from '../router.js';
import { formatDurationMs, formatTimestamp, resolveRange } from '../time-range.js';
import { useQuery } from '../use-query.js';

/** One watched instance as GET /api/v1/overview answers it. */
interface DatabaseHealth {
  id: string;
  name: string;
  kind: string;
  engine: 'postgresql' | 'mysql';
  version: string;
  up: boolean;
  lastSeen: string;
  collectorUp: number | null;
  connections: { used: number | null; max: number | null };
  transactionsPerSecond: number | null;
  statements: { calls: number; perSecond: number; meanTimeMs: number | null };
  replicationLagSeconds: number | null;
}

interface Overview {
  databases: DatabaseHealth[];
  services: ServiceRed[];
  ingest: Array<{ signal: string; records: number; perSecond: number }>;
}

/** What each ingest signal is, for the table. */
const SIGNAL_LABELS: Record<string, string> = {
  logs: 'Logs',
  spans: 'Spans',
  metrics: 'Metric points',
  query_stats: 'Statement statistics',
  query_samples: 'Statement samples',
  sessions: 'Session samples',
  rum: 'Browser (RUM) events',
};

/** The range and refresh of this view, for links to the detail screens. */
function sharedQuery(search: string, extra: Record<string, string>): string {
  const current = new URLSearchParams(search);
  const params = new URLSearchParams(extra);
  for (const name of ['range', 'from', 'to', 'refresh']) {
    const value = current.get(name);
    if (value !== null) params.set(name, value);
  }
  return params.toString();
}

/** Per second; below 0.01 (a few records over a long range) as such rather than in exponent form. */
function perSecond(value: number | null): string {
  if (value === null) return '—';
  if (value > 0 && value < 0.01) return '< 0.01/s';
  return `${formatNumber(value)}/s`;
}

export default function OverviewScreen() {
  const { range, tick } = useApp();
  const search = useSearch();
  const [attempt, setAttempt] = useState(0);
  const overview = useQuery<Overview>(
    (signal) => {
      const { from, to } = resolveRange(range);
      const params = new URLSearchParams({ from: String(from), to: String(to) });
      return api<Overview>(`/api/v1/overview?${params.toString()}`, { signal });
    },
    [range, tick, attempt],
  );

  const body = (() => {
    if (overview.status === 'error' && overview.data === undefined)
      return (
        <ErrorBox error={overview.error} action="load the overview" onRetry={() => setAttempt(attempt + 1)} />
      );
    if (overview.data === undefined) return <Loading what="the overview" />;
    const { databases, services, ingest } = overview.data;
    return (
      <>
        {overview.status === 'error' ? (
          <ErrorBox
            error={overview.error}
            action="refresh the overview"
            onRetry={() => setAttempt(attempt + 1)}
          />
        ) : null}
        <section aria-labelledby="overview-databases">
          <h2 id="overview-databases">Databases</h2>
          {databases.length === 0 ? (
            <NoDatabaseWatched />
          ) : (
            <ul className="overview-cards">
              {databases.map((db) => (
                <DatabaseCard key={db.id} db={db} search={search} />
              ))}
            </ul>
          )}
        </section>
        <section aria-labelledby="overview-services">
          <h2 id="overview-services">Services</h2>
          {services.length === 0 ? (
            <Empty>
              <p>
                <strong>No spans in this time range.</strong> Send traces over OTLP (port 4318, /v1/traces) or
                widen the time range.
              </p>
            </Empty>
          ) : (
            <ServicesTable services={services} search={search} />
          )}
        </section>
        <section aria-labelledby="overview-ingest">
          <h2 id="overview-ingest">Ingest</h2>
          <IngestTable ingest={ingest} />
        </section>
      </>
    );
  })();

  return (
    <section className="screen overview" aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      {body}
    </section>
  );
}

function DatabaseCard({ db, search }: { db: DatabaseHealth; search: string }) {
  const { used, max } = db.connections;
  const connections =
    used === null ? '—' : max === null ? formatNumber(used) : `${formatNumber(used)} / ${formatNumber(max)}`;
  return (
    <li className="card overview-card" aria-label={`Database ${db.name}`}>
      <h3>
        <span className={`badge ${db.up ? 'up' : 'down'}`}>{db.up ? 'up' : 'down'}</span>{' '}
        <Link to={`/databases?${sharedQuery(search, { entity: db.id })}`}>{db.name}</Link>{' '}
        <span className="muted small">
          {db.engine} {db.version}
        </span>
      </h3>
      <dl className="overview-figures">
        <div>
          <dt>Connections</dt>
          <dd data-figure="connections">{connections}</dd>
        </div>
        <div>
          <dt>Transactions</dt>
          <dd data-figure="tps">{perSecond(db.transactionsPerSecond)}</dd>
        </div>
        <div>
          <dt>Statements</dt>
          <dd data-figure="statements">{perSecond(db.statements.perSecond)}</dd>
        </div>
        <div>
          <dt>Mean statement time</dt>
          <dd data-figure="mean">
            {db.statements.meanTimeMs === null ? '—' : formatDurationMs(db.statements.meanTimeMs)}
          </dd>
        </div>
        <div>
          <dt>Replication lag</dt>
          <dd data-figure="lag">
            {db.replicationLagSeconds === null ? 'none' : formatDurationMs(db.replicationLagSeconds * 1000)}
          </dd>
        </div>
        <div>
          <dt>Last seen</dt>
          <dd>{formatTimestamp(db.lastSeen)}</dd>
        </div>
      </dl>
      {db.collectorUp === 0 ? (
        <p className="sev-error small">The collector could not reach the server in its last cycle.</p>
      ) : null}
    </li>
  );
}

function ServicesTable({ services, search }: { services: ServiceRed[]; search: string }) {
  return (
    <div className="panel">
      <table className="data-table" aria-label="Services">
        <thead>
          <tr>
            <th scope="col">Service</th>
            <th scope="col" className="num">
              Spans
            </th>
            <th scope="col" className="num">
              Rate
            </th>
            <th scope="col" className="num">
              Error rate
            </th>
            <th scope="col" className="num">
              p95
            </th>
          </tr>
        </thead>
        <tbody>
          {services.map((s) => (
            <tr key={s.service}>
              <td>
                <Link to={`/traces?${sharedQuery(search, { service: s.service })}`}>{s.service}</Link>
              </td>
              <td className="num">{s.requests.toLocaleString('en-US')}</td>
              <td className="num">{perSecond(s.requestRate)}</td>
              <td className={`num ${s.errorRate > 0 ? 'sev-error' : ''}`}>
                {(s.errorRate * 100).toFixed(1)}%
              </td>
              <td className="num">{formatDurationMs(s.p95Ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function IngestTable({ ingest }: { ingest: Overview['ingest'] }) {
  if (ingest.every((i) => i.records === 0)) {
    return (
      <Empty>
        <p>
          <strong>Nothing stored in this time range.</strong> Send OTLP to port 4318 or watch a database, then
          come back; or widen the time range.
        </p>
      </Empty>
    );
  }
  return (
    <div className="panel">
      <table className="data-table" aria-label="Ingest per signal">
        <thead>
          <tr>
            <th scope="col">Signal</th>
            <th scope="col" className="num">
              Records
            </th>
            <th scope="col" className="num">
              Per second
            </th>
          </tr>
        </thead>
        <tbody>
          {ingest.map((i) => (
            <tr key={i.signal}>
              <td>{SIGNAL_LABELS[i.signal] ?? i.signal}</td>
              <td className="num">{i.records.toLocaleString('en-US')}</td>
              <td className="num">{perSecond(i.perSecond)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
