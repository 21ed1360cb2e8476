import { z } from 'zod';
import {
  RUM_EVENT_TYPES,
  WEB_VITAL_NAMES,
  type RumEventRecord,
  type RumEventType,
} from '../bus/raw-records.js';
import { SightlineError } from '../core/errors.js';
import { MAX_TIME_NS } from '../core/time.js';
import type { ValidationLimits } from './validate.js';

/**
 * Real User Monitoring: what browsers POST to `/v1/rum`, checked event by event and turned into
 * `raw-rum` records (src/bus/raw-records.ts). The request shape is documented in README.md.
 */

/** Most events one request may carry; a browser SDK sends a few dozen at a time. */
export const MAX_RUM_EVENTS = 1000;

/** A user agent longer than this is cut: ua-parser-js reads only its first 500 characters. */
export const MAX_USER_AGENT_CHARS = 1024;

/** Bounded reason codes: they label the rejection counters and open each error in the response. */
export type RumRejectReason =
  | 'invalid_event'
  | 'invalid_event_type'
  | 'missing_session_id'
  | 'missing_timestamp'
  | 'invalid_timestamp'
  | 'timestamp_in_future'
  | 'timestamp_too_old'
  | 'invalid_url'
  | 'invalid_web_vital'
  | 'missing_message'
  | 'missing_name'
  | 'too_many_attributes'
  | 'invalid_attribute_key'
  | 'value_too_long';

export interface RumRejection {
  /** The event's position in the request's `events`. */
  index: number;
  reason: RumRejectReason;
  /** What is wrong, in words. */
  message: string;
}

export interface RumValidated {
  /** The accepted events, in request order. */
  records: RumEventRecord[];
  received: number;
  rejections: RumRejection[];
}

/** What the request itself says about its events. */
export interface RumRequestContext {
  /** The request's User-Agent header, for events that carry none. */
  userAgent: string;
  clientAddress: string;
  nowNs: bigint;
}

const nullableText = z.string().nullish();

/** The request: the app and release every event belongs to, and the events. */
const rumRequest = z.object({
  app: nullableText,
  release: nullableText,
  events: z.array(z.unknown()),
});

/** One browser event as sent; unknown fields are ignored, so a newer SDK still gets through. */
const browserEvent = z.object({
  type: z.enum(RUM_EVENT_TYPES),
  sessionId: nullableText,
  viewId: nullableText,
  /** Milliseconds since the epoch (`Date.now()`, or `performance.timeOrigin + performance.now()`). */
  timestamp: z.number().nullish(),
  url: nullableText,
  referrer: nullableText,
  title: nullableText,
  name: nullableText,
  value: z.number().nullish(),
  message: nullableText,
  stack: nullableText,
  errorType: nullableText,
  durationMs: z.number().nonnegative().nullish(),
  userAgent: nullableText,
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).nullish(),
});
type BrowserEvent = z.infer<typeof browserEvent>;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const NS_PER_SECOND = 1_000_000_000n;

/**
 * A browser time in milliseconds since the epoch as nanoseconds; the fraction is kept to the
 * microsecond (`performance.now()` is coarsened to 5 µs or more anyway). Undefined for a time
 * that is not a positive, storable one.
 */
export function browserTimeToNs(ms: number): bigint | undefined {
  if (!Number.isFinite(ms) || ms <= 0) return undefined;
  const micros = Math.round(ms * 1000);
  if (!Number.isSafeInteger(micros)) return undefined;
  const ns = BigInt(micros) * 1000n;
  return ns <= MAX_TIME_NS ? ns : undefined;
}

/**
 * Reads a `/v1/rum` body and checks each event. A body that is not the request's shape throws
 * (400); an event that fails is left out and reported with its index and reason, and the rest
 * go on.
 */
export function validateRumRequest(
  body: Uint8Array,
  limits: ValidationLimits,
  context: RumRequestContext,
): RumValidated {
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(body));
  } catch (error) {
    throw new SightlineError(
      'SL_ERR_MALFORMED_BODY',
      `the body is not valid UTF-8 JSON (${(error as Error).message}); send {"app": "...", "events": [...]}`,
    );
  }
  const request = rumRequest.safeParse(json);
  if (!request.success) {
    const issue = request.error.issues[0];
    throw new SightlineError(
      'SL_ERR_MALFORMED_BODY',
      `the body is not a RUM request (${issue?.path.map(String).join('.') || 'body'}: ${issue?.message ?? 'invalid'}); send {"app": "...", "events": [...]}`,
    );
  }
  const { app, release, events } = request.data;
  if (events.length > MAX_RUM_EVENTS) {
    throw new SightlineError(
      'SL_ERR_BAD_REQUEST',
      `the request has ${events.length} events; send at most ${MAX_RUM_EVENTS} per request`,
    );
  }
  for (const [field, value] of [
    ['app', app],
    ['release', release],
  ] as const) {
    if (value != null && Buffer.byteLength(value) > limits.maxNameBytes)
      throw new SightlineError(
        'SL_ERR_BAD_REQUEST',
        `${field} is longer than ${limits.maxNameBytes} bytes (ingest.limits.maxNameBytes)`,
      );
  }
  const window = {
    latestNs: context.nowNs + BigInt(limits.maxFutureSeconds) * NS_PER_SECOND,
    earliestNs:
      limits.maxPastSeconds > 0 ? context.nowNs - BigInt(limits.maxPastSeconds) * NS_PER_SECOND : undefined,
  };
  const shared = {
    service: app ?? '',
    release: release ?? '',
    userAgent: context.userAgent.slice(0, MAX_USER_AGENT_CHARS),
    clientAddress: context.clientAddress.slice(0, 200),
  };
  const records: RumEventRecord[] = [];
  const rejections: RumRejection[] = [];
  events.forEach((raw, index) => {
    const parsed = browserEvent.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = issue?.path.map(String).join('.') ?? '';
      rejections.push({
        index,
        reason: typeof raw !== 'object' || raw === null ? 'invalid_event' : reasonOfField(path),
        message: `${path || 'event'}: ${issue?.message ?? 'invalid'}`,
      });
      return;
    }
    const problem = eventProblem(parsed.data, limits, window);
    if (problem !== undefined) {
      rejections.push({ index, ...problem });
      return;
    }
    records.push(toRecord(parsed.data, shared));
  });
  return { records, received: events.length, rejections };
}

function reasonOfField(path: string): RumRejectReason {
  const field = path.split('.', 1)[0];
  if (field === 'type') return 'invalid_event_type';
  if (field === 'timestamp') return 'invalid_timestamp';
  if (field === 'url') return 'invalid_url';
  return 'invalid_event';
}

type Problem = Omit<RumRejection, 'index'>;

/** Types of event that must name something, and what they name. */
const NAMED: Partial<Record<RumEventType, string>> = {
  action: 'the action (e.g. "click #checkout")',
  custom: 'the event',
};

function eventProblem(
  event: BrowserEvent,
  limits: ValidationLimits,
  window: { latestNs: bigint; earliestNs: bigint | undefined },
): Problem | undefined {
  if (!event.sessionId)
    return {
      reason: 'missing_session_id',
      message: 'sessionId is required: the browser session the event is of',
    };
  if (event.sessionId.length > 128 || (event.viewId ?? '').length > 128)
    return { reason: 'value_too_long', message: 'sessionId and viewId are at most 128 characters' };
  if (event.timestamp == null)
    return { reason: 'missing_timestamp', message: 'timestamp is required: milliseconds since the epoch' };
  const ns = browserTimeToNs(event.timestamp);
  if (ns === undefined)
    return {
      reason: 'invalid_timestamp',
      message: `timestamp ${event.timestamp} is not milliseconds since the epoch`,
    };
  if (ns > window.latestNs)
    return {
      reason: 'timestamp_in_future',
      message: `timestamp ${event.timestamp} is more than ingest.limits.maxFutureSeconds ahead of the server's clock`,
    };
  if (window.earliestNs !== undefined && ns < window.earliestNs)
    return {
      reason: 'timestamp_too_old',
      message: `timestamp ${event.timestamp} is more than ingest.limits.maxPastSeconds behind the server's clock`,
    };
  if (!event.url || !URL.canParse(event.url))
    return {
      reason: 'invalid_url',
      message: `url ${quote(event.url ?? '')} is not an absolute URL: send location.href`,
    };
  if (event.type === 'web_vital') {
    const name = event.name?.toUpperCase() ?? '';
    if (!(WEB_VITAL_NAMES as readonly string[]).includes(name))
      return {
        reason: 'invalid_web_vital',
        message: `web vital name ${quote(event.name ?? '')} is none of ${WEB_VITAL_NAMES.join(', ')}`,
      };
    if (event.value == null || event.value < 0)
      return { reason: 'invalid_web_vital', message: `web vital ${name} needs a value of 0 or more` };
  }
  if (event.type === 'error' && !event.message)
    return { reason: 'missing_message', message: 'an error event needs a message' };
  const named = NAMED[event.type];
  if (named !== undefined && !event.name)
    return { reason: 'missing_name', message: `a ${event.type} event needs a name: ${named}` };
  return sizeProblem(event, limits);
}

function sizeProblem(event: BrowserEvent, limits: ValidationLimits): Problem | undefined {
  const fields: Array<[string, string | null | undefined, number, string]> = [
    ['name', event.name, limits.maxNameBytes, 'ingest.limits.maxNameBytes'],
    ['url', event.url, limits.maxAttributeValueBytes, 'ingest.limits.maxAttributeValueBytes'],
    ['referrer', event.referrer, limits.maxAttributeValueBytes, 'ingest.limits.maxAttributeValueBytes'],
    ['title', event.title, limits.maxAttributeValueBytes, 'ingest.limits.maxAttributeValueBytes'],
    ['message', event.message, limits.maxAttributeValueBytes, 'ingest.limits.maxAttributeValueBytes'],
    ['errorType', event.errorType, limits.maxNameBytes, 'ingest.limits.maxNameBytes'],
    ['stack', event.stack, limits.maxLogBodyBytes, 'ingest.limits.maxLogBodyBytes'],
  ];
  for (const [field, value, max, key] of fields) {
    if (value != null && Buffer.byteLength(value) > max)
      return { reason: 'value_too_long', message: `${field} is longer than ${max} bytes (${key})` };
  }
  const attributes = Object.entries(event.attributes ?? {});
  if (attributes.length > limits.maxAttributes)
    return {
      reason: 'too_many_attributes',
      message: `${attributes.length} attributes; at most ${limits.maxAttributes} (ingest.limits.maxAttributes)`,
    };
  for (const [key, value] of attributes) {
    if (key === '' || Buffer.byteLength(key) > limits.maxNameBytes)
      return {
        reason: 'invalid_attribute_key',
        message: `attribute key ${quote(key)} is empty or longer than ${limits.maxNameBytes} bytes`,
      };
    if (typeof value === 'string' && Buffer.byteLength(value) > limits.maxAttributeValueBytes)
      return {
        reason: 'value_too_long',
        message: `attribute ${quote(key)} is longer than ${limits.maxAttributeValueBytes} bytes (ingest.limits.maxAttributeValueBytes)`,
      };
  }
  return undefined;
}

function toRecord(
  event: BrowserEvent,
  shared: { service: string; release: string; userAgent: string; clientAddress: string },
): RumEventRecord {
  // Checked by eventProblem: present and in range.
  const ts = browserTimeToNs(event.timestamp ?? 0) ?? 0n;
  return {
    type: event.type,
    sessionId: event.sessionId ?? '',
    viewId: event.viewId ?? '',
    ts: String(ts),
    url: event.url ?? '',
    referrer: event.referrer ?? '',
    title: event.title ?? '',
    name: event.type === 'web_vital' ? (event.name ?? '').toUpperCase() : (event.name ?? ''),
    value: event.value ?? null,
    message: event.message ?? '',
    stack: event.stack ?? '',
    errorType: event.errorType ?? '',
    durationMs: event.durationMs ?? null,
    userAgent: event.userAgent ? event.userAgent.slice(0, MAX_USER_AGENT_CHARS) : shared.userAgent,
    clientAddress: shared.clientAddress,
    service: shared.service,
    release: shared.release,
    attributes: event.attributes ?? {},
  };
}

/** A value for a message: quoted, and cut short. */
function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}
