/**
 * The time range of every screen, as the URL holds it: `range=1h` (relative to now) or
 * `from=…&to=…` (RFC 3339, absolute). Relative ranges are resolved when a query runs, so an
 * auto-refresh moves the window along.
 */

export const RELATIVE_RANGES = ['15m', '1h', '6h', '24h', '7d'] as const;
export const REFRESH_INTERVALS = ['off', '10s', '30s', '1m'] as const;

export type TimeRange = { kind: 'relative'; span: string } | { kind: 'absolute'; from: number; to: number };

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function durationMs(text: string): number | null {
  const match = /^(\d+)([smhd])$/.exec(text);
  if (match === null) return null;
  return Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? 0);
}

export function rangeFromParams(params: URLSearchParams): TimeRange {
  const from = Date.parse(params.get('from') ?? '');
  const to = Date.parse(params.get('to') ?? '');
  if (Number.isFinite(from) && Number.isFinite(to) && from < to) return { kind: 'absolute', from, to };
  const span = params.get('range') ?? '1h';
  return { kind: 'relative', span: durationMs(span) === null ? '1h' : span };
}

export function rangeToParams(range: TimeRange): Record<string, string | null> {
  return range.kind === 'relative'
    ? { range: range.span === '1h' ? null : range.span, from: null, to: null }
    : { range: null, from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString() };
}

export function resolveRange(range: TimeRange, now = Date.now()): { from: number; to: number } {
  if (range.kind === 'absolute') return { from: range.from, to: range.to };
  return { from: now - (durationMs(range.span) ?? 3_600_000), to: now };
}

export function describeRange(range: TimeRange): string {
  if (range.kind === 'relative') return `Last ${range.span}`;
  return `${formatTime(range.from)} → ${formatTime(range.to)}`;
}

const NICE_STEPS_S = [1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

/** A round step that gives about `buckets` buckets over the range. */
export function niceStepSeconds(rangeMs: number, buckets: number): number {
  const wanted = rangeMs / 1000 / buckets;
  return NICE_STEPS_S.find((s) => s >= wanted) ?? 86400;
}

export function formatStep(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Local time, to the second: what a person compares with their clock. */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** An RFC 3339 timestamp with nanoseconds, shown in local time with milliseconds. */
export function formatTimestamp(iso: string): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  return `${formatTime(ms)}.${pad(new Date(ms).getMilliseconds(), 3)}`;
}

/** For `<input type="datetime-local">`, in local time. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function formatDurationMs(ms: number): string {
  if (ms === 0) return '0';
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(0)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}
