import type { FastifyInstance } from 'fastify';
import { authOf } from '../auth/http.js';
import { formatNs } from '../core/time.js';
import { encodeCursor, parseLogSearchRequest } from '../query/log-language/request.js';
import type { Store } from '../store/store.js';
import { TIME_BODY_FIELD, bodyParsedByRoute, errorResponses, ok } from './route-schemas.js';
import { LOG_SEARCH_VIEW } from './view-schemas.js';
import { logView } from './views.js';

/** The shape parseLogSearchRequest accepts; it stays the validator (bodyParsedByRoute). */
const SEARCH_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    query: {
      type: 'string',
      description: 'The search language (docs/log-search.md); empty matches everything.',
      examples: ['service:checkout level>=warn "timed out" | count by service over 5m'],
    },
    from: TIME_BODY_FIELD,
    to: TIME_BODY_FIELD,
    limit: { type: ['integer', 'string'], description: 'Rows per page, 1 to 10000. Default 100.' },
    cursor: { type: 'string', description: '`nextCursor` of the previous page, unchanged.' },
  },
};

/**
 * `POST /api/v1/logs/search` — the log search language (docs/log-search.md). Rows come newest
 * first with `nextCursor` for the next page (null on the last); a query ending in
 * `| count …` answers `buckets` instead. The caller's org scopes every read in the store.
 */
export function registerLogSearchRoutes(
  app: FastifyInstance,
  store: Store,
  now: () => number,
  maxRangeMs: number,
): void {
  app.post(
    '/api/v1/logs/search',
    {
      ...bodyParsedByRoute,
      schema: {
        summary: 'Search logs',
        description:
          'The log search language over at most api.query.maxRangeDays (32 by default): a page of ' +
          'records newest first with `nextCursor`, or with `| count [by …] [over …]` the counts. ' +
          'A query runs at most 10 s.',
        tags: ['logs'],
        body: SEARCH_BODY,
        response: {
          200: ok('Records or counts.', LOG_SEARCH_VIEW),
          ...errorResponses(400, 401, 415, 422, 503),
        },
      },
    },
    async (request) => {
      const { query, groupNames } = parseLogSearchRequest(request.body, now(), maxRangeMs);
      // Every group of a time bucket shares its time: format each once (10,000 buckets of 20
      // services are 500 times).
      const times = new Map<bigint, { timestamp: string; timeUnixNano: string }>();
      const bucketTime = (ts: bigint) => {
        let time = times.get(ts);
        if (time === undefined) {
          time = { timestamp: formatNs(ts), timeUnixNano: String(ts) };
          times.set(ts, time);
        }
        return time;
      };
      const result = await store.queryLogs(authOf(request).orgId, query);
      const meta = { limit: query.limit, from: formatNs(query.fromNs), to: formatNs(query.toNs) };
      if (result.kind === 'logs') {
        const last = result.logs[result.logs.length - 1];
        return {
          data: result.logs.map(logView),
          nextCursor: result.more && last !== undefined ? encodeCursor(last, query) : null,
          meta: { ...meta, count: result.logs.length },
        };
      }
      return {
        buckets: result.buckets.map((b) => ({
          ...(b.ts === null ? {} : bucketTime(b.ts)),
          group: Object.fromEntries(groupNames.map((name, i) => [name, b.group[i] ?? null])),
          count: b.count,
        })),
        meta: { ...meta, count: result.buckets.length, truncated: result.truncated },
      };
    },
  );
}
