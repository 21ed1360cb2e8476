import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { appendFile, chown, mkdir, mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';

const execFileAsync = promisify(execFile);

/** Where the Debian `postgresql-15` package puts its binaries; overridable for other installs. */
const BIN_DIR = process.env.SIGHTLINE_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const INITDB = join(BIN_DIR, 'initdb');
const PG_CTL = join(BIN_DIR, 'pg_ctl');
const PSQL = join(BIN_DIR, 'psql');
const PG_BASEBACKUP = join(BIN_DIR, 'pg_basebackup');

const HOST = '127.0.0.1';
const SUPERUSER = 'postgres';
const DATABASE = 'postgres';
const HARNESS_CONF = 'sightline-harness.conf';
/** Settings the harness must own: the returned host, port and socket depend on them. */
const RESERVED_SETTINGS = new Set(['port', 'listen_addresses', 'unix_socket_directories']);

export const POSTGRES_INSTALL_HINT =
  'run `bash .ci/run` or `apt-get install postgresql-15` ' +
  `(or set SIGHTLINE_TEST_PG_BIN to a PostgreSQL 15 bin directory; looked in ${BIN_DIR})`;

export interface PostgresInstance {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  dataDir: string;
  /** Superuser connection over TCP: postgresql://postgres:<password>@127.0.0.1:<port>/postgres */
  url: string;
  logFile: string;
  superuserUrl(): string;
  /** Fast shutdown, then removes every file of the instance. Idempotent. */
  stop(): Promise<void>;
  /** Stops the server and keeps its files, for tests of what happens while it is down. */
  pause(): Promise<void>;
  /** Starts a paused server again on the same port. */
  resume(): Promise<void>;
  /** Runs SQL as the superuser through psql and returns what it printed (unaligned, tuples only). */
  psql(sql: string, database?: string): Promise<string>;
  /** Runs a PostgreSQL client program of the same installation (pgbench, …) as the superuser. */
  client(program: string, args: readonly string[], timeoutMs?: number): Promise<string>;
  /** pg_ctl restart, for settings that need one (shared_preload_libraries, logging_collector). */
  restart(): Promise<void>;
  /** The postmaster's process id, or undefined while the server is stopped. */
  postmasterPid(): number | undefined;
}

export interface StartPostgresOptions {
  /** Extra postgresql.conf settings; they override the harness defaults. */
  settings?: Record<string, string | number>;
  /**
   * Start a streaming replica of this primary instead of a new cluster: pg_basebackup with a
   * physical replication slot named `slot`, then the standby on its own port.
   */
  replicaOf?: { instance: PostgresInstance; slot: string };
}

/** The OS account the server runs as when the tests run as root. */
interface ServerOwner {
  uid: number;
  gid: number;
}

interface RunningInstance {
  rootDir: string;
  dataDir: string;
  owner: ServerOwner | undefined;
}

export function postgresAvailable(): boolean {
  return existsSync(INITDB) && existsSync(PG_CTL) && existsSync(PSQL);
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresInstance> {
  if (!postgresAvailable()) {
    throw new Error(`PostgreSQL 15 binaries (initdb, pg_ctl, psql) were not found; ${POSTGRES_INSTALL_HINT}`);
  }
  const extraSettings = checkedSettings(options.settings ?? {});
  const owner = await serverOwner();
  const rootDir = await mkdtemp(join(tmpdir(), 'sightline-pg-'));
  const dataDir = join(rootDir, 'data');
  const socketDir = join(rootDir, 'socket');
  const logFile = join(rootDir, 'postgres.log');
  const password = options.replicaOf?.instance.password ?? randomBytes(18).toString('base64url');
  const entry: RunningInstance = { rootDir, dataDir, owner };
  const exec = (file: string, args: string[]): Promise<string> => run(file, args, owner, rootDir);

  let port = 0;
  try {
    await mkdir(socketDir, { mode: 0o700 });
    const passwordFile = join(rootDir, 'superuser-password');
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    await writeFile(logFile, '', { mode: 0o600 });
    if (owner) {
      for (const path of [rootDir, socketDir, passwordFile, logFile]) await chown(path, owner.uid, owner.gid);
    }

    if (options.replicaOf !== undefined) {
      const primary = options.replicaOf.instance;
      // -R writes primary_conninfo (with the password of this URL) and standby.signal.
      await exec(PG_BASEBACKUP, [
        `--dbname=postgresql://${SUPERUSER}:${encodeURIComponent(primary.password)}@${primary.host}:${primary.port}/`,
        '--pgdata',
        dataDir,
        '--write-recovery-conf',
        '--wal-method=stream',
        '--create-slot',
        `--slot=${options.replicaOf.slot}`,
        '--checkpoint=fast',
        '--no-sync',
      ]);
    } else {
      try {
        await exec(INITDB, [
          '--pgdata',
          dataDir,
          '--username',
          SUPERUSER,
          `--pwfile=${passwordFile}`,
          '--auth-local=trust',
          '--auth-host=scram-sha-256',
          '--encoding=UTF8',
          '--no-locale',
          // Tests throw the cluster away, so durability work is wasted time.
          '--no-sync',
          '--no-instructions',
        ]);
      } catch (error) {
        const hint = owner
          ? `; the postgres OS user must be able to reach ${rootDir} (set TMPDIR to a world-traversable directory such as /tmp)`
          : '';
        throw new Error(`${errorMessage(error)}${hint}`, { cause: error });
      }
    }
    await rm(passwordFile, { force: true });
    // A base backup copies the primary's postgresql.conf, include line and all.
    if (options.replicaOf === undefined)
      await appendFile(join(dataDir, 'postgresql.conf'), `\ninclude '${HARNESS_CONF}'\n`);
    track(entry);

    // freePort() releases the port before the server binds it, so a parallel test can win the race.
    for (let attempt = 1; ; attempt++) {
      port = await freePort(HOST);
      await writeHarnessConf(dataDir, owner, {
        listen_addresses: HOST,
        port,
        unix_socket_directories: socketDir,
        shared_preload_libraries: 'pg_stat_statements',
        compute_query_id: 'on',
        'pg_stat_statements.track': 'all',
        // Tests only: nothing here has to survive a crash, and these make writes much faster.
        fsync: 'off',
        synchronous_commit: 'off',
        ...extraSettings,
      });
      const logOffset = (await stat(logFile)).size;
      try {
        await exec(PG_CTL, ['--pgdata', dataDir, '--log', logFile, '--wait', '--timeout', '30', 'start']);
        break;
      } catch (error) {
        const log = await readFrom(logFile, logOffset);
        if (attempt === 1 && log.includes('Address already in use')) continue;
        throw new Error(
          `PostgreSQL did not start on ${HOST}:${port}: ${errorMessage(error)}\n` +
            `--- last lines of ${logFile} (the directory is removed after this error) ---\n${tail(log)}`,
          { cause: error },
        );
      }
    }

    // A standby is read-only; it has the primary's extensions already.
    if (options.replicaOf === undefined)
      await exec(PSQL, [
        '--no-psqlrc',
        '--quiet',
        '--set=ON_ERROR_STOP=1',
        `--host=${socketDir}`,
        `--port=${port}`,
        `--username=${SUPERUSER}`,
        `--dbname=${DATABASE}`,
        '--command=CREATE EXTENSION IF NOT EXISTS pg_stat_statements',
      ]);
  } catch (error) {
    await stopNowAndRemove(entry);
    throw error;
  }

  const url = `postgresql://${SUPERUSER}:${encodeURIComponent(password)}@${HOST}:${port}/${DATABASE}`;
  let stopping: Promise<void> | undefined;
  return {
    host: HOST,
    port,
    user: SUPERUSER,
    password,
    database: DATABASE,
    dataDir,
    url,
    logFile,
    superuserUrl: () => url,
    // Over TCP with the password, as an application connects (and as the collector does).
    client: (program: string, args: readonly string[], timeoutMs = 600_000) =>
      run(
        join(BIN_DIR, program),
        [`--host=${HOST}`, `--port=${port}`, `--username=${SUPERUSER}`, ...args],
        owner,
        rootDir,
        timeoutMs,
        { PGPASSWORD: password },
      ),
    restart: async () => {
      await exec(PG_CTL, [
        '--pgdata',
        dataDir,
        '--log',
        logFile,
        '--mode=fast',
        '--wait',
        '--timeout',
        '60',
        'restart',
      ]);
    },
    postmasterPid: () => {
      try {
        const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
        return Number.isInteger(pid) && pid > 0 ? pid : undefined;
      } catch {
        return undefined;
      }
    },
    pause: async () => {
      await exec(PG_CTL, ['--pgdata', dataDir, '--mode=fast', '--wait', '--timeout', '30', 'stop']);
    },
    resume: async () => {
      await exec(PG_CTL, ['--pgdata', dataDir, '--log', logFile, '--wait', '--timeout', '30', 'start']);
    },
    // From a file, as `… | psql` runs it: statement by statement, not as one transaction like --command.
    psql: async (sql: string, database = DATABASE) => {
      const file = join(rootDir, `psql-${randomBytes(6).toString('hex')}.sql`);
      await writeFile(file, sql, { mode: 0o600 });
      if (owner) await chown(file, owner.uid, owner.gid);
      try {
        return await exec(PSQL, [
          '--no-psqlrc',
          '--quiet',
          '--no-align',
          '--tuples-only',
          '--set=ON_ERROR_STOP=1',
          `--host=${socketDir}`,
          `--port=${port}`,
          `--username=${SUPERUSER}`,
          `--dbname=${database}`,
          `--file=${file}`,
        ]);
      } finally {
        await rm(file, { force: true });
      }
    },
    stop: () => {
      stopping ??= shutdown(entry, exec).catch((error: unknown) => {
        // Let a later call try again instead of replaying the failure forever.
        stopping = undefined;
        throw error;
      });
      return stopping;
    },
  };
}

async function shutdown(
  entry: RunningInstance,
  exec: (file: string, args: string[]) => Promise<string>,
): Promise<void> {
  try {
    await exec(PG_CTL, ['--pgdata', entry.dataDir, '--mode=fast', '--wait', '--timeout', '30', 'stop']);
  } catch (fastError) {
    if (await isRunning(entry)) {
      try {
        await exec(PG_CTL, [
          '--pgdata',
          entry.dataDir,
          '--mode=immediate',
          '--wait',
          '--timeout',
          '30',
          'stop',
        ]);
      } catch (immediateError) {
        throw new Error(
          `could not stop PostgreSQL in ${entry.dataDir} (${errorMessage(fastError)}; then ${errorMessage(immediateError)}); ` +
            `kill the process whose pid is the first line of ${join(entry.dataDir, 'postmaster.pid')}, then remove ${entry.rootDir}`,
          { cause: immediateError },
        );
      }
    }
  }
  await rm(entry.rootDir, { recursive: true, force: true });
  running.delete(entry);
}

async function isRunning(entry: RunningInstance): Promise<boolean> {
  try {
    // pg_ctl status exits 0 when a server is running, 3 when not, 4 without a data directory.
    await run(PG_CTL, ['--pgdata', entry.dataDir, 'status'], entry.owner, entry.rootDir);
    return true;
  } catch {
    return false;
  }
}

const running = new Set<RunningInstance>();
let exitHookInstalled = false;

/**
 * A test that crashes or forgets afterAll must not leave a postmaster behind: it outlives the test
 * process because pg_ctl daemonizes it. Only synchronous work is possible in an 'exit' listener.
 */
function track(entry: RunningInstance): void {
  running.add(entry);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const leftover of running) stopNowAndRemoveSync(leftover);
    });
  }
}

function stopNowAndRemoveSync(entry: RunningInstance): void {
  try {
    execFileSync(
      PG_CTL,
      ['--pgdata', entry.dataDir, '--mode=immediate', '--wait', '--timeout', '10', 'stop'],
      {
        ...childOptions(entry.owner, entry.rootDir),
        stdio: 'ignore',
      },
    );
  } catch {
    // Not running (never started, or already stopped): nothing to stop.
  }
  try {
    rmSync(entry.rootDir, { recursive: true, force: true });
  } catch {
    // Leaving a temp directory behind is better than skipping the other leftovers.
  }
  running.delete(entry);
}

async function stopNowAndRemove(entry: RunningInstance): Promise<void> {
  if (existsSync(join(entry.dataDir, 'postmaster.pid'))) {
    try {
      await run(
        PG_CTL,
        ['--pgdata', entry.dataDir, '--mode=immediate', '--wait', 'stop'],
        entry.owner,
        entry.rootDir,
      );
    } catch {
      // The start error being reported matters more than a failed clean-up.
    }
  }
  await rm(entry.rootDir, { recursive: true, force: true });
  running.delete(entry);
}

/** initdb refuses to run as root, so under root the server runs as the `postgres` OS user. */
async function serverOwner(): Promise<ServerOwner | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const [uid, gid] = await Promise.all(
      ['-u', '-g'].map(async (flag) => Number((await execFileAsync('id', [flag, 'postgres'])).stdout.trim())),
    );
    if (uid === undefined || gid === undefined || !Number.isInteger(uid) || !Number.isInteger(gid)) {
      throw new Error('`id postgres` printed no numeric id');
    }
    return { uid, gid };
  } catch (error) {
    throw new Error(
      'the tests run as root and initdb refuses root, but there is no usable `postgres` OS user to run ' +
        `PostgreSQL as (${errorMessage(error)}); install postgresql-15, which creates it, or run the tests as a non-root user`,
      { cause: error },
    );
  }
}

function childOptions(owner: ServerOwner | undefined, cwd: string) {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    // PGPORT, PGHOST, PGDATA... in the developer's shell would redirect pg_ctl and psql.
    if (!key.startsWith('PG')) env[key] = value;
  }
  // Under root the child keeps HOME=/root, which the postgres user cannot read (psql looks for ~/.pgpass).
  env.HOME = cwd;
  return { cwd, env, ...(owner ?? {}) };
}

async function run(
  file: string,
  args: readonly string[],
  owner: ServerOwner | undefined,
  cwd: string,
  timeoutMs = 60_000,
  env: NodeJS.ProcessEnv = {},
): Promise<string> {
  try {
    const options = childOptions(owner, cwd);
    const { stdout } = await execFileAsync(file, args, {
      ...options,
      env: { ...options.env, ...env },
      timeout: timeoutMs,
    });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: unknown }).stderr;
    const detail = typeof stderr === 'string' && stderr.trim() !== '' ? stderr.trim() : errorMessage(error);
    throw new Error(`\`${file} ${args.join(' ')}\` failed: ${detail}`, { cause: error });
  }
}

function checkedSettings(settings: Record<string, string | number>): Record<string, string | number> {
  for (const key of Object.keys(settings)) {
    if (RESERVED_SETTINGS.has(key)) {
      throw new Error(
        `startPostgres() chooses ${key} itself; remove it from settings and connect with instance.host/port/url`,
      );
    }
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(key)) {
      throw new Error(`"${key}" is not a valid postgresql.conf setting name; use letters, digits, _ and .`);
    }
  }
  return settings;
}

async function writeHarnessConf(
  dataDir: string,
  owner: ServerOwner | undefined,
  settings: Record<string, string | number>,
): Promise<void> {
  const path = join(dataDir, HARNESS_CONF);
  const lines = Object.entries(settings).map(([key, value]) =>
    typeof value === 'number'
      ? `${key} = ${value}`
      : `${key} = '${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`,
  );
  await writeFile(path, `# Written by test/harness/postgres.ts\n${lines.join('\n')}\n`, { mode: 0o600 });
  if (owner) await chown(path, owner.uid, owner.gid);
}

async function readFrom(path: string, offset: number): Promise<string> {
  try {
    const file = await open(path, 'r');
    try {
      const { size } = await file.stat();
      const buffer = Buffer.alloc(Math.max(0, size - offset));
      await file.read(buffer, 0, buffer.length, offset);
      return buffer.toString('utf8');
    } finally {
      await file.close();
    }
  } catch (error) {
    return `(could not read the log: ${errorMessage(error)})`;
  }
}

function tail(text: string, lines = 40): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n') || '(the log is empty)';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
