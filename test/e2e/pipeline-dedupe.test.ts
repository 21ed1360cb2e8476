import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../harness/api-client.js';
import { logsRequestBody, post } from '../harness/otlp-requests.js';
import { startSightlineProcess, type SightlineProcess } from '../harness/sightline.js';

describe('a batch sent again is stored once', () => {
  let server: SightlineProcess;
  let api: ApiClient;

  beforeAll(async () => {
    server = await startSightlineProcess();
    api = new ApiClient(server.apiUrl, server.key);
  });

  afterAll(async () => {
    expect(await server.stop()).toBe(0);
    server.cleanup();
  });

  it('stores each record of a request sent twice once, and says so on /metrics', async () => {
    const marker = `retried ${randomBytes(4).toString('hex')}`;
    const body = logsRequestBody([`${marker} one`, `${marker} two`, `${marker} three`]);
    const headers = { 'content-type': 'application/x-protobuf', authorization: `Bearer ${server.key}` };
    // A client that timed out and sent the same request again.
    expect((await post(`${server.ingestUrl}/v1/logs`, body, headers)).status).toBe(200);
    expect((await post(`${server.ingestUrl}/v1/logs`, body, headers)).status).toBe(200);
    const stored = await api.logs({ q: `"${marker}"` });
    expect(stored.map((l) => l.body).sort()).toEqual([`${marker} one`, `${marker} three`, `${marker} two`]);
    const metrics = await fetch(`${server.apiUrl}/metrics`, {
      headers: { authorization: `Bearer ${server.key}` },
    });
    expect(await metrics.text()).toMatch(
      /sightline_stage_records_total\{org="[^"]+",outcome="dropped",kind="logs",reason="duplicate"\} 3/,
    );
  });
});
