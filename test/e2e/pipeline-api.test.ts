import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../harness/api-client.js';
import { KAFKA_INSTALL_HINT, kafkaAvailable } from '../harness/kafka.js';
import { requireService } from '../harness/service-missing.js';
import {
  POISON_REASON,
  POISON_RECORD,
  startPoisonedPipeline,
  type PoisonedPipeline,
} from '../helpers/poisoned-pipeline.js';

const available = requireService('Kafka', kafkaAvailable(), KAFKA_INSTALL_HINT);

interface DeadLetters {
  data: Array<{
    id: string;
    time: string;
    sourceTopic: string;
    reason: string;
    size: number;
    contentType: string | null;
    preview: { encoding: string; value: string; truncated: boolean } | null;
  }>;
  meta: {
    total: number;
    reasons: Array<{ sourceTopic: string; reason: string; count: number }>;
    nextCursor: string | null;
  };
}

interface Pipeline {
  topics: Array<{
    topic: string;
    lag: { messages: number; bytes: number } | null;
    messagesPerSecond: number | null;
  }>;
  windowSeconds: number | null;
  note: string | null;
  refused: Array<{ where: string; signal: string; reason: string; records: number; scope: string }>;
}

/**
 * The pipeline screen's routes through a real `sightline start` on Kafka: valid OTLP logs
 * through the gateway and a malformed raw-queries record produced onto the broker, which the
 * processor sets aside as a dead letter.
 */
describe.skipIf(!available)('GET /api/v1/dead-letters, /usage and /pipeline on a real pipeline', () => {
  let fixture: PoisonedPipeline;

  beforeAll(async () => {
    fixture = await startPoisonedPipeline();
  }, 120_000);

  afterAll(async () => {
    await fixture?.stop();
  });

  it('lists the dead letter with its reason, source topic, size and a text preview of the record', async () => {
    const { status, body } = await fixture.api.get<DeadLetters>('/api/v1/dead-letters');
    expect(status).toBe(200);
    expect(body.data).toHaveLength(1);
    const [record] = body.data;
    expect(record).toMatchObject({
      sourceTopic: 'raw-queries',
      size: POISON_RECORD.length,
      contentType: 'application/json',
      preview: { encoding: 'text', value: POISON_RECORD, truncated: false },
    });
    expect(record?.reason).toBe(POISON_REASON);
    expect(Date.now() - Date.parse(record?.time ?? '')).toBeLessThan(120_000);
    expect(body.meta).toMatchObject({
      total: 1,
      nextCursor: null,
      reasons: [{ sourceTopic: 'raw-queries', reason: POISON_REASON, count: 1 }],
    });
    // Before the record's time: nothing.
    const before = new Date(Date.parse(record?.time ?? '') - 3_600_000).toISOString();
    const earlier = await fixture.api.get<DeadLetters>(
      `/api/v1/dead-letters?to=${encodeURIComponent(before)}`,
    );
    expect(earlier.body.data).toEqual([]);
  });

  it('shows a viewer the reason but not the payload, which never went through the redact stage', async () => {
    const created = await fetch(`${fixture.sightline.apiUrl}/api/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fixture.sightline.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'pipeline viewer', role: 'viewer' }),
    });
    expect(created.status).toBe(201);
    const viewer = new ApiClient(
      fixture.sightline.apiUrl,
      ((await created.json()) as { secret: string }).secret,
    );
    const { status, body } = await viewer.get<DeadLetters>('/api/v1/dead-letters');
    expect(status).toBe(200);
    expect(body.data[0]?.reason).toBe(POISON_REASON);
    expect(body.data[0]?.preview).toBeNull();
    expect((await viewer.get('/api/v1/usage')).status).toBe(200);
    expect((await viewer.get('/api/v1/pipeline')).status).toBe(200);
  });

  it('refuses a cursor it did not give and a limit out of range with what to do', async () => {
    const cursor = await fixture.api.get<{ error: { message: string } }>(
      '/api/v1/dead-letters?cursor=bm9wZQ',
    );
    expect(cursor.status).toBe(400);
    expect(cursor.body.error.message).toMatch(/pass meta.nextCursor of the previous page unchanged/);
    expect((await fixture.api.get('/api/v1/dead-letters?limit=0')).status).toBe(400);
  });

  it('reports today’s usage: every log record the gateway accepted, with bytes', async () => {
    const { status, body } = await fixture.api.get<{
      data: Array<{ day: string; signal: string; records: number; bytes: number }>;
      totals: Array<{ signal: string; records: number; bytes: number }>;
      meta: { fromDay: string; toDay: string };
    }>('/api/v1/usage');
    expect(status).toBe(200);
    const today = new Date().toISOString().slice(0, 10);
    const logs = body.data.find((d) => d.signal === 'logs');
    expect(logs).toMatchObject({ day: today, records: fixture.logsSent });
    expect(logs?.bytes).toBeGreaterThan(fixture.logsSent * 20);
    expect(body.totals.find((t) => t.signal === 'logs')?.records).toBe(fixture.logsSent);
    expect(body.meta.toDay).toBe(today);
  });

  it('reports each topic’s lag and committed rate from Kafka, and the dead letter among the refusals', async () => {
    let pipeline: Pipeline | undefined;
    // Kafka lag is refreshed every 5 s; the rate needs a sample from before the messages were committed.
    await vi.waitUntil(
      async () => {
        pipeline = (await fixture.api.get<Pipeline>('/api/v1/pipeline')).body;
        const logs = pipeline.topics.find((t) => t.topic === 'otel-logs');
        return logs?.lag?.messages === 0 && (logs.messagesPerSecond ?? 0) > 0;
      },
      { timeout: 30_000, interval: 500 },
    );
    if (pipeline === undefined) throw new Error('no answer');
    expect(pipeline.note).toBeNull();
    expect(pipeline.windowSeconds).toBeGreaterThan(0);
    expect(pipeline.topics.map((t) => t.topic)).toEqual(
      expect.arrayContaining(['otel-logs', 'otel-metrics', 'otel-traces', 'raw-queries', 'dead-letter']),
    );
    for (const topic of pipeline.topics) expect(topic.lag, topic.topic).not.toBeNull();
    const logs = pipeline.topics.find((t) => t.topic === 'otel-logs');
    // Two requests, two messages, committed within the window.
    expect((logs?.messagesPerSecond ?? 0) * (pipeline.windowSeconds ?? 0)).toBeCloseTo(2, 0);
    expect(pipeline.refused).toContainEqual({
      where: 'dead-letter',
      signal: 'query_stats',
      reason: 'dead_letter',
      records: 1,
      scope: 'process',
    });
  });
});
