import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort } from './postgres-server.js';

export const EXPORTER_BIN = process.env.BENCH_PG_EXPORTER ?? '/usr/bin/prometheus-postgres-exporter';

export interface BenchExporter {
  /** One scrape; resolves with the exposition text. */
  scrape(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * prometheus-postgres-exporter on a free loopback port, resolved once /metrics answers; a compact
 * cousin of test/harness/postgres-exporter.ts (which dist/bench cannot include). Killed on exit.
 */
export async function startBenchExporter(options: {
  dataSourceName: string;
  queriesFile?: string;
}): Promise<BenchExporter> {
  if (!existsSync(EXPORTER_BIN)) {
    throw new Error(
      `${EXPORTER_BIN} not found: apt-get install prometheus-postgres-exporter, or set BENCH_PG_EXPORTER`,
    );
  }
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/metrics`;
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !key.startsWith('PG') && !key.startsWith('DATA_SOURCE_')),
    );
    const args = [`--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'];
    if (options.queriesFile !== undefined) args.push(`--extend.query-path=${options.queriesFile}`);
    const child = spawn(EXPORTER_BIN, args, {
      env: { ...env, DATA_SOURCE_NAME: options.dataSourceName },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.add(child);
    installExitHook();
    let output = '';
    child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-16_384)));
    child.once('exit', () => children.delete(child));
    const stop = () => stopChild(child);
    try {
      await waitForAnswer(url, child);
    } catch (error) {
      await stop();
      if (attempt === 1 && output.includes('address already in use')) continue;
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${output}`, {
        cause: error,
      });
    }
    return {
      scrape: async () => {
        const response = await fetch(url, { signal: AbortSignal.timeout(60_000) });
        const text = await response.text();
        if (!response.ok) throw new Error(`GET ${url} answered ${response.status}: ${text}`);
        return text;
      },
      stop,
    };
  }
}

async function waitForAnswer(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`prometheus-postgres-exporter exited with code ${child.exitCode}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline)
      throw new Error(`prometheus-postgres-exporter did not answer on ${url} within 15 s`);
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

const children = new Set<ChildProcess>();
let hookInstalled = false;

function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.on('exit', () => {
    for (const child of children) child.kill('SIGKILL');
  });
}
