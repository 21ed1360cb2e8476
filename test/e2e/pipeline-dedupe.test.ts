import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sightlineForSuite } from '../harness/sightline-suite.js';
import { logsRequestBody, post } from '../harness/otlp-requests.js';

describe('a batch sent again is stored once', () => {
  const sightline = sightlineForSuite();

  it('stores each record of a request sent twice once, and says so on /metrics', async () => {
    const marker = `retried ${randomBytes(4).toString('hex')}`;
    const body = logsRequestBody([`${marker} one`, `${marker} two`, `${marker} three`]);
    const headers = {
      'content-type': 'application/x-protobuf',
      authorization: `Bearer ${sightline.server.key}`,
    };
    // A client that timed out and sent the same request again.
    expect((await post(`${sightline.server.ingestUrl}/v1/logs`, body, headers)).status).toBe(200);
    expect((await post(`${sightline.server.ingestUrl}/v1/logs`, body, headers)).status).toBe(200);
    const stored = await sightline.api.logs({ q: `"${marker}"` });
    expect(stored.map((l) => l.body).sort()).toEqual([`${marker} one`, `${marker} three`, `${marker} two`]);
    const metrics = await fetch(`${sightline.server.processorMetricsUrl}/metrics`, {
      headers: { authorization: `Bearer ${sightline.server.key}` },
    });
    // Each copy is counted once, by whichever caught it: the dedupe stage, or the store's id check
    // when the copies came through partitions handled at the same moment (scale-out shape).
    const text = await metrics.text();
    const sample = (pattern: RegExp): number => Number(pattern.exec(text)?.[1] ?? 0);
    const droppedByStage = sample(
      /sightline_stage_records_total\{org="[^"]+",outcome="dropped",kind="logs",reason="duplicate"\} (\d+)/,
    );
    const skippedByStore = sample(/sightline_records_duplicate_total\{table="logs"\} (\d+)/);
    expect(droppedByStage + skippedByStore, text).toBe(3);
  });
});
