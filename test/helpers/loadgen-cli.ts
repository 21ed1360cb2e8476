import { Command } from 'commander';
import { vi } from 'vitest';
import { registerLoadgenCommand } from '../../src/cli/loadgen.js';
import { LOAD_KINDS, type LoadSummary } from '../../src/collect/loadgen/driver.js';

/** Operations a load run made, over every kind. */
export function total(summary: LoadSummary): number {
  return LOAD_KINDS.reduce((sum, kind) => sum + summary.statements[kind], 0);
}

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
