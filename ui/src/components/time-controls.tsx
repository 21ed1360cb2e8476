import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { navigate, withParams } from '../router.js';
import {
  REFRESH_INTERVALS,
  RELATIVE_RANGES,
  describeRange,
  rangeToParams,
  resolveRange,
  toLocalInput,
  type TimeRange,
} from '../time-range.js';

export function setRange(range: TimeRange): void {
  navigate(withParams(rangeToParams(range)));
}

/** Relative ranges in one click, or an absolute from/to; the choice goes into the URL. */
export function TimeRangePicker({ range }: { range: TimeRange }) {
  const [open, setOpen] = useState(false);
  const panelId = useId();
  const rootRef = useRef<HTMLDivElement>(null);
  const resolved = resolveRange(range);
  const [from, setFrom] = useState(toLocalInput(resolved.from));
  const [to, setTo] = useState(toLocalInput(resolved.to));
  const [problem, setProblem] = useState('');

  useEffect(() => {
    if (!open) return undefined;
    const now = resolveRange(range);
    setFrom(toLocalInput(now.from));
    setTo(toLocalInput(now.to));
    setProblem('');
    const onKey = (event: KeyboardEvent): void => {
      if (event.key !== 'Escape') return;
      setOpen(false);
      // Back to the button that opened the panel, so keyboard users keep their place.
      rootRef.current?.querySelector<HTMLButtonElement>('.picker-button')?.focus();
    };
    const onClick = (event: MouseEvent): void => {
      if (!rootRef.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('keydown', onKey);
    document.addEventListener('mousedown', onClick);
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('mousedown', onClick);
    };
    // Only when the panel opens: the inputs start at the range of that moment.
  }, [open]);

  const applyAbsolute = (event: FormEvent): void => {
    event.preventDefault();
    const fromMs = new Date(from).getTime();
    const toMs = new Date(to).getTime();
    if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) {
      setProblem('Enter both times, e.g. 2024-05-01 12:00.');
      return;
    }
    if (fromMs >= toMs) {
      setProblem('"From" must be before "to".');
      return;
    }
    setRange({ kind: 'absolute', from: fromMs, to: toMs });
    setOpen(false);
  };

  return (
    <div className="picker" ref={rootRef}>
      <button
        type="button"
        className="picker-button"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => setOpen(!open)}
      >
        {describeRange(range)} <span aria-hidden="true">▾</span>
      </button>
      {open ? (
        <div className="picker-panel" id={panelId} role="group" aria-label="Time range">
          <div className="picker-relative">
            {RELATIVE_RANGES.map((span) => (
              <button
                key={span}
                type="button"
                aria-pressed={range.kind === 'relative' && range.span === span}
                onClick={() => {
                  setRange({ kind: 'relative', span });
                  setOpen(false);
                }}
              >
                Last {span}
              </button>
            ))}
          </div>
          <form className="picker-absolute" onSubmit={applyAbsolute}>
            <label>
              From
              <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} required />
            </label>
            <label>
              To
              <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} required />
            </label>
            <button type="submit">Apply</button>
            {problem === '' ? null : (
              <p className="field-error" role="alert">
                {problem}
              </p>
            )}
          </form>
        </div>
      ) : null}
    </div>
  );
}

export function RefreshPicker({ value, onRefresh }: { value: string; onRefresh: () => void }) {
  const id = useId();
  return (
    <div className="refresh">
      <button type="button" onClick={onRefresh} title="Run the queries of this screen again">
        Refresh
      </button>
      <label htmlFor={id} className="visually-hidden">
        Auto-refresh
      </label>
      <select
        id={id}
        value={value}
        onChange={(e) => navigate(withParams({ refresh: e.target.value === 'off' ? null : e.target.value }))}
        title="Auto-refresh"
      >
        {REFRESH_INTERVALS.map((interval) => (
          <option key={interval} value={interval}>
            {interval === 'off' ? 'Auto-refresh off' : `Every ${interval}`}
          </option>
        ))}
      </select>
    </div>
  );
}
