import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort } from './free-port.js';

/** Where Debian's `prometheus-mysqld-exporter` package puts it; overridable for other installs. */
const EXPORTER_BIN = process.env.SIGHTLINE_TEST_MYSQLD_EXPORTER ?? '/usr/bin/prometheus-mysqld-exporter';
const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 15_000;

export const MYSQLD_EXPORTER_INSTALL_HINT =
  'run `bash .ci/run` or `apt-get install prometheus-mysqld-exporter` ' +
  `(or set SIGHTLINE_TEST_MYSQLD_EXPORTER to the binary; looked for ${EXPORTER_BIN})`;

export interface MysqldExporterInstance {
  /** http://127.0.0.1:<port>/metrics */
  url: string;
  port: number;
  /** One scrape: the Prometheus text exposition, as a Prometheus server would receive it. */
  scrape(): Promise<string>;
  /** SIGTERM, then SIGKILL after 5 s. Idempotent. */
  stop(): Promise<void>;
}

export interface StartMysqldExporterOptions {
  /** The MySQL or MariaDB to watch (a harness instance fits): reached over TCP. */
  server: { host: string; port: number };
  user: string;
  /** Goes into the exporter's DSN as is: keep it to letters, digits and `-`. */
  password: string;
}

export function mysqldExporterAvailable(): boolean {
  return existsSync(EXPORTER_BIN);
}

/**
 * Runs prometheus-mysqld-exporter (Debian 0.14, its default collectors) on a free loopback port
 * against one server, as an operator would beside it, and resolves once /metrics answers. The
 * exporter connects on each scrape, so a wrong password shows in the scrape (mysql_up 0).
 */
export async function startMysqldExporter(
  options: StartMysqldExporterOptions,
): Promise<MysqldExporterInstance> {
  if (!mysqldExporterAvailable()) {
    throw new Error(`prometheus-mysqld-exporter was not found; ${MYSQLD_EXPORTER_INSTALL_HINT}`);
  }
  if (!/^[A-Za-z0-9_-]*$/.test(options.password)) {
    throw new Error('the mysqld-exporter harness takes passwords of letters, digits, - and _ only');
  }
  // go-sql-driver DSN: user:password@tcp(host:port)/
  const dataSourceName = `${options.user}:${options.password}@tcp(${options.server.host}:${options.server.port})/`;

  // freePort() releases the port before the exporter binds it, so another process can win the race.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort(HOST);
    const child = spawnExporter(dataSourceName, port);
    const url = `http://${HOST}:${port}/metrics`;
    try {
      await waitUntilServing(child, url);
    } catch (error) {
      await stopChild(child.process);
      if (attempt === 1 && child.output().includes('address already in use')) continue;
      throw new Error(
        `prometheus-mysqld-exporter did not serve ${url}: ${errorMessage(error)}\n--- its output ---\n${tail(child.output())}`,
        { cause: error },
      );
    }
    let stopping: Promise<void> | undefined;
    return {
      url,
      port,
      scrape: async () => {
        const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
        if (!response.ok) throw new Error(`GET ${url} answered ${response.status}: ${await response.text()}`);
        return response.text();
      },
      stop: () => (stopping ??= stopChild(child.process)),
    };
  }
}

interface SpawnedExporter {
  process: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function spawnExporter(dataSourceName: string, port: number): SpawnedExporter {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    // MYSQL_* and DATA_SOURCE_* in a developer's shell would change what the exporter reaches.
    if (!key.startsWith('MYSQL') && !key.startsWith('DATA_SOURCE_')) env[key] = value;
  }
  env.DATA_SOURCE_NAME = dataSourceName;
  const args = [`--web.listen-address=${HOST}:${port}`, '--log.level=warn'];
  const child = spawn(EXPORTER_BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  let output = '';
  const keep = (chunk: Buffer): void => {
    // Enough to explain a failure without growing for the life of a long test.
    output = (output + chunk.toString('utf8')).slice(-64 * 1024);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    });
    child.once('error', (error) => {
      keep(Buffer.from(`spawn failed: ${error.message}\n`));
      running.delete(child);
      resolve(null);
    });
  });
  return { process: child, output: () => output, exited };
}

async function waitUntilServing(child: SpawnedExporter, url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exitCode: number | null | undefined;
  void child.exited.then((code) => (exitCode = code));
  for (;;) {
    if (exitCode !== undefined) throw new Error(`it exited with code ${exitCode} before serving`);
    try {
      // The root page answers without touching the database; /metrics would scrape it.
      const response = await fetch(url.replace(/\/metrics$/, '/'), { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`no answer within ${READY_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A child process outlives a test process that crashes or forgets afterAll: kill it on exit. */
function track(child: ChildProcess): void {
  running.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const leftover of running) leftover.kill('SIGKILL');
    });
  }
}

function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n') || '(no output)';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
