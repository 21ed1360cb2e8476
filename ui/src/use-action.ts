import { useState } from 'react';
import type { ApiError } from './api.js';

/**
 * A form that sends one request per submit: `busy` while it runs (the button is disabled, so a
 * double click does not create twice) and the error of the last attempt, cleared by the next one.
 */
export function useSubmission(): {
  busy: boolean;
  error: ApiError | null;
  send: <T>(request: () => Promise<T>, onSent: (answer: T) => void) => void;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const send = <T>(request: () => Promise<T>, onSent: (answer: T) => void): void => {
    setBusy(true);
    setError(null);
    request().then(
      (answer) => {
        setBusy(false);
        onSent(answer);
      },
      (e: ApiError) => {
        setBusy(false);
        setError(e);
      },
    );
  };
  return { busy, error, send };
}

/** What a failed row action says above its list: the server's error and what was tried. */
export interface ActionError {
  error: ApiError;
  action: string;
}

/**
 * A change to one row of a list (revoke a key, remove a user): on success the list reloads; on
 * failure the error, with what was tried, stays until the next action.
 */
export function useListAction(reload: () => void): {
  actionError: ActionError | null;
  run: (request: () => Promise<unknown>, action: string) => void;
} {
  const [actionError, setActionError] = useState<ActionError | null>(null);
  const run = (request: () => Promise<unknown>, action: string): void => {
    setActionError(null);
    request().then(reload, (error: ApiError) => setActionError({ error, action }));
  };
  return { actionError, run };
}
