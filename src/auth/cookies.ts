/** The sign-in cookie: the session token, readable by no script (HttpOnly). */
export const SESSION_COOKIE = 'sl_session';

/**
 * Requests a browser sends with the session cookie must carry this header unless they only
 * read (GET, HEAD). A cross-site form cannot set a header, and a cross-site script may not
 * without a CORS preflight this server never allows: so a request with it comes from a page
 * of this origin (OWASP CSRF Prevention Cheat Sheet, "custom request headers").
 */
export const CSRF_HEADER = 'x-sightline-csrf';

export function needsCsrfHeader(method: string): boolean {
  return !['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase());
}

export function hasCsrfHeader(headers: Record<string, string | string[] | undefined>): boolean {
  const value = headers[CSRF_HEADER];
  return (Array.isArray(value) ? value[0] : value)?.trim() === '1';
}

/** The cookies of a Cookie header by name (the first of a repeated name, as RFC 6265 §5.4 orders them). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (name !== '' && !cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

export function sessionTokenOf(headers: { cookie?: string | undefined }): string | undefined {
  const token = parseCookies(headers.cookie).get(SESSION_COOKIE);
  return token === undefined || token === '' ? undefined : token;
}

/** `Secure` only over https: a browser drops a Secure cookie set over plain http, so sign-in would never stick. */
export function sessionCookie(token: string, maxAgeSeconds: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${token}`,
    'Path=/',
    `Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`,
    'HttpOnly',
    'SameSite=Lax',
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

export function clearedSessionCookie(secure: boolean): string {
  return sessionCookie('', 0, secure);
}
