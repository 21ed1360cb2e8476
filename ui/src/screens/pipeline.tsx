import { useEffect, useMemo, useState } from 'react';
import type uPlot from 'uplot';
import { ApiError, ROLES, api, type Role } from '../api.js';
import { useApp } from '../app-context.js';
import { TimeChart, colourFor } from '../components/chart.js';
import { Empty, ErrorBox, Loading } from '../components/states.js';
import { formatNumber } from '../format.js';
import { formatTimestamp, resolveRange } from '../time-range.js';
import { useQuery } from '../use-query.js';

/** GET /api/v1/pipeline (src/api/pipeline-routes.ts). */
interface PipelineView {
  topics: Array<{
    topic: string;
    lag: { messages: number; bytes: number | null } | null;
    messagesPerSecond: number | null;
  }>;
  windowSeconds: number | null;
  note: string | null;
  refused: Array<{
    where: 'ingest' | 'stage' | 'dead-letter';
    signal: string;
    reason: string;
    records: number;
    scope: 'org' | 'process';
  }>;
  since: string;
}

interface DeadLetter {
  id: string;
  time: string;
  sourceTopic: string;
  reason: string;
  size: number;
  contentType: string | null;
  preview: { encoding: 'text' | 'hex'; value: string; truncated: boolean } | null;
}

interface DeadLetterPage {
  data: DeadLetter[];
  meta: {
    total: number;
    reasons: Array<{ sourceTopic: string; reason: string; count: number }>;
    nextCursor: string | null;
    previewRole: Role;
  };
}

interface UsageView {
  data: Array<{ day: string; signal: string; records: number; bytes: number }>;
  totals: Array<{ signal: string; records: number; bytes: number }>;
}

const PAGE = 50;

export default function PipelineScreen() {
  const { range, tick } = useApp();

  const pipeline = useQuery<PipelineView>(
    (signal) => api<PipelineView>('/api/v1/pipeline', { signal }),
    [tick],
  );
  const usage = useQuery<UsageView>(
    (signal) => api<UsageView>(`/api/v1/usage?${rangeQuery(range)}`, { signal }),
    [range, tick],
  );

  return (
    <section className="screen pipeline" aria-labelledby="pipeline-title">
      <h1 id="pipeline-title">Pipeline</h1>
      {pipeline.status === 'error' ? (
        <ErrorBox error={pipeline.error} action="read the pipeline’s state" />
      ) : null}
      {pipeline.data === undefined && pipeline.status === 'loading' ? <Loading what="the topics" /> : null}
      {pipeline.data === undefined ? null : <Topics view={pipeline.data} />}
      <DeadLetters />
      <h2>Usage per day</h2>
      {usage.status === 'error' ? <ErrorBox error={usage.error} action="read the usage" /> : null}
      {usage.data === undefined && usage.status === 'loading' ? <Loading what="usage" /> : null}
      {usage.data === undefined ? null : <Usage view={usage.data} />}
      {pipeline.data === undefined ? null : <Refused view={pipeline.data} />}
    </section>
  );
}

function rangeQuery(range: ReturnType<typeof useApp>['range']): string {
  const { from, to } = resolveRange(range);
  return new URLSearchParams({ from: String(from), to: String(to) }).toString();
}

function Topics({ view }: { view: PipelineView }) {
  const span =
    view.windowSeconds === null
      ? 'since the last sample'
      : `over the last ${Math.round(view.windowSeconds)} s`;
  return (
    <div className="panel">
      <h2 className="panel-title">Topics</h2>
      {view.note === null ? null : <p className="notice">{view.note}</p>}
      <table className="data-table topics">
        <caption className="visually-hidden">Consumer lag and throughput per topic</caption>
        <thead>
          <tr>
            <th scope="col">Topic</th>
            <th scope="col" className="num">
              Lag (messages)
            </th>
            <th scope="col" className="num">
              Lag (bytes)
            </th>
            <th scope="col" className="num">
              Committed / s
            </th>
          </tr>
        </thead>
        <tbody>
          {view.topics.map((t) => (
            <tr key={t.topic}>
              <th scope="row" className="mono">
                {t.topic}
              </th>
              <td className={`num${(t.lag?.messages ?? 0) > 0 ? ' warning-text' : ''}`}>
                {t.lag === null ? '—' : t.lag.messages.toLocaleString()}
              </td>
              <td className="num">{t.lag?.bytes == null ? '—' : formatBytes(t.lag.bytes)}</td>
              <td className="num">{t.messagesPerSecond === null ? '—' : formatRate(t.messagesPerSecond)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">
        Lag: published and not yet committed by the processor. Rates: messages committed per second {span}.
        For every organization together.
      </p>
    </div>
  );
}

function Refused({ view }: { view: PipelineView }) {
  return (
    <div className="panel">
      <h2 className="panel-title">Refused since {formatTimestamp(view.since)}</h2>
      {view.refused.length === 0 ? (
        <p className="muted">Nothing refused, dropped or set aside since the process started.</p>
      ) : (
        <table className="data-table">
          <caption className="visually-hidden">
            Records refused at ingest, dropped by stages or set aside
          </caption>
          <thead>
            <tr>
              <th scope="col">Where</th>
              <th scope="col">Signal</th>
              <th scope="col">Reason</th>
              <th scope="col" className="num">
                Records
              </th>
              <th scope="col">Counted for</th>
            </tr>
          </thead>
          <tbody>
            {view.refused.map((r) => (
              <tr key={`${r.where}|${r.signal}|${r.reason}`}>
                <td>{r.where}</td>
                <td>{r.signal}</td>
                <td className="mono">{r.reason}</td>
                <td className="num">{r.records.toLocaleString()}</td>
                <td>{r.scope === 'org' ? 'this organization' : 'every organization'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** The range's dead letters: the counts per reason, then the records newest first, more on demand. */
function DeadLetters() {
  const { range, tick, session } = useApp();
  const first = useQuery<DeadLetterPage>(
    (signal) => api<DeadLetterPage>(`/api/v1/dead-letters?${rangeQuery(range)}&limit=${PAGE}`, { signal }),
    [range, tick],
  );
  const [older, setOlder] = useState<{ records: DeadLetter[]; cursor: string | null } | null>(null);
  const [olderError, setOlderError] = useState<ApiError | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  // A new first page (range, refresh) starts the list over.
  useEffect(() => {
    setOlder(null);
    setOlderError(null);
  }, [first.data]);

  const page = first.data;
  const records = useMemo(() => [...(page?.data ?? []), ...(older?.records ?? [])], [page, older]);
  const cursor = older === null ? (page?.meta.nextCursor ?? null) : older.cursor;

  const loadOlder = (): void => {
    if (cursor === null) return;
    setLoadingOlder(true);
    api<DeadLetterPage>(
      `/api/v1/dead-letters?${rangeQuery(range)}&limit=${PAGE}&cursor=${encodeURIComponent(cursor)}`,
    )
      .then(
        (next) => {
          setOlder({ records: [...(older?.records ?? []), ...next.data], cursor: next.meta.nextCursor });
          setOlderError(null);
        },
        (error: unknown) => {
          if (error instanceof ApiError) setOlderError(error);
        },
      )
      .finally(() => setLoadingOlder(false));
  };

  const mayPreview =
    page !== undefined && ROLES.indexOf(session.role) >= ROLES.indexOf(page.meta.previewRole);

  return (
    <div className="panel dead-letters">
      <h2 className="panel-title">
        Dead letters{page === undefined ? '' : ` (${page.meta.total.toLocaleString()})`}
      </h2>
      {first.status === 'error' ? <ErrorBox error={first.error} action="read the dead letters" /> : null}
      {page === undefined && first.status === 'loading' ? <Loading what="dead letters" /> : null}
      {page === undefined ? null : page.meta.total === 0 ? (
        <Empty>
          <p>
            <strong>No dead letters</strong> in this time range: every record that reached the processor was
            stored.
          </p>
        </Empty>
      ) : (
        <>
          <table className="data-table reasons">
            <caption>By reason</caption>
            <thead>
              <tr>
                <th scope="col">Source topic</th>
                <th scope="col">Reason</th>
                <th scope="col" className="num">
                  Records
                </th>
              </tr>
            </thead>
            <tbody>
              {page.meta.reasons.map((r) => (
                <tr key={`${r.sourceTopic}|${r.reason}`}>
                  <td className="mono">{r.sourceTopic}</td>
                  <td>{r.reason}</td>
                  <td className="num">{r.count.toLocaleString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <ol className="dead-letter-list" aria-label="Dead letters, newest first">
            {records.map((record) => (
              <li key={record.id}>
                <details>
                  <summary>
                    <span className="log-time">{formatTimestamp(record.time)}</span>{' '}
                    <span className="badge mono">{record.sourceTopic}</span>{' '}
                    <span className="dead-letter-reason">{record.reason}</span>{' '}
                    <span className="muted small">{formatBytes(record.size)}</span>
                  </summary>
                  <DeadLetterDetail
                    record={record}
                    mayPreview={mayPreview}
                    previewRole={page.meta.previewRole}
                  />
                </details>
              </li>
            ))}
          </ol>
          {olderError === null ? null : <ErrorBox error={olderError} action="read older dead letters" />}
          {cursor === null ? null : (
            <button type="button" onClick={loadOlder} disabled={loadingOlder}>
              {loadingOlder ? 'Loading…' : 'Older dead letters'}
            </button>
          )}
        </>
      )}
    </div>
  );
}

function DeadLetterDetail({
  record,
  mayPreview,
  previewRole,
}: {
  record: DeadLetter;
  mayPreview: boolean;
  previewRole: Role;
}) {
  return (
    <div className="log-detail">
      <dl className="inline-facts">
        <dt>Size</dt>
        <dd>{record.size.toLocaleString()} bytes</dd>
        <dt>Content type</dt>
        <dd>{record.contentType ?? 'not given'}</dd>
        <dt>Id</dt>
        <dd className="mono">{record.id}</dd>
      </dl>
      {record.preview === null ? (
        <p className="muted">
          {mayPreview
            ? 'No preview.'
            : `The payload’s preview needs the ${previewRole} role: it was set aside before the redact stage.`}
        </p>
      ) : (
        <>
          <p className="muted small">
            {record.preview.encoding === 'hex'
              ? 'The first bytes, in hex (not text: protobuf or binary)'
              : 'The start of the payload'}
            {record.preview.truncated ? ', cut' : ''}:
          </p>
          <pre className="dead-letter-preview">{record.preview.value}</pre>
        </>
      )}
    </div>
  );
}

/** Records per signal per UTC day as bars, and the figures as a table. */
function Usage({ view }: { view: UsageView }) {
  const days = useMemo(() => [...new Set(view.data.map((d) => d.day))].sort(), [view]);
  const signals = useMemo(() => view.totals.map((t) => t.signal), [view]);
  const chart = useMemo(() => {
    const x = days.map((day) => Date.parse(`${day}T00:00:00Z`) / 1000);
    const ys = signals.map((signal) =>
      days.map((day) => view.data.find((d) => d.day === day && d.signal === signal)?.records ?? null),
    );
    return {
      data: [x, ...ys] as uPlot.AlignedData,
      series: signals.map((s) => ({ label: s, colour: colourFor(s) })),
    };
  }, [days, signals, view]);

  if (view.data.length === 0) {
    return (
      <Empty>
        <p>
          <strong>No usage</strong> on the days of this time range.
        </p>
        <p>Usage counts what the processor stored; it is written every 10 seconds.</p>
      </Empty>
    );
  }
  return (
    <div className="panel usage">
      {days.length > 1 ? (
        <TimeChart
          data={chart.data}
          series={chart.series}
          kind="bars"
          height={180}
          ariaLabel="Records stored per signal per day"
          formatValue={formatNumber}
        />
      ) : null}
      <table className="data-table">
        <caption className="visually-hidden">Records and bytes stored per signal per UTC day</caption>
        <thead>
          <tr>
            <th scope="col">Day (UTC)</th>
            <th scope="col">Signal</th>
            <th scope="col" className="num">
              Records
            </th>
            <th scope="col" className="num">
              Bytes
            </th>
          </tr>
        </thead>
        <tbody>
          {view.data.map((d) => (
            <tr key={`${d.day}|${d.signal}`}>
              <td>{d.day}</td>
              <td>
                <span className="dot" style={{ background: colourFor(d.signal) }} aria-hidden="true" />
                {d.signal}
              </td>
              <td className="num">{d.records.toLocaleString()}</td>
              <td className="num">{formatBytes(d.bytes)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          {view.totals.map((t) => (
            <tr key={t.signal}>
              <th scope="row">Total</th>
              <td>{t.signal}</td>
              <td className="num">{t.records.toLocaleString()}</td>
              <td className="num">{formatBytes(t.bytes)}</td>
            </tr>
          ))}
        </tfoot>
      </table>
      <p className="muted small">
        Bytes are the processor’s estimate of what it stored, not the size on disk.
      </p>
    </div>
  );
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit] ?? 'TiB'}`;
}

function formatRate(perSecond: number): string {
  if (perSecond === 0) return '0';
  return perSecond < 0.01 ? '< 0.01' : formatNumber(perSecond);
}
