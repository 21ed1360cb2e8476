import type { Role } from '../api.js';

/** A picker of the roles the caller may give (users and API keys share the four roles). */
export function RoleSelect({
  roles,
  value,
  onChange,
  label,
}: {
  roles: readonly Role[];
  value: Role;
  onChange: (role: Role) => void;
  /** Only where no surrounding <label> names the picker. */
  label?: string;
}) {
  return (
    <select aria-label={label} value={value} onChange={(e) => onChange(e.target.value as Role)}>
      {roles.map((r) => (
        <option key={r} value={r}>
          {r}
        </option>
      ))}
    </select>
  );
}
