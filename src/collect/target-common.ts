import { readFileSync } from 'node:fs';
import { SightlineError } from '../core/errors.js';

/** Where a target's password is kept: at most one of these is set (the config schema checks). */
export interface TargetSecrets {
  password?: string | undefined;
  passwordEnv?: string | undefined;
  passwordFile?: string | undefined;
}

/** The password of a target, read from where the config says it is kept; `target` names it in errors. */
export function passwordOf(
  config: TargetSecrets,
  target: string,
  env: NodeJS.ProcessEnv,
): string | undefined {
  if (config.password !== undefined) return config.password;
  if (config.passwordEnv !== undefined) {
    const value = env[config.passwordEnv];
    if (value === undefined) {
      throw new SightlineError(
        'SL_ERR_CONFIG_INVALID',
        `${target}: the environment variable ${config.passwordEnv} (passwordEnv) is not set`,
      );
    }
    return value;
  }
  if (config.passwordFile !== undefined) {
    try {
      return readFileSync(config.passwordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new SightlineError(
        'SL_ERR_CONFIG_INVALID',
        `${target}: cannot read passwordFile ${config.passwordFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      );
    }
  }
  return undefined;
}

/** A name usable in entity ids and metric labels. */
export function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
}

/** What a connection string says, the same for every engine; engine-specific options stay in `params`. */
export interface UrlParts {
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  params: URLSearchParams;
}

/** Splits a connection string; `example` is shown when it is not a URL at all. */
export function parseTargetUrl(url: string, engine: string, example: string): UrlParts {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SightlineError(
      'SL_ERR_CONFIG_INVALID',
      `a ${engine} connection string is not a valid URL: use ${example}`,
    );
  }
  const parts: UrlParts = { params: parsed.searchParams };
  const host = decodeURIComponent(parsed.hostname);
  if (host !== '') parts.host = host.replace(/^\[(.*)\]$/, '$1');
  if (parsed.port !== '') parts.port = Number(parsed.port);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (database !== '') parts.database = database;
  if (parsed.username !== '') parts.user = decodeURIComponent(parsed.username);
  if (parsed.password !== '') parts.password = decodeURIComponent(parsed.password);
  return parts;
}
