import { useState, type FormEvent } from 'react';
import { api, ROLES, type Role } from '../api.js';
import { useApp } from '../app-context.js';
import { RoleSelect } from '../components/role-select.js';
import { Empty, ErrorBox, Loading } from '../components/states.js';
import { formatTimestamp } from '../time-range.js';
import { useListAction, useSubmission } from '../use-action.js';
import { useQuery } from '../use-query.js';
import { SettingsNav } from './settings-nav.js';

/** GET /api/v1/users (src/api/view-schemas.ts USER_VIEW). */
interface User {
  id: string;
  email: string;
  role: Role;
  createdAt: string;
  disabledAt: string | null;
}

interface Created {
  user: User;
  /** Only when the server generated it: shown this once. */
  password?: string;
}

/**
 * The roles a caller may grant or take away: admins manage users up to admin, owners anyone
 * (src/auth/roles.ts; the API enforces it, this only hides what it would refuse).
 */
function manageableRoles(role: Role): readonly Role[] {
  if (role === 'owner') return ROLES;
  if (role === 'admin') return ROLES.slice(0, 3);
  return [];
}

export default function UsersScreen() {
  const { session } = useApp();
  const [version, setVersion] = useState(0);
  const users = useQuery<User[]>(
    async (signal) => (await api<{ data: User[] }>('/api/v1/users', { signal })).data,
    [version],
  );
  const [created, setCreated] = useState<Created | null>(null);
  const grantable = manageableRoles(session.role);
  const canManage = grantable.length > 0;
  const reload = (): void => setVersion((v) => v + 1);
  const { actionError, run } = useListAction(reload);

  const changeRole = (user: User, role: Role): void =>
    run(
      () => api(`/api/v1/users/${encodeURIComponent(user.id)}`, { method: 'PATCH', body: { role } }),
      `change the role of ${user.email}`,
    );
  const disable = (user: User): void => {
    if (!window.confirm(`Remove ${user.email}? They are signed out at once and can no longer sign in.`))
      return;
    run(
      () => api(`/api/v1/users/${encodeURIComponent(user.id)}`, { method: 'DELETE' }),
      `remove ${user.email}`,
    );
  };

  return (
    <section className="screen users" aria-labelledby="users-title">
      <h1 id="users-title">Users</h1>
      <SettingsNav />
      <p className="muted">
        People who sign in to the web UI of “{session.org.name}”. A role decides what they may do: viewer
        reads, member also manages API keys, admin also manages users, owner everything.
      </p>
      {canManage ? (
        <AddUser
          roles={grantable}
          onCreated={(result) => {
            setCreated(result);
            reload();
          }}
        />
      ) : (
        <p className="notice">
          Your role is {session.role}: you can see the users but not add, change or remove them (that needs
          admin or owner).
        </p>
      )}
      {created === null ? null : <PasswordOnce created={created} onDone={() => setCreated(null)} />}
      {actionError === null ? null : <ErrorBox error={actionError.error} action={actionError.action} />}

      {users.status === 'error' ? (
        <ErrorBox error={users.error} action="list the users" onRetry={reload} />
      ) : null}
      {users.status === 'loading' && users.data === undefined ? <Loading what="users" /> : null}
      {users.data === undefined || users.status === 'error' ? null : users.data.length === 0 ? (
        <Empty>
          <p>No users yet.</p>
        </Empty>
      ) : (
        <div className="panel">
          <table className="data-table users-table">
            <caption className="visually-hidden">Users of the organization</caption>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Created</th>
                <th scope="col">Status</th>
                {canManage ? (
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {users.data.map((user) => {
                const self = session.user?.id === user.id;
                // Not one's own row: a changed role would leave this page's session stale, and removing
                // oneself is refused (409).
                const manageable =
                  canManage && !self && user.disabledAt === null && grantable.includes(user.role);
                return (
                  <tr key={user.id} className={user.disabledAt === null ? '' : 'revoked'}>
                    <td>
                      {user.email}
                      {self ? <span className="muted"> (you)</span> : null}
                    </td>
                    <td>
                      {manageable ? (
                        <RoleChanger
                          user={user}
                          roles={grantable}
                          onChange={(role) => changeRole(user, role)}
                        />
                      ) : (
                        user.role
                      )}
                    </td>
                    <td>{formatTimestamp(user.createdAt)}</td>
                    <td>
                      {user.disabledAt === null ? 'active' : `removed ${formatTimestamp(user.disabledAt)}`}
                    </td>
                    {canManage ? (
                      <td>
                        {manageable ? (
                          <button type="button" className="danger" onClick={() => disable(user)}>
                            Remove<span className="visually-hidden"> {user.email}</span>
                          </button>
                        ) : null}
                      </td>
                    ) : null}
                  </tr>
                );
              })}
            </tbody>
          </table>
          <p className="muted small">
            Removed users are kept for the record and can no longer sign in. Sightline does not record sign-in
            times, so there is no “last sign-in” column.
          </p>
        </div>
      )}
    </section>
  );
}

/** A role picker and a button, so moving through the options with the keyboard changes nothing yet. */
function RoleChanger({
  user,
  roles,
  onChange,
}: {
  user: User;
  roles: readonly Role[];
  onChange: (role: Role) => void;
}) {
  const [role, setRole] = useState<Role>(user.role);
  return (
    <span className="role-changer">
      <RoleSelect roles={roles} value={role} onChange={setRole} label={`Role of ${user.email}`} />
      {role === user.role ? null : (
        <button type="button" onClick={() => onChange(role)}>
          Change role<span className="visually-hidden"> of {user.email}</span>
        </button>
      )}
    </span>
  );
}

function AddUser({ roles, onCreated }: { roles: readonly Role[]; onCreated: (created: Created) => void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [password, setPassword] = useState('');
  const { busy, error, send } = useSubmission();
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    const body = password === '' ? { email: email.trim(), role } : { email: email.trim(), role, password };
    send(
      () => api<Created>('/api/v1/users', { body }),
      (created) => {
        setEmail('');
        setPassword('');
        onCreated(created);
      },
    );
  };
  return (
    <form className="filters add-user" onSubmit={submit} aria-label="Add a user">
      <label>
        Email
        <input
          type="email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          placeholder="ana@example.com"
          required
          maxLength={320}
          autoComplete="off"
        />
      </label>
      <label>
        Role
        <RoleSelect roles={roles} value={role} onChange={setRole} />
      </label>
      <label>
        Password (optional)
        <input
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          placeholder="empty: generate one"
          minLength={12}
          maxLength={1024}
          autoComplete="new-password"
        />
      </label>
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Adding…' : 'Add user'}
      </button>
      {error === null ? null : <ErrorBox error={error} action="add the user" />}
    </form>
  );
}

/** A generated password exists only in the answer that created it: the server keeps a hash. */
function PasswordOnce({ created, onDone }: { created: Created; onDone: () => void }) {
  return (
    <div className="panel secret" role="region" aria-labelledby="new-user-title">
      <h2 id="new-user-title" className="panel-title">
        {created.user.email} added as {created.user.role}
      </h2>
      {created.password === undefined ? (
        <p>They sign in with the password you chose.</p>
      ) : (
        <>
          <p>
            <strong>Give them this password now: it is shown only once.</strong> They can change it on their
            Account page.
          </p>
          <p className="secret-row">
            <code className="secret-value" data-testid="new-user-password">
              {created.password}
            </code>
          </p>
        </>
      )}
      <button type="button" onClick={onDone}>
        Done
      </button>
    </div>
  );
}
