import { describe, expect, it } from 'vitest';
import { MetricBatch } from '../metric-batch.js';
import { METRIC_FAMILIES } from './metric-queries.js';
import type { PostgresSession, ServerInfo } from './session.js';

/** Records the SQL each family sends; answers every statement with no rows. */
function recordingSession(): { session: PostgresSession; statements: string[] } {
  const statements: string[] = [];
  const session = {
    query: (sql: string) => {
      statements.push(sql.replace(/\s+/g, ' ').trim());
      return Promise.resolve([]);
    },
  } as unknown as PostgresSession;
  return { session, statements };
}

function server(versionNum: number, inRecovery = false): ServerInfo {
  return {
    versionNum,
    version: String(versionNum),
    startedAt: new Date(0),
    inRecovery,
    database: 'app',
    statementsExtension: '1.10',
    statementsSchema: 'public',
  };
}

async function sqlFor(versionNum: number, inRecovery = false): Promise<string> {
  const { session, statements } = recordingSession();
  for (const family of METRIC_FAMILIES) {
    await family.collect({
      session,
      server: server(versionNum, inRecovery),
      batch: new MetricBatch(1n, 0n),
      topTables: 10,
    });
  }
  return statements.join('\n');
}

describe('metric queries per server version', () => {
  it('reads checkpoints from pg_stat_bgwriter before 17 and from pg_stat_checkpointer from 17', async () => {
    for (const version of [120000, 130000, 140000, 150000, 160000]) {
      const sql = await sqlFor(version);
      expect(sql).toContain('checkpoints_timed');
      expect(sql).not.toContain('pg_stat_checkpointer');
    }
    const sql17 = await sqlFor(170000);
    expect(sql17).toContain('FROM pg_stat_checkpointer');
    expect(sql17).not.toMatch(/checkpoints_timed|buffers_backend/);
  });

  it('reads pg_stat_wal only where it exists (14+)', async () => {
    expect(await sqlFor(130000)).not.toContain('pg_stat_wal');
    expect(await sqlFor(140000)).toContain('FROM pg_stat_wal');
  });

  it('on a replica, measures replay delay and slot retention from the received WAL, not the current position', async () => {
    const sql = await sqlFor(150000, true);
    expect(sql).toContain('pg_last_xact_replay_timestamp()');
    expect(sql).toContain('pg_last_wal_receive_lsn()');
    expect(sql).not.toContain('pg_current_wal_lsn()');
  });

  it('bounds per-table and per-index queries by topTables', async () => {
    const { session, statements } = recordingSession();
    const values: unknown[][] = [];
    const spying = {
      query: (sql: string, params: unknown[] = []) => {
        values.push(params);
        return session.query(sql, params);
      },
    } as unknown as PostgresSession;
    const tables = METRIC_FAMILIES.find((f) => f.name === 'tables');
    await tables?.collect({
      session: spying,
      server: server(150000),
      batch: new MetricBatch(1n, 0n),
      topTables: 7,
    });
    const limited = statements.filter((s) => s.includes('LIMIT $1'));
    expect(limited.length).toBe(3);
    expect(values.filter((v) => v[0] === 7).length).toBe(3);
  });
});
