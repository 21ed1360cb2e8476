import { z } from 'zod';

const count = z.int().min(1);

/**
 * Per-record limits the ingest gateway checks before publishing (see src/ingest/validate.ts,
 * whose DEFAULT_RECORD_LIMITS a test keeps equal to these defaults). A record over a limit is
 * rejected and reported in the OTLP response (partial success) with its reason, except an
 * over-long attribute value on a log record or span, which is cut to the limit and reported
 * as a warning: a span is rarely worth less than its long `exception.stacktrace`.
 */
export const ingestLimitsSchema = z.strictObject({
  /**
   * Most attributes in one set: a record's own, its scope's, its resource's (checked once for
   * all its records), a span event's or a span link's. 128 is the OpenTelemetry SDKs' default
   * attribute count limit. A metric data point's attributes are its labels.
   */
  maxAttributes: count.max(100_000).default(128),
  /**
   * Longest string or bytes attribute value, in bytes (UTF-8), nested values included. Longer
   * values of logs and spans are cut to this; on metrics they are rejected, because a label
   * value cut short could merge two series.
   */
  maxAttributeValueBytes: count.default(32 * 1024),
  /** Largest log record body in bytes (UTF-8; a structured body counts its keys and values). */
  maxLogBodyBytes: count.default(256 * 1024),
  /**
   * Longest metric name, label name or attribute key, in bytes (UTF-8); 255 as OpenTelemetry's
   * instrument names. Names must also be non-empty and free of control characters; dots are
   * allowed (Prometheus 3 serves UTF-8 names), label names starting with `__` are not (Prometheus
   * reserves them).
   */
  maxNameBytes: count.max(65_535).default(255),
  /**
   * How far ahead of this server's clock a record's time may be. An hour absorbs clock skew;
   * a record further ahead would sit above every "last 15 minutes" view until its time comes.
   */
  maxFutureSeconds: count.default(60 * 60),
  /**
   * How far behind this server's clock a record's time may be; 0 accepts any age (backfills).
   * A week lets an agent deliver what it buffered through a long outage (Loki's default too);
   * older records are usually a log file read from its start. The start time of a cumulative
   * metric is exempt: it is when counting began.
   */
  maxPastSeconds: z
    .int()
    .min(0)
    .default(7 * 24 * 60 * 60),
});

export type IngestLimits = z.infer<typeof ingestLimitsSchema>;
