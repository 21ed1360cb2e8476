import { Argument, Option, type Command } from 'commander';
import { mysqlSetupSql } from '../collect/mysql/setup-sql.js';
import { postgresSetupSql } from '../collect/postgres/setup-sql.js';
import { randomToken } from '../core/ids.js';

interface SetupSqlFlags {
  user: string;
  password?: string;
  logsOverSql?: boolean;
  from: string;
  explainSchema?: string[];
  slowLog?: boolean;
}

export function registerSetupSqlCommand(program: Command): void {
  program
    .command('setup-sql')
    .description('print the least-privilege SQL that prepares a database server for Sightline')
    .addArgument(new Argument('<engine>', 'the database engine').choices(['postgres', 'mysql']))
    .addOption(new Option('--user <name>', 'name of the monitoring role/user to create').default('sightline'))
    .addOption(
      new Option('--password <password>', 'its password (default: a random one, printed in the SQL)').env(
        'SIGHTLINE_SETUP_PASSWORD',
      ),
    )
    .addOption(
      new Option(
        '--no-logs-over-sql',
        'postgres: leave out the grants for reading the server log through SQL (pg_read_binary_file)',
      ),
    )
    .addOption(
      new Option('--from <host>', "mysql: host pattern the collector connects from ('%' = anywhere)").default(
        '%',
      ),
    )
    .addOption(
      new Option(
        '--explain-schema <schema>',
        'mysql: allow EXPLAIN of sampled statements in this schema (grants SELECT on it; repeatable)',
      ).argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]),
    )
    .addOption(new Option('--no-slow-log', 'mysql: leave the slow query log settings alone'))
    .addHelpText(
      'after',
      `
postgres: a psql script that creates a login role with pg_monitor (statistics only, no writes),
installs pg_stat_statements, sets what query analytics, plans and logs need, and grants reading
the server log over SQL. Run it as a superuser, then restart PostgreSQL
(shared_preload_libraries and logging_collector need a restart).

mysql: one script for MySQL 8 and MariaDB 10.5+: a user with PROCESS, the replication-status
privilege (REPLICA MONITOR / REPLICATION CLIENT) and SELECT on performance_schema; switches on the
statement history and the slow query log (until the next restart; the script says what to put
in my.cnf). Run it as an administrator. performance_schema itself must be ON (a restart).

Nothing is executed by this command: review the script, then run it.

Examples:
  sightline setup-sql postgres | psql -U postgres -d app
  sightline setup-sql postgres --user monitor --password 's3cret' --no-logs-over-sql
  sightline setup-sql mysql --from 10.0.0.% | mysql -u root -p
  sightline setup-sql mysql --explain-schema app | mariadb -u root`,
    )
    .action((engine: string, flags: SetupSqlFlags) => {
      const password = flags.password ?? randomToken(24);
      const sql =
        engine === 'mysql'
          ? mysqlSetupSql({
              user: flags.user,
              password,
              from: flags.from,
              explainSchemas: flags.explainSchema ?? [],
              slowLog: flags.slowLog !== false,
            })
          : postgresSetupSql({ user: flags.user, password, logsOverSql: flags.logsOverSql !== false });
      process.stdout.write(sql);
    });
}
