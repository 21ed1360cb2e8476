import { TIMESTAMP, arrayOf, nullable, object, type JsonSchema } from './route-schemas.js';

/** The answers of pipeline-routes.ts, for the OpenAPI document (openapi.test.ts checks real answers against them). */

const int: JsonSchema = { type: 'integer', minimum: 0 };
const text: JsonSchema = { type: 'string' };

const REASON_COUNT = object({ sourceTopic: text, reason: text, count: int });

export const DEAD_LETTERS_VIEW = object({
  data: arrayOf(
    object({
      id: text,
      time: TIMESTAMP,
      sourceTopic: {
        type: 'string',
        description: 'The topic the record came from (otel-logs, raw-queries, …).',
      },
      reason: { type: 'string', description: 'Why the processor set it aside.' },
      size: { ...int, description: 'The payload’s size in bytes.' },
      contentType: nullable(text),
      preview: nullable(
        object(
          {
            encoding: { type: 'string', enum: ['text', 'hex'] },
            value: text,
            truncated: { type: 'boolean' },
          },
          'The start of the payload: its text (at most 300 characters), or the hex of its first 64 bytes. ' +
            'null for callers below meta.previewRole.',
        ),
      ),
    }),
    'Newest first.',
  ),
  meta: object({
    total: { ...int, description: 'Dead letters in the range, all pages.' },
    reasons: arrayOf(REASON_COUNT, 'Per source topic and reason over the range, most first, at most 50.'),
    limit: int,
    from: TIMESTAMP,
    to: TIMESTAMP,
    nextCursor: nullable({ type: 'string', description: 'Pass as `cursor` for the next (older) page.' }),
    previewRole: { type: 'string', description: 'The role a caller needs to see previews.' },
  }),
});

const USAGE_ENTRY = { records: int, bytes: { ...int, description: 'Estimated, not the size on disk.' } };

export const USAGE_VIEW = object({
  data: arrayOf(
    object({ day: { type: 'string', description: 'YYYY-MM-DD, UTC.' }, signal: text, ...USAGE_ENTRY }),
    'Oldest day first.',
  ),
  totals: arrayOf(object({ signal: text, ...USAGE_ENTRY }), 'Per signal over the days.'),
  meta: object({ fromDay: text, toDay: text }),
});

export const PIPELINE_VIEW = object({
  topics: arrayOf(
    object({
      topic: text,
      lag: nullable(
        object(
          {
            messages: int,
            bytes: nullable({
              ...int,
              description: 'null when read from the brokers for another process (Kafka does not tell bytes).',
            }),
          },
          'Published and not yet committed by every consumer group; null when this process does not consume the topic.',
        ),
      ),
      messagesPerSecond: nullable({
        type: 'number',
        minimum: 0,
        description: 'Committed per second over the window.',
      }),
    }),
  ),
  windowSeconds: nullable({
    type: 'number',
    description: 'The time the rates span (about 60 s once warmed up).',
  }),
  note: nullable(text),
  refused: arrayOf(
    object({
      where: { type: 'string', enum: ['ingest', 'stage', 'dead-letter'] },
      signal: { type: 'string', description: 'The signal, or for stages the kind of row.' },
      reason: text,
      records: int,
      scope: { type: 'string', enum: ['org', 'process'] },
    }),
    'Since the process started, most first.',
  ),
  since: { type: 'string', description: 'When the process started (RFC 3339).' },
});
