import { Command, CommanderError } from 'commander';
import { expect, it, vi } from 'vitest';
import { registerLoadgenCommand } from '../../src/cli/loadgen.js';
import { LOAD_KINDS, type LoadSummary } from '../../src/collect/loadgen/driver.js';
import { freePort } from '../harness/free-port.js';
import { total } from './loadgen-run.js';

/** A program like main.ts builds, with commander's exits turned into thrown CommanderErrors. */
export function loadgenProgram(): { program: Command; output: () => string } {
  let output = '';
  const root = new Command('sightline')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => {
        output += text;
      },
      writeErr: (text) => {
        output += text;
      },
    })
    .showHelpAfterError('(run with --help for usage)');
  registerLoadgenCommand(root);
  return { program: root, output: () => output };
}

/** Runs `sightline loadgen <engine> ...args` on a program from loadgenProgram(). */
export function runLoadgen(command: Command, engine: 'postgres' | 'mysql', args: string[]): Promise<Command> {
  return command.parseAsync(['node', 'sightline', 'loadgen', engine, ...args]);
}

/** Captures what the command writes to the real stdout and stderr (undone by vi.restoreAllMocks). */
export function captureStdio(): { stdout: () => string; stderr: () => string } {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  return { stdout: () => stdout, stderr: () => stderr };
}

/**
 * Runs `sightline loadgen <engine> ...args` to the end, as main.ts would, and returns the exit code it
 * set and what it wrote (the capture is undone by vi.restoreAllMocks).
 */
export async function runLoadgenCli(
  engine: 'postgres' | 'mysql',
  args: string[],
): Promise<{ exitCode: typeof process.exitCode; stdout: string; stderr: string }> {
  const stdio = captureStdio();
  const { program } = loadgenProgram();
  await runLoadgen(program, engine, args);
  return { exitCode: process.exitCode, stdout: stdio.stdout(), stderr: stdio.stderr() };
}

/**
 * Registers, in the current describe, a run of `sightline loadgen <engine>` against the server at
 * `url` (read when the test runs, after the server started), where earlier tests left a schema of
 * 2,000 accounts: progress on stderr, the JSON summary on stdout, exit code 0.
 */
export function checkCliRun(
  engine: 'postgres' | 'mysql',
  schemaNoun: 'schema' | 'database',
  url: () => string,
): void {
  it(`sightline loadgen ${engine} prints progress on stderr and the JSON summary on stdout, exit code 0`, async () => {
    const run = await runLoadgenCli(engine, [
      '--url',
      url(),
      '--duration',
      '2',
      '--rate',
      '20',
      '--scale',
      '1000',
    ]);
    expect(run.exitCode).toBe(0);
    const summary = JSON.parse(run.stdout) as LoadSummary;
    expect(Object.keys(summary)).toEqual([
      'durationS',
      'statements',
      'errors',
      'rate',
      'skipped',
      'unexpectedErrors',
    ]);
    expect(total(summary) + summary.skipped).toBe(40);
    expect(summary.unexpectedErrors).toBe(0);
    expect(run.stderr).toMatch(
      new RegExp(`^loadgen: ${schemaNoun} sightline_loadgen reused \\(2000 accounts\\)`, 'm'),
    );
    expect(run.stderr).toMatch(
      /^loadgen 1s {2}point \d+ scan \d+ write \d+ lock \d+ error \d+ idle \d+ {2}errors \d+ {2}skipped \d+ {2}rate [\d.]+\/s$/m,
    );
  });
}

/** The flag checks of one engine: what differs between `sightline loadgen postgres` and `mysql`. */
export interface CliFlagChecks {
  /** Flags commander rejects: the arguments, commander's error code and the message. */
  usageErrors: [args: string[], code: string, message: RegExp][];
  /** Flags loadgen rejects before connecting: the arguments and what stderr says. */
  refusedOptions: [args: string[], message: string][];
  /** A URL of this engine for 127.0.0.1:`port`, and the server its message names. */
  nothingListens: { url: (port: number) => string; server: string };
  /** What --help says besides every flag and kind. */
  help: string[];
}

/** Registers, in the current describe, the flag checks of `sightline loadgen <engine>`; none needs a server. */
export function checkCliFlags(engine: 'postgres' | 'mysql', checks: CliFlagChecks): void {
  it.each(checks.usageErrors)('rejects %j with exit code 2', async (args, code, message) => {
    vi.stubEnv('SIGHTLINE_LOADGEN_URL', undefined);
    const { program: root, output } = loadgenProgram();
    const error = await runLoadgen(root, engine, args).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CommanderError);
    expect(error).toMatchObject({ exitCode: 2, code });
    expect(output()).toMatch(message);
    expect(output()).toContain('(run with --help for usage)');
    vi.unstubAllEnvs();
  });

  it.each(checks.refusedOptions)('rejects %j with exit code 2 before connecting', async (args, message) => {
    const run = await runLoadgenCli(engine, args);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain(message);
  });

  it('exits 5 naming the host and port when nothing listens there', async () => {
    const port = await freePort();
    const run = await runLoadgenCli(engine, ['--url', checks.nothingListens.url(port), '--duration', '1']);
    expect(run.exitCode).toBe(5);
    expect(run.stderr).toContain(
      `sightline loadgen: cannot connect to ${checks.nothingListens.server} at 127.0.0.1:${port}: connection refused`,
    );
    expect(run.stdout).toBe('');
  });

  it('documents every option, every kind, the exit codes and examples in --help', async () => {
    const { program: root, output } = loadgenProgram();
    await expect(runLoadgen(root, engine, ['--help'])).rejects.toMatchObject({
      exitCode: 0,
      code: 'commander.helpDisplayed',
    });
    const help = output();
    for (const flag of [
      '--url',
      '--schema',
      '--scale',
      '--rate',
      '--duration',
      '--connections',
      '--mix',
      '--reset',
      '--quiet',
    ]) {
      expect(help).toContain(flag);
    }
    for (const kind of LOAD_KINDS) expect(help).toMatch(new RegExp(`^ {2}${kind} +\\S`, 'm'));
    for (const text of ['2 invalid flags', 'Examples:', 'SIGHTLINE_LOADGEN_URL', ...checks.help]) {
      expect(help).toContain(text);
    }
  });
}
