import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { DuckDBDatabase } from '../../src/store/duckdb/database.js';
import { DuckDBStore } from '../../src/store/duckdb/telemetry-store.js';
import { CLICKHOUSE_INSTALL_HINT, clickhouseAvailable } from '../harness/clickhouse.js';
import { startClickhouseStores, type ClickhouseStores } from '../helpers/clickhouse-stores.js';
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
  let clickhouse: ClickhouseStores;
  let cases = 0;

  beforeAll(async () => {
    clickhouse = await startClickhouseStores();
  }, 120_000);

  afterAll(async () => {
    await clickhouse?.stop();
  });

  describeQuerySeriesContract('ClickHouse', async () => {
    const { store } = await clickhouse.openStore(`query_series_${++cases}`);
    return store;
  });
});
