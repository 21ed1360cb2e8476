import { spawnKept, stopChild, tail, waitUntilAnswering, type SpawnedChild } from './child-process.js';
import { freePort } from './free-port.js';

/**
 * A Prometheus exporter (postgres_exporter, mysqld_exporter) as a child process of the tests,
 * started with a data source in its environment (child-process.ts keeps its output and kills it
 * on exit if a test forgets to stop it).
 */
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
      await waitUntilAnswering(child, `http://${HOST}:${port}/`, READY_TIMEOUT_MS);
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

function spawnExporter(command: ExporterCommand, port: number): SpawnedChild {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!command.dropEnv(key) && !key.startsWith('DATA_SOURCE_')) env[key] = value;
  }
  env.DATA_SOURCE_NAME = command.dataSourceName;
  return spawnKept(
    command.binary,
    [`--web.listen-address=${HOST}:${port}`, '--log.level=warn', ...command.args],
    env,
  );
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
