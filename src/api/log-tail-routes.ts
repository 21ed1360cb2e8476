import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import { authOf } from '../auth/http.js';
import { SightlineError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { msToNs } from '../core/time.js';
import { parseLogQuery } from '../query/log-language/parser.js';
import { SEARCH_TIMEOUT_MS, decodeCursor, encodeCursor } from '../query/log-language/request.js';
import type { LogExpr, LogPosition, LogQuery } from '../store/log-query.js';
import type { OrgId } from '../store/rows.js';
import type { Store, StoredLog } from '../store/store.js';
import { describedQuery, errorResponses } from './route-schemas.js';
import { LOG_VIEW } from './view-schemas.js';
import { logView } from './views.js';

/**
 * `GET /api/v1/logs/tail?query=` — the log search language as a live tail over Server-Sent
 * Events (docs/log-search.md). The store has no change feed, so each tail polls `queryLogs`
 * for records after the last (ts, id) it sent; the event id is that record's search cursor, so
 * an EventSource reconnecting with `Last-Event-ID` resumes after it.
 */
export interface TailOptions {
  pollMs: number;
  keepAliveMs: number;
  /** Records sent per poll at most; the older rest are reported as `event: dropped`. */
  maxPerPoll: number;
  /** Open tails per org; one more is a 429. */
  maxTailsPerOrg: number;
}

export const DEFAULT_TAIL_OPTIONS: TailOptions = {
  pollMs: 1000,
  keepAliveMs: 15_000,
  maxPerPoll: 1000,
  maxTailsPerOrg: 10,
};

export interface TailStart {
  filter: LogExpr | null;
  /** Records strictly after this position are sent. */
  after: LogPosition;
}

/**
 * The tail's filter and where it starts: after `Last-Event-ID` when the client resumes (but no
 * further back than the widest search range), else now. Counts have no stream of rows.
 */
export function parseTailRequest(
  query: string | undefined,
  lastEventId: string | undefined,
  nowMs: number,
): TailStart {
  const { filter, aggregate } = parseLogQuery(query ?? '');
  if (aggregate !== null) {
    throw new SightlineError(
      'SL_ERR_BAD_REQUEST',
      'a tail streams records; counts (| count) are not available in a tail: ' +
        'drop the "| count …" part, or run the count with POST /api/v1/logs/search',
    );
  }
  const now = msToNs(nowMs);
  if (lastEventId === undefined || lastEventId === '') return { filter, after: { ts: now, id: '' } };
  let cursor: LogPosition;
  try {
    cursor = decodeCursor(lastEventId);
  } catch {
    throw new SightlineError(
      'SL_ERR_BAD_REQUEST',
      'Last-Event-ID is not an event id this tail sent; reconnect without it to start from now',
    );
  }
  const oldest = now - msToNs(MAX_RESUME_AGE_MS);
  return { filter, after: cursor.ts < oldest ? { ts: oldest, id: '' } : { ts: cursor.ts, id: cursor.id } };
}

/** Rows are ordered by (ts, id); the tail sends those strictly after its last position. */
export function isAfter(row: LogPosition, position: LogPosition): boolean {
  return row.ts > position.ts || (row.ts === position.ts && row.id > position.id);
}

/** One SSE event; `data` is one JSON line (JSON.stringify escapes newlines). */
export function sseEvent(event: string, data: unknown, id?: string): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export interface TailPoll {
  /** Oldest first. */
  logs: StoredLog[];
  /** Matching records older than `logs` that this poll skipped to keep up (at least this many). */
  dropped: number;
  toNs: bigint;
}

/**
 * One poll: the newest `maxPerPoll` matching records after `after`, up to now, oldest first.
 * When there were more, counts the skipped ones strictly between `after.ts` and the oldest
 * sent (records sharing either boundary time are not counted, so the count is a lower bound).
 */
export async function pollTail(
  store: Pick<Store, 'queryLogs'>,
  org: OrgId,
  filter: LogExpr | null,
  after: LogPosition,
  nowNs: bigint,
  maxPerPoll: number,
): Promise<TailPoll> {
  // Exclusive; records stamped "now" arrive in this poll, later ones in a later poll.
  const toNs = nowNs + 1n;
  if (toNs <= after.ts) return { logs: [], dropped: 0, toNs };
  const base: LogQuery = {
    fromNs: after.ts,
    toNs,
    filter,
    aggregate: null,
    limit: maxPerPoll,
    after: null,
    timeoutMs: SEARCH_TIMEOUT_MS,
  };
  const result = await store.queryLogs(org, base);
  if (result.kind !== 'logs') throw new Error('queryLogs answered counts to a row query');
  const logs = result.logs.filter((row) => isAfter(row, after)).reverse();
  const oldest = logs[0];
  let dropped = 0;
  if (result.more && oldest !== undefined && oldest.ts > after.ts + 1n) {
    const counted = await store.queryLogs(org, {
      ...base,
      fromNs: after.ts + 1n,
      toNs: oldest.ts,
      aggregate: { by: [], stepNs: null },
      limit: 1,
    });
    if (counted.kind === 'counts') dropped = counted.buckets[0]?.count ?? 0;
  }
  return { logs, dropped, toNs };
}

const TAIL_SCHEMA = {
  summary: 'Tail logs (Server-Sent Events)',
  description:
    'New records matching a search-language filter, as they are stored, as `event: log` (data: a ' +
    'log record as in the search, id: a resume cursor), `event: dropped` (data: {"count"}: records ' +
    'skipped to keep up) and `event: error`. Reconnect with Last-Event-ID to resume. At most 10 ' +
    'open per org. Counts (`| count`) are a 400.',
  tags: ['logs'],
  querystring: describedQuery({ query: 'The filter, in the search language; empty for every record.' }),
  response: {
    200: {
      description: 'An event stream; each `log` event’s data is the schema below, as one JSON line.',
      content: { 'text/event-stream': { schema: LOG_VIEW } },
    },
    ...errorResponses(400, 401, 429),
  },
};

/** A reconnecting tail resumes at most this far back (an older Last-Event-ID resumes here). */
const MAX_RESUME_AGE_MS = 31 * 86_400_000;

export function registerLogTailRoutes(
  app: FastifyInstance,
  deps: { store: Store; logger: Logger },
  now: () => number,
  overrides: Partial<TailOptions> = {},
): void {
  const options = { ...DEFAULT_TAIL_OPTIONS, ...overrides };
  const openPerOrg = new Map<OrgId, number>();
  const open = new Set<() => void>();

  // Streams are never idle, so `forceCloseConnections: 'idle'` would leave them holding
  // close() open; fastify runs preClose before it closes the server.
  app.addHook('preClose', (done) => {
    for (const stop of [...open]) stop();
    done();
  });

  app.get('/api/v1/logs/tail', { schema: TAIL_SCHEMA }, (request, reply) => {
    const org = authOf(request).orgId;
    const lastEventId = request.headers['last-event-id'];
    // A bad query or an aggregation is a plain JSON 400 through the error handler, before any stream.
    const start = parseTailRequest(
      (request.query as { query?: string }).query,
      Array.isArray(lastEventId) ? lastEventId[0] : lastEventId,
      now(),
    );
    const count = openPerOrg.get(org) ?? 0;
    if (count >= options.maxTailsPerOrg) {
      throw new SightlineError(
        'SL_ERR_TOO_MANY_REQUESTS',
        `this org already has ${options.maxTailsPerOrg} open tails, the most it may have; close one and retry`,
        { retryAfterSeconds: 10 },
      );
    }
    openPerOrg.set(org, count + 1);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      // The socket closes with the stream: a shutdown must not wait on it as an idle keep-alive.
      connection: 'close',
      // Proxies such as nginx would otherwise buffer the stream.
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${options.pollMs}\n: tailing\n\n`);

    let stopped = false;
    let pollTimer: NodeJS.Timeout | undefined;
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), options.keepAliveMs);
    const stop = () => {
      if (stopped) return;
      stopped = true;
      clearInterval(keepAlive);
      clearTimeout(pollTimer);
      open.delete(stop);
      const left = (openPerOrg.get(org) ?? 1) - 1;
      if (left <= 0) openPerOrg.delete(org);
      else openPerOrg.set(org, left);
      if (!res.writableEnded) res.end();
    };
    open.add(stop);
    // The response's close, not the request's: a GET's request closes once its (empty) body is read.
    res.on('close', stop);

    let after = start.after;
    const fromNs = start.after.ts;
    const poll = async () => {
      try {
        const { logs, dropped, toNs } = await pollTail(
          deps.store,
          org,
          start.filter,
          after,
          msToNs(now()),
          options.maxPerPoll,
        );
        if (stopped) return;
        if (dropped > 0) res.write(sseEvent('dropped', { count: dropped }));
        let writable = true;
        for (const log of logs) {
          writable = res.write(sseEvent('log', logView(log), encodeCursor(log, { fromNs, toNs })));
        }
        const last = logs[logs.length - 1];
        if (last !== undefined) after = { ts: last.ts, id: last.id };
        // A slow reader holds the next poll back instead of growing the socket's buffer.
        if (!writable) await waitForDrain(res);
      } catch (error) {
        if (stopped) return;
        deps.logger.warn({ err: error }, 'log tail poll failed');
        res.write(
          sseEvent('error', { message: `the tail stopped: ${errorMessage(error)}; reconnect to resume` }),
        );
        stop();
        return;
      }
      if (!stopped) pollTimer = setTimeout(() => void poll(), options.pollMs);
    };
    void poll();
    return reply;
  });
}

function waitForDrain(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
