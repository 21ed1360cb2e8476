import type { ReactNode } from 'react';
import type { ApiError } from '../api.js';

export function Loading({ what }: { what: string }) {
  return (
    <p className="state state-loading" role="status">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return (
    <div className="state state-empty" role="status">
      {children}
    </div>
  );
}

/** What went wrong, in the server's words, and what to do about it. */
export function ErrorBox({
  error,
  action,
  onRetry,
}: {
  error: ApiError;
  action?: string;
  onRetry?: () => void;
}) {
  const advice =
    error.status === 0
      ? ''
      : error.status === 403
        ? 'Your role does not allow this; ask an owner or admin of the organization.'
        : error.status === 429 || error.status === 503
          ? 'Wait a few seconds and retry.'
          : error.status >= 500
            ? 'Retry; if it keeps failing, the server log has the details.'
            : '';
  return (
    <div className="state state-error" role="alert">
      <strong>{action === undefined ? 'Something went wrong' : `Could not ${action}`}</strong>
      <p className="error-message">{error.message}</p>
      {advice === '' ? null : <p>{advice}</p>}
      {onRetry === undefined ? null : (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

/** Attributes as a two-column table; nested values as JSON. */
export function AttributeTable({ values, label }: { values: Record<string, unknown>; label: string }) {
  const entries = Object.entries(values).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return <p className="muted">No {label.toLowerCase()}.</p>;
  return (
    <table className="attributes" aria-label={label}>
      <tbody>
        {entries.map(([key, value]) => (
          <tr key={key}>
            <th scope="row">{key}</th>
            <td>{typeof value === 'string' ? value : JSON.stringify(value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
