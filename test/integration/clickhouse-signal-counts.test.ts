import { afterAll, beforeAll, describe } from 'vitest';
import type { ClickhouseStore } from '../../src/store/clickhouse/telemetry-store.js';
import { CLICKHOUSE_INSTALL_HINT, clickhouseAvailable } from '../harness/clickhouse.js';
import { startClickhouseStores, type ClickhouseStores } from '../helpers/clickhouse-stores.js';
import { requireService } from '../harness/service-missing.js';
import { describeSignalCountsContract, writeSignalCountRows } from '../helpers/signal-counts-contract.js';

/** Store.countSignals on ClickHouse: the cases of test/integration/signal-counts.test.ts (DuckDB). */

const available = requireService('ClickHouse', clickhouseAvailable(), CLICKHOUSE_INSTALL_HINT);

describe.skipIf(!available)('signal counts on ClickHouse', () => {
  let clickhouse: ClickhouseStores;
  let store: ClickhouseStore;

  beforeAll(async () => {
    clickhouse = await startClickhouseStores();
    ({ store } = await clickhouse.openStore());
    await writeSignalCountRows(store);
  }, 60_000);

  afterAll(async () => {
    await clickhouse?.stop();
  });

  describeSignalCountsContract('ClickHouse', () => store);
});
