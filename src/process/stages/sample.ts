import type { z } from 'zod';
import type { sampleStageSchema } from '../../config/stages/sample.js';
import { SEVERITY_BANDS, type Severity } from '../../core/severity.js';
import type { LogRow, SpanRow } from '../../store/rows.js';
import type { Processor, RowBatch, StageContext } from './processor.js';

export type SampleOptions = Pick<
  z.infer<typeof sampleStageSchema>,
  'targetRecordsPerSecond' | 'windowSeconds' | 'keepSeverity' | 'slowSpanMs' | 'slowStatementMs'
>;

/** The self-metric the stage sets (src/core/telemetry.ts `sampleProbability`). */
export interface SampleMetrics {
  sampleProbability: { set(labels: { org: string; signal: string }, value: number): void };
}

export interface SampleDeps {
  /**
   * Uniform in [0, 1): decides the logs that carry no trace id (Math.random by default; tests
   * and benchmarks pass `seededRandom(n)` to get the same decisions every run).
   */
  random?: () => number;
  metrics?: SampleMetrics;
}

/**
 * The attribute a kept, sampled record carries: how many records it stands for (1 / the
 * probability it was kept with), so a count can be scaled back: `sum(sample_rate)` over the kept
 * records estimates the records received. Records kept whatever the rate (errors, slow ones) and
 * records kept while nothing was sampled out carry none: they stand for themselves.
 */
export const SAMPLE_RATE_ATTRIBUTE = 'sightline.sample_rate';

const NS_PER_MS = 1_000_000;

/**
 * Keeps every error and every slow record, and samples the rest of the logs and spans with a
 * probability that adapts to the incoming rate so that about `targetRecordsPerSecond` of them per
 * signal are kept: p = min(1, target / observed). Spans, and logs that carry a trace id, are kept
 * when a hash of the trace id is below p, so every span of a trace gets the same decision while
 * p holds, and a trace kept at a lower p is kept at every higher one (consistent probability
 * sampling, as in OpenTelemetry's TraceIdRatioBased sampler). A span kept for being an error or
 * slow is kept alone; the rest of its trace follows the rate. Metrics and query statistics pass.
 *
 * Browser events (RUM) pass too: their volume follows page views (a handful of events each), a
 * session is only worth reading whole, and every error counts. Should they ever need sampling,
 * it must be per session (a hash of the session id, as for traces), never per event.
 *
 * One instance serves one org (see chain.ts), so the rates are per org.
 */
export class SampleStage implements Processor {
  readonly name = 'sample';
  private readonly logRate: RateEstimator;
  private readonly spanRate: RateEstimator;
  private readonly keptSeverities: ReadonlySet<Severity>;
  private readonly slowSpanNs: bigint;
  private readonly random: () => number;

  constructor(
    private readonly options: SampleOptions,
    private readonly deps: SampleDeps = {},
  ) {
    this.logRate = new RateEstimator(options.windowSeconds);
    this.spanRate = new RateEstimator(options.windowSeconds);
    this.keptSeverities = new Set(SEVERITY_BANDS.slice(SEVERITY_BANDS.indexOf(options.keepSeverity)));
    this.slowSpanNs = BigInt(Math.round(options.slowSpanMs * NS_PER_MS));
    this.random = deps.random ?? Math.random;
  }

  process(batch: RowBatch, context: StageContext): RowBatch {
    if (batch.logs.length === 0 && batch.spans.length === 0) return batch;
    const logs = this.sample(batch.logs, this.logRate, context, 'logs', (log) => this.alwaysKeepLog(log));
    const spans = this.sample(
      batch.spans,
      this.spanRate,
      context,
      'spans',
      (span) => span.status === 'error' || span.durationNs >= this.slowSpanNs,
    );
    return logs === batch.logs && spans === batch.spans ? batch : { ...batch, logs, spans };
  }

  private alwaysKeepLog(log: LogRow): boolean {
    if (this.keptSeverities.has(log.severity)) return true;
    const durationMs = durationMsOf(log.attributes);
    return durationMs !== undefined && durationMs >= this.options.slowStatementMs;
  }

  /** The rows kept of one signal; the same array when all of them are kept unchanged. */
  private sample<Row extends LogRow | SpanRow>(
    rows: Row[],
    rate: RateEstimator,
    context: StageContext,
    kind: 'logs' | 'spans',
    alwaysKeep: (row: Row) => boolean,
  ): Row[] {
    if (rows.length === 0) return rows;
    const always = rows.map(alwaysKeep);
    const candidates = always.reduce((n, keep) => (keep ? n : n + 1), 0);
    // Only the candidates count: the target is for what sampling decides on, not for errors.
    const observed = rate.observe(candidates, context.nowNs);
    if (candidates === 0) return rows;
    const target = this.options.targetRecordsPerSecond;
    const p = observed <= target ? 1 : target / observed;
    this.deps.metrics?.sampleProbability.set({ org: context.orgId, signal: kind }, p);
    if (p >= 1) return rows;
    const sampleRate = Number((1 / p).toPrecision(6));
    const kept: Row[] = [];
    rows.forEach((row, index) => {
      if (always[index] === true) kept.push(row);
      else if ((row.traceId === '' ? this.random() : traceIdHash(row.traceId)) < p)
        kept.push({ ...row, attributes: withSampleRate(row.attributes, sampleRate) });
    });
    if (kept.length < rows.length) context.count('dropped', kind, 'sampled', rows.length - kept.length);
    return kept;
  }
}

export function createSampleStage(options: SampleOptions, deps: SampleDeps = {}): Processor {
  return new SampleStage(options, deps);
}

/**
 * The rate of records arriving, as an exponentially decayed count: each record adds 1 and the
 * sum decays with time constant `window`, so sum / window tends to the rate of steady traffic
 * and follows a change within about one window. It needs no timer and takes irregular arrivals
 * (an SDK exporting every 5 s, several messages in the same millisecond) as they come.
 */
export class RateEstimator {
  private decayed = 0;
  private lastNs: bigint | undefined;

  constructor(private readonly windowSeconds: number) {}

  /** Adds `n` records arriving at `nowNs` and returns the estimated rate in records per second. */
  observe(n: number, nowNs: bigint): number {
    if (this.lastNs === undefined) this.lastNs = nowNs;
    // A clock that goes back (another processor's time, NTP) neither decays nor moves the estimate's time.
    if (nowNs > this.lastNs) {
      this.decayed *= Math.exp(-Number(nowNs - this.lastNs) / 1e9 / this.windowSeconds);
      this.lastNs = nowNs;
    }
    this.decayed += n;
    return this.decayed / this.windowSeconds;
  }
}

/**
 * A trace id mapped to [0, 1): FNV-1a over its characters, then murmur3's finalizer, because
 * FNV's high bits barely change for ids that differ only in their last characters.
 */
export function traceIdHash(traceId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < traceId.length; i++) {
    h ^= traceId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4_294_967_296;
}

/** mulberry32: a small, fast seeded generator of [0, 1), for decisions a test must be able to repeat. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * The attributes JSON object with the sample rate added. Attributes are JSON objects written by
 * JSON.stringify (process/otlp-rows.ts, raw-rows.ts), so the entry is put in front of the text
 * without parsing it; only an object that already has the key (sampled again after an upstream
 * sampler, the rates multiply) or text that is not an object is parsed.
 */
export function withSampleRate(attributes: string, rate: number): string {
  const entry = `${JSON.stringify(SAMPLE_RATE_ATTRIBUTE)}:${rate}`;
  const text = attributes.trimStart();
  if (text.startsWith('{') && !text.includes(`"${SAMPLE_RATE_ATTRIBUTE}"`)) {
    const rest = text.slice(1).trimStart();
    return rest.startsWith('}') ? `{${entry}${rest}` : `{${entry},${rest}`;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(attributes);
  } catch {
    // Not JSON: the store would refuse the row whatever is added; leave it as it came.
    return attributes;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return attributes;
  const object = parsed as Record<string, unknown>;
  const earlier = Number(object[SAMPLE_RATE_ATTRIBUTE]);
  object[SAMPLE_RATE_ATTRIBUTE] = Number.isFinite(earlier) && earlier > 0 ? earlier * rate : rate;
  return JSON.stringify(object);
}

const DURATION_KEY = '"duration_ms"';
/** A JSON number, as JSON.stringify writes it and JSON.parse reads it. */
const JSON_NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/**
 * The `duration_ms` attribute (server logs of statements carry it), parsed only when the text has
 * it, and read without parsing where the text has the shape JSON.stringify gives it (see
 * withSampleRate): one object, no escapes, the key once at the top level, a number or a string
 * after it. Each record paid a parse of its attributes here (~1 µs a record).
 */
export function durationMsOf(attributes: string): number | undefined {
  const at = attributes.indexOf(DURATION_KEY);
  if (at === -1) return undefined;
  const read = readTopLevelDuration(attributes, at);
  if (read !== 'parse') return read;
  try {
    const value = (JSON.parse(attributes) as Record<string, unknown> | null)?.duration_ms;
    const ms = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
    return Number.isFinite(ms) ? ms : undefined;
  } catch {
    return undefined;
  }
}

/** `durationMsOf` on text in JSON.stringify's shape; `'parse'` for anything else, or when unsure. */
function readTopLevelDuration(text: string, at: number): number | undefined | 'parse' {
  if (text.charCodeAt(0) !== 123 || text.includes('\\') || text.includes(DURATION_KEY, at + 1))
    return 'parse';
  // The key must open a member of the outer object: outside strings (no escapes, so every `"`
  // opens or closes one), at depth 1, after `{` or `,`.
  let depth = 0;
  let inString = false;
  for (let i = 0; i < at; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) inString = !inString;
    else if (inString) continue;
    else if (c === 123 || c === 91) depth++;
    else if (c === 125 || c === 93) depth--;
  }
  const before = text.charCodeAt(at - 1);
  if (inString || depth !== 1 || (before !== 123 && before !== 44)) return 'parse';
  const colon = at + DURATION_KEY.length;
  if (text.charCodeAt(colon) !== 58) return 'parse';
  const start = colon + 1;
  let ms: number;
  if (text.charCodeAt(start) === 34) {
    const end = text.indexOf('"', start + 1);
    if (end === -1) return 'parse';
    ms = Number(text.slice(start + 1, end));
  } else {
    JSON_NUMBER.lastIndex = start;
    if (!JSON_NUMBER.test(text)) return 'parse';
    const next = text.charCodeAt(JSON_NUMBER.lastIndex);
    if (next !== 44 && next !== 125) return 'parse';
    ms = Number(text.slice(start, JSON_NUMBER.lastIndex));
  }
  return Number.isFinite(ms) ? ms : undefined;
}
