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
