import { useEffect, useState, type FormEvent } from 'react';
import { ApiError, api, type Session } from '../api.js';

interface LoginAnswer {
  user: { id: string; email: string; role: Session['role'] };
  org: Session['org'];
}

/** Part of the first load (not lazy): a signed-out visitor sees it without another request. */
export function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState('');
  useEffect(() => {
    document.title = 'Sign in · Sightline';
  }, []);

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    setBusy(true);
    setProblem('');
    api<LoginAnswer>('/api/v1/auth/login', { body: { email, password }, ignoreUnauthorized: true }).then(
      // A user belongs to one org, with one role: the answer is the session.
      ({ user, org }) => onSignedIn({ user, org, role: user.role }),
      (error: unknown) => {
        setBusy(false);
        if (error instanceof ApiError && error.status === 401) {
          setProblem('Wrong email or password. Check both and try again.');
        } else if (error instanceof ApiError && error.status === 429) {
          setProblem(`Sign-in is paused: ${error.message}.`);
        } else {
          setProblem(`Could not sign in: ${(error as Error).message}`);
        }
      },
    );
  };

  return (
    <main className="center-page" id="main">
      <form className="card sign-in" onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">
          <img src="/favicon.svg" alt="" width="28" height="28" /> Sign in to Sightline
        </h1>
        <label>
          Email
          <input
            type="email"
            name="email"
            autoComplete="username"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            required
            autoFocus
          />
        </label>
        <label>
          Password
          <input
            type="password"
            name="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        </label>
        {problem === '' ? null : (
          <p className="field-error" role="alert">
            {problem}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="muted small">
          <code>sightline start</code> prints the first owner’s email and password on its first run;{' '}
          <code>sightline user create</code> adds users.
        </p>
      </form>
    </main>
  );
}
