import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { DuckDBControlStore } from '../../src/store/duckdb/control-store.js';
import { DuckDBDatabase } from '../../src/store/duckdb/database.js';
import { describeControlStoreContract, type ControlStoreFixture } from '../helpers/control-store-contract.js';

let dir: string;
let files = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sightline-control-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function openDatabase(path: string): Promise<DuckDBDatabase> {
  const database = await DuckDBDatabase.open(
    { path, memoryLimit: '256MB', checkpointThreshold: '16MB', threads: 1 },
    silentLogger(),
  );
  await database.migrate();
  return database;
}

describeControlStoreContract('DuckDB (embedded)', async (): Promise<ControlStoreFixture> => {
  const path = join(dir, `control-${++files}.duckdb`);
  let database = await openDatabase(path);
  const fixture: ControlStoreFixture = {
    store: new DuckDBControlStore(database),
    revoke: (keyHash) =>
      database.withConnection(async (connection) => {
        await connection.run('UPDATE api_keys SET revoked_at = current_timestamp WHERE key_hash = $keyHash', {
          keyHash,
        });
      }),
    reopen: async () => {
      await database.close();
      database = await openDatabase(path);
      fixture.store = new DuckDBControlStore(database);
    },
    close: async () => {
      await database.close();
      rmSync(path, { force: true });
      rmSync(`${path}.wal`, { force: true });
    },
  };
  return fixture;
});
