import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresSetupSql } from '../../src/collect/postgres/setup-sql.js';
import {
  POSTGRES_INSTALL_HINT,
  postgresAvailable,
  startPostgres,
  type PostgresInstance,
} from '../harness/postgres.js';
import { requireService } from '../harness/service-missing.js';

const available = requireService('PostgreSQL 15', postgresAvailable(), POSTGRES_INSTALL_HINT);

describe.skipIf(!available)('sightline setup-sql postgres on a server already configured', () => {
  let postgres: PostgresInstance;

  beforeAll(async () => {
    postgres = await startPostgres({
      settings: { shared_preload_libraries: 'pg_prewarm,pg_stat_statements', log_destination: 'stderr' },
    });
    await postgres.psql(postgresSetupSql({ user: 'mon', password: 'pw', logsOverSql: true }));
    await postgres.restart();
  }, 60_000);

  afterAll(async () => {
    await postgres?.stop();
  });

  it('keeps the libraries and log destinations already set and adds its own', async () => {
    expect((await postgres.psql('SHOW shared_preload_libraries')).trim()).toBe(
      'pg_prewarm, pg_stat_statements, auto_explain',
    );
    expect((await postgres.psql('SHOW log_destination')).trim()).toBe('stderr,jsonlog');
    expect((await postgres.psql('SHOW logging_collector')).trim()).toBe('on');
    expect((await postgres.psql('SHOW compute_query_id')).trim()).toBe('on');
    expect((await postgres.psql(`SELECT pg_current_logfile('jsonlog') IS NOT NULL`)).trim()).toBe('t');
  });

  it('is safe to run twice', async () => {
    const again = postgresSetupSql({ user: 'mon2', password: 'pw', logsOverSql: false });
    await postgres.psql(again);
    expect(
      (
        await postgres.psql(
          'SELECT setting FROM pg_file_settings WHERE name = $$shared_preload_libraries$$ AND applied',
        )
      ).trim(),
    ).toBe('pg_prewarm, pg_stat_statements, auto_explain');
  });
});
