import { useMemo, useState } from 'react';
import { api, type Span, type Trace } from '../api.js';
import { useApp } from '../app-context.js';
import { colourFor } from '../components/chart.js';
import { AttributeTable, ErrorBox, Loading } from '../components/states.js';
import { Link } from '../router.js';
import { formatDurationMs, formatTimestamp } from '../time-range.js';
import { useQuery } from '../use-query.js';

/** One trace as a waterfall: a bar per span by start offset and duration, coloured by service. */
export default function TraceScreen({ traceId }: { traceId: string }) {
  const { tick } = useApp();
  const [attempt, setAttempt] = useState(0);
  const trace = useQuery<Trace>(
    (signal) => api<Trace>(`/api/v1/traces/${encodeURIComponent(traceId)}`, { signal }),
    [traceId, tick, attempt],
  );
  const [selected, setSelected] = useState<string | null>(null);

  return (
    <section className="screen trace" aria-labelledby="trace-title">
      <p>
        <Link to="/traces">← Traces</Link>
      </p>
      <h1 id="trace-title">
        Trace <span className="mono small">{traceId}</span>
      </h1>
      {trace.status === 'error' ? (
        <ErrorBox
          error={trace.error}
          action="load the trace"
          {...(trace.error.status === 404 ? {} : { onRetry: () => setAttempt(attempt + 1) })}
        />
      ) : null}
      {trace.status === 'loading' && trace.data === undefined ? <Loading what="the trace" /> : null}
      {trace.data === undefined || trace.status === 'error' ? null : (
        <Waterfall trace={trace.data} selected={selected} onSelect={setSelected} />
      )}
    </section>
  );
}

function Waterfall({
  trace,
  selected,
  onSelect,
}: {
  trace: Trace;
  selected: string | null;
  onSelect: (spanId: string | null) => void;
}) {
  const total = Math.max(trace.durationMs, 0.001);
  const ticks = useMemo(() => [0, 0.25, 0.5, 0.75, 1].map((f) => f * total), [total]);
  const span = trace.spans.find((s) => s.spanId === selected);
  return (
    <>
      <dl className="facts inline-facts">
        <dt>Start</dt>
        <dd>{formatTimestamp(trace.startTime)}</dd>
        <dt>Duration</dt>
        <dd>{formatDurationMs(trace.durationMs)}</dd>
        <dt>Spans</dt>
        <dd>{trace.spanCount}</dd>
        <dt>Services</dt>
        <dd>
          {trace.services.map((s) => (
            <span key={s} className="service-chip">
              <span className="dot" style={{ background: colourFor(s) }} aria-hidden="true" />
              {s}
            </span>
          ))}
        </dd>
        <dt>Logs</dt>
        <dd>
          <Link to={`/logs?q=${encodeURIComponent(`trace_id:${trace.traceId}`)}&range=7d`}>
            Logs of this trace
          </Link>
        </dd>
      </dl>
      {trace.truncated ? (
        <p className="warning">
          This trace has more spans than one read returns (10,000); the rest are not shown.
        </p>
      ) : null}
      <div className="waterfall" role="table" aria-label="Spans of the trace">
        <div className="wf-row wf-head" role="row">
          <span className="wf-name" role="columnheader">
            Span
          </span>
          <span className="wf-track" role="columnheader">
            {ticks.map((t, i) => (
              <span key={i} className="wf-tick" style={{ left: `${(t / total) * 100}%` }}>
                {formatDurationMs(t)}
              </span>
            ))}
          </span>
        </div>
        {trace.spans.map((s) => (
          <SpanRow
            key={s.spanId}
            span={s}
            total={total}
            selected={s.spanId === selected}
            onSelect={() => onSelect(s.spanId === selected ? null : s.spanId)}
          />
        ))}
      </div>
      {span === undefined ? (
        <p className="muted small">Select a span for its attributes.</p>
      ) : (
        <SpanDetail span={span} />
      )}
    </>
  );
}

function SpanRow({
  span,
  total,
  selected,
  onSelect,
}: {
  span: Span;
  total: number;
  selected: boolean;
  onSelect: () => void;
}) {
  const left = (span.offsetMs / total) * 100;
  const width = Math.max((span.durationMs / total) * 100, 0.3);
  const colour = colourFor(span.service);
  return (
    <div
      className={`wf-row${selected ? ' selected' : ''}${span.status === 'error' ? ' error' : ''}`}
      role="row"
    >
      <span className="wf-name" role="cell" style={{ paddingLeft: `${0.4 + span.depth * 1}rem` }}>
        <button type="button" className="link-button" aria-pressed={selected} onClick={onSelect}>
          <span className="dot" style={{ background: colour }} aria-hidden="true" />
          <span className="wf-service">{span.service}</span> {span.name}
        </button>
      </span>
      <span className="wf-track" role="cell">
        <span
          className="wf-bar"
          style={{
            left: `${Math.min(left, 99.7)}%`,
            width: `${Math.min(width, 100 - left)}%`,
            background: colour,
          }}
          title={`${span.name}: ${formatDurationMs(span.durationMs)} at +${formatDurationMs(span.offsetMs)}`}
        />
        <span className="wf-label" style={{ left: `${Math.min(left + width, 88)}%` }}>
          {formatDurationMs(span.durationMs)}
          {span.status === 'error' ? ' ⚠ error' : ''}
        </span>
      </span>
    </div>
  );
}

function SpanDetail({ span }: { span: Span }) {
  return (
    <div className="panel span-detail" aria-labelledby="span-title">
      <h2 id="span-title" className="panel-title">
        {span.name}
      </h2>
      <dl className="facts">
        <dt>Service</dt>
        <dd>{span.service}</dd>
        <dt>Kind</dt>
        <dd>{span.kind}</dd>
        <dt>Status</dt>
        <dd className={span.status === 'error' ? 'error-text' : ''}>
          {span.status}
          {span.statusMessage === '' ? '' : `: ${span.statusMessage}`}
        </dd>
        <dt>Start</dt>
        <dd>{formatTimestamp(span.startTime)}</dd>
        <dt>Duration</dt>
        <dd>{formatDurationMs(span.durationMs)}</dd>
        <dt>Span id</dt>
        <dd className="mono">{span.spanId}</dd>
        {span.queryFingerprint === null ? null : (
          <>
            <dt>Statement</dt>
            <dd>
              <Link to={`/queries/${encodeURIComponent(span.queryFingerprint)}?range=24h`}>
                Its statistics and plans
              </Link>
            </dd>
          </>
        )}
      </dl>
      <h3>Attributes</h3>
      <AttributeTable values={span.attributes} label="Span attributes" />
      <h3>Resource</h3>
      <AttributeTable values={span.resource} label="Resource attributes" />
      {Array.isArray(span.events) && span.events.length > 0 ? (
        <>
          <h3>Events</h3>
          <pre className="json">{JSON.stringify(span.events, null, 2)}</pre>
        </>
      ) : null}
    </div>
  );
}
