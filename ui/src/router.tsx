import { useCallback, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

/**
 * A small router on the History API. The URL is the state of a view (screen, time range,
 * query, refresh), so a copied link reproduces what the sender saw.
 */

const listeners = new Set<() => void>();
const notify = (): void => {
  for (const listener of [...listeners]) listener();
};
window.addEventListener('popstate', notify);

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === location.pathname + location.search) return;
  if (options.replace === true) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  notify();
}

export function usePathname(): string {
  return useSyncExternalStore(subscribe, () => location.pathname);
}

export function useSearch(): string {
  return useSyncExternalStore(subscribe, () => location.search);
}

/** The current URL with some search parameters set (a value of null removes it). */
export function withParams(updates: Record<string, string | null>, pathname = location.pathname): string {
  const params = new URLSearchParams(location.search);
  for (const [name, value] of Object.entries(updates)) {
    if (value === null || value === '') params.delete(name);
    else params.set(name, value);
  }
  const search = params.toString();
  return search === '' ? pathname : `${pathname}?${search}`;
}

/**
 * One search parameter as state. `push` adds a history entry (a new query); the default
 * replaces the current one (typing, toggles), so Back goes to the previous view, not keystroke.
 */
export function useParam(name: string, fallback = ''): [string, (value: string, push?: boolean) => void] {
  const search = useSearch();
  const value = new URLSearchParams(search).get(name) ?? fallback;
  const set = useCallback(
    (next: string, push = false) =>
      navigate(withParams({ [name]: next === fallback ? null : next }), { replace: !push }),
    [name, fallback],
  );
  return [value, set];
}

/** A real link (keyboard, middle-click, copy address) that routes without reloading. */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const { to, onClick, ...rest } = props;
  const handle = (event: MouseEvent<HTMLAnchorElement>): void => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={handle} {...rest} />;
}
