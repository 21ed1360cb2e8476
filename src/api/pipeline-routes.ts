import type { FastifyInstance } from 'fastify';
import { authOf } from '../auth/http.js';
import { atLeast } from '../auth/roles.js';
import { SightlineError } from '../core/errors.js';
import type { SelfMetrics } from '../core/telemetry.js';
import { formatNs, msToNs } from '../core/time.js';
import { parseLimit, parseTimeRange } from '../query/time-range.js';
import type { StoredDeadLetter, Store, UsageReader } from '../store/store.js';
import { payloadPreview } from './payload-preview.js';
import { DEAD_LETTERS_VIEW, PIPELINE_VIEW, USAGE_VIEW } from './pipeline-schemas.js';
import { TIME_RANGE_PARAMS, describedQuery, errorResponses, ok } from './route-schemas.js';
import type { TopicThroughput } from './topic-throughput.js';

export interface PipelineRouteDeps {
  store: Store;
  /** usage_daily; left out (tests of other routes), GET /api/v1/usage answers 503. */
  usage?: UsageReader;
  /** The bus's topics sampled in this process; left out, no topic is listed. */
  throughput?: { current(): { windowSeconds: number | null; topics: TopicThroughput[] } };
  metrics: SelfMetrics;
  now: () => number;
  maxRangeMs: number;
}

const DEFAULT_DEAD_LETTERS = 50;
const MAX_DEAD_LETTERS = 500;
/** The payload never went through the redact stage, so its preview is for those who manage the org. */
const PREVIEW_ROLE = 'admin';

const NO_LAG =
  'no topic’s lag could be read yet: on Kafka this process reads it from the brokers every 5 s, and ' +
  'they have not answered since it started; the processor processes’ /metrics show theirs ' +
  '(sightline_bus_queue_depth)';

/**
 * The pipeline screen's reads:
 * - `GET /api/v1/dead-letters` — the org's dead letters in the range, newest first, in pages
 *   (`cursor`), with the total and the counts per reason; a preview of the payload for admins.
 * - `GET /api/v1/usage` — the org's usage_daily: records and bytes per signal per UTC day.
 * - `GET /api/v1/pipeline` — per topic the processor's lag and committed rate over the last
 *   minute, as this process's bus sees them or, in an api-only process on Kafka, as the brokers
 *   tell them (every org together, as on /metrics), and the records refused or
 *   dropped since the process started: the caller's org's, and the process's dead letters.
 * Every role may read them; only the preview needs admin.
 */
export function registerPipelineRoutes(app: FastifyInstance, deps: PipelineRouteDeps): void {
  app.get('/api/v1/dead-letters', { schema: DEAD_LETTERS_SCHEMA }, async (request) => {
    const query = request.query as { from?: string; to?: string; limit?: string; cursor?: string };
    const range = parseTimeRange(query.from, query.to, deps.now(), deps.maxRangeMs);
    const limit = parseLimit(query.limit, DEFAULT_DEAD_LETTERS, MAX_DEAD_LETTERS);
    const after = query.cursor === undefined || query.cursor === '' ? undefined : parseCursor(query.cursor);
    const auth = authOf(request);
    const page = await deps.store.listDeadLetters(auth.orgId, {
      ...range,
      limit,
      ...(after === undefined ? {} : { after }),
    });
    const showPreview = atLeast(auth.role, PREVIEW_ROLE);
    const last = page.records.at(-1);
    return {
      data: page.records.map((record) => deadLetterView(record, showPreview)),
      meta: {
        total: page.total,
        reasons: page.reasons,
        limit,
        from: formatNs(range.fromNs),
        to: formatNs(range.toNs),
        nextCursor: page.more && last !== undefined ? cursorOf(last) : null,
        previewRole: PREVIEW_ROLE,
      },
    };
  });

  app.get('/api/v1/usage', { schema: USAGE_SCHEMA }, async (request) => {
    const query = request.query as { from?: string; to?: string };
    const range = parseTimeRange(query.from, query.to, deps.now(), deps.maxRangeMs);
    if (deps.usage === undefined)
      throw new SightlineError(
        'SL_ERR_STORE_UNAVAILABLE',
        'usage is not kept by this process; ask the api role',
      );
    const fromDay = utcDay(range.fromNs);
    // `to` is exclusive: a range ending at midnight does not reach into that day.
    const toDay = utcDay(range.toNs - 1n);
    const days = await deps.usage.usage(authOf(request).orgId, fromDay, toDay);
    const totals = new Map<string, { signal: string; records: number; bytes: number }>();
    for (const { signal, records, bytes } of days) {
      const total = totals.get(signal) ?? { signal, records: 0, bytes: 0 };
      total.records += records;
      total.bytes += bytes;
      totals.set(signal, total);
    }
    return {
      data: days.map(({ day, signal, records, bytes }) => ({ day, signal, records, bytes })),
      totals: [...totals.values()].sort((a, b) => a.signal.localeCompare(b.signal)),
      meta: { fromDay, toDay },
    };
  });

  app.get('/api/v1/pipeline', { schema: PIPELINE_SCHEMA }, async (request) => {
    const org = authOf(request).orgId;
    const throughput = deps.throughput?.current() ?? { windowSeconds: null, topics: [] };
    const consumes = throughput.topics.some((t) => t.lag !== null);
    return {
      topics: throughput.topics,
      windowSeconds: throughput.windowSeconds,
      note: consumes ? null : NO_LAG,
      refused: await refusedSinceStart(deps.metrics, org),
      since: new Date(deps.now() - process.uptime() * 1000).toISOString(),
    };
  });
}

function deadLetterView(record: StoredDeadLetter, showPreview: boolean) {
  return {
    id: record.id,
    time: formatNs(record.ts),
    sourceTopic: record.sourceTopic,
    reason: record.reason,
    size: record.size,
    contentType: headerOf(record.headers, 'content-type'),
    preview: showPreview ? payloadPreview(record.payloadHead, record.size) : null,
  };
}

function headerOf(headers: string, name: string): string | null {
  try {
    const parsed: unknown = JSON.parse(headers);
    if (typeof parsed !== 'object' || parsed === null) return null;
    const value = (parsed as Record<string, unknown>)[name];
    return typeof value === 'string' ? value : null;
  } catch {
    return null;
  }
}

/** The last row of a page as an opaque token: its time and id. */
function cursorOf(record: StoredDeadLetter): string {
  return Buffer.from(`${record.ts}.${record.id}`, 'utf8').toString('base64url');
}

function parseCursor(cursor: string): { ts: bigint; id: string } {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^(\d{1,20})\.(.+)$/s.exec(text);
  if (match?.[1] === undefined || match[2] === undefined)
    throw new SightlineError(
      'SL_ERR_BAD_REQUEST',
      'cursor is not one this API gave: pass meta.nextCursor of the previous page unchanged, or leave it out for the first page',
    );
  return { ts: BigInt(match[1]), id: match[2] };
}

function utcDay(ns: bigint): string {
  return new Date(Number(ns / msToNs(1))).toISOString().slice(0, 10);
}

interface Refused {
  /** ingest: the gateway refused it; stage: a processor stage dropped it; dead-letter: the processor set it aside. */
  where: 'ingest' | 'stage' | 'dead-letter';
  /** A signal (ingest, dead letters) or a kind of row (stages). */
  signal: string;
  reason: string;
  records: number;
  /** `org`: the caller's org's; `process`: every org's (the processor's dead-letter counter has no org). */
  scope: 'org' | 'process';
}

/** Counts since the process started, from the self-metrics (as /metrics shows them to this org). */
async function refusedSinceStart(metrics: SelfMetrics, org: string): Promise<Refused[]> {
  const refused: Refused[] = [];
  for (const { labels, value } of (await metrics.ingestRejected.get()).values)
    if (labels.org === org && value > 0)
      refused.push({
        where: 'ingest',
        signal: String(labels.signal),
        reason: String(labels.reason),
        records: value,
        scope: 'org',
      });
  for (const { labels, value } of (await metrics.stageRecords.get()).values)
    if (labels.org === org && labels.outcome === 'dropped' && value > 0)
      refused.push({
        where: 'stage',
        signal: String(labels.kind),
        reason: String(labels.reason),
        records: value,
        scope: 'org',
      });
  // The processor counts its dead letters as rejected with this reason (process/processor.ts).
  for (const { labels, value } of (await metrics.recordsRejected.get()).values)
    if (labels.reason === 'dead_letter' && value > 0)
      refused.push({
        where: 'dead-letter',
        signal: String(labels.signal),
        reason: 'dead_letter',
        records: value,
        scope: 'process',
      });
  return refused.sort((a, b) => b.records - a.records);
}

const DEAD_LETTERS_SCHEMA = {
  summary: 'Dead letters',
  description:
    'Records the processor could not store, set aside on the dead-letter topic and stored with the ' +
    'reason: the caller’s org’s, newest first, in pages. With the total and the counts per source ' +
    `topic and reason over the range. The payload’s preview (text, or hex for binary) needs the ${PREVIEW_ROLE} ` +
    'role: it never went through the redact stage. At most api.query.maxRangeDays.',
  tags: ['pipeline'],
  querystring: describedQuery({
    ...TIME_RANGE_PARAMS,
    limit: `Records at most, 1 to ${MAX_DEAD_LETTERS}. Default ${DEFAULT_DEAD_LETTERS}.`,
    cursor: 'meta.nextCursor of the previous page; left out, the newest page.',
  }),
  response: { 200: ok('A page of dead letters.', DEAD_LETTERS_VIEW), ...errorResponses(400, 401, 422, 503) },
};

const USAGE_SCHEMA = {
  summary: 'Usage per day',
  description:
    'The caller’s org’s records and bytes stored per signal per UTC day (usage_daily, flushed by the ' +
    'processor every 10 s), for the UTC days the range touches; bytes are the processor’s estimate, ' +
    'not the size on disk.',
  tags: ['pipeline'],
  querystring: describedQuery(TIME_RANGE_PARAMS),
  response: { 200: ok('Usage.', USAGE_VIEW), ...errorResponses(400, 401, 422, 503) },
};

const PIPELINE_SCHEMA = {
  summary: 'Pipeline state',
  description:
    'Per topic of the bus, the processor’s consumer lag (messages and bytes published and not yet ' +
    'committed) and the messages it committed per second over about the last minute: read from this ' +
    'process’s bus where it runs the processor (the embedded shape), from the brokers in an api-only ' +
    'process on Kafka (bytes null there); `note` says when no lag could be read. Every org together, as ' +
    'on /metrics. Beside them, the records refused or dropped since the process started: the caller’s ' +
    'org’s at ingest and in the stages, and the process’s dead letters (docs/pipeline.md).',
  tags: ['pipeline'],
  response: { 200: ok('The pipeline.', PIPELINE_VIEW), ...errorResponses(401) },
};
