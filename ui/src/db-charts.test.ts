import { describe, expect, it } from 'vitest';
import { chartStep, databaseCharts } from './db-charts.js';

describe('databaseCharts', () => {
  it("reads a PostgreSQL instance's metrics by its entity id, per-database ones for the picked database", () => {
    const charts = databaseCharts({
      kind: 'postgresql.instance',
      instanceId: 'pg:main',
      database: 'shop',
      window: '2m',
    });
    expect(charts.map((c) => c.id)).toEqual([
      'connections',
      'tps',
      'cache-hit',
      'io',
      'wal',
      'replication',
      'locks',
    ]);
    const tps = charts.find((c) => c.id === 'tps');
    expect(tps?.queries.map((q) => q.expr)).toEqual([
      'sum(rate(postgresql_commits{entity_id="pg:main", postgresql_database_name="shop"}[2m]))',
      'sum(rate(postgresql_rollbacks{entity_id="pg:main", postgresql_database_name="shop"}[2m]))',
    ]);
    // WAL is the cluster's: no database label exists on it.
    expect(charts.find((c) => c.id === 'wal')?.queries[0]?.expr).toBe(
      'rate(postgresql_wal_generated{entity_id="pg:main"}[2m])',
    );
  });

  it('charts connections by state for a whole instance and names series by their labels', () => {
    const [connections] = databaseCharts({ kind: 'postgresql.instance', instanceId: 'pg:a"b', window: '1m' });
    expect(connections?.queries[0]?.expr).toBe('sum by (state) (postgresql_sessions{entity_id="pg:a\\"b"})');
    expect(connections?.queries[0]?.label({ state: 'idle in transaction' })).toBe('idle in transaction');
  });

  it("reads MySQL's equivalents (threads, commands, buffer pool, redo log, replica lag)", () => {
    const exprs = databaseCharts({ kind: 'mysql.instance', instanceId: 'mysql:m', window: '1m' }).flatMap(
      (c) => c.queries.map((q) => q.expr),
    );
    for (const name of [
      'mysql_threads',
      'mysql_commands',
      'mysql_buffer_pool_operations',
      'mysql_data_io',
      'mysql_redo_log_written',
      'mysql_replica_time_behind_source',
      'mysql_row_lock_current_waits',
    ]) {
      expect(exprs.some((e) => e.includes(`${name}{entity_id="mysql:m"`))).toBe(true);
    }
    expect(databaseCharts({ kind: 'kafka.broker', instanceId: 'x', window: '1m' })).toEqual([]);
  });
});

describe('chartStep', () => {
  it('aims at about 120 points with a rate window of two steps, at least a minute', () => {
    expect(chartStep(15 * 60_000)).toEqual({ stepS: 15, window: '60s' });
    const day = chartStep(24 * 3_600_000);
    expect(day.stepS).toBeGreaterThanOrEqual(720);
    expect(day.window).toBe(`${day.stepS * 2}s`);
  });
});
