import { useState, type FormEvent } from 'react';
import { api, type ApiError } from '../api.js';
import { useApp } from '../app-context.js';
import { ErrorBox } from '../components/states.js';
import { SettingsNav } from './settings-nav.js';

/** The same minimum the server checks (src/auth/passwords.ts), said before the round trip. */
const MIN_PASSWORD_LENGTH = 12;

export default function AccountScreen() {
  const { session } = useApp();
  return (
    <section className="screen account" aria-labelledby="account-title">
      <h1 id="account-title">Account</h1>
      <SettingsNav />
      {session.user === null ? (
        <p className="notice">
          You are using an API key, not a signed-in account: a key has no password. Sign in with email and
          password to change yours.
        </p>
      ) : (
        <>
          <dl className="account-facts">
            <dt>Email</dt>
            <dd>{session.user.email}</dd>
            <dt>Role</dt>
            <dd>{session.role}</dd>
            <dt>Organization</dt>
            <dd>{session.org.name}</dd>
          </dl>
          <ChangePassword />
        </>
      )}
    </section>
  );
}

function ChangePassword() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeated, setRepeated] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState(false);

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    setError(null);
    setDone(false);
    if (next.length < MIN_PASSWORD_LENGTH) {
      setProblem(`The new password is ${next.length} characters long; use at least ${MIN_PASSWORD_LENGTH}.`);
      return;
    }
    if (next !== repeated) {
      setProblem('The two new passwords differ; type the same one twice.');
      return;
    }
    setProblem('');
    setBusy(true);
    api('/api/v1/auth/password', { body: { currentPassword: current, newPassword: next } }).then(
      () => {
        setBusy(false);
        setCurrent('');
        setNext('');
        setRepeated('');
        setDone(true);
      },
      (e: ApiError) => {
        setBusy(false);
        setError(e);
      },
    );
  };

  return (
    <form className="panel change-password" onSubmit={submit} aria-labelledby="password-title">
      <h2 id="password-title" className="panel-title">
        Change your password
      </h2>
      <p className="muted">
        At least {MIN_PASSWORD_LENGTH} characters; a passphrase of a few words is fine. Your other sessions
        (other browsers, other devices) are signed out; this one stays.
      </p>
      <PasswordField
        label="Current password"
        purpose="current-password"
        value={current}
        onChange={setCurrent}
      />
      <PasswordField label="New password" purpose="new-password" value={next} onChange={setNext} />
      <PasswordField
        label="New password again"
        purpose="new-password"
        value={repeated}
        onChange={setRepeated}
      />
      {problem === '' ? null : (
        <p className="field-error" role="alert">
          {problem}
        </p>
      )}
      {error === null ? null : <ErrorBox error={error} action="change the password" />}
      {done ? (
        <p className="notice" role="status">
          Password changed. Your other sessions have been signed out.
        </p>
      ) : null}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Changing…' : 'Change password'}
      </button>
    </form>
  );
}

/**
 * One password input. `purpose` tells password managers which one to fill; a new one is capped at
 * the server's 1024 characters, the current one is whatever it is.
 */
function PasswordField({
  label,
  purpose,
  value,
  onChange,
}: {
  label: string;
  purpose: 'current-password' | 'new-password';
  value: string;
  onChange: (value: string) => void;
}) {
  return (
    <label>
      {label}
      <input
        type="password"
        autoComplete={purpose}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        required
        maxLength={purpose === 'new-password' ? 1024 : undefined}
      />
    </label>
  );
}
