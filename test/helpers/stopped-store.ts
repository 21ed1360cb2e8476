import { join } from 'node:path';
import { silentLogger } from '../../src/core/logger.js';
import type { OrgId } from '../../src/store/rows.js';
import { DuckDBControlStore } from '../../src/store/duckdb/control-store.js';
import { DuckDBDatabase } from '../../src/store/duckdb/database.js';
import { DuckDBStore } from '../../src/store/duckdb/telemetry-store.js';

export interface StoppedStore {
  database: DuckDBDatabase;
  store: DuckDBStore;
  /** The org the server's first start created. */
  orgId: OrgId;
}

/**
 * The DuckDB store of a stopped `sightline start` (its data dir, the default file), for writing
 * what no client can send (statement statistics, history with past timestamps) before the
 * server starts again on it. DuckDB has one writer: the server must not be running.
 */
export async function withStoppedStore<T>(
  dataDir: string,
  use: (opened: StoppedStore) => Promise<T>,
): Promise<T> {
  const database = await DuckDBDatabase.open(
    { path: join(dataDir, 'sightline.duckdb'), memoryLimit: '1GB', checkpointThreshold: '256MB' },
    silentLogger(),
  );
  try {
    const [org] = await new DuckDBControlStore(database).listOrgs();
    if (org === undefined) throw new Error('the data dir has no org: start sightline on it once first');
    const store = new DuckDBStore(database);
    await store.start();
    const result = await use({ database, store, orgId: org.id });
    await store.shutdown();
    return result;
  } finally {
    await database.close();
  }
}
