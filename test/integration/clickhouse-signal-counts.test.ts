import { afterAll, beforeAll, describe } from 'vitest';
import { ClickhouseDatabase } from '../../src/store/clickhouse/database.js';
import { runMigrations } from '../../src/store/clickhouse/migrations.js';
import { ClickhouseStore } from '../../src/store/clickhouse/telemetry-store.js';
import {
  CLICKHOUSE_INSTALL_HINT,
  clickhouseAvailable,
  startClickhouse,
  type ClickhouseInstance,
} from '../harness/clickhouse.js';
import { requireService } from '../harness/service-missing.js';
import { describeSignalCountsContract, writeSignalCountRows } from '../helpers/signal-counts-contract.js';

/** Store.countSignals on ClickHouse: the cases of test/integration/signal-counts.test.ts (DuckDB). */

const available = requireService('ClickHouse', clickhouseAvailable(), CLICKHOUSE_INSTALL_HINT);

describe.skipIf(!available)('signal counts on ClickHouse', () => {
  let ch: ClickhouseInstance;
  let database: ClickhouseDatabase;
  let store: ClickhouseStore;

  beforeAll(async () => {
    ch = await startClickhouse();
    database = new ClickhouseDatabase({ url: ch.url });
    await runMigrations(database);
    store = new ClickhouseStore(database);
    await store.start();
    await writeSignalCountRows(store);
  }, 60_000);

  afterAll(async () => {
    await database?.close();
    await ch?.stop();
  });

  describeSignalCountsContract('ClickHouse', () => store);
});
