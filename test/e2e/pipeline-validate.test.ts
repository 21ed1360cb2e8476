import { join } from 'node:path';
import Long from 'long';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { displayPrefix, hashApiKey } from '../../src/auth/api-key.js';
import { silentLogger } from '../../src/core/logger.js';
import { decodeExportResponse } from '../../src/otlp/codec.js';
import { opentelemetry } from '../../src/otlp/generated/otlp.js';
import { DuckDBControlStore } from '../../src/store/duckdb/control-store.js';
import { DuckDBDatabase } from '../../src/store/duckdb/database.js';
import { ApiClient } from '../harness/api-client.js';
import { post } from '../harness/otlp-requests.js';
import { newDataDir, startSightlineProcess, testKey, type SightlineProcess } from '../harness/sightline.js';

const DAY_NS = 86_400n * 1_000_000_000n;

interface LogInput {
  body: string;
  timeNs: bigint;
  attributes?: { [key: string]: string };
}

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

function protobufLogs(service: string, records: readonly LogInput[]): Buffer {
  return Buffer.from(
    opentelemetry.proto.collector.v1.ExportLogsServiceRequest.encode({
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
          scopeLogs: [
            {
              logRecords: records.map((r) => ({
                timeUnixNano: Long.fromString(r.timeNs.toString(), true),
                severityNumber: 9,
                body: { stringValue: r.body },
                attributes: Object.entries(r.attributes ?? {}).map(([key, value]) => ({
                  key,
                  value: { stringValue: value },
                })),
              })),
            },
          ],
        },
      ],
    }).finish(),
  );
}

function jsonLogs(service: string, records: readonly LogInput[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
          scopeLogs: [
            {
              logRecords: records.map((r) => ({
                timeUnixNano: r.timeNs.toString(),
                severityNumber: 9,
                body: { stringValue: r.body },
                attributes: Object.entries(r.attributes ?? {}).map(([key, value]) => ({
                  key,
                  value: { stringValue: value },
                })),
              })),
            },
          ],
        },
      ],
    }),
  );
}

interface JsonExportResponse {
  partialSuccess?: { rejectedLogRecords?: string; errorMessage?: string };
}

const FUTURE_MESSAGE =
  /^1 of 3 log records rejected: timestamp_in_future \(1\): time_unix_nano \S+ is 2 days ahead of the server's clock; at most 1 h ahead is accepted \(ingest\.limits\.maxFutureSeconds\)/;

describe('records over the ingest limits are rejected one by one, reported and counted per org, and their batch-mates are stored', () => {
  const keyA = testKey();
  const keyB = testKey();
  let orgA = '';
  let orgB = '';
  let server: SightlineProcess;
  let apiA: ApiClient;
  let apiB: ApiClient;

  beforeAll(async () => {
    // Two orgs, each with a key, in the data dir before the first start: the default org
    // (which the bootstrap key joins) and another.
    const dataDir = newDataDir();
    const database = await DuckDBDatabase.open(
      { path: join(dataDir, 'sightline.duckdb'), memoryLimit: '256MB', checkpointThreshold: '64MB' },
      silentLogger(),
    );
    await database.migrate();
    const control = new DuckDBControlStore(database);
    for (const [name, key] of [
      ['default', keyA],
      ['other', keyB],
    ] as const) {
      const org = await control.createOrg(name);
      await control.createApiKey({
        orgId: org.id,
        name: 'e2e',
        prefix: displayPrefix(key),
        keyHash: hashApiKey(key),
      });
      if (name === 'default') orgA = org.id;
      else orgB = org.id;
    }
    await database.close();
    server = await startSightlineProcess({ dataDir, key: keyA });
    apiA = new ApiClient(server.apiUrl, keyA);
    apiB = new ApiClient(server.apiUrl, keyB);
  });

  afterAll(async () => {
    expect(await server.stop()).toBe(0);
    server.cleanup();
  });

  function headers(format: 'protobuf' | 'json', key = keyA): { [name: string]: string } {
    return {
      'content-type': format === 'protobuf' ? 'application/x-protobuf' : 'application/json',
      authorization: `Bearer ${key}`,
    };
  }

  it('protobuf: a log record 2 days in the future is reported as rejected with its reason; the other two are stored', async () => {
    const now = nowNs();
    const response = await post(
      `${server.ingestUrl}/v1/logs`,
      protobufLogs('validate-proto', [
        { body: 'proto before', timeNs: now },
        { body: 'proto from the future', timeNs: now + 2n * DAY_NS },
        { body: 'proto after', timeNs: now + 1n },
      ]),
      headers('protobuf'),
    );
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/x-protobuf');
    const partial = decodeExportResponse('logs', response.body);
    expect(partial?.rejected).toBe(1);
    expect(partial?.errorMessage).toMatch(FUTURE_MESSAGE);
    const stored = await apiA.logs({ q: 'service:validate-proto' });
    expect(stored.map((l) => l.body).sort()).toEqual(['proto after', 'proto before']);
  });

  it('JSON: the same request is answered in JSON with rejectedLogRecords 1 and the reason', async () => {
    const now = nowNs();
    const response = await post(
      `${server.ingestUrl}/v1/logs`,
      jsonLogs('validate-json', [
        { body: 'json before', timeNs: now },
        { body: 'json from the future', timeNs: now + 2n * DAY_NS },
        { body: 'json after', timeNs: now + 1n },
      ]),
      headers('json'),
    );
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    const body = JSON.parse(response.body.toString()) as JsonExportResponse;
    expect(body.partialSuccess?.rejectedLogRecords).toBe('1');
    expect(body.partialSuccess?.errorMessage).toMatch(FUTURE_MESSAGE);
    const stored = await apiA.logs({ q: 'service:validate-json' });
    expect(stored.map((l) => l.body).sort()).toEqual(['json after', 'json before']);
  });

  it("another org's rejection is reported to it and counted under its own org", async () => {
    const now = nowNs();
    const response = await post(
      `${server.ingestUrl}/v1/logs`,
      jsonLogs('validate-other-org', [
        { body: 'other org on time', timeNs: now },
        { body: 'other org from the future', timeNs: now + 3n * DAY_NS },
      ]),
      headers('json', keyB),
    );
    expect(response.status).toBe(200);
    const body = JSON.parse(response.body.toString()) as JsonExportResponse;
    expect(body.partialSuccess?.rejectedLogRecords).toBe('1');
    expect(body.partialSuccess?.errorMessage).toMatch(/timestamp_in_future \(1\)/);
    expect((await apiB.logs({ q: 'service:validate-other-org' })).map((l) => l.body)).toEqual([
      'other org on time',
    ]);
    expect(await apiA.logs({ q: 'service:validate-other-org' })).toEqual([]);
  });

  it('a record too old and a body too large are rejected, a long attribute value is cut, and the rest is stored', async () => {
    const now = nowNs();
    const stack = 'at com.example.Checkout.pay(Checkout.java:42)\n'.repeat(1000);
    const response = await post(
      `${server.ingestUrl}/v1/logs`,
      jsonLogs('validate-limits', [
        { body: 'from last month', timeNs: now - 30n * DAY_NS },
        { body: 'x'.repeat(300 * 1024), timeNs: now },
        { body: 'payment failed', timeNs: now + 1n, attributes: { 'exception.stacktrace': stack } },
        { body: 'plain', timeNs: now + 2n },
      ]),
      headers('json'),
    );
    expect(response.status).toBe(200);
    const body = JSON.parse(response.body.toString()) as JsonExportResponse;
    expect(body.partialSuccess?.rejectedLogRecords).toBe('2');
    const message = body.partialSuccess?.errorMessage ?? '';
    expect(message).toMatch(/^2 of 4 log records rejected: /);
    expect(message).toMatch(
      /timestamp_too_old \(1\): time_unix_nano \S+ is 30 days old; records older than 7 days are not accepted \(ingest\.limits\.maxPastSeconds\)/,
    );
    expect(message).toContain(
      'body_too_large (1): the body is 307200 bytes; at most 262144 are accepted (ingest.limits.maxLogBodyBytes)',
    );
    expect(message).toContain(
      '1 of 4 log records stored with values cut short: attribute_value_too_long (1): attribute "exception.stacktrace" of a log record has a value of 46000 bytes, cut to 32768',
    );
    const stored = await apiA.logs({ q: 'service:validate-limits' });
    expect(stored.map((l) => l.body).sort()).toEqual(['payment failed', 'plain']);
    const failed = stored.find((l) => l.body === 'payment failed');
    const kept = failed?.attributes['exception.stacktrace'];
    expect(typeof kept === 'string' && kept.length).toBe(32 * 1024);
    expect(stack.startsWith(String(kept))).toBe(true);
  });

  it('/metrics counts the rejections by org, signal and reason, each org seeing its own', async () => {
    const scrape = async (key: string): Promise<string> => {
      const response = await fetch(`${server.apiUrl}/metrics`, {
        headers: { authorization: `Bearer ${key}` },
      });
      return response.text();
    };
    const texts = { [orgA]: await scrape(keyA), [orgB]: await scrape(keyB) };
    const text = texts[orgA] ?? '';
    const countIn = (body: string, name: string, labels: string): number | undefined => {
      const line = body.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    const count = (name: string, labels: string): number | undefined => countIn(text, name, labels);
    const rejected = (org: string, reason: string): number | undefined =>
      countIn(
        texts[org] ?? '',
        'sightline_ingest_rejected_total',
        `org="${org}",signal="logs",reason="${reason}"`,
      );
    expect(texts[orgA]).not.toContain(orgB);
    expect(texts[orgB]).not.toContain(orgA);
    expect(rejected(orgA, 'timestamp_in_future')).toBe(2);
    expect(rejected(orgB, 'timestamp_in_future')).toBe(1);
    expect(rejected(orgA, 'timestamp_too_old')).toBe(1);
    expect(rejected(orgA, 'body_too_large')).toBe(1);
    expect(rejected(orgB, 'timestamp_too_old')).toBeUndefined();
    expect(
      count(
        'sightline_ingest_truncated_total',
        `org="${orgA}",signal="logs",reason="attribute_value_too_long"`,
      ),
    ).toBe(1);
    // The all-org total, which the processor's dead letters add to as well.
    expect(count('sightline_records_rejected_total', 'signal="logs",reason="timestamp_in_future"')).toBe(3);
  });
});
