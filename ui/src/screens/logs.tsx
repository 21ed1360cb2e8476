import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api, type LogCounts, type LogRecord, type LogRows, type ServiceRed } from '../api.js';
import { useApp } from '../app-context.js';
import { TimeChart } from '../components/chart.js';
import { QueryInput, wordAt, type Suggestions } from '../components/query-input.js';
import { AttributeTable, Empty, ErrorBox, Loading } from '../components/states.js';
import { setRange } from '../components/time-controls.js';
import { Link, useParam } from '../router.js';
import { formatStep, formatTimestamp, niceStepSeconds, resolveRange } from '../time-range.js';
import { useQuery } from '../use-query.js';

const FIELDS = ['service:', 'severity:', 'level:', 'host:', 'trace_id:', 'span_id:', 'entity:', 'body:'];
const SEVERITIES = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const PAGE = 100;
const LIVE_MAX = 1000;
/** One constant, so the chart is not rebuilt on every render (TimeChart depends on it). */
const HISTOGRAM_SERIES = [{ label: 'records' }];

/** A `|` outside quotes: the query counts instead of listing (docs/log-search.md). */
export function isCountQuery(query: string): boolean {
  let quoted = false;
  for (let i = 0; i < query.length; i++) {
    const c = query[i];
    if (c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === '|' && !quoted) return true;
  }
  return false;
}

interface Results {
  rows: LogRows | null;
  counts: LogCounts | null;
  histogram: { data: [number[], Array<number | null>]; stepS: number } | null;
}

export default function LogsScreen() {
  const { range, tick } = useApp();
  const [query, setQuery] = useParam('q');
  const [live, setLive] = useParam('live');
  const [draft, setDraft] = useState(query);
  useEffect(() => setDraft(query), [query]);

  const results = useQuery<Results>(
    async (signal) => {
      const { from, to } = resolveRange(range);
      if (isCountQuery(query)) {
        const counts = await api<LogCounts>('/api/v1/logs/search', {
          body: { query, from, to, limit: 1000 },
          signal,
        });
        return { rows: null, counts, histogram: null };
      }
      const stepS = niceStepSeconds(to - from, 80);
      const [rows, buckets] = await Promise.all([
        api<LogRows>('/api/v1/logs/search', { body: { query, from, to, limit: PAGE }, signal }),
        api<LogCounts>('/api/v1/logs/search', {
          body: { query: `${query} | count over ${formatStep(stepS)}`, from, to, limit: 10_000 },
          signal,
        }),
      ]);
      return { rows, counts: null, histogram: histogramData(buckets, from, to, stepS) };
    },
    [query, range, tick],
  );

  // Pages after the first, appended; a new query starts over.
  const [more, setMore] = useState<LogRecord[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [moreError, setMoreError] = useState<Error | null>(null);
  useEffect(() => {
    setMore([]);
    setCursor(results.data?.rows?.nextCursor ?? null);
  }, [results.data]);
  const loadMore = (): void => {
    if (cursor === null) return;
    api<LogRows>('/api/v1/logs/search', { body: { query, cursor, limit: PAGE } }).then(
      (page) => {
        setMore((rows) => [...rows, ...page.data]);
        setCursor(page.nextCursor);
      },
      (error: Error) => setMoreError(error),
    );
  };

  const rows = useMemo(() => [...(results.data?.rows?.data ?? []), ...more], [results.data, more]);
  const services = useQuery<ServiceRed[]>(
    async (signal) => (await api<{ data: ServiceRed[] }>('/api/v1/services', { signal })).data,
    [],
  );
  const suggest = useCallback(
    (text: string, cursorAt: number) => logSuggestions(text, cursorAt, rows, services.data ?? []),
    [rows, services.data],
  );

  // First meaningful paint: the first rows on screen (test/browser measures it).
  const marked = useRef(false);
  useEffect(() => {
    if (!marked.current && results.status === 'ok') {
      marked.current = true;
      performance.mark('sightline:logs-rendered');
    }
  }, [results.status]);

  const run = (): void => setQuery(draft.trim(), true);
  const isLive = live === '1';

  return (
    <section className="screen logs" aria-labelledby="logs-title">
      <h1 id="logs-title">Logs</h1>
      <form
        className="query-bar"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          run();
        }}
      >
        <QueryInput
          label="Log search"
          value={draft}
          onChange={setDraft}
          onSubmit={run}
          suggest={suggest}
          placeholder='service:checkout severity>=warn "timed out"   (empty: every record)'
          describedBy="logs-help"
        />
        <button type="submit" className="primary">
          Search
        </button>
        <button type="button" aria-pressed={isLive} onClick={() => setLive(isLive ? '' : '1')}>
          {isLive ? 'Stop live tail' : 'Live tail'}
        </button>
      </form>
      <p id="logs-help" className="muted small">
        Words and "phrases" search the body; <code>field:value</code> filters (Tab completes field names);{' '}
        <code>| count by service over 1m</code> counts. See docs/log-search.md.
      </p>

      {isLive ? <LiveTail query={query} /> : null}

      {results.status === 'error' ? <ErrorBox error={results.error} action="run the search" /> : null}
      {results.status === 'loading' && results.data === undefined ? <Loading what="logs" /> : null}

      {results.data?.histogram != null ? (
        <div className="panel">
          <h2 className="panel-title">
            Matches over time{' '}
            <span className="muted small">per {formatStep(results.data.histogram.stepS)} · drag to zoom</span>
          </h2>
          <TimeChart
            data={results.data.histogram.data}
            series={HISTOGRAM_SERIES}
            kind="bars"
            height={140}
            legend={false}
            ariaLabel="Histogram of matching log records over time"
            onSelect={(from, to) => setRange({ kind: 'absolute', from, to })}
          />
        </div>
      ) : null}

      {results.data?.counts != null ? <CountTable counts={results.data.counts} /> : null}

      {results.data?.rows != null ? (
        rows.length === 0 ? (
          <Empty>
            <p>
              <strong>No records match</strong> in this time range.
            </p>
            <p>Widen the time range, remove a filter, or check that your services send logs to port 4318.</p>
          </Empty>
        ) : (
          <>
            <p className="muted small" aria-live="polite">
              {rows.length.toLocaleString()} {rows.length === 1 ? 'record' : 'records'} shown, newest first
              {results.status === 'loading' ? ' · refreshing…' : ''}
            </p>
            <LogList rows={rows} />
            {moreError === null ? null : <p className="field-error">{moreError.message}</p>}
            {cursor === null ? null : (
              <button type="button" onClick={loadMore}>
                Load {PAGE} more
              </button>
            )}
          </>
        )
      ) : null}
    </section>
  );
}

function histogramData(
  counts: LogCounts,
  from: number,
  to: number,
  stepS: number,
): { data: [number[], Array<number | null>]; stepS: number } {
  const stepMs = stepS * 1000;
  const byTime = new Map<number, number>();
  for (const bucket of counts.buckets) {
    const t = Date.parse(bucket.timestamp ?? '');
    if (Number.isFinite(t)) byTime.set(t, (byTime.get(t) ?? 0) + bucket.count);
  }
  const xs: number[] = [];
  // An empty bucket is null, not 0: uPlot then draws no bar there at all.
  const ys: Array<number | null> = [];
  // Buckets with no records are absent from the answer; the chart shows them as zero.
  for (let t = Math.floor(from / stepMs) * stepMs; t < to; t += stepMs) {
    xs.push(t / 1000);
    ys.push(byTime.get(t) ?? null);
  }
  return { data: [xs, ys], stepS };
}

function logSuggestions(
  text: string,
  cursor: number,
  rows: LogRecord[],
  services: ServiceRed[],
): Suggestions {
  const { word, from } = wordAt(text, cursor);
  const colon = word.indexOf(':');
  if (colon > 0) {
    const field = word.slice(0, colon).toLowerCase();
    const prefix = word.slice(colon + 1);
    let values: string[] = [];
    if (field === 'service') values = [...services.map((s) => s.service), ...rows.map((r) => r.service)];
    else if (field === 'severity' || field === 'level') values = SEVERITIES;
    else if (field === 'host') values = rows.map((r) => r.host);
    else if (field === 'trace_id') values = rows.map((r) => r.traceId);
    else values = rows.map((r) => valueText(r.attributes[word.slice(0, colon)]));
    const items = [...new Set(values.filter((v) => v !== '' && v.startsWith(prefix)))]
      .slice(0, 12)
      .map((v) => `${word.slice(0, colon)}:${/[\s()"]/.test(v) ? JSON.stringify(v) : v}`);
    return { items, from };
  }
  if (word === '') return { items: [], from };
  const attributeKeys = new Set<string>();
  for (const row of rows.slice(0, 200)) {
    for (const key of Object.keys(row.attributes)) attributeKeys.add(`${key}:`);
    for (const key of Object.keys(row.resource)) attributeKeys.add(`resource.${key}:`);
  }
  const lower = word.toLowerCase();
  const items = [...FIELDS, ...[...attributeKeys].sort()].filter((f) => f.toLowerCase().startsWith(lower));
  return { items: items.slice(0, 12), from };
}

function cellText(value: unknown): string {
  return typeof value === 'object' ? JSON.stringify(value) : valueText(value);
}

function valueText(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : '';
}

function CountTable({ counts }: { counts: LogCounts }) {
  const groups = [...new Set(counts.buckets.flatMap((b) => Object.keys(b.group)))];
  const timed = counts.buckets.some((b) => b.timestamp !== undefined);
  if (counts.buckets.length === 0) {
    return (
      <Empty>
        <p>
          <strong>Nothing counted</strong>: no records match in this time range.
        </p>
      </Empty>
    );
  }
  return (
    <div className="panel">
      <table className="data-table">
        <caption className="muted small">
          {counts.meta.count} buckets{counts.meta.truncated ? ' (cut at the limit: narrow the range)' : ''}
        </caption>
        <thead>
          <tr>
            {timed ? <th scope="col">Time</th> : null}
            {groups.map((g) => (
              <th key={g} scope="col">
                {g}
              </th>
            ))}
            <th scope="col" className="num">
              Count
            </th>
          </tr>
        </thead>
        <tbody>
          {counts.buckets.map((bucket, i) => (
            <tr key={i}>
              {timed ? (
                <td>{bucket.timestamp === undefined ? '' : formatTimestamp(bucket.timestamp)}</td>
              ) : null}
              {groups.map((g) => (
                <td key={g}>{bucket.group[g] === null ? <em>null</em> : cellText(bucket.group[g])}</td>
              ))}
              <td className="num">{bucket.count.toLocaleString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function LogList({ rows }: { rows: LogRecord[] }) {
  return (
    <ol className="log-list" aria-label="Log records">
      {rows.map((row) => (
        <LogRow key={row.id} row={row} />
      ))}
    </ol>
  );
}

function LogRow({ row }: { row: LogRecord }) {
  const [open, setOpen] = useState(false);
  const severity = row.severity.toLowerCase();
  return (
    <li className="log-row">
      <button type="button" className="log-summary" aria-expanded={open} onClick={() => setOpen(!open)}>
        <span className="log-time">{formatTimestamp(row.timestamp)}</span>
        <span className={`badge sev sev-${severity}`}>
          {row.severity === 'UNSPECIFIED' ? '—' : row.severity}
        </span>
        <span className="log-service">{row.service}</span>
        <span className="log-body">{row.body}</span>
      </button>
      {open ? (
        <div className="log-detail">
          <dl className="facts">
            <dt>Time</dt>
            <dd>{row.timestamp}</dd>
            <dt>Service</dt>
            <dd>{row.service || '—'}</dd>
            <dt>Host</dt>
            <dd>{row.host || '—'}</dd>
            <dt>Trace</dt>
            <dd>
              {row.traceId === '' ? (
                '—'
              ) : (
                <Link to={`/traces/${row.traceId}`} className="mono">
                  {row.traceId}
                </Link>
              )}
            </dd>
            {row.spanId === '' ? null : (
              <>
                <dt>Span</dt>
                <dd className="mono">{row.spanId}</dd>
              </>
            )}
          </dl>
          <pre className="log-body-full">{row.body}</pre>
          <h3>Attributes</h3>
          <AttributeTable values={row.attributes} label="Attributes" />
          <h3>Resource</h3>
          <AttributeTable values={row.resource} label="Resource" />
        </div>
      ) : null}
    </li>
  );
}

/** `GET /api/v1/logs/tail` over EventSource (the session cookie goes along); newest on top. */
function LiveTail({ query }: { query: string }) {
  const [rows, setRows] = useState<LogRecord[]>([]);
  const [dropped, setDropped] = useState(0);
  const [status, setStatus] = useState<'connecting' | 'open' | 'closed'>('connecting');
  const [problem, setProblem] = useState('');

  useEffect(() => {
    setRows([]);
    setDropped(0);
    setProblem('');
    setStatus('connecting');
    const source = new EventSource(`/api/v1/logs/tail?query=${encodeURIComponent(query)}`);
    source.onopen = () => setStatus('open');
    source.addEventListener('log', (event) => {
      const row = JSON.parse((event as MessageEvent<string>).data) as LogRecord;
      setRows((current) => [row, ...current].slice(0, LIVE_MAX));
    });
    source.addEventListener('dropped', (event) => {
      const { count } = JSON.parse((event as MessageEvent<string>).data) as { count: number };
      setDropped((d) => d + count);
    });
    source.addEventListener('error', (event) => {
      if (event instanceof MessageEvent && typeof event.data === 'string') {
        setProblem((JSON.parse(event.data) as { message: string }).message);
      }
      if (source.readyState === EventSource.CLOSED) {
        setStatus('closed');
        setProblem(
          (p) =>
            p ||
            'The server closed the live tail: the query may not parse (run it as a search to see why), ' +
              'the org may have 10 tails open already, or the session ended.',
        );
      } else {
        setStatus('connecting');
      }
    });
    return () => source.close();
  }, [query]);

  return (
    <div className="panel live" aria-labelledby="live-title">
      <h2 className="panel-title" id="live-title">
        Live tail{' '}
        <span className={`badge live-${status}`} role="status">
          {status === 'open' ? 'streaming' : status}
        </span>
        {dropped > 0 ? (
          <span className="muted small"> · {dropped.toLocaleString()} records skipped to keep up</span>
        ) : null}
      </h2>
      {problem === '' ? null : (
        <p className="field-error" role="alert">
          {problem}
        </p>
      )}
      {rows.length === 0 ? (
        <p className="muted">
          Waiting for new records matching {query === '' ? 'anything' : <code>{query}</code>}…
        </p>
      ) : (
        <LogList rows={rows} />
      )}
    </div>
  );
}
