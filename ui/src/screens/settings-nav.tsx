import { useApp } from '../app-context.js';
import { Link, usePathname } from '../router.js';

/**
 * The settings pages, one sub-nav for all of them. Retention needs the member role (the API
 * refuses viewers) and the account page a person signed in (an API key has no password), so
 * those links show only to whom they can work for.
 */
export function SettingsNav() {
  const { session } = useApp();
  const pathname = usePathname();
  const pages = [
    { to: '/settings/keys', label: 'API keys', shown: true },
    { to: '/settings/users', label: 'Users', shown: true },
    { to: '/settings/retention', label: 'Retention', shown: session.role !== 'viewer' },
    { to: '/settings/account', label: 'Account', shown: session.user !== null },
  ];
  return (
    <nav className="settings-nav" aria-label="Settings">
      <ul>
        {pages
          .filter((page) => page.shown)
          .map((page) => (
            <li key={page.to}>
              <Link
                to={page.to}
                aria-current={
                  pathname === page.to || (pathname === '/settings' && page.to === '/settings/keys')
                    ? 'page'
                    : undefined
                }
              >
                {page.label}
              </Link>
            </li>
          ))}
      </ul>
    </nav>
  );
}
