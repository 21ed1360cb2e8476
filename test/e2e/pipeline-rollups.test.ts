import { join } from 'node:path';
import { BIGINT, DuckDBInstance } from '@duckdb/node-api';
import Long from 'long';
import { afterEach, describe, expect, it } from 'vitest';
import { opentelemetry } from '../../src/otlp/generated/otlp.js';
import { post } from '../harness/otlp-requests.js';
import { startSightlineProcess, type SightlineProcess } from '../harness/sightline.js';

const S = 1_000_000_000n;
const MINUTE_NS = 60n * S;
const FIVE_MINUTES_NS = 5n * MINUTE_NS;
/** OTLP AggregationTemporality CUMULATIVE. */
const CUMULATIVE = 2;

const nanos = (ns: bigint): Long => Long.fromString(String(ns), true);

/** Points `indexes` of a gauge (value i) and a cumulative counter (100 + 5i), point i at base + 10 s × i. */
function metricsRequest(base: bigint, indexes: readonly number[]): Buffer {
  const at = (i: number) => nanos(base + BigInt(i) * 10n * S);
  const message = opentelemetry.proto.collector.v1.ExportMetricsServiceRequest.encode({
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'rollup-e2e' } }] },
        scopeMetrics: [
          {
            scope: { name: 'e2e' },
            metrics: [
              {
                name: 'e2e.queue.depth',
                unit: '{item}',
                gauge: { dataPoints: indexes.map((i) => ({ timeUnixNano: at(i), asDouble: i })) },
              },
              {
                name: 'e2e.requests',
                unit: '{request}',
                sum: {
                  aggregationTemporality: CUMULATIVE,
                  isMonotonic: true,
                  dataPoints: indexes.map((i) => ({
                    startTimeUnixNano: nanos(base - 60n * MINUTE_NS),
                    timeUnixNano: at(i),
                    asInt: Long.fromNumber(100 + 5 * i),
                  })),
                },
              },
            ],
          },
        ],
      },
    ],
  }).finish();
  return Buffer.from(message);
}

/** Rows of one metric's rollup table, read from the stopped server's database file. */
async function rollupRows(databasePath: string, table: string, name: string, base: bigint) {
  const instance = await DuckDBInstance.create(databasePath, { access_mode: 'READ_ONLY' });
  try {
    const connection = await instance.connect();
    const reader = await connection.runAndReadAll(
      `SELECT (bucket_ts - $base) // ${MINUTE_NS} AS minute, count, min, max, sum, last, delta
       FROM ${table} WHERE name = $name ORDER BY bucket_ts`,
      { base, name },
      { base: BIGINT },
    );
    const rows = reader.getRowObjectsJS().map((r) => ({
      minute: Number(r.minute),
      count: Number(r.count),
      min: Number(r.min),
      max: Number(r.max),
      sum: Number(r.sum),
      last: Number(r.last),
      delta: r.delta === null ? null : Number(r.delta),
    }));
    connection.closeSync();
    return rows;
  } finally {
    instance.closeSync();
  }
}

describe('rollups through the running product', () => {
  const started: SightlineProcess[] = [];
  afterEach(async () => {
    for (const server of started.splice(0)) {
      await server.stop('SIGKILL');
      server.cleanup();
    }
  });

  it('rolls a metric sent at 10 s resolution for 10 minutes into the right 1m and 5m rows', async () => {
    const server = await startSightlineProcess({
      env: {
        SIGHTLINE_STORE__RETENTION__ROLLUPS__INTERVAL_SECONDS: '1',
        // The points are up to a quarter of an hour old: every pass recomputes them.
        SIGHTLINE_STORE__RETENTION__ROLLUPS__LATENESS_SECONDS: '3600',
      },
    });
    started.push(server);
    // Ten whole minutes that end before now, starting on a five-minute boundary.
    const now = BigInt(Date.now()) * 1_000_000n;
    const base = (now / FIVE_MINUTES_NS) * FIVE_MINUTES_NS - 15n * MINUTE_NS;
    const headers = { 'content-type': 'application/x-protobuf', authorization: `Bearer ${server.key}` };
    // As an SDK exporting once a minute would send them: six points of each metric per request.
    for (let minute = 0; minute < 10; minute++) {
      const indexes = Array.from({ length: 6 }, (_, k) => minute * 6 + k);
      const response = await post(`${server.ingestUrl}/v1/metrics`, metricsRequest(base, indexes), headers);
      expect(response.status).toBe(200);
    }
    // Let the 1 s timer run a pass on its own; the pass at shutdown covers whatever it did not.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await server.stop()).toBe(0);

    const databasePath = join(server.dataDir, 'sightline.duckdb');
    expect(await rollupRows(databasePath, 'metric_rollups_1m', 'e2e.queue.depth', base)).toEqual(
      Array.from({ length: 10 }, (_, m) => ({
        minute: m,
        count: 6,
        min: 6 * m,
        max: 6 * m + 5,
        sum: 36 * m + 15,
        last: 6 * m + 5,
        delta: null,
      })),
    );
    expect(await rollupRows(databasePath, 'metric_rollups_5m', 'e2e.queue.depth', base)).toEqual([
      { minute: 0, count: 30, min: 0, max: 29, sum: 435, last: 29, delta: null },
      { minute: 5, count: 30, min: 30, max: 59, sum: 1335, last: 59, delta: null },
    ]);
    // The counter's first point adds nothing (nothing says since when it counted); every later one 5.
    const requests1m = await rollupRows(databasePath, 'metric_rollups_1m', 'e2e.requests', base);
    expect(requests1m.map((r) => r.delta)).toEqual([25, 30, 30, 30, 30, 30, 30, 30, 30, 30]);
    expect(requests1m.map((r) => r.last)).toEqual(
      Array.from({ length: 10 }, (_, m) => 100 + 5 * (6 * m + 5)),
    );
    expect(await rollupRows(databasePath, 'metric_rollups_5m', 'e2e.requests', base)).toEqual([
      { minute: 0, count: 30, min: 100, max: 245, sum: 3000 + 5 * 435, last: 245, delta: 145 },
      { minute: 5, count: 30, min: 250, max: 395, sum: 7500 + 5 * 435, last: 395, delta: 150 },
    ]);
  });
});
