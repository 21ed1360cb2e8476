import { api, type PromVector } from '../api.js';
import { useApp } from '../app-context.js';
import { ErrorBox, Loading } from '../components/states.js';
import { formatBytes, formatNumber } from '../format.js';
import { vectorValues } from '../prom-series.js';
import { joinRelations, sortRelations, type RelationRow } from '../table-stats.js';
import { formatDurationMs, resolveRange } from '../time-range.js';
import { useQuery } from '../use-query.js';

/**
 * Per-relation statistics are collected with the statement statistics (every
 * queryStatsIntervalSeconds, 60 s by default): the latest point within this window is "now".
 */
const LOOKBACK = '15m';

interface Column {
  id: string;
  label: string;
  metric: string;
  matchers?: Record<string, string>;
  format: (value: number) => string;
}

interface RelationTable {
  title: string;
  ariaLabel: string;
  keyLabels: string[];
  keyHeaders: string[];
  columns: Column[];
  sortBy: string;
  /** Marks a row (e.g. an unused index) when it has this column. */
  flag?: { column: string; text: string };
  /** Shown when nothing is stored: why. */
  whenEmpty: string;
}

const age = (seconds: number): string => formatDurationMs(seconds * 1000);

function tablesFor(kind: string): RelationTable[] {
  if (kind.startsWith('postgresql.')) {
    const schema = 'postgresql_schema_name';
    const table = 'postgresql_table_name';
    return [
      {
        title: 'Tables',
        ariaLabel: 'Tables',
        keyLabels: [schema, table],
        keyHeaders: ['Schema', 'Table'],
        columns: [
          { id: 'size', label: 'Size', metric: 'postgresql_table_size', format: formatBytes },
          {
            id: 'live',
            label: 'Live rows',
            metric: 'postgresql_rows',
            matchers: { state: 'live' },
            format: formatNumber,
          },
          {
            id: 'dead',
            label: 'Dead rows',
            metric: 'postgresql_rows',
            matchers: { state: 'dead' },
            format: formatNumber,
          },
          { id: 'vacuum', label: 'Since vacuum', metric: 'postgresql_table_vacuum_age', format: age },
          { id: 'analyze', label: 'Since analyze', metric: 'postgresql_table_analyze_age', format: age },
          { id: 'seq', label: 'Seq scans', metric: 'postgresql_sequential_scans', format: formatNumber },
        ],
        sortBy: 'size',
        whenEmpty:
          'No table statistics stored in the last 15 minutes of the range (the collector reads the largest tables of the database it connects to, every query-stats interval).',
      },
      {
        title: 'Indexes',
        ariaLabel: 'Indexes',
        keyLabels: [schema, table, 'postgresql_index_name'],
        keyHeaders: ['Schema', 'Table', 'Index'],
        columns: [
          { id: 'size', label: 'Size', metric: 'postgresql_index_size', format: formatBytes },
          { id: 'scans', label: 'Scans', metric: 'postgresql_index_scans', format: formatNumber },
          { id: 'unused', label: 'Unused size', metric: 'postgresql_index_unused_size', format: formatBytes },
        ],
        sortBy: 'size',
        flag: { column: 'unused', text: 'unused' },
        whenEmpty: 'No index statistics stored in the last 15 minutes of the range.',
      },
    ];
  }
  if (kind.startsWith('mysql.')) {
    return [
      {
        title: 'Tables',
        ariaLabel: 'Tables',
        keyLabels: ['mysql_database_name', 'mysql_table_name'],
        keyHeaders: ['Schema', 'Table'],
        columns: [
          {
            id: 'data',
            label: 'Data',
            metric: 'mysql_table_size',
            matchers: { kind: 'data' },
            format: formatBytes,
          },
          {
            id: 'index',
            label: 'Indexes',
            metric: 'mysql_table_size',
            matchers: { kind: 'index' },
            format: formatBytes,
          },
          { id: 'rows', label: 'Rows (estimate)', metric: 'mysql_table_rows', format: formatNumber },
        ],
        sortBy: 'data',
        whenEmpty: 'No table statistics stored in the last 15 minutes of the range.',
      },
    ];
  }
  return [];
}

function quoted(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The largest tables and indexes of an instance (or one database), with their latest statistics. */
export function DbTables({
  kind,
  instanceId,
  database,
}: {
  kind: string;
  instanceId: string;
  database?: string;
}) {
  const tables = tablesFor(kind);
  const dbLabel = kind.startsWith('postgresql.') ? 'postgresql_database_name' : 'mysql_database_name';
  return (
    <>
      {tables.map((t) => (
        <RelationPanel
          key={t.title}
          table={t}
          labels={{ entity_id: instanceId, ...(database === undefined ? {} : { [dbLabel]: database }) }}
        />
      ))}
    </>
  );
}

function RelationPanel({ table, labels }: { table: RelationTable; labels: Record<string, string> }) {
  const { range, tick } = useApp();
  const rows = useQuery<RelationRow[]>(
    async (signal) => {
      const { to } = resolveRange(range);
      const answers = await Promise.all(
        table.columns.map((c) => {
          const matchers = Object.entries({ ...labels, ...c.matchers })
            .map(([name, value]) => `${name}=${quoted(value)}`)
            .join(', ');
          return api<PromVector>('/api/v1/metrics/query', {
            body: { query: `last_over_time(${c.metric}{${matchers}}[${LOOKBACK}])`, time: to / 1000 },
            signal,
          });
        }),
      );
      const joined = joinRelations(
        table.keyLabels,
        answers.map((a, i) => ({ column: table.columns[i]?.id ?? '', series: vectorValues(a.data) })),
      );
      return sortRelations(joined, table.sortBy);
    },
    [table, JSON.stringify(labels), range, tick],
  );
  const flag = table.flag;
  return (
    <details className="panel db-relations" open>
      <summary className="panel-title">
        {table.title}
        {rows.data === undefined ? '' : ` (${rows.data.length})`}
        {flag !== undefined && rows.data !== undefined
          ? ` · ${rows.data.filter((r) => r.values[flag.column] !== undefined).length} ${flag.text}`
          : ''}
      </summary>
      {rows.status === 'error' ? (
        <ErrorBox error={rows.error} action={`list the ${table.title.toLowerCase()}`} />
      ) : null}
      {rows.data === undefined ? (
        rows.status === 'error' ? null : (
          <Loading what={table.title.toLowerCase()} />
        )
      ) : rows.data.length === 0 ? (
        <p className="muted small">{table.whenEmpty}</p>
      ) : (
        <table className="data-table" aria-label={table.ariaLabel}>
          <thead>
            <tr>
              {table.keyHeaders.map((h) => (
                <th key={h} scope="col">
                  {h}
                </th>
              ))}
              {table.columns.map((c) => (
                <th key={c.id} scope="col" className="num">
                  {c.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.data.map((row) => (
              <tr key={row.key.join('.')}>
                {row.key.map((part, i) => (
                  <td key={i} className="mono">
                    {part}
                    {flag !== undefined &&
                    i === row.key.length - 1 &&
                    row.values[flag.column] !== undefined ? (
                      <span className="badge down"> {flag.text}</span>
                    ) : null}
                  </td>
                ))}
                {table.columns.map((c) => {
                  const value = row.values[c.id];
                  return (
                    <td key={c.id} className="num">
                      {value === undefined ? '—' : c.format(value)}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </details>
  );
}
