import { Component, type ErrorInfo, type ReactNode } from 'react';

interface State {
  error: Error | null;
}

/**
 * A screen that throws shows what happened instead of a blank page. The usual cause is a
 * screen's chunk that is gone because Sightline was upgraded while the page was open: a reload
 * fetches the new build.
 */
export class ErrorBoundary extends Component<{ children: ReactNode; resetKey: string }, State> {
  override state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  override componentDidUpdate(previous: { resetKey: string }): void {
    // Another screen: try again.
    if (previous.resetKey !== this.props.resetKey && this.state.error !== null)
      this.setState({ error: null });
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error('screen failed', error, info.componentStack);
  }

  override render(): ReactNode {
    const { error } = this.state;
    if (error === null) return this.props.children;
    const stale = /dynamically imported module|Importing a module script failed|Failed to fetch/i.test(
      error.message,
    );
    return (
      <div className="state state-error" role="alert">
        <strong>{stale ? 'Sightline was updated' : 'This screen failed'}</strong>
        <p className="error-message">{error.message}</p>
        <p>
          {stale
            ? 'Reload the page to get the new version.'
            : 'Reload the page; if it happens again, report it with the message above.'}
        </p>
        <button type="button" onClick={() => location.reload()}>
          Reload
        </button>
      </div>
    );
  }
}
