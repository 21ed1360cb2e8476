#!/usr/bin/env node
import { Command } from 'commander';
import { VERSION } from '../core/version.js';
import { registerLoadgenCommand } from './loadgen.js';
import { registerSetupSqlCommand } from './setup-sql.js';
import { registerStartCommand } from './start.js';
import { registerUserCommand } from './user.js';

const program = new Command('sightline')
  .description(
    'Sightline: self-hosted observability for databases and the services around them.\n' +
      'Ingests OpenTelemetry (OTLP/HTTP) logs, metrics and traces, stores them and answers queries.',
  )
  .version(VERSION, '-V, --version', 'print the version')
  .showHelpAfterError('(run with --help for usage)')
  .addHelpText(
    'after',
    `
Quick start:
  sightline start                 start everything with data in ./data
  sightline start --help          every option of start, with its environment variable
  sightline start --postgres URL  also watch a PostgreSQL server (see: sightline setup-sql postgres)
  sightline start --mysql URL     also watch a MySQL or MariaDB server (see: sightline setup-sql mysql)
  sightline loadgen postgres --url URL   demo load on a PostgreSQL database
  sightline loadgen mysql --url URL      demo load on a MySQL or MariaDB database
  sightline user create --email E --role admin   add a user who signs in to the web UI

Documentation: README.md in the Sightline repository.`,
  );

program
  .command('version')
  .description('print the version of Sightline and of Node.js')
  .action(() => {
    process.stdout.write(`sightline ${VERSION} (node ${process.version})\n`);
  });

registerStartCommand(program);
registerSetupSqlCommand(program);
registerLoadgenCommand(program);
registerUserCommand(program);

// `sightline setup-sql postgres | psql` (or `mysql | mysql`) when the client exits early: a closed pipe is not a crash.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

await program.parseAsync(process.argv);
