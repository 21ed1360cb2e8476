import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeExportResponse, decodeStatus } from '../../src/otlp/codec.js';
import {
  gzipBomb,
  logsRequestBody,
  nestedAttributeJson,
  post,
  type RawResponse,
} from '../harness/otlp-requests.js';
import { ApiClient } from '../harness/api-client.js';
import { sightlineForSuite } from '../harness/sightline-suite.js';

const MiB = 1024 * 1024;

describe('bad input is refused with its documented status while good requests go through', () => {
  const sightline = sightlineForSuite();
  let goodCount = 0;
  const protobufHeaders = (): Record<string, string> => ({
    'content-type': 'application/x-protobuf',
    authorization: `Bearer ${sightline.server.key}`,
  });

  /** Sends `bad` and a valid export at the same time; the valid one must be acknowledged and stored. */
  async function alongsideGoodRequest(bad: () => Promise<RawResponse>): Promise<RawResponse> {
    goodCount++;
    const marker = `good request ${goodCount} ${randomBytes(4).toString('hex')}`;
    const [badResponse, good] = await Promise.all([
      bad(),
      post(`${sightline.server.ingestUrl}/v1/logs`, logsRequestBody([marker]), protobufHeaders()),
    ]);
    expect(good.status).toBe(200);
    expect(decodeExportResponse('logs', good.body)).toBeUndefined();
    const stored = await sightline.api.logs({ q: `"${marker}"` });
    expect(stored.map((l) => l.body)).toEqual([marker]);
    return badResponse;
  }

  it('malformed protobuf: 400 with a google.rpc.Status body', async () => {
    const response = await alongsideGoodRequest(() =>
      post(
        `${sightline.server.ingestUrl}/v1/logs`,
        Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]),
        protobufHeaders(),
      ),
    );
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toBe('application/x-protobuf');
    expect(decodeStatus(response.body).message).toMatch(
      /SL_ERR_MALFORMED_BODY: the body is not a valid OTLP logs protobuf/,
    );
  });

  it('invalid JSON: 400 with a JSON status naming the problem', async () => {
    const response = await alongsideGoodRequest(() =>
      post(`${sightline.server.ingestUrl}/v1/traces`, Buffer.from('{"resourceSpans": [ {'), {
        'content-type': 'application/json',
        authorization: `Bearer ${sightline.server.key}`,
      }),
    );
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toBe('application/json');
    const status = JSON.parse(response.body.toString()) as { code: number; message: string };
    expect(status.message).toMatch(/not valid JSON/);
  });

  it('wrong content type: 415', async () => {
    const response = await alongsideGoodRequest(() =>
      post(`${sightline.server.ingestUrl}/v1/logs`, Buffer.from('hello'), {
        'content-type': 'text/plain',
        authorization: `Bearer ${sightline.server.key}`,
      }),
    );
    expect(response.status).toBe(415);
    expect(jsonStatus(response).message).toMatch(/SL_ERR_UNSUPPORTED_MEDIA_TYPE/);
  });

  it('unsupported content encoding: 415', async () => {
    const response = await alongsideGoodRequest(() =>
      post(`${sightline.server.ingestUrl}/v1/logs`, logsRequestBody(['x']), {
        ...protobufHeaders(),
        'content-encoding': 'zstd',
      }),
    );
    expect(response.status).toBe(415);
    expect(decodeStatus(response.body).message).toMatch(/Content-Encoding "zstd" is not supported/);
  });

  it('missing key: 401', async () => {
    const response = await alongsideGoodRequest(() =>
      post(`${sightline.server.ingestUrl}/v1/logs`, logsRequestBody(['no key']), {
        'content-type': 'application/x-protobuf',
      }),
    );
    expect(response.status).toBe(401);
    expect(decodeStatus(response.body).message).toMatch(/missing API key/);
  });

  it('wrong key: 401, also for the query API', async () => {
    const response = await alongsideGoodRequest(() =>
      post(`${sightline.server.ingestUrl}/v1/logs`, logsRequestBody(['wrong key']), {
        'content-type': 'application/x-protobuf',
        'x-api-key': 'sl_notarealkeynotarealkey',
      }),
    );
    expect(response.status).toBe(401);
    expect(decodeStatus(response.body).message).toMatch(/invalid API key/);
    const query = await new ApiClient(sightline.server.apiUrl, 'sl_notarealkeynotarealkey').get<{
      error: { code: string };
    }>('/api/v1/logs');
    expect(query.status).toBe(401);
    expect(query.body.error.code).toBe('SL_ERR_UNAUTHENTICATED');
  });

  it('body over the limit: 413', async () => {
    const response = await alongsideGoodRequest(() =>
      post(`${sightline.server.ingestUrl}/v1/logs`, Buffer.alloc(21 * MiB, 0x41), protobufHeaders()),
    );
    expect(response.status).toBe(413);
    expect(decodeStatus(response.body).message).toMatch(/larger than 20971520 bytes/);
  });

  it('gzip bomb (about 1 MB that inflates to 1 GiB): 413, and memory stays bounded', async () => {
    const bomb = await gzipBomb(1024 * MiB);
    expect(bomb.length).toBeLessThan(2 * MiB);
    const before = sightline.server.memory();
    const response = await alongsideGoodRequest(() =>
      post(`${sightline.server.ingestUrl}/v1/logs`, bomb, {
        ...protobufHeaders(),
        'content-encoding': 'gzip',
      }),
    );
    expect(response.status).toBe(413);
    expect(decodeStatus(response.body).message).toMatch(/after decompression/);
    const after = sightline.server.memory();
    // Inflating stops at the 20 MiB limit; the peak may grow by that and its copies, never by the gigabyte.
    expect(after.peak - before.peak).toBeLessThan(150 * MiB);
  });

  it('deeply nested JSON attributes: that record is rejected (partial success), its neighbours are stored', async () => {
    const response = await alongsideGoodRequest(() =>
      post(
        `${sightline.server.ingestUrl}/v1/logs`,
        nestedAttributeJson(40, 'nesting', ['neighbour one', 'neighbour two']),
        {
          'content-type': 'application/json',
          authorization: `Bearer ${sightline.server.key}`,
        },
      ),
    );
    expect(response.status).toBe(200);
    const body = JSON.parse(response.body.toString()) as {
      partialSuccess: { rejectedLogRecords: string; errorMessage: string };
    };
    expect(body.partialSuccess.rejectedLogRecords).toBe('1');
    expect(body.partialSuccess.errorMessage).toMatch(/1 of 3 log records rejected: .*deeper than 16 levels/);
    const stored = await sightline.api.logs({ q: 'service:nesting' });
    expect(stored.map((l) => l.body).sort()).toEqual(['neighbour one', 'neighbour two']);
  });

  it('a time the store cannot hold (after 2262): that record is rejected, the pipeline keeps going', async () => {
    const body = Buffer.from(
      '{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"far-future"}}]},' +
        '"scopeLogs":[{"logRecords":[{"timeUnixNano":"18446744073709551615","body":{"stringValue":"too late"}},' +
        `{"timeUnixNano":"${BigInt(Date.now()) * 1_000_000n}","body":{"stringValue":"on time"}}]}]}]}`,
    );
    const response = await alongsideGoodRequest(() =>
      post(`${sightline.server.ingestUrl}/v1/logs`, body, {
        'content-type': 'application/json',
        authorization: `Bearer ${sightline.server.key}`,
      }),
    );
    expect(response.status).toBe(200);
    const result = JSON.parse(response.body.toString()) as {
      partialSuccess: { rejectedLogRecords: string; errorMessage: string };
    };
    expect(result.partialSuccess.rejectedLogRecords).toBe('1');
    expect(result.partialSuccess.errorMessage).toMatch(/after the year 2262/);
    expect((await sightline.api.logs({ q: 'service:far-future' })).map((l) => l.body)).toEqual(['on time']);
  });

  it('absurdly nested JSON (100,000 levels): 400, and the server keeps serving', async () => {
    const response = await alongsideGoodRequest(() =>
      post(`${sightline.server.ingestUrl}/v1/logs`, nestedAttributeJson(100_000, 'absurd', []), {
        'content-type': 'application/json',
        authorization: `Bearer ${sightline.server.key}`,
      }),
    );
    expect(response.status).toBe(400);
    expect(jsonStatus(response).message).toMatch(/nested deeper than 128 levels/);
  });

  it('absurdly nested protobuf: 400', async () => {
    // AnyValue{kvlist_value{values[KeyValue{value: AnyValue{...}}]}} repeated, encoded by hand from the inside out.
    let value = Buffer.from([0x0a, 0x01, 0x78]);
    for (let i = 0; i < 20_000; i++) {
      const keyValue = Buffer.concat([Buffer.from([0x12]), varint(value.length), value]);
      const list = Buffer.concat([Buffer.from([0x0a]), varint(keyValue.length), keyValue]);
      value = Buffer.concat([Buffer.from([0x32]), varint(list.length), list]);
    }
    const record = Buffer.concat([Buffer.from([0x2a]), varint(value.length), value]);
    const scopeLogs = Buffer.concat([Buffer.from([0x12]), varint(record.length), record]);
    const resourceLogs = Buffer.concat([Buffer.from([0x12]), varint(scopeLogs.length), scopeLogs]);
    const request = Buffer.concat([Buffer.from([0x0a]), varint(resourceLogs.length), resourceLogs]);
    const response = await alongsideGoodRequest(() =>
      post(`${sightline.server.ingestUrl}/v1/logs`, request, protobufHeaders()),
    );
    expect(response.status).toBe(400);
    expect(decodeStatus(response.body).message).toMatch(/nested too deeply to decode/);
  });

  it('the process survived every case and reports them on /metrics', async () => {
    // Every case above together, a 21 MiB body and a 1 GiB gzip bomb among them, stays within
    // a few copies of the 20 MiB body limit (about 240 MiB measured; DuckDB may take up to its 1 GB).
    expect(sightline.server.memory().peak).toBeLessThan(512 * MiB);
    const response = await fetch(`${sightline.server.gatewayMetricsUrl}/metrics`, {
      headers: { authorization: `Bearer ${sightline.server.key}` },
    });
    const text = await response.text();
    expect(text).toMatch(/sightline_http_errors_total\{server="ingest",code="SL_ERR_BODY_TOO_LARGE"\} 2/);
    expect(text).toMatch(/sightline_records_rejected_total\{signal="logs",reason="attribute_too_deep"\} 1/);
    expect(text).toMatch(/sightline_records_accepted_total\{signal="logs"\} \d+/);
  });
});

function varint(n: number): Buffer {
  const bytes: number[] = [];
  let value = n;
  while (value > 0x7f) {
    bytes.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  bytes.push(value);
  return Buffer.from(bytes);
}

function jsonStatus(response: RawResponse): { code: number; message: string } {
  return JSON.parse(response.body.toString()) as { code: number; message: string };
}
