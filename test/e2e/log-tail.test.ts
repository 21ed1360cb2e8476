import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { logsRequestBody, post } from '../harness/otlp-requests.js';
import { sightlineForSuite } from '../harness/sightline-suite.js';

interface TailEvent {
  event: string;
  id?: string;
  data: string;
}

/** An SSE reader over fetch's body: enough of the EventSource parser for our events. */
class SseReader {
  private buffer = '';
  private readonly decoder = new TextDecoder();
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly controller: AbortController;

  constructor(response: Response, controller: AbortController) {
    if (response.body === null) throw new Error('the tail answered without a body');
    this.reader = response.body.getReader();
    this.controller = controller;
  }

  /** Reads events until `count` `log` events arrived or `timeoutMs` passed. */
  async logs(count: number, timeoutMs = 15_000): Promise<TailEvent[]> {
    const found: TailEvent[] = [];
    const deadline = Date.now() + timeoutMs;
    while (found.filter((e) => e.event === 'log').length < count && Date.now() < deadline) {
      let end = this.buffer.indexOf('\n\n');
      while (end === -1) {
        const read = await Promise.race([
          this.reader.read(),
          new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), deadline - Date.now())),
        ]);
        if (read === 'timeout' || read.done) return found;
        this.buffer += this.decoder.decode(read.value, { stream: true });
        end = this.buffer.indexOf('\n\n');
      }
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const event: TailEvent = { event: 'message', data: '' };
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event.event = line.slice(7);
        else if (line.startsWith('id: ')) event.id = line.slice(4);
        else if (line.startsWith('data: ')) event.data += line.slice(6);
      }
      if (event.data !== '') found.push(event);
    }
    return found;
  }

  async close(): Promise<void> {
    await this.reader.cancel().catch(() => undefined);
    this.controller.abort();
  }
}

describe('GET /api/v1/logs/tail through the built CLI', () => {
  const sightline = sightlineForSuite();
  const marker = `lt${randomBytes(4).toString('hex')}`;

  async function tail(query: string, lastEventId?: string): Promise<{ response: Response; sse: SseReader }> {
    const controller = new AbortController();
    const response = await fetch(
      `${sightline.server.apiUrl}/api/v1/logs/tail?query=${encodeURIComponent(query)}`,
      {
        headers: {
          authorization: `Bearer ${sightline.server.key}`,
          ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
        },
        signal: controller.signal,
      },
    );
    return { response, sse: new SseReader(response, controller) };
  }

  async function send(bodies: string[], service: string): Promise<void> {
    const answer = await post(`${sightline.server.ingestUrl}/v1/logs`, logsRequestBody(bodies, service), {
      'content-type': 'application/x-protobuf',
      authorization: `Bearer ${sightline.server.key}`,
    });
    expect(answer.status).toBe(200);
  }

  const bodiesOf = (events: TailEvent[]) =>
    events.filter((e) => e.event === 'log').map((e) => (JSON.parse(e.data) as { body: string }).body);

  it('streams only matching logs, in order, and resumes after Last-Event-ID without repeats', async () => {
    const { response, sse } = await tail(`${marker} service:checkout -skip`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');

    await send([`${marker} one`, `${marker} two`, `${marker} skip me`], 'checkout');
    await send([`${marker} other service`], 'payments');
    await send([`${marker} three`], 'checkout');
    const first = await sse.logs(3);
    expect(bodiesOf(first)).toEqual([`${marker} one`, `${marker} two`, `${marker} three`]);
    const entry = JSON.parse(first[0]?.data ?? '{}') as Record<string, unknown>;
    expect(entry).toMatchObject({ service: 'checkout', severity: 'INFO' });
    expect(typeof entry.id).toBe('string');
    expect(typeof entry.timeUnixNano).toBe('string');
    // Nothing else matched: no fourth record within a few polls.
    expect(bodiesOf(await sse.logs(1, 2500))).toEqual([]);
    await sse.close();

    // Reconnect after the second record: the third arrives again, the first two do not.
    const resumed = await tail(`${marker} service:checkout -skip`, first[1]?.id);
    expect(resumed.response.status).toBe(200);
    await send([`${marker} four`], 'checkout');
    const again = await resumed.sse.logs(2);
    expect(bodiesOf(again)).toEqual([`${marker} three`, `${marker} four`]);
    expect(bodiesOf(await resumed.sse.logs(1, 2500))).toEqual([]);
    await resumed.sse.close();
  });

  it('answers a bad query and an aggregation with a JSON 400 before any stream', async () => {
    for (const query of ['(service:api OR', `${marker} | count by service`]) {
      const response = await fetch(
        `${sightline.server.apiUrl}/api/v1/logs/tail?query=${encodeURIComponent(query)}`,
        { headers: { authorization: `Bearer ${sightline.server.key}` } },
      );
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/application\/json/);
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('SL_ERR_BAD_REQUEST');
      if (query.includes('count')) expect(body.error.message).toMatch(/not available in a tail/);
    }
  });

  it('requires an API key', async () => {
    const response = await fetch(`${sightline.server.apiUrl}/api/v1/logs/tail`);
    expect(response.status).toBe(401);
    await response.text();
  });
});
