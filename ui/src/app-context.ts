import { createContext, useContext } from 'react';
import type { Session } from './api.js';
import type { TimeRange } from './time-range.js';

export interface AppState {
  session: Session;
  range: TimeRange;
  /** Changes on every auto-refresh and on "Refresh"; screens re-run their queries. */
  tick: number;
}

export const AppContext = createContext<AppState | null>(null);

export function useApp(): AppState {
  const state = useContext(AppContext);
  if (state === null) throw new Error('useApp outside the signed-in app shell');
  return state;
}
