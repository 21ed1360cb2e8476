import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { logsRequestBody, post } from '../harness/otlp-requests.js';
import { sightlineForSuite } from '../harness/sightline-suite.js';

interface SearchAnswer {
  data?: Array<{ id: string; body: string; service: string; timeUnixNano: string }>;
  nextCursor?: string | null;
  buckets?: Array<{ group: Record<string, string | null>; count: number }>;
  error?: { code: string; message: string };
}

describe('POST /api/v1/logs/search through the built CLI', () => {
  const sightline = sightlineForSuite();
  const marker = `ls${randomBytes(4).toString('hex')}`;

  async function search(body: Record<string, unknown>): Promise<{ status: number; body: SearchAnswer }> {
    const response = await fetch(`${sightline.server.apiUrl}/api/v1/logs/search`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sightline.server.key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as SearchAnswer };
  }

  async function send(bodies: string[], service: string): Promise<void> {
    const answer = await post(`${sightline.server.ingestUrl}/v1/logs`, logsRequestBody(bodies, service), {
      'content-type': 'application/x-protobuf',
      authorization: `Bearer ${sightline.server.key}`,
    });
    expect(answer.status).toBe(200);
  }

  it('finds, pages and counts logs sent over OTLP', async () => {
    await send(
      Array.from({ length: 5 }, (_, i) => `${marker} checkout step ${i}`),
      'checkout',
    );
    await send([`${marker} payment declined`, `${marker} payment accepted`], 'payments');

    const found = await search({ query: `${marker} service:payments -accepted` });
    expect(found.status).toBe(200);
    expect(found.body.data?.map((l) => l.body)).toEqual([`${marker} payment declined`]);
    expect(found.body.nextCursor).toBeNull();

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await search({ query: `"${marker} checkout"`, limit: 2, ...(cursor ? { cursor } : {}) });
      expect(page.status).toBe(200);
      seen.push(...(page.body.data ?? []).map((l) => l.body));
      cursor = page.body.nextCursor ?? undefined;
      pages++;
    } while (cursor !== undefined && pages < 10);
    expect(pages).toBe(3);
    // Newest first: the records' times increase with their index.
    expect(seen).toEqual([4, 3, 2, 1, 0].map((i) => `${marker} checkout step ${i}`));

    const counts = await search({ query: `${marker} | count by service` });
    expect(counts.status).toBe(200);
    expect(counts.body.buckets).toEqual([
      { group: { service: 'checkout' }, count: 5 },
      { group: { service: 'payments' }, count: 2 },
    ]);
  });

  it('answers a parse error with 400 and the column', async () => {
    const answer = await search({ query: 'service:api OR )' });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toEqual({
      code: 'SL_ERR_BAD_REQUEST',
      message: "unexpected ')' at column 16: expected a term",
    });
    const limit = await search({ query: '', limit: 20_000 });
    expect(limit.status).toBe(400);
    expect(limit.body.error?.message).toMatch(/limit="20000" must be an integer from 1 to 10000/);
  });
});
