import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/**
 * A server the tests run as a child process (an exporter, Prometheus): its output kept to explain
 * a failure, killed on exit if a test forgets to stop it.
 */
export interface SpawnedChild {
  process: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

export function spawnKept(binary: string, args: readonly string[], env?: NodeJS.ProcessEnv): SpawnedChild {
  const options: SpawnOptions = { stdio: ['ignore', 'pipe', 'pipe'], ...(env === undefined ? {} : { env }) };
  const child = spawn(binary, args, options);
  track(child);
  let output = '';
  const keep = (chunk: Buffer): void => {
    // Enough to explain a failure without growing for the life of a long test.
    output = (output + chunk.toString('utf8')).slice(-64 * 1024);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
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

/** Polls `url` until it answers 2xx; fails when the child exits first or does not answer in time. */
export async function waitUntilAnswering(child: SpawnedChild, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void child.exited.then((code) => (exitCode = code));
  for (;;) {
    if (exitCode !== undefined) throw new Error(`it exited with code ${exitCode} before answering`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`no answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  running.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const leftover of running) leftover.kill('SIGKILL');
    });
  }
}

/** The end of a child's output, for a failure message. */
export function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n') || '(no output)';
}
