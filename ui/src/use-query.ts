import { useEffect, useRef, useState } from 'react';
import { ApiError } from './api.js';

export type QueryState<T> =
  | { status: 'idle'; data: undefined; error: undefined }
  | { status: 'loading'; data: T | undefined; error: undefined }
  | { status: 'ok'; data: T; error: undefined }
  | { status: 'error'; data: T | undefined; error: ApiError };

/**
 * Runs `fetcher` whenever `deps` change; the previous run is aborted. While a new run loads the
 * previous data stays (an auto-refresh does not blank the screen). A null fetcher is idle.
 */
export function useQuery<T>(
  fetcher: ((signal: AbortSignal) => Promise<T>) | null,
  deps: readonly unknown[],
): QueryState<T> {
  const [state, setState] = useState<QueryState<T>>({ status: 'idle', data: undefined, error: undefined });
  const last = useRef<T | undefined>(undefined);
  useEffect(() => {
    if (fetcher === null) {
      setState({ status: 'idle', data: undefined, error: undefined });
      return undefined;
    }
    const controller = new AbortController();
    setState({ status: 'loading', data: last.current, error: undefined });
    fetcher(controller.signal).then(
      (data) => {
        if (controller.signal.aborted) return;
        last.current = data;
        setState({ status: 'ok', data, error: undefined });
      },
      (error: unknown) => {
        if (controller.signal.aborted) return;
        const apiError =
          error instanceof ApiError ? error : new ApiError(0, 'SL_UI_ERROR', (error as Error).message);
        setState({ status: 'error', data: last.current, error: apiError });
      },
    );
    return () => controller.abort();
    // The caller lists what the fetcher depends on, as with useEffect.
  }, deps);
  return state;
}
