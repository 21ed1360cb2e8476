import { api } from '../api.js';
import { ErrorBox, Loading } from '../components/states.js';
import { useQuery } from '../use-query.js';
import { SettingsNav } from './settings-nav.js';

/** GET /api/v1/settings/retention (src/api/settings-routes.ts). */
interface Retention {
  store: 'duckdb' | 'clickhouse';
  intervalSeconds: number;
  granularity: string;
  data: Array<{
    table: string;
    kind: 'raw' | 'rollup' | 'samples';
    description: string;
    days: number;
    keptForever: boolean;
  }>;
}

const KIND_LABEL: Record<Retention['data'][number]['kind'], string> = {
  raw: 'raw',
  rollup: 'rollup',
  samples: 'database samples',
};

/** "12 hours", "7 days", "400 days (about 13 months)", "forever": days as a person reads them. */
export function humanDays(days: number, keptForever: boolean): string {
  if (keptForever) return 'forever';
  if (days < 1) {
    const hours = Math.round(days * 24 * 10) / 10;
    return `${hours} hour${hours === 1 ? '' : 's'}`;
  }
  const exact = `${Math.round(days * 100) / 100} day${days === 1 ? '' : 's'}`;
  if (days >= 365) return `${exact} (about ${Math.round((days / 365.25) * 10) / 10} years)`;
  if (days >= 60) return `${exact} (about ${Math.round(days / 30.44)} months)`;
  if (days >= 14 && days % 7 === 0) return `${exact} (${days / 7} weeks)`;
  return exact;
}

export default function RetentionScreen() {
  const retention = useQuery<Retention>(
    (signal) => api<Retention>('/api/v1/settings/retention', { signal }),
    [],
  );
  return (
    <section className="screen retention" aria-labelledby="retention-title">
      <h1 id="retention-title">Retention</h1>
      <SettingsNav />
      <p className="muted">
        How long each table keeps its rows, as configured when this server started. Raw rows go first; the
        rollups that summarise them stay longer, so long time ranges still have charts. To change a value, set{' '}
        <code>store.retention.days.&lt;table&gt;</code> in <code>sightline.yaml</code> (or its{' '}
        <code>SIGHTLINE_STORE__RETENTION__DAYS__…</code> variable) and restart: it cannot be edited here.
      </p>
      {retention.status === 'error' ? <ErrorBox error={retention.error} action="read the retention" /> : null}
      {retention.status === 'loading' && retention.data === undefined ? <Loading what="retention" /> : null}
      {retention.data === undefined || retention.status === 'error' ? null : (
        <div className="panel">
          <table className="data-table retention-table">
            <caption className="visually-hidden">Retention per table</caption>
            <thead>
              <tr>
                <th scope="col">Table</th>
                <th scope="col">Kind</th>
                <th scope="col">Setting</th>
                <th scope="col" className="num">
                  Kept for
                </th>
              </tr>
            </thead>
            <tbody>
              {retention.data.data.map((row) => (
                <tr key={row.table} data-table={row.table}>
                  <td>{row.description}</td>
                  <td>{KIND_LABEL[row.kind]}</td>
                  <td className="mono">
                    store.retention.days.{row.table} = {row.days}
                  </td>
                  <td className="num">{humanDays(row.days, row.keptForever)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="muted small">
            Store: {retention.data.store}; {retention.data.granularity}. A value of 0 keeps rows forever.
          </p>
        </div>
      )}
    </section>
  );
}
