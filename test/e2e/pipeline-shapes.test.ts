import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { logsRequestBody, post } from '../harness/otlp-requests.js';
import { sightlineForSuite } from '../harness/sightline-suite.js';

interface Pipeline {
  topics: Array<{
    topic: string;
    lag: { messages: number; bytes: number | null } | null;
    messagesPerSecond: number | null;
  }>;
  windowSeconds: number | null;
  note: string | null;
}

/**
 * GET /api/v1/pipeline, /usage and /dead-letters in the suite's shape (embedded by default: the
 * in-memory bus of the process that is also the processor; SIGHTLINE_E2E_SHAPE=scale-out: an api
 * process reading the processors' offsets from Kafka), fed OTLP logs through the gateway.
 */
describe('the pipeline routes in this deployment shape', () => {
  const sightline = sightlineForSuite();
  const service = `pipeline-${randomBytes(4).toString('hex')}`;
  const sent = 6;

  it('shows the logs topic drained with a committed rate, and the logs in today’s usage', async () => {
    for (let i = 0; i < 3; i++) {
      const bodies = [`${service} a ${i}`, `${service} b ${i}`];
      const response = await post(`${sightline.server.ingestUrl}/v1/logs`, logsRequestBody(bodies, service), {
        'content-type': 'application/x-protobuf',
        authorization: `Bearer ${sightline.server.key}`,
      });
      expect(response.status).toBe(200);
    }
    await vi.waitUntil(async () => (await sightline.api.logs({ q: `service:${service}` })).length === sent, {
      timeout: 30_000,
      interval: 250,
    });

    let pipeline: Pipeline | undefined;
    await vi.waitUntil(
      async () => {
        pipeline = (await sightline.api.get<Pipeline>('/api/v1/pipeline')).body;
        const logs = pipeline.topics.find((t) => t.topic === 'otel-logs');
        return logs?.lag?.messages === 0 && (logs.messagesPerSecond ?? 0) > 0;
      },
      { timeout: 30_000, interval: 500 },
    );
    expect(pipeline?.note).toBeNull();
    expect(pipeline?.windowSeconds).toBeGreaterThan(0);
    expect(pipeline?.topics.map((t) => t.topic)).toContain('dead-letter');

    await vi.waitUntil(
      async () => {
        const usage = await sightline.api.get<{ totals: Array<{ signal: string; records: number }> }>(
          '/api/v1/usage',
        );
        return (usage.body.totals.find((t) => t.signal === 'logs')?.records ?? 0) >= sent;
      },
      // usage_daily is flushed every 10 s.
      { timeout: 30_000, interval: 500 },
    );
  });

  it('answers an empty page of dead letters when every record was stored', async () => {
    const { status, body } = await sightline.api.get<{
      data: unknown[];
      meta: { total: number; reasons: unknown[]; nextCursor: string | null };
    }>('/api/v1/dead-letters');
    expect(status).toBe(200);
    expect(body).toMatchObject({ data: [], meta: { total: 0, reasons: [], nextCursor: null } });
  });
});
