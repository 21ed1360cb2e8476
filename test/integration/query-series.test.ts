import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { ClickhouseDatabase } from '../../src/store/clickhouse/database.js';
import { runMigrations } from '../../src/store/clickhouse/migrations.js';
import { ClickhouseStore } from '../../src/store/clickhouse/telemetry-store.js';
import { DuckDBDatabase } from '../../src/store/duckdb/database.js';
import { DuckDBStore } from '../../src/store/duckdb/telemetry-store.js';
import {
  CLICKHOUSE_INSTALL_HINT,
  clickhouseAvailable,
  startClickhouse,
  type ClickhouseInstance,
} from '../harness/clickhouse.js';
import { requireService } from '../harness/service-missing.js';
import { describeQuerySeriesContract } from '../helpers/query-series-contract.js';

describe('DuckDB', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sightline-query-series-'));
  const open: DuckDBDatabase[] = [];
  let cases = 0;

  afterAll(async () => {
    for (const database of open) await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describeQuerySeriesContract('DuckDB', async () => {
    const database = await DuckDBDatabase.open(
      { path: join(dir, `case-${++cases}.duckdb`), memoryLimit: '256MB', checkpointThreshold: '16MB' },
      silentLogger(),
    );
    open.push(database);
    await database.migrate();
    const store = new DuckDBStore(database);
    await store.start();
    return store;
  });
});

const available = requireService('ClickHouse', clickhouseAvailable(), CLICKHOUSE_INSTALL_HINT);

describe.skipIf(!available)('ClickHouse', () => {
  let ch: ClickhouseInstance;
  const open: ClickhouseDatabase[] = [];
  let cases = 0;

  beforeAll(async () => {
    ch = await startClickhouse();
  }, 120_000);

  afterAll(async () => {
    for (const database of open) await database.close();
    await ch?.stop();
  });

  describeQuerySeriesContract('ClickHouse', async () => {
    const name = `query_series_${++cases}`;
    await ch.query(`CREATE DATABASE ${name}`);
    const database = new ClickhouseDatabase({ url: ch.url, database: name });
    open.push(database);
    await runMigrations(database);
    const store = new ClickhouseStore(database);
    await store.start();
    return store;
  });
});
