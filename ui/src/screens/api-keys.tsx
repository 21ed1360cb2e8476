import { useState, type FormEvent } from 'react';
import { api, ROLES, type ApiKey, type Role } from '../api.js';
import { useApp } from '../app-context.js';
import { RoleSelect } from '../components/role-select.js';
import { Empty, ErrorBox, Loading } from '../components/states.js';
import { formatTimestamp } from '../time-range.js';
import { useListAction, useSubmission } from '../use-action.js';
import { useQuery } from '../use-query.js';
import { SettingsNav } from './settings-nav.js';

interface Created {
  key: ApiKey;
  secret: string;
}

export default function ApiKeysScreen() {
  const { session } = useApp();
  const [version, setVersion] = useState(0);
  const keys = useQuery<ApiKey[]>(
    async (signal) => (await api<{ data: ApiKey[] }>('/api/v1/keys', { signal })).data,
    [version],
  );
  const [created, setCreated] = useState<Created | null>(null);
  const canCreate = session.role !== 'viewer';
  const reload = (): void => setVersion((v) => v + 1);
  const { actionError, run } = useListAction(reload);

  const revoke = (key: ApiKey): void => {
    if (!window.confirm(`Revoke the key "${key.name}" (${key.prefix}…)? Clients using it stop working.`))
      return;
    run(
      () => api(`/api/v1/keys/${encodeURIComponent(key.id)}`, { method: 'DELETE' }),
      `revoke "${key.name}"`,
    );
  };

  return (
    <section className="screen api-keys" aria-labelledby="keys-title">
      <h1 id="keys-title">API keys</h1>
      <SettingsNav />
      <p className="muted">
        Keys let OpenTelemetry SDKs, collectors, scripts and Grafana reach Sightline as{' '}
        <code>Authorization: Bearer &lt;key&gt;</code>. A key acts for the organization “{session.org.name}”
        with its role.
      </p>
      {canCreate ? (
        <CreateKey
          onCreated={(result) => {
            setCreated(result);
            reload();
          }}
        />
      ) : (
        <p className="notice">Your role is viewer: you can see the keys but not create or revoke them.</p>
      )}
      {created === null ? null : <SecretOnce created={created} onDone={() => setCreated(null)} />}
      {actionError === null ? null : <ErrorBox error={actionError.error} action={actionError.action} />}

      {keys.status === 'error' ? <ErrorBox error={keys.error} action="list the keys" /> : null}
      {keys.status === 'loading' && keys.data === undefined ? <Loading what="keys" /> : null}
      {keys.data === undefined || keys.status === 'error' ? null : keys.data.length === 0 ? (
        <Empty>
          <p>No keys yet.</p>
        </Empty>
      ) : (
        <div className="panel">
          <table className="data-table">
            <caption className="visually-hidden">API keys of the organization</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Role</th>
                <th scope="col">Created</th>
                <th scope="col">Status</th>
                {canCreate ? (
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {keys.data.map((key) => (
                <tr key={key.id} className={key.revokedAt === null ? '' : 'revoked'}>
                  <td>{key.name}</td>
                  <td className="mono">{key.prefix}…</td>
                  <td>{key.role}</td>
                  <td>{formatTimestamp(key.createdAt)}</td>
                  <td>{key.revokedAt === null ? 'active' : `revoked ${formatTimestamp(key.revokedAt)}`}</td>
                  {canCreate ? (
                    <td>
                      {key.revokedAt === null ? (
                        <button type="button" className="danger" onClick={() => revoke(key)}>
                          Revoke<span className="visually-hidden"> {key.name}</span>
                        </button>
                      ) : null}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function CreateKey({ onCreated }: { onCreated: (created: Created) => void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('member');
  const { busy, error, send } = useSubmission();
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    send(
      () => api<Created>('/api/v1/keys', { body: { name: name.trim(), role } }),
      (created) => {
        setName('');
        onCreated(created);
      },
    );
  };
  return (
    <form className="filters create-key" onSubmit={submit} aria-label="Create an API key">
      <label>
        Name
        <input
          type="text"
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="checkout-service"
          required
          maxLength={100}
        />
      </label>
      <label>
        Role
        <RoleSelect roles={ROLES} value={role} onChange={setRole} />
      </label>
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Creating…' : 'Create key'}
      </button>
      {error === null ? null : <ErrorBox error={error} action="create the key" />}
    </form>
  );
}

/** The secret exists only in this answer: the server keeps a hash. */
function SecretOnce({ created, onDone }: { created: Created; onDone: () => void }) {
  const [copied, setCopied] = useState('');
  const copy = (): void => {
    navigator.clipboard.writeText(created.secret).then(
      () => setCopied('Copied.'),
      () => setCopied('Copying is not allowed here: select the key and copy it by hand.'),
    );
  };
  return (
    <div className="panel secret" role="region" aria-labelledby="secret-title">
      <h2 id="secret-title" className="panel-title">
        Key “{created.key.name}” created
      </h2>
      <p>
        <strong>Copy it now: it is shown only once.</strong> Sightline stores only a hash of it.
      </p>
      <p className="secret-row">
        <code className="secret-value" data-testid="new-key-secret">
          {created.secret}
        </code>
        <button type="button" onClick={copy}>
          Copy
        </button>
        <span role="status">{copied}</span>
      </p>
      <button type="button" onClick={onDone}>
        I have copied it
      </button>
    </div>
  );
}
