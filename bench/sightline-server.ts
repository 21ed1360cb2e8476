import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The built CLI, next to this file once both are compiled into dist/. */
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

export interface ServerOptions {
  dataDir: string;
  apiKey: string;
  /** Where to write a V8 CPU profile of the server, if anywhere. */
  cpuProfileDir?: string;
  /** Extra node flags for the server, for experiments such as --max-semi-space-size. */
  nodeFlags?: readonly string[];
  /** Extra `sightline start` arguments (`--config`, `--role`, …). */
  args?: readonly string[];
}

export interface RunningServer {
  pid: number;
  /** Empty when the server runs no gateway role. */
  ingestUrl: string;
  /** Empty when the server runs no api role. */
  apiUrl: string;
  /** /healthz, /readyz and /metrics of a server without the api role; else empty. */
  opsUrl: string;
  /** SIGTERM, then waits for a clean exit; resolves with the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
  /** Ends the process without waiting for it, for error paths. */
  kill(): void;
}

/**
 * Runs `sightline start` as a child process, the way an operator would, and finds its ports
 * in the banner (it listens on port 0, so the kernel picks free ones). Its output goes to
 * our stderr, since our stdout carries only results.
 */
export function startServer(options: ServerOptions, startTimeoutMs = 30_000): Promise<RunningServer> {
  const nodeFlags = [
    ...(options.nodeFlags ?? []),
    ...(options.cpuProfileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir]),
  ];
  const child = spawn(
    process.execPath,
    [
      ...nodeFlags,
      CLI,
      'start',
      ['--data-dir', options.dataDir],
      ['--port', '0', '--ingest-port', '0'],
      ['--bootstrap-key', options.apiKey, '--log-level', 'warn'],
      [...(options.args ?? [])],
    ].flat(),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise<RunningServer>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sightline start printed no URLs within ${startTimeoutMs} ms`));
    }, startTimeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`sightline start exited with code ${code} before it was ready`));
    });
    void bannerUrls(child).then((urls) => {
      clearTimeout(timer);
      resolve({
        pid: child.pid ?? 0,
        ...urls,
        stop: (ms) => stop(child, exited, ms),
        kill: () => child.kill('SIGKILL'),
      });
    });
  });
}

/**
 * Forwards the child's output and resolves once the banner is complete (cli/start.ts printBanner
 * ends it with "Press Ctrl+C to stop."), with the URLs of the roles the server runs.
 */
function bannerUrls(child: ChildProcess): Promise<{ ingestUrl: string; apiUrl: string; opsUrl: string }> {
  const forward = (line: string): boolean => process.stderr.write(`[server] ${line}\n`);
  if (child.stderr !== null) createInterface({ input: child.stderr }).on('line', forward);
  return new Promise((resolve) => {
    if (child.stdout === null) return;
    let ingestUrl: string | undefined;
    let apiUrl: string | undefined;
    let opsUrl: string | undefined;
    createInterface({ input: child.stdout }).on('line', (line) => {
      forward(line);
      ingestUrl ??= /^\s*OTLP ingest\s+(http\S+)/.exec(line)?.[1];
      apiUrl ??= /^\s*UI and API\s+(http\S+)/.exec(line)?.[1];
      opsUrl ??= /^\s*Health\s+(http\S+)/.exec(line)?.[1];
      if (line.includes('Press Ctrl+C to stop.'))
        resolve({ ingestUrl: ingestUrl ?? '', apiUrl: apiUrl ?? '', opsUrl: opsUrl ?? '' });
    });
  });
}

async function stop(
  child: ChildProcess,
  exited: Promise<number | null>,
  timeoutMs = 60_000,
): Promise<number | null> {
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>(
    (resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)),
  );
  const outcome = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  if (outcome !== 'timeout') return outcome;
  child.kill('SIGKILL');
  throw new Error(`sightline did not exit within ${timeoutMs} ms of SIGTERM; killed it`);
}
