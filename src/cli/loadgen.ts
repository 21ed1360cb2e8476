import { Command, InvalidArgumentError, Option } from 'commander';
import {
  DEFAULTS,
  DEFAULT_MIX,
  KIND_DESCRIPTIONS,
  LIMITS,
  LOAD_KINDS,
  UNUSED_INDEX,
  APPLICATION_NAME,
  estimateBusyConnections,
  formatMix,
  isLoadgenError,
  parseMix,
  runLoad,
  type LoadMix,
  type LoadOptions,
  type LoadProgress,
  type LoadSummary,
  type LoadgenErrorCode,
} from '../collect/postgres/loadgen.js';

/** Exit codes of `sightline loadgen postgres`; listed in its --help. */
export const LOADGEN_EXIT_CODES: Record<LoadgenErrorCode, number> = {
  SL_ERR_LOADGEN_OPTIONS: 2,
  SL_ERR_LOADGEN_SCHEMA: 1,
  SL_ERR_LOADGEN_SCHEMA_NOT_OURS: 2,
  SL_ERR_LOADGEN_CONNECT: 5,
  SL_ERR_LOADGEN_CONNECTION_LOST: 5,
};
const EXIT_BAD_FLAGS = 2;

/**
 * Commander exits with 1 on a usage error; loadgen documents 2 (bad flags) so a script can tell
 * a typo from a failed run. Every usage error goes through error(), and exitOverride still applies.
 */
class LoadgenCommand extends Command {
  override createCommand(name?: string): Command {
    return new LoadgenCommand(name);
  }

  override error(message: string, errorOptions?: { code?: string; exitCode?: number }): never {
    const usage = errorOptions?.code?.startsWith('commander.') ?? false;
    return super.error(message, usage ? { ...errorOptions, exitCode: EXIT_BAD_FLAGS } : errorOptions);
  }
}

interface LoadgenFlags {
  url: string;
  schema: string;
  scale: number;
  rate: number;
  duration?: number;
  connections: number;
  mix: LoadMix;
  reset?: boolean;
  quiet?: boolean;
}

export function registerLoadgenCommand(program: Command): void {
  const loadgen = new LoadgenCommand('loadgen')
    .description('generate database load for demos and tests')
    .copyInheritedSettings(program);
  program.addCommand(loadgen);

  const kindHelp = LOAD_KINDS.map(
    (kind) => `  ${kind.padEnd(6)} ${wrap(KIND_DESCRIPTIONS[kind], 88, 9)}`,
  ).join('\n');
  loadgen
    .command('postgres')
    .description(
      'run a steady mix of statements against PostgreSQL: fast reads, slow scans, writes, blocked ' +
        'sessions, errors and idle-in-transaction sessions',
    )
    .addOption(
      new Option('--url <url>', 'postgresql://user:password@host:port/database to connect to')
        .env('SIGHTLINE_LOADGEN_URL')
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--schema <name>', 'schema loadgen creates and works in')
        .default(DEFAULTS.schema)
        .argParser(schemaFlag),
    )
    .addOption(
      new Option('--scale <rows>', 'rows in accounts (orders get one per account)')
        .default(DEFAULTS.scale)
        .argParser(integerFlag(LIMITS.scale.min, LIMITS.scale.max)),
    )
    .addOption(
      new Option('--rate <n>', 'operations per second, all kinds together')
        .default(DEFAULTS.rate)
        .argParser(numberFlag(LIMITS.rate.min, LIMITS.rate.max)),
    )
    .addOption(
      new Option('--duration <seconds>', 'stop after this many seconds (default: until Ctrl+C)').argParser(
        numberFlag(0.001, LIMITS.durationS.max),
      ),
    )
    .addOption(
      new Option('--connections <n>', 'connections to open, and operations in flight at most (lock uses two)')
        .default(DEFAULTS.connections)
        .argParser(integerFlag(LIMITS.connections.min, LIMITS.connections.max)),
    )
    .addOption(
      new Option(
        '--mix <weights>',
        'relative weight of each kind, kind=weight separated by commas; left-out kinds do not run',
      )
        .default(DEFAULT_MIX, formatMix(DEFAULT_MIX))
        .argParser(mixFlag),
    )
    .option('--reset', 'drop the schema (only if loadgen created it) and create it again')
    .option('--quiet', 'no progress lines on stderr; the summary still goes to stdout')
    .addHelpText(
      'after',
      `
Kinds (--mix):
${kindHelp}

The schema holds accounts (--scale rows), orders and events. It is created when missing, reused
as it is otherwise (runs are repeatable), and carries a comment marking it as loadgen's: a schema
without that comment is never used or dropped. The index ${UNUSED_INDEX} is never
read, so "unused indexes" has something to show. Connections use application_name ${APPLICATION_NAME}.

Operations start at fixed times (rate control does not drift). When every connection is busy,
an operation due is skipped and counted, never queued. lock and idle hold connections for
seconds: raising their weights or --rate needs more --connections.

Progress goes to stderr once a second (elapsed, operations per kind, errors, skipped, rate).
At the end a JSON summary goes to stdout:
  { "durationS", "statements": { kind: n }, "errors", "rate", "skipped", "unexpectedErrors" }
"errors" includes the deliberate ones of the error kind; "unexpectedErrors" only the others.
Ctrl+C (SIGINT) or SIGTERM stops: in-flight operations finish, deliberate waits are cut short.

Exit codes: 0 finished or stopped, 1 unexpected error or schema setup failed,
            2 invalid flags or a --schema loadgen did not create, 5 cannot connect to PostgreSQL.

Examples:
  sightline loadgen postgres --url postgresql://postgres:secret@localhost:5432/postgres
  sightline loadgen postgres --url "$DATABASE_URL" --rate 200 --connections 16 --duration 60
  sightline loadgen postgres --url "$DATABASE_URL" --mix point=90,write=10 --quiet > summary.json
  sightline loadgen postgres --url "$DATABASE_URL" --mix lock=1,idle=1 --connections 8 --reset
  SIGHTLINE_LOADGEN_URL=postgresql://app@db/app sightline loadgen postgres --duration 30`,
    )
    .action(async (flags: LoadgenFlags) => {
      process.exitCode = await runLoadgen(flags);
    });
}

function schemaFlag(value: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(value) || /^(pg_|information_schema$|public$)/.test(value)) {
    throw new InvalidArgumentError(
      'Use lower-case letters, digits and _ (at most 63), not public, information_schema or a pg_ name.',
    );
  }
  return value;
}

function numberFlag(min: number, max: number): (value: string) => number {
  return (value) => {
    const number = /^\s*[0-9]+(\.[0-9]+)?\s*$/.test(value) ? Number(value) : NaN;
    if (!(number >= min && number <= max)) {
      throw new InvalidArgumentError(`It must be a number from ${min} to ${max}.`);
    }
    return number;
  };
}

function integerFlag(min: number, max: number): (value: string) => number {
  return (value) => {
    const number = /^\s*[0-9]+\s*$/.test(value) ? Number(value) : NaN;
    if (!(number >= min && number <= max)) {
      throw new InvalidArgumentError(`It must be a whole number from ${min} to ${max}.`);
    }
    return number;
  };
}

function mixFlag(value: string): LoadMix {
  try {
    return parseMix(value);
  } catch (error) {
    throw new InvalidArgumentError(`${isLoadgenError(error) ? error.message : String(error)}.`);
  }
}

async function runLoadgen(flags: LoadgenFlags): Promise<number> {
  const options: LoadOptions = {
    url: flags.url,
    schema: flags.schema,
    scale: flags.scale,
    rate: flags.rate,
    durationS: flags.duration,
    connections: flags.connections,
    mix: flags.mix,
    reset: flags.reset ?? false,
  };
  const say = (line: string): void => {
    if (!flags.quiet) process.stderr.write(`${line}\n`);
  };

  const busy = estimateBusyConnections(options.mix ?? DEFAULT_MIX, flags.rate);
  if (busy > flags.connections * 0.8) {
    process.stderr.write(
      `loadgen: warning: this mix at ${flags.rate}/s keeps about ${busy.toFixed(1)} connections busy ` +
        `(lock and idle hold them for seconds) but --connections is ${flags.connections}; ` +
        `expect skipped operations, or raise --connections to ${Math.ceil(busy * 1.5)}\n`,
    );
  }

  const abort = new AbortController();
  let signals = 0;
  const stop = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`loadgen: received ${signal} again: exiting without waiting.\n`);
      process.exit(130);
    }
    process.stderr.write(`loadgen: received ${signal}: finishing in-flight operations (again to force)…\n`);
    abort.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  try {
    const summary = await runLoad(options, {
      signal: abort.signal,
      onReady: (info) =>
        say(
          `loadgen: schema ${info.schema} ${info.created ? 'created' : 'reused'} (${info.accounts} accounts); ` +
            `${flags.rate} operations/s on up to ${flags.connections} connections ` +
            (flags.duration === undefined ? 'until Ctrl+C' : `for ${flags.duration} s`),
        ),
      onProgress: (progress) => say(formatProgress(progress)),
    });
    printSummary(summary);
    return 0;
  } catch (error) {
    if (isLoadgenError(error)) {
      if (error.summary) printSummary(error.summary);
      process.stderr.write(`sightline loadgen: ${error.message}\n`);
      return LOADGEN_EXIT_CODES[error.code];
    }
    process.stderr.write(
      `sightline loadgen: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** Wraps `text` at `width` columns, indenting continuation lines by `indent`. */
function wrap(text: string, width: number, indent: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

export function formatProgress(progress: LoadProgress): string {
  const kinds = LOAD_KINDS.map((kind) => `${kind} ${progress.statements[kind]}`).join(' ');
  return (
    `loadgen ${progress.elapsedS.toFixed(0)}s  ${kinds}  errors ${progress.errors}` +
    (progress.unexpectedErrors > 0 ? ` (${progress.unexpectedErrors} unexpected)` : '') +
    `  skipped ${progress.skipped}  rate ${progress.rate.toFixed(1)}/s`
  );
}

function printSummary(summary: LoadSummary): void {
  if (summary.firstUnexpectedError !== undefined) {
    process.stderr.write(`loadgen: first unexpected error: ${summary.firstUnexpectedError}\n`);
  }
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}
