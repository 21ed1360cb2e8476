import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickhouseDatabase } from '../../src/store/clickhouse/database.js';
import type { ClickhouseStore } from '../../src/store/clickhouse/telemetry-store.js';
import { ClickhouseUsageStore } from '../../src/store/clickhouse/usage-store.js';
import { ORG_A, T0 } from '../fixtures/rows.js';
import { CLICKHOUSE_INSTALL_HINT, clickhouseAvailable } from '../harness/clickhouse.js';
import { startClickhouseStores, type ClickhouseStores } from '../helpers/clickhouse-stores.js';
import { requireService } from '../harness/service-missing.js';
import {
  PIPELINE_DEAD_LETTERS,
  PIPELINE_USAGE,
  describePipelineReadsContract,
} from '../helpers/pipeline-reads-contract.js';

/* The cases of pipeline-reads.test.ts (DuckDB) on ClickHouse, plus a hostile page cursor. */

const available = requireService('ClickHouse', clickhouseAvailable(), CLICKHOUSE_INSTALL_HINT);

describe.skipIf(!available)('pipeline reads on ClickHouse', () => {
  let clickhouse: ClickhouseStores;
  let database: ClickhouseDatabase;
  let store: ClickhouseStore;
  let usage: ClickhouseUsageStore;

  beforeAll(async () => {
    clickhouse = await startClickhouseStores();
    ({ database, store } = await clickhouse.openStore());
    usage = new ClickhouseUsageStore(database);
    await store.writeDeadLetters(PIPELINE_DEAD_LETTERS);
    // Twice: a replayed record counts once.
    await store.writeDeadLetters(PIPELINE_DEAD_LETTERS);
    await usage.addUsage(PIPELINE_USAGE);
  }, 120_000);

  afterAll(async () => {
    await clickhouse?.stop();
  });

  describePipelineReadsContract('ClickHouse', () => ({ store, usage }));

  it('takes a cursor id as a value, never as SQL', async () => {
    const page = await store.listDeadLetters(ORG_A, {
      fromNs: T0,
      toNs: T0 + 60_000_000_000n,
      limit: 10,
      after: { ts: T0 + 10_000_000_000n, id: "dl-3' OR 1=1 OR id='" },
    });
    expect(page.records.map((r) => r.id)).toEqual(['dl-3', 'dl-2', 'dl-1']);
  });
});
