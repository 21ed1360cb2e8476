import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { DEFAULT_ORG_NAME } from '../auth/bootstrap.js';
import { checkPassword, generatePassword, hashPassword } from '../auth/passwords.js';
import { normalizeEmail } from '../auth/sessions.js';
import type { Config } from '../config/schema.js';
import { SightlineError, isSightlineError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ControlStore, Org, Role, UserRecord } from '../store/control-store.js';
import { DuckDBControlStore } from '../store/duckdb/control-store.js';
import { DuckDBDatabase } from '../store/duckdb/database.js';
import { PostgresControlStore } from '../store/postgres/control-store.js';

/**
 * The control plane opened by an administrative command (`sightline user create`) rather than
 * by a running server: the DuckDB file of the data dir, or the PostgreSQL control plane.
 */
export async function withControlStore<T>(
  config: Config,
  logger: Logger,
  work: (control: ControlStore) => Promise<T>,
): Promise<T> {
  if (config.control.type === 'postgres') {
    const control = new PostgresControlStore(
      { connection: config.control.postgres.url ?? '', schema: config.control.postgres.schema },
      logger,
    );
    try {
      await control.start();
      return await work(control);
    } finally {
      await control.shutdown();
    }
  }
  const file = config.store.duckdb.file;
  const path = isAbsolute(file) ? file : resolve(resolve(config.dataDir), file);
  if (!existsSync(path)) {
    throw new SightlineError(
      'SL_ERR_DATA_DIR_UNUSABLE',
      `there is no Sightline database at ${path}: start Sightline once with this --data-dir (or --config) first, ` +
        'or point --data-dir at the data directory of your installation',
    );
  }
  let database: DuckDBDatabase;
  try {
    database = await DuckDBDatabase.open(
      {
        path,
        memoryLimit: config.store.duckdb.memoryLimit,
        checkpointThreshold: config.store.duckdb.checkpointThreshold,
        threads: 1,
      },
      logger,
    );
  } catch (error) {
    if (isSightlineError(error) && error.code === 'SL_ERR_DATA_DIR_LOCKED') {
      // DuckDB lets one process open the file for writing: the running server holds it.
      throw new SightlineError(
        'SL_ERR_DATA_DIR_LOCKED',
        `${error.message.replace(/ Only one Sightline may use.*$/, '')} A running \`sightline start\` holds it ` +
          '(the embedded DuckDB file has one writer). Either stop the server and run this command again, or add ' +
          'the user while it runs: on the Settings page of the web UI, or with POST /api/v1/users and an admin ' +
          'or owner API key (docs/auth.md).',
        { cause: error },
      );
    }
    throw error;
  }
  try {
    await database.migrate();
    return await work(new DuckDBControlStore(database));
  } finally {
    await database.close();
  }
}

export interface CreatedUser {
  user: UserRecord;
  org: Org;
  /** Set when the password was generated: the one time it can be shown. */
  generatedPassword?: string;
}

/** Adds a user to `orgName` (default: the default org, else the first one). */
export async function createUser(
  control: ControlStore,
  input: { email: string; role: Role; password?: string | undefined; orgName?: string | undefined },
): Promise<CreatedUser> {
  const email = normalizeEmail(input.email);
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) {
    throw new SightlineError('SL_ERR_BAD_REQUEST', `"${input.email}" is not an email address (name@host)`);
  }
  if (input.password !== undefined) checkPassword(input.password);
  const orgs = await control.listOrgs();
  const org =
    input.orgName === undefined
      ? (orgs.find((o) => o.name === DEFAULT_ORG_NAME) ?? orgs[0])
      : orgs.find((o) => o.name === input.orgName);
  if (org === undefined) {
    throw new SightlineError(
      'SL_ERR_NOT_FOUND',
      orgs.length === 0
        ? 'there is no organization yet: start Sightline once first (it creates the default one)'
        : `there is no organization "${input.orgName ?? ''}"; there are: ${orgs.map((o) => o.name).join(', ')}`,
    );
  }
  const password = input.password ?? generatePassword();
  const user = await control.createUser({
    orgId: org.id,
    email,
    passwordHash: await hashPassword(password),
    role: input.role,
  });
  return { user, org, ...(input.password === undefined ? { generatedPassword: password } : {}) };
}
