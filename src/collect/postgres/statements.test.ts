import { beforeAll, describe, expect, it } from 'vitest';
import type { PostgresSession, ServerInfo } from './session.js';
import { loadSqlParser } from '../../sql/postgres-shape.js';
import { StatementCollector } from './statements.js';

interface Entry {
  queryid: string;
  calls: number;
  query: string;
}

/** A pg_stat_statements stand-in that answers the collector's three kinds of statement. */
function fakeServer(entries: () => Entry[], reset: () => Date | null) {
  const statements: string[] = [];
  const session = {
    query: (sql: string, params: unknown[] = []) => {
      statements.push(sql);
      if (sql.includes('pg_stat_statements_info')) return Promise.resolve([{ stats_reset: reset() }]);
      if (sql.includes('pg_stat_statements(true)')) {
        const wanted = params[0] as string[];
        return Promise.resolve(
          entries()
            .filter((e) => wanted.includes(e.queryid))
            .map((e) => ({ ...e, database: 'app' })),
        );
      }
      return Promise.resolve(
        entries().map((e) => ({
          database: 'app',
          username: 'web',
          queryid: e.queryid,
          calls: String(e.calls),
          total_time: e.calls * 2,
          min_time: 1,
          max_time: 3,
          rows: String(e.calls),
          shared_blks_hit: '0',
          shared_blks_read: '0',
          shared_blks_dirtied: '0',
          shared_blks_written: '0',
          temp_blks_read: '0',
          temp_blks_written: '0',
          wal_bytes: '0',
        })),
      );
    },
  } as unknown as PostgresSession;
  return { session, statements };
}

function server(extension = '1.10'): ServerInfo {
  return {
    versionNum: 150000,
    version: '',
    startedAt: new Date(0),
    inRecovery: false,
    database: 'app',
    statementsExtension: extension,
    statementsSchema: 'public',
  };
}

/** Collects and accepts, as the collector does once the records are published. */
async function collected(
  collector: StatementCollector,
  session: PostgresSession,
  info: ServerInfo,
  atNs: bigint,
) {
  const { records, accept } = await collector.collect(session, info, atNs);
  accept();
  return records;
}

describe('StatementCollector', () => {
  beforeAll(() => loadSqlParser());

  it('reads texts only for statements it has not seen, and names columns per version', async () => {
    let entries: Entry[] = [{ queryid: '1', calls: 5, query: 'SELECT * FROM t WHERE id = $1' }];
    const { session, statements } = fakeServer(
      () => entries,
      () => null,
    );
    const collector = new StatementCollector('pg:main');
    await collected(collector, session, server(), 1_000n);
    entries = [
      { queryid: '1', calls: 9, query: 'SELECT * FROM t WHERE id = $1' },
      { queryid: '2', calls: 1, query: 'UPDATE t SET a = $1' },
    ];
    const records = await collected(collector, session, server(), 2_000n);
    expect(records.map((r) => [r.queryId, r.calls, r.intervalStart, r.intervalEnd])).toEqual([
      ['1', 4, '1000', '2000'],
      ['2', 1, '1000', '2000'],
    ]);
    expect(records[0]?.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    const textReads = statements.filter((s) => s.includes('pg_stat_statements(true)'));
    expect(textReads).toHaveLength(2);
    expect(
      statements
        .filter((s) => s.includes('pg_stat_statements(false)'))
        .every((s) => s.includes('total_exec_time')),
    ).toBe(true);
  });

  it('uses total_time and no pg_stat_statements_info with an extension older than 1.8, whatever the server', async () => {
    const { session, statements } = fakeServer(
      () => [],
      () => null,
    );
    await collected(new StatementCollector('pg:old'), session, server('1.7'), 1n);
    expect(statements.join('\n')).toContain('s.total_time');
    expect(statements.join('\n')).not.toContain('pg_stat_statements_info');
  });

  it('keeps the calls of an interval whose records were not accepted for the next one', async () => {
    let entries: Entry[] = [{ queryid: '1', calls: 5, query: 'SELECT 1' }];
    const { session } = fakeServer(
      () => entries,
      () => null,
    );
    const collector = new StatementCollector('pg:main');
    await collected(collector, session, server(), 1n);
    entries = [{ queryid: '1', calls: 8, query: 'SELECT 1' }];
    const failed = await collector.collect(session, server(), 2n);
    expect(failed.records.map((r) => r.calls)).toEqual([3]);
    entries = [{ queryid: '1', calls: 10, query: 'SELECT 1' }];
    const records = await collected(collector, session, server(), 3n);
    expect(records.map((r) => [r.calls, r.intervalStart, r.intervalEnd])).toEqual([[5, '1', '3']]);
  });

  it('counts from zero after pg_stat_statements_reset() even when the calls grew past the old count', async () => {
    let entries: Entry[] = [{ queryid: '1', calls: 5, query: 'SELECT 1' }];
    let reset: Date | null = new Date(1000);
    const { session } = fakeServer(
      () => entries,
      () => reset,
    );
    const collector = new StatementCollector('pg:main');
    await collected(collector, session, server(), 1n);
    entries = [{ queryid: '1', calls: 8, query: 'SELECT 1' }];
    reset = new Date(2000);
    const records = await collected(collector, session, server(), 2n);
    expect(records.map((r) => r.calls)).toEqual([8]);
  });
});
