import { afterAll, beforeAll, describe } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { ClickhouseRollupSteps } from '../../src/store/clickhouse/rollups.js';
import { identifier, rawSql, sql, type Sql } from '../../src/store/clickhouse/sql.js';
import { MINUTE_NS, RollupJob } from '../../src/store/rollup-job.js';
import { CLICKHOUSE_INSTALL_HINT, clickhouseAvailable } from '../harness/clickhouse.js';
import { startClickhouseStores, type ClickhouseStores } from '../helpers/clickhouse-stores.js';
import { requireService } from '../harness/service-missing.js';
import {
  H0,
  describeRollupContract,
  type LogCountView,
  type MetricRollupView,
  type RollupSeriesView,
  type SpanLatencyView,
} from '../helpers/rollup-contract.js';

const available = requireService('ClickHouse', clickhouseAvailable(), CLICKHOUSE_INSTALL_HINT);
const S = 1_000_000_000n;

/**
 * The rollup contract on ClickHouse (Debian's 18.16): every case on a database of its own in one
 * server, read back with FINAL as the query side reads the rollup tables.
 */
describe.skipIf(!available)('ClickHouse rollups', () => {
  let clickhouse: ClickhouseStores;
  let cases = 0;

  beforeAll(async () => {
    clickhouse = await startClickhouseStores();
  }, 120_000);

  afterAll(async () => {
    await clickhouse?.stop();
  });

  describeRollupContract('ClickHouse', async () => {
    const { database, store } = await clickhouse.openStore(`rollups_${++cases}`);
    // Numbers as numbers (Int64 arrives as a string), ClickHouse's UInt8 booleans as booleans.
    const rows = async <T>(statement: Sql, booleans: readonly string[] = []): Promise<T[]> =>
      (await database.select<Record<string, unknown>>(statement)).map(
        (row) =>
          Object.fromEntries(
            Object.entries(row).map(([k, v]) => [
              k,
              booleans.includes(k)
                ? v === 1
                : typeof v === 'string' && /^-?\d+$/.test(v) && k !== 'labels'
                  ? Number(v)
                  : v,
            ]),
          ) as T,
      );
    const minute = rawSql(`intDiv(bucket_ts - ${H0}, ${MINUTE_NS}) AS minute`);
    return {
      writeMetricPoints: (r) => store.writeMetricPoints(r),
      writeLogs: (r) => store.writeLogs(r),
      writeSpans: (r) => store.writeSpans(r),
      pass: (now, options = {}) =>
        new RollupJob(
          { intervalSeconds: 60, latenessSeconds: 600, ...options },
          { steps: new ClickhouseRollupSteps(database), logger: silentLogger() },
        ).runOnce(now),
      metricRollups: (table, series) =>
        rows<MetricRollupView>(
          sql`SELECT ${minute}, count, min, max, sum, last, intDiv(last_ts - ${H0}, ${S}) AS last_s, delta,
                hist_count, hist_sum
              FROM ${identifier(table)} FINAL WHERE series_id = ${series} ORDER BY bucket_ts`,
        ),
      seriesCopies: (table) =>
        rows<RollupSeriesView>(
          sql`SELECT org_id, name, kind, unit, temporality, monotonic, entity_id, service, host, labels, resource,
                scope_name, last FROM ${identifier(table)} FINAL ORDER BY org_id`,
          ['monotonic'],
        ),
      logCounts: () =>
        rows<LogCountView>(
          sql`SELECT ${minute}, service, severity, count FROM log_counts_1m FINAL
              ORDER BY minute, service, severity`,
        ),
      spanLatency: () =>
        rows<SpanLatencyView>(
          sql`SELECT ${minute}, service, name, kind, count, errors, sum_ns, min_ns, max_ns, p50_ns, p95_ns, p99_ns
              FROM span_latency_1m FINAL ORDER BY minute`,
        ),
    };
  });
});
