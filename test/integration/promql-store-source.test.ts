import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { DuckDBDatabase } from '../../src/store/duckdb/database.js';
import { DuckDBStore } from '../../src/store/duckdb/telemetry-store.js';
import { SERIES_SOURCE_ROWS, describeSeriesSourceContract } from '../helpers/series-source-contract.js';

let dir: string;
let database: DuckDBDatabase;
let store: DuckDBStore;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sightline-promql-source-'));
  database = await DuckDBDatabase.open(
    { path: join(dir, 'source.duckdb'), memoryLimit: '512MB', checkpointThreshold: '16MB' },
    silentLogger(),
  );
  await database.migrate();
  store = new DuckDBStore(database);
  await store.start();
  await store.writeMetricPoints(SERIES_SOURCE_ROWS);
}, 60_000);

afterAll(async () => {
  await database.close();
  rmSync(dir, { recursive: true, force: true });
});

describeSeriesSourceContract('DuckDB', () => store);
