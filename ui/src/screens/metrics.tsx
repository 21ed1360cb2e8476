import { useCallback, useEffect, useState } from 'react';
import type uPlot from 'uplot';
import { api, type ApiError, type PromMatrix } from '../api.js';
import { useApp } from '../app-context.js';
import { TimeChart, type ChartSeries } from '../components/chart.js';
import { QueryInput, wordAt, type Suggestions } from '../components/query-input.js';
import { Empty, Loading } from '../components/states.js';
import { setRange } from '../components/time-controls.js';
import { formatNumber } from '../format.js';
import { useParam } from '../router.js';
import { formatStep, niceStepSeconds, resolveRange } from '../time-range.js';
import { useQuery } from '../use-query.js';

const STEPS = ['auto', '15s', '30s', '1m', '5m', '15m', '1h'];
const FUNCTIONS = [
  'rate(',
  'irate(',
  'increase(',
  'sum(',
  'avg(',
  'max(',
  'min(',
  'count(',
  'topk(',
  'histogram_quantile(',
  'avg_over_time(',
  'max_over_time(',
  'sum by (',
];

interface Chart {
  data: uPlot.AlignedData;
  series: ChartSeries[];
  stepS: number;
  resultType: string;
  /** The range asked for, in seconds. */
  xRange: readonly [number, number];
}

export default function MetricsScreen() {
  const { range, tick } = useApp();
  const [query, setQuery] = useParam('query');
  const [step, setStep] = useParam('step', 'auto');
  const [draft, setDraft] = useState(query);
  useEffect(() => setDraft(query), [query]);

  const names = useQuery<string[]>(
    async (signal) =>
      (await api<{ data: string[] }>('/prometheus/api/v1/label/__name__/values', { signal })).data,
    [],
  );

  const result = useQuery<Chart>(
    query === ''
      ? null
      : async (signal) => {
          const { from, to } = resolveRange(range);
          const stepS = step === 'auto' ? Math.max(niceStepSeconds(to - from, 300), 15) : null;
          const answer = await api<PromMatrix>('/api/v1/metrics/query_range', {
            body: { query, start: from / 1000, end: to / 1000, step: stepS === null ? step : stepS },
            signal,
          });
          return toChart(answer, stepS ?? 0, [from / 1000, to / 1000]);
        },
    [query, range, step, tick],
  );

  const suggest = useCallback(
    (text: string, cursor: number): Suggestions => {
      const { word, from } = wordAt(text, cursor);
      // Inside rate(…: complete after the last '(' or '{'.
      const cut = Math.max(word.lastIndexOf('('), word.lastIndexOf('{'), word.lastIndexOf(','));
      const prefix = word.slice(cut + 1);
      if (prefix.length === 0 || word.includes('{')) return { items: [], from };
      const pool = [...(names.data ?? []), ...FUNCTIONS];
      return {
        items: pool.filter((n) => n.startsWith(prefix) && n !== prefix).slice(0, 12),
        from: from + cut + 1,
      };
    },
    [names.data],
  );

  const run = (): void => setQuery(draft.trim(), true);

  return (
    <section className="screen metrics" aria-labelledby="metrics-title">
      <h1 id="metrics-title">Metrics</h1>
      <form
        className="query-bar"
        onSubmit={(event) => {
          event.preventDefault();
          run();
        }}
      >
        <QueryInput
          label="PromQL query"
          value={draft}
          onChange={setDraft}
          onSubmit={run}
          suggest={suggest}
          placeholder="sum by (job) (rate(http_server_requests[5m]))"
          describedBy="metrics-help"
        />
        <label className="inline">
          Step
          <select value={step} onChange={(e) => setStep(e.target.value)}>
            {STEPS.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="primary">
          Run query
        </button>
      </form>
      <p id="metrics-help" className="muted small">
        PromQL over the stored metrics (names with <code>.</code> become <code>_</code>;
        docs/metrics-query.md).{' '}
        {names.data === undefined ? '' : `${names.data.length} metric names known; type to complete.`}
      </p>

      {query === '' ? (
        <Empty>
          <p>
            <strong>Enter a PromQL query</strong> and press Enter.
          </p>
          {names.data !== undefined && names.data.length > 0 ? (
            <p>
              For example:{' '}
              {names.data.slice(0, 5).map((n) => (
                <button key={n} type="button" className="link-button" onClick={() => setQuery(n, true)}>
                  {n}
                </button>
              ))}
            </p>
          ) : (
            <p>No metrics are stored yet: send OTLP metrics to port 4318 or Prometheus remote write.</p>
          )}
        </Empty>
      ) : null}

      {result.status === 'error' ? <QueryError error={result.error} query={query} /> : null}
      {result.status === 'loading' && result.data === undefined ? <Loading what="the series" /> : null}
      {result.data !== undefined && result.status !== 'error' ? <ChartPanel chart={result.data} /> : null}
    </section>
  );
}

function ChartPanel({ chart }: { chart: Chart }) {
  if (chart.series.length === 0) {
    return (
      <Empty>
        <p>
          <strong>No series</strong>: the query matched no data in this time range.
        </p>
        <p>Check the metric name and labels, or widen the time range.</p>
      </Empty>
    );
  }
  return (
    <div className="panel">
      <h2 className="panel-title">
        {chart.series.length} series{' '}
        {chart.stepS > 0 ? (
          <span className="muted small">step {formatStep(chart.stepS)} · drag to zoom</span>
        ) : null}
      </h2>
      <TimeChart
        data={chart.data}
        series={chart.series}
        kind="line"
        height={320}
        ariaLabel={`Chart of ${chart.series.length} series`}
        onSelect={(from, to) => setRange({ kind: 'absolute', from, to })}
        formatValue={formatNumber}
        xRange={chart.xRange}
      />
    </div>
  );
}

/** The server's message, and a caret under the column it names ("line 1, column 23"). */
function QueryError({ error, query }: { error: ApiError; query: string }) {
  const column = /column (\d+)/.exec(error.message);
  const at = column === null ? null : Number(column[1]);
  return (
    <div className="state state-error" role="alert">
      <strong>The query failed</strong>
      <p className="error-message">{error.message}</p>
      {at === null || query.includes('\n') ? null : (
        <pre className="caret" aria-label={`Position of the error: column ${at}`}>
          {query}
          {'\n'}
          {' '.repeat(Math.max(at - 1, 0))}^
        </pre>
      )}
      {error.status === 503 || error.status === 429 ? <p>Wait a few seconds and run it again.</p> : null}
    </div>
  );
}

export function seriesLabel(metric: Record<string, string>): string {
  const { __name__: name = '', ...labels } = metric;
  const inner = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ');
  return inner === '' ? name || '{}' : `${name}{${inner}}`;
}

function toChart(answer: PromMatrix, stepS: number, xRange: readonly [number, number]): Chart {
  const { resultType, result } = answer.data;
  if (resultType !== 'matrix') return { data: [[]], series: [], stepS, resultType, xRange };
  const times = [...new Set(result.flatMap((s) => s.values.map(([t]) => t)))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const columns = result.map((s) => {
    const column: Array<number | null> = new Array<number | null>(times.length).fill(null);
    for (const [t, v] of s.values) {
      const value = Number(v);
      column[index.get(t) ?? 0] = Number.isFinite(value) ? value : null;
    }
    return column;
  });
  return {
    data: [times, ...columns] as uPlot.AlignedData,
    series: result.map((s) => ({ label: seriesLabel(s.metric) })),
    stepS,
    resultType,
    xRange,
  };
}
