import { ClickhouseDatabase } from '../../src/store/clickhouse/database.js';
import { runMigrations } from '../../src/store/clickhouse/migrations.js';
import { ClickhouseStore } from '../../src/store/clickhouse/telemetry-store.js';
import { startClickhouse, type ClickhouseInstance } from '../harness/clickhouse.js';

/** A migrated database on the harness's server and a started store on it. */
export interface ClickhouseTestStore {
  database: ClickhouseDatabase;
  store: ClickhouseStore;
}

/** A ClickHouse server of the harness that hands out migrated stores, for one test file. */
export interface ClickhouseStores {
  ch: ClickhouseInstance;
  /** The server's default database, or a new one called `name` (for a database per case). */
  openStore(name?: string): Promise<ClickhouseTestStore>;
  /** Closes every database it opened, then stops the server. */
  stop(): Promise<void>;
}

export async function startClickhouseStores(): Promise<ClickhouseStores> {
  const ch = await startClickhouse();
  const open: ClickhouseDatabase[] = [];
  return {
    ch,
    openStore: async (name) => {
      if (name !== undefined) await ch.query(`CREATE DATABASE ${name}`);
      const database = new ClickhouseDatabase({
        url: ch.url,
        ...(name === undefined ? {} : { database: name }),
      });
      // Closed on stop even when the migrations below fail.
      open.push(database);
      await runMigrations(database);
      const store = new ClickhouseStore(database);
      await store.start();
      return { database, store };
    },
    stop: async () => {
      for (const database of open) await database.close();
      await ch.stop();
    },
  };
}
