import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { DuckDBDatabase } from '../../src/store/duckdb/database.js';
import { DuckDBStore } from '../../src/store/duckdb/telemetry-store.js';
import { DuckDBUsageStore } from '../../src/store/duckdb/usage-store.js';
import {
  PIPELINE_DEAD_LETTERS,
  PIPELINE_USAGE,
  describePipelineReadsContract,
} from '../helpers/pipeline-reads-contract.js';

let dir: string;
let database: DuckDBDatabase;
let store: DuckDBStore;
let usage: DuckDBUsageStore;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sightline-pipeline-reads-'));
  database = await DuckDBDatabase.open(
    { path: join(dir, 'pipeline.duckdb'), memoryLimit: '512MB', checkpointThreshold: '16MB' },
    silentLogger(),
  );
  await database.migrate();
  store = new DuckDBStore(database);
  await store.start();
  usage = new DuckDBUsageStore(database);
  await store.writeDeadLetters(PIPELINE_DEAD_LETTERS);
  await usage.addUsage(PIPELINE_USAGE);
}, 60_000);

afterAll(async () => {
  await database.close();
  rmSync(dir, { recursive: true, force: true });
});

describePipelineReadsContract('DuckDB', () => ({ store, usage }));
