import { Command, InvalidArgumentError, Option } from 'commander';
import {
  APPLICATION_NAME,
  DEFAULTS,
  DEFAULT_MIX,
  LIMITS,
  LOAD_KINDS,
  UNUSED_INDEX,
  estimateBusyConnections,
  formatMix,
  isLoadgenError,
  parseMix,
  type LoadHooks,
  type LoadKind,
  type LoadMix,
  type LoadOptions,
  type LoadProgress,
  type LoadSummary,
  type LoadTarget,
  type LoadgenErrorCode,
} from '../collect/loadgen/driver.js';
import * as mysqlLoad from '../collect/mysql/loadgen.js';
import * as postgresLoad from '../collect/postgres/loadgen.js';

/** Exit codes of `sightline loadgen postgres` and `mysql`; listed in their --help. */
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

/** What `sightline loadgen <command>` differs in per database; flags, output and exit codes are shared. */
interface LoadgenEngine {
  command: string;
  target: LoadTarget;
  /** Shown in --help of --url. */
  urlForm: string;
  /** What the database calls the namespace --schema names. */
  schemaNoun: 'schema' | 'database';
  /** For --help of --schema. */
  schemaHelp: string;
  kindDescriptions: Record<LoadKind, string>;
  /** The paragraph of --help on what loadgen creates and how its sessions can be told apart. */
  setupHelp: string;
  /** Everything after `sightline loadgen <command>` in the Examples of --help. */
  examples: string[];
  runLoad(options: LoadOptions, hooks: LoadHooks): Promise<LoadSummary>;
}

const ENGINES: readonly LoadgenEngine[] = [
  {
    command: 'postgres',
    target: postgresLoad.POSTGRES_TARGET,
    urlForm: 'postgresql://user:password@host:port/database',
    schemaNoun: 'schema',
    schemaHelp: 'schema loadgen creates and works in',
    kindDescriptions: postgresLoad.KIND_DESCRIPTIONS,
    setupHelp: `The schema holds accounts (--scale rows), orders and events. It is created when missing, reused
as it is otherwise (runs are repeatable), and carries a comment marking it as loadgen's: a schema
without that comment is never used or dropped. The index ${UNUSED_INDEX} is never
read, so "unused indexes" has something to show. Connections use application_name ${APPLICATION_NAME}.`,
    examples: [
      '--url postgresql://postgres:secret@localhost:5432/postgres',
      '--url "$DATABASE_URL" --rate 200 --connections 16 --duration 60',
      '--url "$DATABASE_URL" --mix point=90,write=10 --quiet > summary.json',
      '--url "$DATABASE_URL" --mix lock=1,idle=1 --connections 8 --reset',
    ],
    runLoad: postgresLoad.runLoad,
  },
  {
    command: 'mysql',
    target: mysqlLoad.MYSQL_TARGET,
    urlForm: 'mysql://user:password@host:port/database (or mariadb://…; the database may be left out)',
    schemaNoun: 'database',
    schemaHelp: 'database (schema) loadgen creates and works in',
    kindDescriptions: mysqlLoad.KIND_DESCRIPTIONS,
    setupHelp: `The database holds accounts (--scale rows), orders and events, all InnoDB. It is created when
missing, reused as it is otherwise (runs are repeatable), and holds a table ${mysqlLoad.MARKER_TABLE} whose
comment marks it as loadgen's: a database without it is never used or dropped. The index
${UNUSED_INDEX} is never read, so "unused indexes" has something to show. Connections
carry the connection attribute program_name=${APPLICATION_NAME} (performance_schema.session_connect_attrs).`,
    examples: [
      '--url mysql://root:secret@localhost:3306/',
      '--url mariadb://app:secret@db.internal/app --rate 200 --connections 16 --duration 60',
      '--url "$MYSQL_URL" --mix point=90,write=10 --quiet > summary.json',
      '--url "$MYSQL_URL" --mix lock=1,idle=1 --connections 8 --reset',
    ],
    runLoad: mysqlLoad.runLoad,
  },
];

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
  for (const engine of ENGINES) addEngineCommand(loadgen, engine);
}

function addEngineCommand(loadgen: Command, engine: LoadgenEngine): void {
  const { server } = engine.target;
  const noun = engine.schemaNoun;
  const kindHelp = LOAD_KINDS.map(
    (kind) => `  ${kind.padEnd(6)} ${wrap(engine.kindDescriptions[kind], 88, 9)}`,
  ).join('\n');
  const examples = [
    ...engine.examples.map((args) => `sightline loadgen ${engine.command} ${args}`),
    `SIGHTLINE_LOADGEN_URL=${engine.target.urlSchemes[0]}://app@db/app sightline loadgen ${engine.command} --duration 30`,
  ];
  loadgen
    .command(engine.command)
    .description(
      `run a steady mix of statements against ${server}: fast reads, slow scans, writes, blocked ` +
        'sessions, errors and idle-in-transaction sessions',
    )
    .addOption(
      new Option('--url <url>', `${engine.urlForm} to connect to`)
        .env('SIGHTLINE_LOADGEN_URL')
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--schema <name>', engine.schemaHelp)
        .default(DEFAULTS.schema)
        .argParser(schemaFlag(engine.target)),
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
    .option('--reset', `drop the ${noun} (only if loadgen created it) and create it again`)
    .option('--quiet', 'no progress lines on stderr; the summary still goes to stdout')
    .addHelpText(
      'after',
      `
Kinds (--mix):
${kindHelp}

${engine.setupHelp}

Operations start at fixed times (rate control does not drift). When every connection is busy,
an operation due is skipped and counted, never queued. lock and idle hold connections for
seconds: raising their weights or --rate needs more --connections.

Progress goes to stderr once a second (elapsed, operations per kind, errors, skipped, rate).
At the end a JSON summary goes to stdout:
  { "durationS", "statements": { kind: n }, "errors", "rate", "skipped", "unexpectedErrors" }
"errors" includes the deliberate ones of the error kind; "unexpectedErrors" only the others.
Ctrl+C (SIGINT) or SIGTERM stops: in-flight operations finish, deliberate waits are cut short.

Exit codes: 0 finished or stopped, 1 unexpected error or ${noun} setup failed,
            2 invalid flags or a --schema loadgen did not create, 5 cannot connect to ${server}.

Examples:
${examples.map((example) => `  ${example}`).join('\n')}`,
    )
    .action(async (flags: LoadgenFlags) => {
      process.exitCode = await runLoadgen(engine, flags);
    });
}

function schemaFlag(target: LoadTarget): (value: string) => string {
  return (value) => {
    const problem = target.schemaProblem(value);
    if (problem !== undefined) {
      throw new InvalidArgumentError(`${problem.charAt(0).toUpperCase()}${problem.slice(1)}.`);
    }
    return value;
  };
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

async function runLoadgen(engine: LoadgenEngine, flags: LoadgenFlags): Promise<number> {
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
    const summary = await engine.runLoad(options, {
      signal: abort.signal,
      onReady: (info) =>
        say(
          `loadgen: ${engine.schemaNoun} ${info.schema} ${info.created ? 'created' : 'reused'} (${info.accounts} accounts); ` +
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
