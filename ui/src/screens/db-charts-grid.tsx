import { useMemo } from 'react';
import type uPlot from 'uplot';
import { api, type PromMatrix } from '../api.js';
import { useApp } from '../app-context.js';
import { TimeChart } from '../components/chart.js';
import { ErrorBox } from '../components/states.js';
import { chartStep, databaseCharts, type ChartUnit, type DbChart } from '../db-charts.js';
import { formatBytes, formatNumber } from '../format.js';
import { alignMatrices } from '../prom-series.js';
import { resolveRange } from '../time-range.js';
import { useQuery } from '../use-query.js';

const FORMATS: Record<ChartUnit, (value: number) => string> = {
  count: formatNumber,
  'per-second': (v) => `${formatNumber(v)}/s`,
  ratio: (v) => `${(v * 100).toFixed(v >= 0.999 || v === 0 ? 0 : 1)}%`,
  'bytes-per-second': (v) => `${formatBytes(v)}/s`,
  seconds: (v) => `${formatNumber(v)} s`,
};

/** An instance's health over the range: connections, TPS, cache hits, I/O, WAL, replication, locks. */
export function DbChartsGrid({
  kind,
  instanceId,
  database,
}: {
  kind: string;
  instanceId: string;
  database?: string;
}) {
  const { range } = useApp();
  const { from, to } = resolveRange(range);
  const { window } = chartStep(to - from);
  const charts = useMemo(
    () => databaseCharts({ kind, instanceId, window, ...(database === undefined ? {} : { database }) }),
    [kind, instanceId, database, window],
  );
  if (charts.length === 0) return null;
  return (
    <div className="db-charts" aria-label="Database charts" role="region">
      {charts.map((chart) => (
        <ChartCard key={chart.id} chart={chart} />
      ))}
    </div>
  );
}

interface Drawn {
  data: uPlot.AlignedData;
  series: Array<{ label: string }>;
  xRange: readonly [number, number];
}

function ChartCard({ chart }: { chart: DbChart }) {
  const { range, tick } = useApp();
  const answer = useQuery<Drawn>(
    async (signal) => {
      const { from, to } = resolveRange(range);
      const { stepS } = chartStep(to - from);
      const answers = await Promise.all(
        chart.queries.map((q) =>
          api<PromMatrix>('/api/v1/metrics/query_range', {
            body: { query: q.expr, start: from / 1000, end: to / 1000, step: stepS },
            signal,
          }),
        ),
      );
      const labels = answers.flatMap((a, i) =>
        a.data.resultType === 'matrix'
          ? a.data.result.map((s) => chart.queries[i]?.label(s.metric) ?? '')
          : [],
      );
      const aligned = alignMatrices(answers.map((a) => a.data));
      return {
        data: [aligned.times, ...aligned.columns.map((c) => c.values)] as uPlot.AlignedData,
        series: labels.map((label) => ({ label })),
        xRange: [from / 1000, to / 1000] as const,
      };
    },
    [chart, range, tick],
  );
  const titleId = `chart-${chart.id}`;
  const drawn = answer.data;
  return (
    <section
      className="panel db-chart"
      aria-labelledby={titleId}
      data-chart={chart.id}
      data-series={drawn === undefined ? undefined : drawn.series.length}
    >
      <h3 className="panel-title" id={titleId}>
        {chart.title}
      </h3>
      {answer.status === 'error' ? <ErrorBox error={answer.error} action={`chart ${chart.title}`} /> : null}
      {drawn === undefined ? (
        answer.status === 'error' ? null : (
          <div className="chart-placeholder" role="status">
            Loading…
          </div>
        )
      ) : drawn.series.length === 0 ? (
        <p className="muted small chart-placeholder">{chart.whenEmpty}</p>
      ) : (
        <TimeChart
          data={drawn.data}
          series={drawn.series}
          kind="line"
          height={160}
          ariaLabel={chart.title}
          formatValue={FORMATS[chart.unit]}
          xRange={drawn.xRange}
        />
      )}
    </section>
  );
}
