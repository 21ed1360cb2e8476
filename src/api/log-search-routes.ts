import type { FastifyInstance } from 'fastify';
import { authOf } from '../auth/http.js';
import { formatNs } from '../core/time.js';
import { encodeCursor, parseLogSearchRequest } from '../query/log-language/request.js';
import type { Store } from '../store/store.js';
import { logView } from './views.js';

/**
 * `POST /api/v1/logs/search` — the log search language (docs/log-search.md). Rows come newest
 * first with `nextCursor` for the next page (null on the last); a query ending in
 * `| count …` answers `buckets` instead. The caller's org scopes every read in the store.
 */
export function registerLogSearchRoutes(app: FastifyInstance, store: Store, now: () => number): void {
  app.post('/api/v1/logs/search', async (request) => {
    const { query, groupNames } = parseLogSearchRequest(request.body, now());
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
        ...(b.ts === null ? {} : { timestamp: formatNs(b.ts), timeUnixNano: String(b.ts) }),
        group: Object.fromEntries(groupNames.map((name, i) => [name, b.group[i] ?? null])),
        count: b.count,
      })),
      meta: { ...meta, count: result.buckets.length, truncated: result.truncated },
    };
  });
}
