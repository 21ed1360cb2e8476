import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The built CLI; `npm test` builds before running the suite. */
export const CLI = resolve(import.meta.dirname, '../../dist/src/cli/main.js');

export interface SightlineProcess {
  child: ChildProcess;
  dataDir: string;
  /** Empty when the process runs no gateway role (`--role`). */
  ingestUrl: string;
  /** Empty when the process runs no api role. */
  apiUrl: string;
  /** The ops port of a process without the api role (/healthz, /readyz, /metrics); else empty. */
  opsUrl: string;
  key: string;
  /** The owner registered with --bootstrap-email/--bootstrap-password (or printed on first start): sign in with it. */
  user: TestUser;
  stdout(): string;
  stderr(): string;
  /** Resident set size of the server now, and its peak, in bytes (from /proc). */
  memory(): { rss: number; peak: number };
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Removes the data dir (after stop), unless the test wants to reuse it. */
  cleanup(): void;
}

export interface StartOptions {
  dataDir?: string;
  /**
   * A bootstrap key to start with. `'printed'` starts without one and reads the key printed
   * on first start; `'existing'` starts without one on a data dir that has keys already.
   */
  key?: string;
  /**
   * The owner to sign in with, passed as --bootstrap-email and --bootstrap-password (created on
   * start unless that email exists). Default a generated one (`testUser()`); `'printed'` passes
   * neither flag and reads the password printed on first start (email admin@localhost).
   */
  user?: TestUser | 'printed';
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Node binary to run the CLI with (CI runs the end-to-end tests on Node 24 too). */
  node?: string;
}

export function newDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'sightline-e2e-'));
}

export interface TestUser {
  email: string;
  password: string;
}

let userCounter = 0;
/** A fresh owner for a test server: unique email, a password long enough. */
export function testUser(): TestUser {
  userCounter++;
  return {
    email: `owner${process.pid}x${userCounter}@e2e.test`,
    password: `e2e-password-${process.pid}-${userCounter}`,
  };
}

let keyCounter = 0;
export function testKey(): string {
  keyCounter++;
  return `sl_e2e${process.pid}x${keyCounter}${'k'.repeat(16)}`;
}

/**
 * Starts `sightline start` as a child process on free ports (port 0) and waits until it
 * prints its addresses. Fails with the child's output if it exits first.
 */
export async function startSightlineProcess(options: StartOptions = {}): Promise<SightlineProcess> {
  const dataDir = options.dataDir ?? newDataDir();
  const bootstrapKey =
    options.key === 'printed' || options.key === 'existing' ? undefined : (options.key ?? testKey());
  const bootstrapUser = options.user === 'printed' ? undefined : (options.user ?? testUser());
  const child = spawn(
    options.node ?? process.execPath,
    [
      CLI,
      'start',
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--ingest-port',
      '0',
      ...(bootstrapKey === undefined ? [] : ['--bootstrap-key', bootstrapKey]),
      ...(bootstrapUser === undefined
        ? []
        : ['--bootstrap-email', bootstrapUser.email, '--bootstrap-password', bootstrapUser.password]),
      '--log-level',
      'warn',
      ...(options.args ?? []),
    ],
    { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));

  const addresses = await new Promise<{ ingestUrl: string; apiUrl: string; opsUrl: string }>((done, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`sightline did not start in 30 s.\nstdout:\n${out}\nstderr:\n${err}`)),
      30_000,
    );
    // The banner ends with this line once every role of the process runs; roles it lacks have no address line.
    const check = (): void => {
      if (!out.includes('Press Ctrl+C to stop.')) return;
      clearTimeout(timer);
      done({
        ingestUrl: /OTLP ingest\s+(http:\/\/\S+)/.exec(out)?.[1] ?? '',
        apiUrl: /UI and API\s+(http:\/\/\S+)/.exec(out)?.[1] ?? '',
        opsUrl: /Health\s+(http:\/\/\S+)/.exec(out)?.[1] ?? '',
      });
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      fail(
        new Error(
          `sightline exited with ${String(code)} before listening.\nstdout:\n${out}\nstderr:\n${err}`,
        ),
      );
    });
  });

  const key = options.key === 'existing' ? '' : (bootstrapKey ?? /^\s+(sl_\S+)$/m.exec(out)?.[1]);
  if (key === undefined) throw new Error(`sightline printed no API key on first start.\nstdout:\n${out}`);
  const printedUser = /Created the owner (\S+) to sign in[\s\S]*?^\s+password: (\S+)$/m.exec(out);
  const user =
    bootstrapUser ??
    (printedUser?.[1] === undefined || printedUser[2] === undefined
      ? undefined
      : { email: printedUser[1], password: printedUser[2] });
  if (user === undefined)
    throw new Error(`sightline printed no owner password on first start.\nstdout:\n${out}`);
  return {
    child,
    dataDir,
    key,
    user,
    ...addresses,
    stdout: () => out,
    stderr: () => err,
    memory: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = (field: string): number =>
        Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
      return { rss: kb('VmRSS'), peak: kb('VmHWM') };
    },
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    cleanup: () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

/** Runs the CLI to completion (for --help, version, and start-up failures). */
export async function runCli(
  args: string[],
  options: {
    env?: NodeJS.ProcessEnv;
    timeoutMs?: number;
    /** Written to stdin, which is then closed. */ input?: string;
  } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...options.env },
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const code = await new Promise<number | null>((done) => child.once('exit', (c) => done(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}
