import { Argument, Option, type Command } from 'commander';
import { postgresSetupSql } from '../collect/postgres/setup-sql.js';
import { randomToken } from '../core/ids.js';

interface SetupSqlFlags {
  user: string;
  password?: string;
  logsOverSql?: boolean;
}

export function registerSetupSqlCommand(program: Command): void {
  program
    .command('setup-sql')
    .description('print the least-privilege SQL that prepares a database server for Sightline')
    .addArgument(new Argument('<engine>', 'the database engine').choices(['postgres']))
    .addOption(new Option('--user <name>', 'name of the monitoring role to create').default('sightline'))
    .addOption(
      new Option('--password <password>', 'its password (default: a random one, printed in the SQL)').env(
        'SIGHTLINE_SETUP_PASSWORD',
      ),
    )
    .addOption(
      new Option(
        '--no-logs-over-sql',
        'leave out the grants for reading the server log through SQL (pg_read_binary_file)',
      ),
    )
    .addHelpText(
      'after',
      `
The script (for psql) creates a login role with pg_monitor (statistics only, no writes),
installs pg_stat_statements, sets what query analytics, plans and logs need, and grants reading
the server log over SQL. Review it, run it as a superuser, then restart PostgreSQL
(shared_preload_libraries and logging_collector need a restart). Nothing is executed by this command.

Examples:
  sightline setup-sql postgres | psql -U postgres -d app
  sightline setup-sql postgres --user monitor --password 's3cret' --no-logs-over-sql`,
    )
    .action((_engine: string, flags: SetupSqlFlags) => {
      const password = flags.password ?? randomToken(24);
      process.stdout.write(
        postgresSetupSql({ user: flags.user, password, logsOverSql: flags.logsOverSql !== false }),
      );
    });
}
