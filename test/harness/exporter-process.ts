import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './free-port.js';

/**
 * A Prometheus exporter (postgres_exporter, mysqld_exporter) as a child process of the tests:
 * started with a data source in its environment, its output kept to explain a failure, killed
 * on exit if a test forgets to stop it.
 */
interface SpawnedExporter {
  process: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

export interface ExporterCommand {
  /** For messages: `prometheus-postgres-exporter`. */
  name: string;
  binary: string;
  /** Arguments beside the listen address and the log level. */
  args: readonly string[];
  dataSourceName: string;
  /** Environment variables of the developer's shell that would change what the exporter reaches. */
  dropEnv: (name: string) => boolean;
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 15_000;

/** A running exporter: its /metrics URL, a scrape, and a stop that is safe to call twice. */
export interface ExporterInstance {
  url: string;
  port: number;
  /** GET /metrics: one scrape, which queries the database. */
  scrape(): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the exporter on a free loopback port and waits until it serves (its root page, which does not scrape). */
export async function startExporterProcess(command: ExporterCommand): Promise<ExporterInstance> {
  // freePort() releases the port before the exporter binds it, so another process can win the race.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort(HOST);
    const child = spawnExporter(command, port);
    const url = `http://${HOST}:${port}/metrics`;
    try {
      await waitUntilServing(child, `http://${HOST}:${port}/`);
    } catch (error) {
      await stopChild(child.process);
      if (attempt === 1 && child.output().includes('address already in use')) continue;
      throw new Error(
        `${command.name} did not serve ${url}: ${errorMessage(error)}\n--- its output ---\n${tail(child.output())}`,
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

function spawnExporter(command: ExporterCommand, port: number): SpawnedExporter {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!command.dropEnv(key) && !key.startsWith('DATA_SOURCE_')) env[key] = value;
  }
  env.DATA_SOURCE_NAME = command.dataSourceName;
  const args = [`--web.listen-address=${HOST}:${port}`, '--log.level=warn', ...command.args];
  const child = spawn(command.binary, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
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

/** Polls `url` until it answers 2xx; fails when the exporter exits first or does not answer in time. */
async function waitUntilServing(child: SpawnedExporter, url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exitCode: number | null | undefined;
  void child.exited.then((code) => (exitCode = code));
  for (;;) {
    if (exitCode !== undefined) throw new Error(`it exited with code ${exitCode} before serving`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
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
