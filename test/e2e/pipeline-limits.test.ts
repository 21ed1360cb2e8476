import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import Long from 'long';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { opentelemetry } from '../../src/otlp/generated/otlp.js';
import { ApiClient } from '../harness/api-client.js';
import { post } from '../harness/otlp-requests.js';
import { newDataDir, startSightlineProcess, type SightlineProcess } from '../harness/sightline.js';

const METRIC = 'e2e.limits.queue_depth';
const MAX_SERIES = 5;
const SERIES_SENT = 8;
/** How long the API may take to show what was ingested (the processor batches for milliseconds). */
const WAIT = { timeout: 15_000, interval: 200 };

/** One gauge with a data point per shard, each its own series (a distinct `shard` label). */
function gaugeRequest(shards: readonly number[], timeNs: bigint): Buffer {
  const time = Long.fromString(String(timeNs), true);
  const message = opentelemetry.proto.collector.v1.ExportMetricsServiceRequest.encode({
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'limits-e2e' } }] },
        scopeMetrics: [
          {
            metrics: [
              {
                name: METRIC,
                unit: '1',
                gauge: {
                  dataPoints: shards.map((shard) => ({
                    timeUnixNano: time,
                    asDouble: shard,
                    attributes: [{ key: 'shard', value: { stringValue: `shard-${shard}` } }],
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

interface MetricsBody {
  series: Array<{ labels: Record<string, string>; points: number[][] }>;
}

/** The shards 0..7: five fit the limit, three do not. */
const SHARDS = Array.from({ length: SERIES_SENT }, (_, i) => i);

/** `usage_daily` of a stopped Sightline, read from its file. */
async function usageRows(dataDir: string): Promise<Array<Record<string, unknown>>> {
  const instance = await DuckDBInstance.create(join(dataDir, 'sightline.duckdb'), {
    access_mode: 'READ_ONLY',
  });
  try {
    const connection = await instance.connect();
    const reader = await connection.runAndReadAll(
      `SELECT strftime(day, '%Y-%m-%d') AS day, signal, records, bytes FROM usage_daily ORDER BY day, signal`,
    );
    connection.closeSync();
    return reader.getRowObjectsJS();
  } finally {
    instance.closeSync();
  }
}

/**
 * The limit stage through the built CLI: an org limited to 5 series sends 8, twice. Five are
 * stored each time (the admitted series keep flowing), three are dropped with reason
 * `series_limit` on /metrics, and after a graceful stop `usage_daily` holds the day's stored
 * records (not the dropped ones). After a restart the same five series are the admitted ones.
 */
describe('per-org limits in the pipeline', () => {
  let dataDir: string;
  let configFile: string;
  let sightline: SightlineProcess;
  let api: ApiClient;
  let key: string;

  beforeAll(async () => {
    dataDir = newDataDir();
    configFile = join(dataDir, 'sightline.yaml');
    writeFileSync(
      configFile,
      [
        'processor:',
        '  stages:',
        '    - type: limit',
        '      enabled: true',
        `      maxSeries: ${MAX_SERIES}`,
        '',
      ].join('\n'),
    );
    sightline = await startSightlineProcess({ dataDir, args: ['--config', configFile] });
    key = sightline.key;
    api = new ApiClient(sightline.apiUrl, key);
  }, 60_000);

  afterAll(async () => {
    await sightline?.stop();
    sightline?.cleanup();
  });

  const send = async (shards: readonly number[], timeNs: bigint): Promise<void> => {
    const response = await post(`${sightline.ingestUrl}/v1/metrics`, gaugeRequest(shards, timeNs), {
      'content-type': 'application/x-protobuf',
      authorization: `Bearer ${key}`,
    });
    expect(response.status).toBe(200);
  };

  /** The series of the metric once `points` points are stored, by shard: how many points each has. */
  const pointsByShard = async (points: number): Promise<Record<string, number>> => {
    const body = await vi.waitUntil(async () => {
      const { body } = await api.get<MetricsBody>(`/api/v1/metrics?name=${METRIC}`);
      return body.series.reduce((n, s) => n + s.points.length, 0) >= points ? body : undefined;
    }, WAIT);
    return Object.fromEntries(body.series.map((s) => [s.labels.shard ?? '', s.points.length]));
  };

  const selfMetrics = async (): Promise<string> => {
    const response = await fetch(`${sightline.apiUrl}/metrics`, {
      headers: { authorization: `Bearer ${key}` },
    });
    return response.text();
  };

  const droppedForSeries = (n: number): RegExp =>
    new RegExp(
      `sightline_stage_records_total\\{org="[^"]+",outcome="dropped",kind="metricPoints",reason="series_limit"\\} ${n}\\n`,
    );

  it('stores the first 5 series, drops the points of 3 more, and lets the admitted ones flow', async () => {
    const now = BigInt(Date.now()) * 1_000_000n;
    await send(SHARDS, now - 2_000_000_000n);
    await send(SHARDS, now - 1_000_000_000n);

    expect(await pointsByShard(2 * MAX_SERIES)).toEqual({
      'shard-0': 2,
      'shard-1': 2,
      'shard-2': 2,
      'shard-3': 2,
      'shard-4': 2,
    });
    const stats = await api.get<{ metricPoints: number }>('/api/v1/stats');
    expect(stats.body.metricPoints).toBe(2 * MAX_SERIES);

    const text = await selfMetrics();
    expect(text).toMatch(droppedForSeries(2 * (SERIES_SENT - MAX_SERIES)));
    expect(text).toMatch(new RegExp(`sightline_org_series\\{org="[^"]+"\\} ${MAX_SERIES}\\n`));
  });

  it('has the day’s stored records, not the dropped ones, in usage_daily after a graceful stop', async () => {
    expect(await sightline.stop()).toBe(0);
    const rows = await usageRows(dataDir);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ signal: 'metrics', records: BigInt(2 * MAX_SERIES) });
    // The test may straddle midnight UTC: the day is the one of the stop or the one before.
    const days = [Date.now(), Date.now() - 60_000].map((ms) => new Date(ms).toISOString().slice(0, 10));
    expect(days).toContain(rows[0]?.day);
    expect(Number(rows[0]?.bytes)).toBeGreaterThan(2 * MAX_SERIES * 100);
  });

  it('keeps the admitted series across a restart: new ones are still refused', async () => {
    sightline = await startSightlineProcess({ dataDir, key, args: ['--config', configFile] });
    api = new ApiClient(sightline.apiUrl, key);
    // Newest shard first: a limit that forgot its series would admit shards 7, 6, 5, 4 and 3.
    await send([...SHARDS].reverse(), BigInt(Date.now()) * 1_000_000n);
    expect(await pointsByShard(3 * MAX_SERIES)).toEqual({
      'shard-0': 3,
      'shard-1': 3,
      'shard-2': 3,
      'shard-3': 3,
      'shard-4': 3,
    });
    expect(await selfMetrics()).toMatch(droppedForSeries(SERIES_SENT - MAX_SERIES));

    expect(await sightline.stop()).toBe(0);
    const rows = await usageRows(dataDir);
    expect(rows.reduce((n, row) => n + Number(row.records), 0)).toBe(3 * MAX_SERIES);
  });
});
