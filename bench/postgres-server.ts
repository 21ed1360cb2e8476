import { execFile, execFileSync, type ExecFileOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { appendFile, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * A private PostgreSQL 15 for the benchmarks: initdb into a temp directory, pg_ctl start on a
 * free loopback port, removed again by stop() (and, if the bench dies, by an exit hook). A
 * compact cousin of test/harness/postgres.ts, which the build cannot include in dist/bench.
 * initdb refuses root, so under root the server runs as the `postgres` OS user.
 */

export const PG_BIN_DIR = process.env.BENCH_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const HOST = '127.0.0.1';
const SUPERUSER = 'postgres';

export interface BenchPostgres {
  host: string;
  port: number;
  /** postgresql://postgres:<password>@127.0.0.1:<port>/postgres */
  superuserUrl: string;
  superuserPassword: string;
  dataDir: string;
  /** Runs SQL through psql as the superuser, statement by statement (ALTER SYSTEM, VACUUM work). */
  psql(sql: string): Promise<string>;
  /** Runs a PostgreSQL client program (pgbench, …) with the superuser's password in its environment. */
  client(
    program: string,
    args: readonly string[],
    timeoutMs?: number,
  ): Promise<{ stdout: string; stderr: string }>;
  /** pg_ctl restart, for settings that need one (shared_preload_libraries, logging_collector). */
  restart(): Promise<void>;
  /** CPU seconds the server has used: the postmaster, its live children and those it has reaped. */
  cpuSeconds(): number;
  /** Fast shutdown, then removes every file. Idempotent. */
  stop(): Promise<void>;
}

interface Owner {
  uid: number;
  gid: number;
}

export function postgresBinariesPresent(): boolean {
  return ['initdb', 'pg_ctl', 'psql', 'pgbench'].every((b) => existsSync(join(PG_BIN_DIR, b)));
}

export async function startBenchPostgres(settings: Record<string, string | number>): Promise<BenchPostgres> {
  if (!postgresBinariesPresent()) {
    throw new Error(
      `PostgreSQL 15 (initdb, pg_ctl, psql, pgbench) not found in ${PG_BIN_DIR}: apt-get install postgresql-15, or set BENCH_PG_BIN`,
    );
  }
  const owner = await serverOwner();
  // /tmp rather than TMPDIR: the postgres OS user must be able to reach the directory.
  const rootDir = await mkdtemp(join('/tmp', 'sightline-bench-pg-'));
  const dataDir = join(rootDir, 'data');
  const socketDir = join(rootDir, 'socket');
  const logFile = join(rootDir, 'postgres.log');
  const password = randomBytes(18).toString('base64url');
  const run = (file: string, args: readonly string[], timeoutMs = 120_000) =>
    exec(join(PG_BIN_DIR, file), args, { ...childOptions(owner, rootDir), timeout: timeoutMs });
  const leftover = { rootDir, dataDir, owner };
  leftovers.add(leftover);
  installExitHook();

  let port = 0;
  try {
    await mkdir(socketDir, { mode: 0o700 });
    const pwFile = join(rootDir, 'pw');
    await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
    await writeFile(logFile, '', { mode: 0o600 });
    if (owner) for (const p of [rootDir, socketDir, pwFile, logFile]) await chown(p, owner.uid, owner.gid);
    await run('initdb', [
      `--pgdata=${dataDir}`,
      `--username=${SUPERUSER}`,
      `--pwfile=${pwFile}`,
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '--encoding=UTF8',
      '--no-locale',
      '--no-sync',
      '--no-instructions',
    ]);
    await rm(pwFile, { force: true });
    // freePort() releases the port before the server binds it: retry once if another process won it.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const conf = { listen_addresses: HOST, port, unix_socket_directories: socketDir, ...settings };
      const lines = Object.entries(conf).map(([k, v]) =>
        typeof v === 'number' ? `${k} = ${v}` : `${k} = '${v.replace(/'/g, "''")}'`,
      );
      await appendFile(
        join(dataDir, 'postgresql.conf'),
        `\n# bench/postgres-server.ts\n${lines.join('\n')}\n`,
      );
      try {
        await run('pg_ctl', [`--pgdata=${dataDir}`, `--log=${logFile}`, '--wait', '--timeout=60', 'start']);
        break;
      } catch (error) {
        const log = await readFile(logFile, 'utf8').catch(() => '');
        if (attempt === 1 && log.includes('Address already in use')) continue;
        throw new Error(
          `${errorMessage(error)}\n--- ${logFile} ---\n${log.split('\n').slice(-30).join('\n')}`,
          {
            cause: error,
          },
        );
      }
    }
  } catch (error) {
    stopAndRemoveSync(leftover);
    throw error;
  }

  const superuserUrl = `postgresql://${SUPERUSER}:${encodeURIComponent(password)}@${HOST}:${port}/postgres`;
  let stopping: Promise<void> | undefined;
  return {
    host: HOST,
    port,
    superuserUrl,
    superuserPassword: password,
    dataDir,
    psql: async (sql) => {
      const file = join(rootDir, `psql-${randomBytes(6).toString('hex')}.sql`);
      await writeFile(file, sql, { mode: 0o600 });
      if (owner) await chown(file, owner.uid, owner.gid);
      try {
        const { stdout } = await run('psql', [
          '--no-psqlrc',
          '--quiet',
          '--no-align',
          '--tuples-only',
          '--set=ON_ERROR_STOP=1',
          `--host=${socketDir}`,
          `--port=${port}`,
          `--username=${SUPERUSER}`,
          '--dbname=postgres',
          `--file=${file}`,
        ]);
        return stdout;
      } finally {
        await rm(file, { force: true });
      }
    },
    // As the bench's own user over TCP, like any client; PGPASSWORD keeps the password off the command line.
    client: (program, args, timeoutMs = 600_000) =>
      exec(
        join(PG_BIN_DIR, program),
        [`--host=${HOST}`, `--port=${port}`, `--username=${SUPERUSER}`, ...args],
        {
          env: { ...cleanEnv(), PGPASSWORD: password },
          timeout: timeoutMs,
          maxBuffer: 16 << 20,
        },
      ),
    restart: async () => {
      await run('pg_ctl', [
        `--pgdata=${dataDir}`,
        `--log=${logFile}`,
        '--mode=fast',
        '--wait',
        '--timeout=60',
        'restart',
      ]);
    },
    cpuSeconds: () => serverCpuSeconds(dataDir),
    stop: () =>
      (stopping ??= (async () => {
        try {
          await run('pg_ctl', [`--pgdata=${dataDir}`, '--mode=fast', '--wait', '--timeout=60', 'stop']);
        } catch {
          // Falls through to the immediate stop below.
        }
        stopAndRemoveSync(leftover);
      })()),
  };
}

function serverCpuSeconds(dataDir: string): number {
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return 0;
  }
  let seconds = processCpuSeconds(String(postmaster), true);
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const fields = statFields(pid);
    // fields[1] is the parent pid (stat field 4, counted after the command name).
    if (fields !== undefined && Number(fields[1]) === postmaster) seconds += processCpuSeconds(pid, false);
  }
  return seconds;
}

/**
 * utime + stime (stat fields 14, 15) and, with `reaped`, cutime + cstime (16, 17): the children it
 * has waited for, such as pgbench for this process or finished backends for the postmaster.
 */
export function processCpuSeconds(pid: string, reaped: boolean): number {
  const fields = statFields(pid);
  if (fields === undefined) return 0;
  const ticks = [11, 12, ...(reaped ? [13, 14] : [])].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
  // USER_HZ is 100 on every Linux architecture Node supports.
  return ticks / 100;
}

function statFields(pid: string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

interface Leftover {
  rootDir: string;
  dataDir: string;
  owner: Owner | undefined;
}

const leftovers = new Set<Leftover>();
let hookInstalled = false;

/** pg_ctl daemonizes the postmaster, so it outlives a bench that crashes: stop it on exit. */
function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.on('exit', () => {
    for (const leftover of leftovers) stopAndRemoveSync(leftover);
  });
  // Ctrl-C or a kill would end the process without 'exit': turn them into an exit that runs the hook.
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
}

function stopAndRemoveSync(leftover: Leftover): void {
  if (existsSync(join(leftover.dataDir, 'postmaster.pid'))) {
    try {
      execFileSync(
        join(PG_BIN_DIR, 'pg_ctl'),
        [`--pgdata=${leftover.dataDir}`, '--mode=immediate', '--wait', '--timeout=30', 'stop'],
        { ...childOptions(leftover.owner, leftover.rootDir), stdio: 'ignore' },
      );
    } catch {
      // Already stopped.
    }
  }
  rmSync(leftover.rootDir, { recursive: true, force: true });
  leftovers.delete(leftover);
}

async function serverOwner(): Promise<Owner | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const id = async (flag: string) => Number((await execFileAsync('id', [flag, SUPERUSER])).stdout.trim());
  const [uid, gid] = [await id('-u'), await id('-g')];
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new Error('running as root, and there is no `postgres` OS user to run PostgreSQL as');
  }
  return { uid, gid };
}

/** PGHOST, PGPORT… in the operator's shell would redirect the client programs. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PG')));
}

function childOptions(
  owner: Owner | undefined,
  cwd: string,
): { cwd: string; env: NodeJS.ProcessEnv; uid?: number; gid?: number } {
  // HOME=/root is unreadable for the postgres user (psql looks for ~/.pgpass there).
  return { cwd, env: { ...cleanEnv(), HOME: cwd }, ...(owner ?? {}) };
}

async function exec(
  file: string,
  args: readonly string[],
  options: ExecFileOptions,
): Promise<{ stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(file, [...args], { ...options, encoding: 'utf8' });
    return { stdout, stderr };
  } catch (error) {
    const stderr = (error as { stderr?: unknown }).stderr;
    const detail = typeof stderr === 'string' && stderr.trim() !== '' ? stderr.trim() : errorMessage(error);
    throw new Error(`\`${file} ${args.join(' ')}\` failed: ${detail}`, { cause: error });
  }
}

/** A port the kernel had free a moment ago (released before returning: callers retry once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: HOST, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close((error) => (error ? reject(error) : resolve(port)));
    });
  });
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
