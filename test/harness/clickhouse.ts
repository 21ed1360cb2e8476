import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.js';

/**
 * The server the harness runs: Debian bookworm's `clickhouse-server` (18.16) by default; set
 * SIGHTLINE_TEST_CLICKHOUSE_SERVER to another `clickhouse-server` (or the single `clickhouse`
 * binary of a current release, run as `clickhouse server`) to test a newer version.
 */
const SERVER_BIN = process.env.SIGHTLINE_TEST_CLICKHOUSE_SERVER ?? '/usr/sbin/clickhouse-server';

export const CLICKHOUSE_INSTALL_HINT =
  'run `bash .ci/run` or `apt-get install clickhouse-server clickhouse-client` ' +
  `(or set SIGHTLINE_TEST_CLICKHOUSE_SERVER to a clickhouse-server binary; looked for ${SERVER_BIN})`;

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

export function clickhouseAvailable(): boolean {
  return existsSync(SERVER_BIN);
}

/** A private ClickHouse server on free loopback ports, its files in one temp directory. */
export interface ClickhouseInstance {
  /** `http://127.0.0.1:<http_port>`, for @clickhouse/client. */
  url: string;
  httpPort: number;
  tcpPort: number;
  /** `SELECT version()`, e.g. `18.16.1`. */
  version: string;
  /** The temp directory with config.xml, users.xml, the data and the logs. */
  dir: string;
  /** How long the last start took, from spawning the server to answering `/ping`. */
  startMs: number;
  /** Runs one statement over HTTP and returns the response body (`FORMAT …` decides its shape). */
  query(sql: string): Promise<string>;
  /** The server's own output plus the end of its log files (for failure messages). */
  output(): string;
  /** SIGKILL, keeping the data: an outage as a crash causes it. Idempotent. */
  kill(): Promise<void>;
  /** Stops the server if it runs (SIGTERM) and starts it again on the same directory and ports. */
  restart(): Promise<void>;
  /** SIGTERM (SIGKILL after 15 s), then removes the directory. Idempotent. */
  stop(): Promise<void>;
}

interface RunningServer {
  process: ChildProcess;
  exited: Promise<void>;
}

/**
 * Writes a minimal config into a temp dir and runs `clickhouse-server --config-file` on it,
 * resolving once `/ping` answers. Never touches the system service or /var/lib/clickhouse.
 */
export async function startClickhouse(): Promise<ClickhouseInstance> {
  if (!clickhouseAvailable()) throw new Error(`ClickHouse was not found; ${CLICKHOUSE_INSTALL_HINT}`);
  const dir = await mkdtemp(join(tmpdir(), 'sightline-clickhouse-'));
  track(dir);
  const configFile = join(dir, 'config.xml');
  const serverLog = join(dir, 'server.log');
  const errorLog = join(dir, 'server.err.log');
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-64 * 1024);
  };
  const allOutput = (): string =>
    `${output}\n--- end of ${errorLog} ---\n${tailOf(errorLog)}\n--- end of ${serverLog} ---\n${tailOf(serverLog, 30)}`;

  let server: RunningServer | undefined;
  let httpPort = 0;
  let tcpPort = 0;
  let startMs = 0;
  const launch = async (): Promise<void> => {
    const started = Date.now();
    server = spawnServer(configFile, dir, keep);
    await waitUntilReady(server, httpPort);
    startMs = Date.now() - started;
  };

  try {
    await mkdir(join(dir, 'data'));
    await mkdir(join(dir, 'tmp'));
    await writeFile(join(dir, 'users.xml'), usersXml());
    // freePort() releases the port before the server binds it, so another process can win the race.
    for (let attempt = 1; ; attempt++) {
      httpPort = await freePort(HOST);
      tcpPort = await freePort(HOST);
      await writeFile(configFile, configXml(dir, httpPort, tcpPort));
      try {
        await launch();
        break;
      } catch (error) {
        if (server !== undefined) await stopServer(server, 'SIGKILL');
        if (attempt === 1 && /Address already in use/.test(allOutput())) continue;
        throw new Error(
          `ClickHouse did not get ready on ${HOST}:${httpPort}: ${errorMessage(error)}\n--- its output ---\n${allOutput()}`,
          { cause: error },
        );
      }
    }
  } catch (error) {
    await removeDir(dir);
    throw error;
  }

  const query = (sql: string) => httpQuery(httpPort, sql);
  const version = (await query('SELECT version()')).trim();
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${HOST}:${httpPort}`,
    httpPort,
    tcpPort,
    version,
    dir,
    get startMs() {
      return startMs;
    },
    query,
    output: allOutput,
    kill: async () => {
      if (server !== undefined) await stopServer(server, 'SIGKILL');
    },
    restart: async () => {
      if (server !== undefined) await stopServer(server, 'SIGTERM');
      try {
        await launch();
      } catch (error) {
        if (server !== undefined) await stopServer(server, 'SIGKILL');
        throw new Error(
          `ClickHouse did not get ready again on ${HOST}:${httpPort}: ${errorMessage(error)}\n--- its output ---\n${allOutput()}`,
          { cause: error },
        );
      }
    },
    stop: () =>
      (stopping ??= (async () => {
        if (server !== undefined) await stopServer(server, 'SIGTERM');
        await removeDir(dir);
      })()),
  };
}

/**
 * `<yandex>` is the root element 18.16 knows; current releases still accept it. Settings an
 * older server does not know are ignored by newer ones and vice versa, so only keys both read
 * are here. Caches are small: test servers share two cores and little memory with others.
 */
function configXml(dir: string, httpPort: number, tcpPort: number): string {
  return `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>information</level>
    <log>${join(dir, 'server.log')}</log>
    <errorlog>${join(dir, 'server.err.log')}</errorlog>
    <size>10M</size>
    <count>1</count>
  </logger>
  <listen_host>${HOST}</listen_host>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <path>${join(dir, 'data')}/</path>
  <tmp_path>${join(dir, 'tmp')}/</tmp_path>
  <user_files_path>${join(dir, 'user_files')}/</user_files_path>
  <format_schema_path>${join(dir, 'format_schemas')}/</format_schema_path>
  <users_config>${join(dir, 'users.xml')}</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
  <max_server_memory_usage>2147483648</max_server_memory_usage>
  <builtin_dictionaries_reload_interval>0</builtin_dictionaries_reload_interval>
  <background_pool_size>4</background_pool_size>
  <shutdown_wait_unfinished>2</shutdown_wait_unfinished>
</yandex>
`;
}

/** The default user, no password, reachable from loopback only; 1 GiB per query. */
function usersXml(): string {
  return `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>1073741824</max_memory_usage>
      <max_threads>2</max_threads>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks>
        <ip>127.0.0.1</ip>
      </networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default></default>
  </quotas>
</yandex>
`;
}

function spawnServer(configFile: string, dir: string, keep: (chunk: Buffer) => void): RunningServer {
  const child = spawn(SERVER_BIN, [`--config-file=${configFile}`], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackProcess(child);
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  void exited.then(() => running.delete(child));
  return { process: child, exited };
}

/** Ready means `/ping` answers `Ok.`: the HTTP listener is up and the tables are loaded. */
async function waitUntilReady(server: RunningServer, httpPort: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited = false;
  void server.exited.then(() => (exited = true));
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`the server exited with code ${String(server.process.exitCode)}`);
    try {
      const { status, body } = await httpRequest(httpPort, 'GET', '/ping', '');
      if (status === 200 && body.startsWith('Ok')) return;
      lastError = new Error(`/ping answered ${status}`);
    } catch (error) {
      lastError = error;
    }
    await sleep(50);
  }
  throw new Error(
    `no /ping answer within ${READY_TIMEOUT_MS / 1000} s (last error: ${errorMessage(lastError)})`,
  );
}

async function httpQuery(httpPort: number, sql: string): Promise<string> {
  const { status, body } = await httpRequest(httpPort, 'POST', '/', sql);
  if (status !== 200) throw new Error(`ClickHouse answered ${status} to ${sql.slice(0, 200)}: ${body}`);
  return body;
}

/**
 * One request on its own connection (`Connection: close`, no agent): a kept-alive idle
 * connection makes the server wait its shutdown_wait_unfinished (5 s) before it exits.
 */
function httpRequest(
  httpPort: number,
  method: 'GET' | 'POST',
  path: string,
  body: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: HOST,
        port: httpPort,
        method,
        path,
        agent: false,
        headers: { connection: 'close' },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${HOST}:${httpPort}${path} in 30 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function stopServer(server: RunningServer, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  const { process: child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timedOut = await Promise.race([
    server.exited.then(() => false),
    sleep(STOP_TIMEOUT_MS).then(() => true),
  ]);
  if (timedOut) {
    child.kill('SIGKILL');
    await server.exited;
  }
}

const running = new Set<ChildProcess>();
const dirs = new Set<string>();
let exitHookInstalled = false;

async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

/** A test that crashes or forgets afterAll must not leave a server or its files behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const leftover of running) leftover.kill('SIGKILL');
    for (const dir of dirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // Leaving a temp directory behind is better than skipping the other leftovers.
      }
    }
  });
}

function trackProcess(child: ChildProcess): void {
  running.add(child);
  installExitHook();
}

function track(dir: string): void {
  dirs.add(dir);
  installExitHook();
}

function tailOf(path: string, lines = 60): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(none)';
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
