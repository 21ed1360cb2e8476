import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { freePort } from './free-port.js';

const execFileAsync = promisify(execFile);

/** Where Debian's `mariadb-server` puts its programs; overridable for other installs. */
const BIN_DIR = process.env.SIGHTLINE_TEST_MARIADB_BIN ?? '/usr/bin';
const INSTALL_DB = join(BIN_DIR, 'mariadb-install-db');
const MARIADBD = existsSync(join(BIN_DIR, 'mariadbd')) ? join(BIN_DIR, 'mariadbd') : '/usr/sbin/mariadbd';
const CLIENT = join(BIN_DIR, 'mariadb');

const HOST = '127.0.0.1';
const SUPERUSER = 'root';
/** Flags the harness must own: the returned address and files depend on them. */
const RESERVED_FLAGS = new Set(['port', 'bind-address', 'socket', 'datadir', 'pid-file', 'log-error']);

export const MARIADB_INSTALL_HINT =
  'run `bash .ci/run` or `apt-get install mariadb-server mariadb-client` ' +
  `(or set SIGHTLINE_TEST_MARIADB_BIN to the directory of mariadb-install-db and mariadb; looked in ${BIN_DIR})`;

export interface MariadbInstance {
  host: string;
  port: number;
  user: string;
  password: string;
  rootDir: string;
  dataDir: string;
  /** mysql://root:<password>@127.0.0.1:<port>/ */
  url: string;
  errorLogFile: string;
  slowLogFile: string;
  /** Runs SQL (several statements allowed) as the superuser and returns the rows of the last one. */
  sql(text: string, database?: string): Promise<Record<string, unknown>[]>;
  /** A new superuser connection, for tests that hold a session open (locks, transactions). */
  connect(database?: string): Promise<mysql.Connection>;
  /** Feeds SQL to the `mariadb` command-line client as the superuser, as `… | mariadb` would. */
  cli(input: string): Promise<string>;
  /** Stops the server (SIGTERM, clean shutdown) and keeps its files. */
  pause(): Promise<void>;
  /** Starts a paused server again on the same port. */
  resume(): Promise<void>;
  restart(): Promise<void>;
  /** Clean shutdown, then removes every file of the instance. Idempotent. */
  stop(): Promise<void>;
}

export interface StartMariadbOptions {
  /** Extra server options as `--name=value` flags (`slow_query_log: 'ON'`); they override the defaults. */
  settings?: Record<string, string | number>;
}

export function mariadbAvailable(): boolean {
  return existsSync(INSTALL_DB) && existsSync(MARIADBD) && existsSync(CLIENT);
}

interface RunningServer {
  rootDir: string;
  process: ChildProcess | undefined;
}

const running = new Set<RunningServer>();
let exitHookInstalled = false;

export async function startMariadb(options: StartMariadbOptions = {}): Promise<MariadbInstance> {
  if (!mariadbAvailable()) {
    throw new Error(`MariaDB (mariadb-install-db, mariadbd, mariadb) was not found; ${MARIADB_INSTALL_HINT}`);
  }
  for (const name of Object.keys(options.settings ?? {})) {
    if (RESERVED_FLAGS.has(name.replace(/_/g, '-')))
      throw new Error(`the MariaDB harness sets ${name} itself; leave it out of settings`);
  }
  const rootDir = await mkdtemp(join(tmpdir(), 'sightline-mariadb-'));
  const dataDir = join(rootDir, 'data');
  const socket = join(rootDir, 'mariadb.sock');
  const errorLogFile = join(rootDir, 'error.log');
  const slowLogFile = join(rootDir, 'slow.log');
  const initFile = join(rootDir, 'init.sql');
  const tmpDir = join(rootDir, 'tmp');
  const password = randomBytes(18).toString('base64url');
  const entry: RunningServer = { rootDir, process: undefined };
  track(entry);
  const asRoot = process.getuid?.() === 0;

  let port = 0;
  const launch = async (): Promise<void> => {
    const args = [
      '--no-defaults',
      `--datadir=${dataDir}`,
      `--socket=${socket}`,
      `--port=${port}`,
      `--bind-address=${HOST}`,
      `--pid-file=${join(rootDir, 'mariadb.pid')}`,
      `--log-error=${errorLogFile}`,
      `--init-file=${initFile}`,
      `--tmpdir=${tmpDir}`,
      '--performance_schema=ON',
      `--slow_query_log_file=${slowLogFile}`,
      // Tests throw the server away: durability work is wasted time.
      '--innodb_flush_log_at_trx_commit=0',
      '--innodb_doublewrite=0',
      '--innodb_buffer_pool_size=64M',
      '--skip-log-bin',
      // Accounts are matched by address: the superuser is root@127.0.0.1, not root@localhost.
      '--skip-name-resolve',
      ...(asRoot ? ['--user=root'] : []),
      ...Object.entries(options.settings ?? {}).map(([name, value]) => `--${name}=${value}`),
    ];
    const child = spawn(MARIADBD, args, { cwd: rootDir, stdio: 'ignore' });
    entry.process = child;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ready = await ping(port, password);
      if (ready) return;
      const code = await Promise.race([exited, sleep(100).then(() => 'waiting' as const)]);
      if (code !== 'waiting' || Date.now() > deadline) {
        child.kill('SIGKILL');
        const log = await readFile(errorLogFile, 'utf8').catch(() => '');
        throw new Error(
          `MariaDB did not start on ${HOST}:${port} (${code === 'waiting' ? 'no answer in 30 s' : `exit code ${code}`})\n` +
            `--- last lines of ${errorLogFile} ---\n${log.split('\n').slice(-20).join('\n')}`,
        );
      }
    }
  };

  try {
    await mkdir(dataDir);
    await mkdir(tmpDir);
    await execFileAsync(
      INSTALL_DB,
      [
        '--no-defaults',
        `--datadir=${dataDir}`,
        ...(asRoot ? ['--user=root'] : []),
        '--auth-root-authentication-method=normal',
        // Its own temporary directory: two installs at once in one /tmp collide on their temp tables.
        `--tmpdir=${tmpDir}`,
        '--skip-test-db',
      ],
      { cwd: rootDir, timeout: 120_000 },
    );
    // Runs at every start: the superuser reachable over TCP with a password, as applications connect.
    await writeFile(
      initFile,
      `CREATE OR REPLACE USER '${SUPERUSER}'@'${HOST}' IDENTIFIED BY '${password}';\n` +
        `GRANT ALL ON *.* TO '${SUPERUSER}'@'${HOST}' WITH GRANT OPTION;\n`,
      { mode: 0o600 },
    );
    for (let attempt = 1; ; attempt++) {
      port = await freePort(HOST);
      try {
        await launch();
        break;
      } catch (error) {
        const log = await readFile(errorLogFile, 'utf8').catch(() => '');
        if (attempt === 1 && log.includes('Address already in use')) continue;
        throw error;
      }
    }
  } catch (error) {
    await stopAndRemove(entry);
    throw error;
  }

  const connect = (database?: string) =>
    mysql.createConnection({
      host: HOST,
      port,
      user: SUPERUSER,
      password,
      multipleStatements: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      ...(database === undefined ? {} : { database }),
    });
  const pause = async (): Promise<void> => {
    const child = entry.process;
    entry.process = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timeout = sleep(30_000).then(() => 'timeout' as const);
    if ((await Promise.race([exited, timeout])) === 'timeout') {
      child.kill('SIGKILL');
      await exited;
    }
  };
  let stopping: Promise<void> | undefined;

  return {
    host: HOST,
    port,
    user: SUPERUSER,
    password,
    rootDir,
    dataDir,
    url: `mysql://${SUPERUSER}:${encodeURIComponent(password)}@${HOST}:${port}/`,
    errorLogFile,
    slowLogFile,
    connect,
    sql: async (text, database) => {
      const connection = await connect(database);
      try {
        const [result] = await connection.query(text);
        return lastRows(result);
      } finally {
        await connection.end();
      }
    },
    cli: async (input) => {
      return await new Promise<string>((resolve, reject) => {
        const child = execFile(
          CLIENT,
          [`--host=${HOST}`, `--port=${port}`, `--user=${SUPERUSER}`, '--batch', '--skip-column-names'],
          { cwd: rootDir, env: { ...process.env, MYSQL_PWD: password }, timeout: 60_000 },
          (error, stdout, stderr) =>
            error ? reject(new Error(`mariadb client failed: ${stderr || error.message}`)) : resolve(stdout),
        );
        child.stdin?.end(input);
      });
    },
    pause,
    resume: launch,
    restart: async () => {
      await pause();
      await launch();
    },
    stop: () => {
      stopping ??= (async () => {
        await pause();
        await stopAndRemove(entry);
      })();
      return stopping;
    },
  };
}

async function ping(port: number, password: string): Promise<boolean> {
  if (port === 0) return false;
  try {
    const connection = await mysql.createConnection({
      host: HOST,
      port,
      user: SUPERUSER,
      password,
      connectTimeout: 1000,
    });
    await connection.end();
    return true;
  } catch {
    return false;
  }
}

/**
 * mysql2 answers a single SELECT with its rows, a single write with a ResultSetHeader, and
 * several statements with an array of those.
 */
function lastRows(result: unknown): Record<string, unknown>[] {
  if (!Array.isArray(result)) return [];
  const isHeader = (item: unknown) => item?.constructor?.name === 'ResultSetHeader';
  const multi = result.some((item) => Array.isArray(item) || isHeader(item));
  if (!multi) return result as Record<string, unknown>[];
  const sets = result.filter((item): item is Record<string, unknown>[] => Array.isArray(item));
  return sets.at(-1) ?? [];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function stopAndRemove(entry: RunningServer): Promise<void> {
  entry.process?.kill('SIGKILL');
  await rm(entry.rootDir, { recursive: true, force: true });
  running.delete(entry);
}

/** A test that crashes or forgets afterAll must not leave a mariadbd behind. */
function track(entry: RunningServer): void {
  running.add(entry);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const leftover of running) {
      leftover.process?.kill('SIGKILL');
      try {
        rmSync(leftover.rootDir, { recursive: true, force: true });
      } catch {
        // Leaving a temp directory behind is better than skipping the other leftovers.
      }
    }
  });
}
