import { Option, type Command } from 'commander';
import { createUser, withControlStore } from '../app/control-admin.js';
import { loadConfig } from '../config/load.js';
import { isSightlineError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { ROLES, type Role } from '../store/control-store.js';
import { EXIT_CODES } from './start.js';

interface UserCreateFlags {
  email: string;
  role: Role;
  passwordStdin?: boolean;
  org?: string;
  config?: string;
  dataDir?: string;
}

export function registerUserCommand(program: Command): void {
  const user = program
    .command('user')
    .description('manage the people who sign in to the web UI (see: sightline user create --help)');
  user
    .command('create')
    .description('add a user who signs in to the web UI with email and password')
    .requiredOption('--email <email>', 'their email; unique, compared without case')
    .addOption(
      new Option('--role <role>', 'what they may do (docs/auth.md)').choices(ROLES).makeOptionMandatory(),
    )
    .option('--password-stdin', 'read the password from standard input instead of generating one')
    .option('--org <name>', 'the organization (default: the default one)')
    .addOption(
      new Option('-c, --config <file>', 'the YAML config file of the installation').env('SIGHTLINE_CONFIG'),
    )
    .addOption(
      new Option('--data-dir <dir>', 'the data directory of the installation (default: ./data)').env(
        'SIGHTLINE_DATA_DIR',
      ),
    )
    .addHelpText(
      'after',
      `
Writes to the control plane of the installation the config describes: the DuckDB file in the data
directory (embedded), or the PostgreSQL control plane (control.type: postgres). Without
--password-stdin a password is generated and printed once.

The embedded DuckDB file has a single writer: while \`sightline start\` runs on that data
directory this command cannot open it. Then either stop the server first, or add the user while
it runs: on the web UI's Settings page, or with POST /api/v1/users and an admin or owner API key.

Roles: viewer (reads), member (+ API keys up to member), admin (+ keys up to admin, users up to
admin), owner (everything).

Examples:
  sightline user create --email ana@example.com --role admin --data-dir /var/lib/sightline
  printf '%s' "$PASSWORD" | sightline user create --email ci@example.com --role viewer --password-stdin`,
    )
    .action(async (flags: UserCreateFlags, command: Command) => {
      const dataDir = command.getOptionValueSource('dataDir') === 'cli' ? flags.dataDir : undefined;
      process.exitCode = await runUserCreate({ ...flags, dataDir });
    });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // `echo pw |` adds a newline that is not part of the password.
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function runUserCreate(flags: UserCreateFlags & { dataDir: string | undefined }): Promise<number> {
  const logger = createLogger('warn');
  try {
    const config = loadConfig({
      file: flags.config,
      env: process.env,
      flags: [{ path: 'dataDir', value: flags.dataDir, flag: '--data-dir' }],
    });
    const password = flags.passwordStdin === true ? await readStdin() : undefined;
    const created = await withControlStore(config, logger, (control) =>
      createUser(control, { email: flags.email, role: flags.role, password, orgName: flags.org }),
    );
    const lines = [
      `Created the user ${created.user.email} (role ${created.user.role}) in the organization "${created.org.name}".`,
    ];
    if (created.generatedPassword !== undefined) {
      lines.push(
        'The password is shown only this once; pass it on securely:',
        '',
        `    ${created.generatedPassword}`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } catch (error) {
    if (isSightlineError(error)) {
      process.stderr.write(`sightline: ${error.message}\n`);
      return EXIT_CODES[error.code] ?? 1;
    }
    process.stderr.write(
      `sightline: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  }
}
