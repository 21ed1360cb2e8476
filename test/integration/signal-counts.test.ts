import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { DuckDBDatabase } from '../../src/store/duckdb/database.js';
import { DuckDBStore } from '../../src/store/duckdb/telemetry-store.js';
import { describeSignalCountsContract, writeSignalCountRows } from '../helpers/signal-counts-contract.js';

let dir: string;
let database: DuckDBDatabase;
let store: DuckDBStore;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sightline-signal-counts-'));
  database = await DuckDBDatabase.open(
    { path: join(dir, 'counts.duckdb'), memoryLimit: '512MB', checkpointThreshold: '16MB' },
    silentLogger(),
  );
  await database.migrate();
  store = new DuckDBStore(database);
  await store.start();
  await writeSignalCountRows(store);
}, 60_000);

afterAll(async () => {
  await database.close();
  rmSync(dir, { recursive: true, force: true });
});

describeSignalCountsContract('DuckDB', () => store);
