import { Suspense, lazy, useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError, api, onUnauthorized, type Session } from './api.js';
import { AppContext } from './app-context.js';
import { ErrorBoundary } from './components/error-boundary.js';
import { ErrorBox, Loading } from './components/states.js';
import { RefreshPicker, TimeRangePicker } from './components/time-controls.js';
import { Link, navigate, usePathname, useSearch } from './router.js';
import { SignIn } from './screens/sign-in.js';
import { useTheme } from './theme.js';
import { durationMs, rangeFromParams } from './time-range.js';

// Screens are separate chunks: the first load is the shell and the sign-in page.
const LogsScreen = lazy(() => import('./screens/logs.js'));
const MetricsScreen = lazy(() => import('./screens/metrics.js'));
const TracesScreen = lazy(() => import('./screens/traces.js'));
const TraceScreen = lazy(() => import('./screens/trace.js'));
const ApiKeysScreen = lazy(() => import('./screens/api-keys.js'));
const DatabasesScreen = lazy(() => import('./screens/databases.js'));
const QueryScreen = lazy(() => import('./screens/query.js'));
const UsersScreen = lazy(() => import('./screens/users.js'));
const RetentionScreen = lazy(() => import('./screens/retention.js'));
const AccountScreen = lazy(() => import('./screens/account.js'));
const OverviewScreen = lazy(() => import('./screens/overview.js'));
const PipelineScreen = lazy(() => import('./screens/pipeline.js'));

type AuthState =
  | { kind: 'checking' }
  | { kind: 'signed-in'; session: Session }
  | { kind: 'signed-out' }
  | { kind: 'error'; error: ApiError };

const SIGN_IN = '/sign-in';

export function App() {
  const pathname = usePathname();
  const search = useSearch();
  const [auth, setAuth] = useState<AuthState>({ kind: 'checking' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    api<Session>('/api/v1/auth/me', { signal: controller.signal, ignoreUnauthorized: true }).then(
      (session) => setAuth({ kind: 'signed-in', session }),
      (error: unknown) => {
        if (controller.signal.aborted) return;
        if (error instanceof ApiError && error.status === 401) setAuth({ kind: 'signed-out' });
        else if (error instanceof ApiError) setAuth({ kind: 'error', error });
      },
    );
    return () => controller.abort();
  }, [attempt]);

  useEffect(() => onUnauthorized(() => setAuth({ kind: 'signed-out' })), []);

  // Signed out anywhere: to the sign-in page, remembering where the user was.
  useEffect(() => {
    if (auth.kind === 'signed-out' && pathname !== SIGN_IN) {
      navigate(`${SIGN_IN}?next=${encodeURIComponent(pathname + search)}`, { replace: true });
    }
    if (auth.kind === 'signed-in' && pathname === SIGN_IN) {
      navigate(safeNext(new URLSearchParams(search).get('next')), { replace: true });
    }
  }, [auth.kind, pathname, search]);

  if (auth.kind === 'checking') return <Loading what="Sightline" />;
  if (auth.kind === 'error') {
    return (
      <main className="center-page">
        <ErrorBox error={auth.error} action="reach Sightline" onRetry={() => setAttempt(attempt + 1)} />
      </main>
    );
  }
  if (auth.kind === 'signed-out' || pathname === SIGN_IN) {
    return <SignIn onSignedIn={(session) => setAuth({ kind: 'signed-in', session })} />;
  }
  return <Shell session={auth.session} onSignedOut={() => setAuth({ kind: 'signed-out' })} />;
}

/** Only paths of this app: a `next` pointing elsewhere would be an open redirect. */
function safeNext(next: string | null): string {
  // `//host` and `/\host` name another host; the sign-in page itself would loop.
  const ours = next !== null && /^\/(?![/\\])/.test(next) && !next.startsWith(SIGN_IN);
  return ours ? next : '/overview';
}

const NAV = [
  { to: '/overview', label: 'Overview' },
  { to: '/logs', label: 'Logs' },
  { to: '/metrics-explorer', label: 'Metrics' },
  { to: '/traces', label: 'Traces' },
  { to: '/databases', label: 'Databases' },
  { to: '/pipeline', label: 'Pipeline' },
  { to: '/settings', label: 'Settings' },
];

/** The time range and refresh travel from screen to screen; the screen's own query does not. */
function sharedParams(search: string): string {
  const current = new URLSearchParams(search);
  const kept = new URLSearchParams();
  for (const name of ['range', 'from', 'to', 'refresh']) {
    const value = current.get(name);
    if (value !== null) kept.set(name, value);
  }
  const text = kept.toString();
  return text === '' ? '' : `?${text}`;
}

function Shell({ session, onSignedOut }: { session: Session; onSignedOut: () => void }) {
  const pathname = usePathname();
  const search = useSearch();
  const params = useMemo(() => new URLSearchParams(search), [search]);
  // Only a change of the range itself makes a new object (screens re-run their queries on it).
  const rangeKey = ['range', 'from', 'to'].map((name) => params.get(name) ?? '').join('|');
  const range = useMemo(() => rangeFromParams(new URLSearchParams(search)), [rangeKey]);
  const refresh = params.get('refresh') ?? 'off';
  const [tick, setTick] = useState(0);
  const [theme, toggleTheme] = useTheme();
  const [signOutError, setSignOutError] = useState<ApiError | null>(null);

  useEffect(() => {
    const every = durationMs(refresh);
    if (every === null) return undefined;
    const timer = setInterval(() => setTick((t) => t + 1), every);
    return () => clearInterval(timer);
  }, [refresh]);

  useEffect(() => {
    if (pathname === '/') navigate(`/overview${search}`, { replace: true });
  }, [pathname, search]);

  const signOut = useCallback(() => {
    api('/api/v1/auth/logout', { method: 'POST' }).then(
      () => onSignedOut(),
      (error: unknown) => {
        if (error instanceof ApiError && error.status === 401) onSignedOut();
        else if (error instanceof ApiError) setSignOutError(error);
      },
    );
  }, [onSignedOut]);

  const state = useMemo(() => ({ session, range, tick }), [session, range, tick]);
  const shared = sharedParams(search);

  return (
    <AppContext.Provider value={state}>
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="topbar">
        <Link to={`/overview${shared}`} className="brand">
          <img src="/favicon.svg" alt="" width="22" height="22" /> Sightline
        </Link>
        <nav aria-label="Screens">
          <ul>
            {NAV.map((item) => (
              <li key={item.to}>
                <Link
                  to={`${item.to}${shared}`}
                  aria-current={pathname.startsWith(item.to) ? 'page' : undefined}
                >
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="topbar-controls">
          <TimeRangePicker range={range} />
          <RefreshPicker value={refresh} onRefresh={() => setTick((t) => t + 1)} />
          <button
            type="button"
            onClick={toggleTheme}
            aria-label={theme === 'dark' ? 'Switch to light theme' : 'Switch to dark theme'}
            title={theme === 'dark' ? 'Light theme' : 'Dark theme'}
          >
            {theme === 'dark' ? '☀' : '☾'}
          </button>
          <span className="whoami" title={`${session.org.name} · ${session.role}`}>
            <span className="email">{session.user?.email ?? 'API key'}</span>{' '}
            <span className="role">{session.role}</span>
          </span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      {signOutError === null ? null : <ErrorBox error={signOutError} action="sign out" />}
      <main id="main" tabIndex={-1}>
        <ErrorBoundary resetKey={pathname}>
          <Suspense fallback={<Loading what="the screen" />}>
            <Screen pathname={pathname} />
          </Suspense>
        </ErrorBoundary>
      </main>
    </AppContext.Provider>
  );
}

const SETTINGS_TITLES: Record<string, string> = {
  '/settings': 'API keys',
  '/settings/keys': 'API keys',
  '/settings/users': 'Users',
  '/settings/retention': 'Retention',
  '/settings/account': 'Account',
};

function titleOf(pathname: string): string {
  if (pathname === '/') return 'Overview';
  if (pathname.startsWith('/traces/')) return 'Trace';
  if (pathname.startsWith('/queries/')) return 'Statement';
  if (pathname in SETTINGS_TITLES) return SETTINGS_TITLES[pathname] ?? 'Settings';
  return NAV.find((item) => pathname.startsWith(item.to))?.label ?? 'Not found';
}

function Screen({ pathname }: { pathname: string }) {
  useEffect(() => {
    document.title = `${titleOf(pathname)} · Sightline`;
  }, [pathname]);
  if (pathname === '/overview' || pathname === '/') return <OverviewScreen />;
  if (pathname === '/logs') return <LogsScreen />;
  // Not /metrics: that is the process's own Prometheus endpoint.
  if (pathname === '/metrics-explorer') return <MetricsScreen />;
  if (pathname === '/traces') return <TracesScreen />;
  const trace = /^\/traces\/([^/]+)$/.exec(pathname);
  if (trace !== null) return <TraceScreen traceId={decodeURIComponent(trace[1] ?? '')} />;
  if (pathname === '/settings/keys' || pathname === '/settings') return <ApiKeysScreen />;
  if (pathname === '/databases') return <DatabasesScreen />;
  if (pathname === '/settings/users') return <UsersScreen />;
  if (pathname === '/settings/retention') return <RetentionScreen />;
  if (pathname === '/settings/account') return <AccountScreen />;
  if (pathname === '/pipeline') return <PipelineScreen />;
  const query = /^\/queries\/([^/]+)$/.exec(pathname);
  if (query !== null) return <QueryScreen fingerprint={decodeURIComponent(query[1] ?? '')} />;
  return (
    <section className="screen">
      <h1>Not found</h1>
      <p>
        There is no screen at <code>{pathname}</code>. Go to <Link to="/logs">Logs</Link>.
      </p>
    </section>
  );
}
