import { useCallback, useState } from 'react';

export type Theme = 'dark' | 'light';
const KEY = 'sightline-theme';

/** index.html sets data-theme before the first paint; this keeps it and remembers a choice. */
export function useTheme(): [Theme, () => void] {
  const [theme, setTheme] = useState<Theme>(
    document.documentElement.dataset.theme === 'light' ? 'light' : 'dark',
  );
  const toggle = useCallback(() => {
    const next: Theme = document.documentElement.dataset.theme === 'light' ? 'dark' : 'light';
    document.documentElement.dataset.theme = next;
    try {
      localStorage.setItem(KEY, next);
    } catch {
      // Storage refused (private mode): the choice lasts for this page only.
    }
    setTheme(next);
    // Canvases (uPlot) read the colours when drawn: they redraw on this.
    window.dispatchEvent(new Event('sightline-theme'));
  }, []);
  return [theme, toggle];
}

/** A CSS variable's value, for canvases (uPlot) that cannot use var(). */
export function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}
