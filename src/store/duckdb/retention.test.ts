import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logRow } from '../../../test/fixtures/rows.js';
import { silentLogger } from '../../core/logger.js';
import type { RetentionDays } from '../maintenance.js';
import { DuckDBDatabase } from './database.js';
import { RETAINED_TABLES, RetentionJob, retentionCutoff } from './retention.js';
import { DuckDBStore } from './telemetry-store.js';

const DAY_NS = 86_400_000_000_000n;
const NOW = 1_700_000_000_000_000_000n;

const KEEP_FOREVER = Object.fromEntries(Object.keys(RETAINED_TABLES).map((key) => [key, 0])) as RetentionDays;

describe('retentionCutoff', () => {
  it('is the time that many days back, fractions included; none for 0', () => {
    expect(retentionCutoff(NOW, 7)).toBe(NOW - 7n * DAY_NS);
    expect(retentionCutoff(NOW, 0.5)).toBe(NOW - DAY_NS / 2n);
    expect(retentionCutoff(NOW, 0)).toBeUndefined();
  });
});

describe('RetentionJob', () => {
  let database: DuckDBDatabase;
  let store: DuckDBStore;

  beforeAll(async () => {
    database = await DuckDBDatabase.open(
      { path: ':memory:', memoryLimit: '256MB', checkpointThreshold: '16MB' },
      silentLogger(),
    );
    await database.migrate();
    store = new DuckDBStore(database);
    await store.start();
  });

  afterAll(async () => {
    await database.close();
  });

  it('knows the time column of every table it deletes from', async () => {
    const columns = await database.withConnection(async (connection) => {
      const reader = await connection.runAndReadAll(
        `SELECT table_name || '.' || column_name AS c FROM information_schema.columns WHERE data_type = 'BIGINT'`,
      );
      return new Set(reader.getRowObjectsJS().map((r) => (typeof r.c === 'string' ? r.c : '')));
    });
    for (const { table, timeColumn } of Object.values(RETAINED_TABLES))
      expect(columns).toContain(`${table}.${timeColumn}`);
  });

  it('deletes in batches of at most batchRows until none is older than the cutoff', async () => {
    const cutoff = NOW - 2n * DAY_NS;
    await store.writeLogs([
      ...Array.from({ length: 1001 }, (_, i) => logRow({ id: `old-${i}`, ts: cutoff - 1n - BigInt(i) })),
      logRow({ id: 'at-cutoff', ts: cutoff }),
    ]);
    const statements: string[] = [];
    const counting = new Proxy(database, {
      get(target, property, receiver) {
        if (property !== 'withConnection') return Reflect.get(target, property, receiver) as unknown;
        return (work: Parameters<DuckDBDatabase['withConnection']>[0]) => {
          statements.push('delete');
          return target.withConnection(work);
        };
      },
    });
    const job = new RetentionJob(
      { days: { ...KEEP_FOREVER, logs: 2 }, intervalSeconds: 60, batchRows: 250 },
      { database: counting, logger: silentLogger() },
    );
    expect((await job.runOnce(NOW)).deleted).toEqual({ logs: 1001 });
    // 250 + 250 + 250 + 250 + 1: the last short batch says there is nothing more.
    expect(statements).toHaveLength(5);
    const left = await database.withConnection(async (c) =>
      (await c.runAndReadAll('SELECT id FROM logs')).getRowObjectsJS(),
    );
    expect(left).toEqual([{ id: 'at-cutoff' }]);
  });

  it('reports a table it could not delete from and goes on with the others', async () => {
    await database.withConnection((c) => c.run('ALTER TABLE dead_letters RENAME TO dead_letters_moved'));
    try {
      await store.writeLogs([logRow({ id: 'old-again', ts: NOW - 3n * DAY_NS })]);
      const job = new RetentionJob(
        { days: { ...KEEP_FOREVER, deadLetters: 1, logs: 2 }, intervalSeconds: 60, batchRows: 100 },
        { database, logger: silentLogger() },
      );
      const report = await job.runOnce(NOW);
      expect(report.failed).toEqual(['dead_letters']);
      expect(report.deleted).toEqual({ logs: 1 });
    } finally {
      await database.withConnection((c) => c.run('ALTER TABLE dead_letters_moved RENAME TO dead_letters'));
    }
  });
});
