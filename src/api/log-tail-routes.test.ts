import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { toSightlineError, newHttpApp } from '../core/http.js';
import { silentLogger } from '../core/logger.js';
import { msToNs } from '../core/time.js';
import { decodeCursor, encodeCursor } from '../query/log-language/request.js';
import type { LogQuery, LogQueryResult } from '../store/log-query.js';
import type { OrgId } from '../store/rows.js';
import type { Store, StoredLog } from '../store/store.js';
import { isAfter, parseTailRequest, pollTail, registerLogTailRoutes, sseEvent } from './log-tail-routes.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const ORG = 'org-1' as OrgId;

function log(ts: bigint, id: string, body = 'x'): StoredLog {
  return {
    id,
    ts,
    observedTs: ts,
    body,
    service: 's',
    attributes: '{}',
    resource: '{}',
  } as unknown as StoredLog;
}

/** Answers row queries newest first from a fixed list, as the DuckDB store does, and counts. */
function fakeStore(rows: StoredLog[]) {
  const queries: LogQuery[] = [];
  const store = {
    queries,
    queryLogs(_org: OrgId, q: LogQuery): Promise<LogQueryResult<StoredLog>> {
      queries.push(q);
      const inRange = rows.filter((r) => r.ts >= q.fromNs && r.ts < q.toNs);
      if (q.aggregate !== null) {
        return Promise.resolve({
          kind: 'counts',
          buckets: [{ ts: null, group: [], count: inRange.length }],
          truncated: false,
        });
      }
      const sorted = [...inRange].sort((a, b) =>
        a.ts === b.ts ? (a.id < b.id ? 1 : -1) : a.ts < b.ts ? 1 : -1,
      );
      return Promise.resolve({
        kind: 'logs',
        logs: sorted.slice(0, q.limit),
        more: sorted.length > q.limit,
      });
    },
  };
  return store;
}

describe('parseTailRequest', () => {
  it('starts at now without Last-Event-ID', () => {
    expect(parseTailRequest('error', undefined, NOW).after).toEqual({ ts: msToNs(NOW), id: '' });
  });

  it('resumes after the record a Last-Event-ID names', () => {
    const id = encodeCursor({ ts: msToNs(NOW) - 5n, id: 'abc' }, { fromNs: 0n, toNs: msToNs(NOW) });
    expect(parseTailRequest('', id, NOW).after).toEqual({ ts: msToNs(NOW) - 5n, id: 'abc' });
  });

  it('resumes no further back than the widest search range', () => {
    const id = encodeCursor({ ts: 1n, id: 'abc' }, { fromNs: 0n, toNs: 2n });
    expect(parseTailRequest('', id, NOW).after).toEqual({
      ts: msToNs(NOW) - msToNs(31 * 86_400_000),
      id: '',
    });
  });

  it('rejects counts, bad queries and foreign event ids with 400', () => {
    expect(() => parseTailRequest('level:error | count by service', undefined, NOW)).toThrow(
      /counts \(\| count\) are not available in a tail/,
    );
    expect(() => parseTailRequest('(a OR', undefined, NOW)).toThrow(/expected/);
    expect(() => parseTailRequest('', 'nonsense', NOW)).toThrow(/Last-Event-ID/);
    try {
      parseTailRequest('| count', undefined, NOW);
    } catch (error) {
      expect(toSightlineError(error).status).toBe(400);
    }
  });
});

describe('tail helpers', () => {
  it('orders positions by time, then id', () => {
    expect(isAfter({ ts: 2n, id: 'a' }, { ts: 1n, id: 'z' })).toBe(true);
    expect(isAfter({ ts: 1n, id: 'b' }, { ts: 1n, id: 'a' })).toBe(true);
    expect(isAfter({ ts: 1n, id: 'a' }, { ts: 1n, id: 'a' })).toBe(false);
    expect(isAfter({ ts: 0n, id: 'z' }, { ts: 1n, id: 'a' })).toBe(false);
  });

  it('frames one event per record, data on one line', () => {
    expect(sseEvent('log', { body: 'a\nb' }, 'c1')).toBe('id: c1\nevent: log\ndata: {"body":"a\\nb"}\n\n');
    expect(sseEvent('dropped', { count: 3 })).toBe('event: dropped\ndata: {"count":3}\n\n');
  });
});

describe('pollTail', () => {
  it('returns records after the position, oldest first, up to now', async () => {
    const store = fakeStore([log(10n, 'a'), log(10n, 'b'), log(11n, 'c'), log(12n, 'd'), log(99n, 'late')]);
    const poll = await pollTail(store, ORG, null, { ts: 10n, id: 'a' }, 20n, 100);
    expect(poll.logs.map((l) => l.id)).toEqual(['b', 'c', 'd']);
    expect(poll.dropped).toBe(0);
    expect(store.queries[0]).toMatchObject({ fromNs: 10n, toNs: 21n, aggregate: null, after: null });
  });

  it('sends the newest when more arrived than a poll carries, and counts the skipped', async () => {
    const rows = Array.from({ length: 10 }, (_, i) => log(BigInt(100 + i), `r${i}`));
    const store = fakeStore(rows);
    const poll = await pollTail(store, ORG, null, { ts: 50n, id: '' }, 200n, 3);
    expect(poll.logs.map((l) => l.id)).toEqual(['r7', 'r8', 'r9']);
    expect(poll.dropped).toBe(7);
  });
});

describe('GET /api/v1/logs/tail', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start(rows: StoredLog[], maxTailsPerOrg = 2): Promise<string> {
    const server = newHttpApp(silentLogger());
    server.decorateRequest('auth', null);
    server.addHook('onRequest', async (request) => {
      request.auth = {
        orgId: String(request.headers['x-org'] ?? 'org-1') as OrgId,
        role: 'viewer',
        principal: { kind: 'key', keyId: 'k' },
      };
    });
    server.setErrorHandler((error, _request, reply) => {
      const e = toSightlineError(error);
      return reply.code(e.status).send({ error: { code: e.code, message: e.message } });
    });
    registerLogTailRoutes(
      server,
      { store: fakeStore(rows) as unknown as Store, logger: silentLogger() },
      () => NOW,
      { pollMs: 20, maxTailsPerOrg },
    );
    app = server;
    return server.listen({ port: 0, host: '127.0.0.1' });
  }

  async function readUntil(response: Response, pattern: RegExp): Promise<string> {
    if (response.body === null) throw new Error('no body');
    const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!pattern.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    await reader.cancel();
    return text;
  }

  it('streams stored records after Last-Event-ID with cursors as ids', async () => {
    const nowNs = msToNs(NOW);
    const url = await start([log(nowNs - 3n, 'a', 'one'), log(nowNs - 2n, 'b', 'two')]);
    const from = encodeCursor({ ts: nowNs - 10n, id: '' }, { fromNs: 0n, toNs: nowNs });
    const response = await fetch(`${url}/api/v1/logs/tail`, { headers: { 'last-event-id': from } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const text = await readUntil(response, /"two"/);
    const events = text.split('\n\n').filter((e) => e.includes('event: log'));
    expect(events.map((e) => /"body":"(\w+)"/.exec(e)?.[1])).toEqual(['one', 'two']);
    const lastId = /^id: (.+)$/m.exec(events[1] ?? '')?.[1] ?? '';
    expect(decodeCursor(lastId)).toMatchObject({ ts: nowNs - 2n, id: 'b' });
  });

  it('answers 400 before streaming for a count, 429 beyond the per-org limit, and frees slots on close', async () => {
    const url = await start([], 1);
    const counted = await fetch(`${url}/api/v1/logs/tail?query=${encodeURIComponent('| count')}`);
    expect(counted.status).toBe(400);
    expect(((await counted.json()) as { error: { code: string } }).error.code).toBe('SL_ERR_BAD_REQUEST');

    const first = new AbortController();
    const open = await fetch(`${url}/api/v1/logs/tail`, { signal: first.signal });
    expect(open.status).toBe(200);
    const second = await fetch(`${url}/api/v1/logs/tail`);
    expect(second.status).toBe(429);
    expect(((await second.json()) as { error: { code: string } }).error.code).toBe(
      'SL_ERR_TOO_MANY_REQUESTS',
    );
    // Another org has its own slots.
    const other = new AbortController();
    const otherOrg = await fetch(`${url}/api/v1/logs/tail`, {
      headers: { 'x-org': 'org-2' },
      signal: other.signal,
    });
    expect(otherOrg.status).toBe(200);
    other.abort();

    await open.body?.cancel();
    first.abort();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const again = new AbortController();
      const response = await fetch(`${url}/api/v1/logs/tail`, { signal: again.signal });
      status = response.status;
      if (status === 200) again.abort();
      else await response.text();
    }
    expect(status).toBe(200);
  });
});
