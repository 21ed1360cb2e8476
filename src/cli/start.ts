import { Option, type Command } from 'commander';
import { startSightline, type RunningSightline } from '../app/sightline.js';
import { loadConfig } from '../config/load.js';
import { ROLES } from '../config/schema.js';
import { isSightlineError, type ErrorCode } from '../core/errors.js';
import { LOG_LEVELS, createLogger } from '../core/logger.js';
import { VERSION } from '../core/version.js';

/** Exit codes a script can act on; documented in the README. */
export const EXIT_CODES: Partial<Record<ErrorCode, number>> = {
  SL_ERR_CONFIG_INVALID: 2,
  SL_ERR_DATA_DIR_UNUSABLE: 3,
  SL_ERR_DATA_DIR_LOCKED: 3,
  SL_ERR_LISTEN_FAILED: 4,
};

interface StartFlags {
  config?: string;
  dataDir?: string;
  ingestPort?: string;
  port?: string;
  host?: string;
  bootstrapKey?: string;
  bootstrapEmail?: string;
  bootstrapPassword?: string;
  logLevel?: string;
  postgres?: string[];
  mysql?: string[];
  role?: string[];
}

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description(
      'run Sightline: by default every role in one process (OTLP ingest, pipeline, DuckDB storage, query API and UI)',
    )
    .addOption(
      new Option('-c, --config <file>', 'YAML config file (see sightline.example.yaml)').env(
        'SIGHTLINE_CONFIG',
      ),
    )
    .addOption(
      new Option('--data-dir <dir>', 'where the database lives (default: ./data)').env('SIGHTLINE_DATA_DIR'),
    )
    .addOption(
      new Option('--ingest-port <port>', 'OTLP/HTTP ingest port (default: 4318)').env(
        'SIGHTLINE_INGEST_PORT',
      ),
    )
    .addOption(new Option('--port <port>', 'UI and query API port (default: 3000)').env('SIGHTLINE_PORT'))
    .addOption(
      new Option('--host <address>', 'address to listen on (default: 127.0.0.1)').env('SIGHTLINE_HOST'),
    )
    .addOption(
      new Option(
        '--bootstrap-key <key>',
        'use this API key for the default org instead of generating one',
      ).env('SIGHTLINE_BOOTSTRAP_KEY'),
    )
    .addOption(
      new Option(
        '--bootstrap-email <email>',
        'email of the first owner, who signs in to the web UI (default: admin@localhost)',
      ).env('SIGHTLINE_BOOTSTRAP_EMAIL'),
    )
    .addOption(
      new Option(
        '--bootstrap-password <password>',
        'create that owner with this password (at least 12 characters) instead of a generated one, if no user has the email yet',
      ).env('SIGHTLINE_BOOTSTRAP_PASSWORD'),
    )
    .addOption(
      new Option('--log-level <level>', 'log level (default: info)')
        .choices(LOG_LEVELS)
        .env('SIGHTLINE_LOG_LEVEL'),
    )
    .addOption(
      new Option(
        '--postgres <url>',
        'watch this PostgreSQL server (repeatable); see `sightline setup-sql postgres` for its role',
      ).argParser(repeatable),
    )
    .addOption(
      new Option(
        '--role <roles>',
        `run only these roles (repeatable or comma-separated): ${ROLES.join(', ')}; separate processes need bus.type kafka and control.type postgres (docs/scale-out.md)`,
      ).argParser(roleList),
    )
    .addOption(
      new Option(
        '--mysql <url>',
        'watch this MySQL or MariaDB server (repeatable): mysql://user:password@host:port/; see `sightline setup-sql mysql` for its user',
      ).argParser(repeatable),
    )
    .addHelpText(
      'after',
      `
Precedence: flags, then SIGHTLINE_* environment variables, then the config file, then defaults.
Any config key can be set from the environment: store.duckdb.memoryLimit is SIGHTLINE_STORE__DUCKDB__MEMORY_LIMIT.

On first start with an empty data dir, an organization and an API key are created and the
key is printed once. Send it as "Authorization: Bearer <key>" (or "x-api-key: <key>").
An owner who signs in to the web UI is created too, and its generated password printed once
(--bootstrap-email, --bootstrap-password); add more with \`sightline user create\` (docs/auth.md).

Exit codes: 0 stopped cleanly, 1 unexpected error, 2 invalid configuration,
            3 data directory unusable or in use, 4 cannot listen on a port.

Examples:
  sightline start
  sightline start --data-dir /var/lib/sightline --host 0.0.0.0
  sightline start --postgres 'postgresql://sightline:secret@db1:5432/app' --postgres 'postgresql://sightline:secret@db2/app'
  sightline start --mysql 'mysql://sightline:secret@db3:3306/'
  sightline start --config scale-out.yaml --role gateway                 (see docs/scale-out.md)
  SIGHTLINE_BOOTSTRAP_KEY=sl_0123456789abcdef sightline start --port 3100`,
    )
    .action(async (flags: StartFlags, command: Command) => {
      // Values commander took from the environment are left to the config loader, which names their source.
      const fromCli = Object.fromEntries(
        Object.entries(flags).filter(
          ([name]) => command.getOptionValueSource(name) === 'cli' || name === 'config',
        ),
      ) as StartFlags;
      process.exitCode = await runStart(fromCli);
    });
}

function repeatable(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function roleList(value: string, previous: string[] | undefined): string[] {
  return [
    ...(previous ?? []),
    ...value
      .split(',')
      .map((role) => role.trim())
      .filter((role) => role !== ''),
  ];
}

/** Flags arrive as strings; numbers stay strings when they are not numbers, so the error shows what was typed. */
function portFlag(value: string | undefined): unknown {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : value;
}

async function runStart(flags: StartFlags): Promise<number> {
  let running: RunningSightline;
  const logger = createLogger('info');
  try {
    const config = loadConfig({
      file: flags.config,
      env: process.env,
      flags: [
        { path: 'dataDir', value: flags.dataDir, flag: '--data-dir' },
        { path: 'ingest.port', value: portFlag(flags.ingestPort), flag: '--ingest-port' },
        { path: 'api.port', value: portFlag(flags.port), flag: '--port' },
        { path: 'host', value: flags.host, flag: '--host' },
        { path: 'auth.bootstrapKey', value: flags.bootstrapKey, flag: '--bootstrap-key' },
        { path: 'auth.bootstrapEmail', value: flags.bootstrapEmail, flag: '--bootstrap-email' },
        { path: 'auth.bootstrapPassword', value: flags.bootstrapPassword, flag: '--bootstrap-password' },
        { path: 'log.level', value: flags.logLevel, flag: '--log-level' },
        { path: 'collect.postgres.urls', value: flags.postgres, flag: '--postgres' },
        { path: 'collect.mysql.urls', value: flags.mysql, flag: '--mysql' },
        { path: 'roles', value: flags.role, flag: '--role' },
      ],
    });
    logger.level = config.log.level;
    running = await startSightline(config, logger);
  } catch (error) {
    return fail(error);
  }
  // The handlers go in before the banner: a supervisor (or a test) may stop the process the
  // moment it reads "Press Ctrl+C to stop.", and a SIGTERM without a handler kills it unclean.
  const stopped = new Promise<number>((resolve) => {
    let signals = 0;
    const stop = (signal: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        process.stderr.write(`Received ${signal} again: exiting without finishing the shutdown.\n`);
        process.exit(130);
      }
      process.stdout.write(
        `Received ${signal}: stopping intake and storing what was accepted (again to force)…\n`,
      );
      running.shutdown().then(
        () => {
          process.stdout.write('Sightline stopped.\n');
          resolve(0);
        },
        (error: unknown) => resolve(fail(error)),
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  printBanner(running);
  return stopped;
}

function fail(error: unknown): number {
  if (isSightlineError(error)) {
    process.stderr.write(`sightline: ${error.message}\n`);
    return EXIT_CODES[error.code] ?? 1;
  }
  process.stderr.write(
    `sightline: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return 1;
}

function printBanner(running: RunningSightline): void {
  const embedded = running.roles.length === ROLES.length && running.busDescription === 'in-memory bus';
  const lines = [
    embedded
      ? `Sightline ${VERSION} is running (embedded: DuckDB file and in-memory bus).`
      : `Sightline ${VERSION} is running: ${running.roles.join(', ')} on the ${running.busDescription}.`,
  ];
  if (running.databasePath !== undefined) lines.push(`  Data          ${running.databasePath}`);
  if (running.ingestUrl !== undefined) {
    lines.push(
      `  OTLP ingest   ${running.ingestUrl}   (POST /v1/logs, /v1/metrics, /v1/traces; browsers: /v1/rum)`,
    );
  }
  if (running.apiUrl !== undefined) lines.push(`  UI and API    ${running.apiUrl}`);
  if (running.opsUrl !== undefined) {
    lines.push(`  Health        ${running.opsUrl}   (/healthz, /readyz; /metrics with a key)`);
  }
  if (running.collectors.length > 0) lines.push(`  Watching      ${running.collectors.join(', ')}`);
  if (running.generatedKey !== undefined && running.org !== undefined) {
    lines.push(
      '',
      `First start: created the organization "${running.org.name}" and an API key for it.`,
      'The key is shown only this once; store it now:',
      '',
      `    ${running.generatedKey}`,
      '',
      'Point any OpenTelemetry SDK or Collector at Sightline with:',
      `  OTEL_EXPORTER_OTLP_ENDPOINT=${running.ingestUrl ?? '<the gateway: http://host:4318>'}`,
      `  OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer ${running.generatedKey}"`,
    );
  }
  if (running.generatedUser !== undefined) {
    lines.push(
      '',
      `Created the owner ${running.generatedUser.email} to sign in to the web UI${running.apiUrl === undefined ? '' : ` at ${running.apiUrl}`}.`,
      'The password is shown only this once; store it now (sightline user create adds more users):',
      '',
      `    password: ${running.generatedUser.password}`,
    );
  }
  lines.push('', 'Press Ctrl+C to stop.', '');
  process.stdout.write(lines.join('\n'));
}
