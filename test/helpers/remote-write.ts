import { compressSync } from 'snappy';
import { encodeWriteRequest, type PromWriteRequest } from '../../src/ingest/prometheus/prompb.js';

/**
 * A Prometheus remote write 1.0 sender for tests: the same samples go to a real Prometheus
 * (`--web.enable-remote-write-receiver`) and to Sightline's `/api/v1/write`.
 *
 * What Prometheus' TSDB accepts (2.42, out-of-order ingestion off by default): per series,
 * samples in increasing time order, each later than the series' last stored one (an older or
 * equal timestamp is a 400 "out of order sample" for the whole request); and nothing older than
 * about an hour before the newest sample the head holds (half a block range, "out of bounds").
 * Send recent timestamps, in order, and each sample once. Sightline itself accepts any order and
 * ages within `ingest.limits.maxPastSeconds`/`maxFutureSeconds`.
 */

/** One series: labels including `__name__`, and `[timestamp ms, value]` pairs. */
export interface SeriesSamples {
  labels: Record<string, string>;
  samples: ReadonlyArray<readonly [timestampMs: number, value: number]>;
  /** Staleness markers (Prometheus' StaleNaN) at these times, after the samples. */
  staleAt?: readonly number[];
}

/** The protobuf WriteRequest of `series`, labels sorted by name as Prometheus sends them. */
export function writeRequestOf(series: readonly SeriesSamples[]): PromWriteRequest {
  return {
    timeseries: series.map((s) => ({
      labels: Object.entries(s.labels)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, value]) => ({ name, value })),
      samples: [
        ...s.samples.map(([ts, value]) => ({ value, timestampMs: BigInt(ts) })),
        ...(s.staleAt ?? []).map((ts) => ({ value: Number.NaN, timestampMs: BigInt(ts), stale: true })),
      ],
      exemplars: 0,
      histograms: 0,
    })),
    metadata: [],
  };
}

/** The body as Prometheus sends it: the protobuf, snappy block-compressed. */
export function remoteWriteBody(request: PromWriteRequest | readonly SeriesSamples[]): Buffer {
  const message = Array.isArray(request)
    ? writeRequestOf(request as readonly SeriesSamples[])
    : (request as PromWriteRequest);
  return compressSync(encodeWriteRequest(message));
}

/** The headers of Prometheus' sender (storage/remote/client.go). */
export const REMOTE_WRITE_HEADERS = {
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '0.1.0',
  'user-agent': 'sightline-tests/remote-write',
} as const;

/** POSTs the series to a remote write URL, with `Authorization: Bearer <key>` when given. */
export async function sendRemoteWrite(
  url: string,
  series: PromWriteRequest | readonly SeriesSamples[],
  options: { key?: string; headers?: Record<string, string>; body?: Uint8Array } = {},
): Promise<{ status: number; text: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      ...REMOTE_WRITE_HEADERS,
      ...(options.key === undefined ? {} : { authorization: `Bearer ${options.key}` }),
      ...options.headers,
    },
    body: options.body ?? remoteWriteBody(series),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, text: await response.text() };
}
