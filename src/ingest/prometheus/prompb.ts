import Long from 'long';
import protobuf from 'protobufjs/minimal.js';

/**
 * Prometheus remote write 1.0's message (prometheus/prometheus `prompb/remote.proto` and
 * `prompb/types.proto`), decoded by hand with protobufjs' Reader: four small messages do not
 * need a .proto and generated code. Only what Sightline reads is kept; exemplars and native
 * histograms are counted, not decoded, since they are not stored.
 *
 *   WriteRequest   { repeated TimeSeries timeseries = 1; reserved 2; repeated MetricMetadata metadata = 3; }
 *   TimeSeries     { repeated Label labels = 1; repeated Sample samples = 2;
 *                    repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
 *   Label          { string name = 1; string value = 2; }
 *   Sample         { double value = 1; int64 timestamp = 2; }   // milliseconds since the epoch
 *   MetricMetadata { MetricType type = 1; string metric_family_name = 2; string help = 4; string unit = 5; }
 */

export interface PromLabel {
  name: string;
  value: string;
}

export interface PromSample {
  value: number;
  /** Milliseconds since the epoch (int64). */
  timestampMs: bigint;
  /**
   * A staleness marker: the NaN with bits 0x7ff0000000000002 (Prometheus `model/value`
   * StaleNaN). Read from the wire bytes, since a NaN's payload need not survive a JavaScript number.
   */
  stale?: boolean;
}

export interface PromTimeSeries {
  labels: PromLabel[];
  samples: PromSample[];
  exemplars: number;
  /** Native histogram samples (not stored by Sightline). */
  histograms: number;
}

/** prompb MetricMetadata.MetricType. */
export const METRIC_TYPES = [
  'unknown',
  'counter',
  'gauge',
  'histogram',
  'gaugehistogram',
  'summary',
  'info',
  'stateset',
] as const;

export interface PromMetadata {
  type: number;
  metricFamilyName: string;
  help: string;
  unit: string;
}

export interface PromWriteRequest {
  timeseries: PromTimeSeries[];
  metadata: PromMetadata[];
}

const { Reader, Writer } = protobuf;
type ReaderT = protobuf.Reader;

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;

/** StaleNaN's eight bytes as they travel (a double is little-endian on the wire). */
const STALE_NAN_BYTES = [0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f] as const;
const STALE_NAN_BITS = new Long(0x00000002, 0x7ff00000, true);

/** Throws (protobufjs' RangeError or ours) on bytes that are not a WriteRequest. */
export function decodeWriteRequest(bytes: Uint8Array): PromWriteRequest {
  const reader = Reader.create(bytes);
  const request: PromWriteRequest = { timeseries: [], metadata: [] };
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    if (field === 1) request.timeseries.push(decodeTimeSeries(reader, messageEnd(reader, tag, 'timeseries')));
    else if (field === 3) request.metadata.push(decodeMetadata(reader, messageEnd(reader, tag, 'metadata')));
    else reader.skipType(tag & 7);
  }
  return request;
}

function decodeTimeSeries(reader: ReaderT, end: number): PromTimeSeries {
  const series: PromTimeSeries = { labels: [], samples: [], exemplars: 0, histograms: 0 };
  while (reader.pos < end) {
    const tag = reader.uint32();
    switch (tag >>> 3) {
      case 1:
        series.labels.push(decodeLabel(reader, messageEnd(reader, tag, 'labels')));
        break;
      case 2:
        series.samples.push(decodeSample(reader, messageEnd(reader, tag, 'samples')));
        break;
      case 3:
        reader.pos = messageEnd(reader, tag, 'exemplars');
        series.exemplars++;
        break;
      case 4:
        reader.pos = messageEnd(reader, tag, 'histograms');
        series.histograms++;
        break;
      default:
        reader.skipType(tag & 7);
    }
  }
  return series;
}

function decodeLabel(reader: ReaderT, end: number): PromLabel {
  const label: PromLabel = { name: '', value: '' };
  while (reader.pos < end) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    if (field === 1) label.name = readString(reader, tag, 'Label.name');
    else if (field === 2) label.value = readString(reader, tag, 'Label.value');
    else reader.skipType(tag & 7);
  }
  return label;
}

function decodeSample(reader: ReaderT, end: number): PromSample {
  const sample: PromSample = { value: 0, timestampMs: 0n };
  while (reader.pos < end) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    if (field === 1) {
      wireType(tag, FIXED64, 'Sample.value');
      const at = reader.pos;
      const stale = at + 8 <= reader.len && STALE_NAN_BYTES.every((byte, i) => reader.buf[at + i] === byte);
      sample.value = reader.double();
      if (stale) sample.stale = true;
    } else if (field === 2) {
      wireType(tag, VARINT, 'Sample.timestamp');
      sample.timestampMs = BigInt.asIntN(64, longBits(reader.int64()));
    } else reader.skipType(tag & 7);
  }
  return sample;
}

function decodeMetadata(reader: ReaderT, end: number): PromMetadata {
  const metadata: PromMetadata = { type: 0, metricFamilyName: '', help: '', unit: '' };
  while (reader.pos < end) {
    const tag = reader.uint32();
    switch (tag >>> 3) {
      case 1:
        wireType(tag, VARINT, 'MetricMetadata.type');
        metadata.type = reader.int32();
        break;
      case 2:
        metadata.metricFamilyName = readString(reader, tag, 'MetricMetadata.metric_family_name');
        break;
      case 4:
        metadata.help = readString(reader, tag, 'MetricMetadata.help');
        break;
      case 5:
        metadata.unit = readString(reader, tag, 'MetricMetadata.unit');
        break;
      default:
        reader.skipType(tag & 7);
    }
  }
  return metadata;
}

/** The end of an embedded message whose length prefix is next; it must lie within the buffer. */
function messageEnd(reader: ReaderT, tag: number, field: string): number {
  wireType(tag, LENGTH_DELIMITED, field);
  const length = reader.uint32();
  const end = reader.pos + length;
  if (end > reader.len)
    throw new RangeError(`${field} is cut short: ${length} bytes announced, ${reader.len - reader.pos} left`);
  return end;
}

function readString(reader: ReaderT, tag: number, field: string): string {
  wireType(tag, LENGTH_DELIMITED, field);
  return reader.string();
}

function wireType(tag: number, expected: number, field: string): void {
  if ((tag & 7) !== expected) throw new RangeError(`${field} has wire type ${tag & 7}, expected ${expected}`);
}

/** A decoded 64-bit varint (a Long, since codec.ts makes protobufjs load `long`) as its 64 bits. */
function longBits(value: { low: number; high: number } | number): bigint {
  if (typeof value === 'number') return BigInt(value);
  return (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
}

/**
 * The inverse, for tests and the test harness's sender: the bytes Prometheus would send before
 * snappy. Exemplars and histograms are written as that many empty messages.
 */
export function encodeWriteRequest(request: Partial<PromWriteRequest>): Uint8Array {
  const writer = Writer.create();
  for (const series of request.timeseries ?? []) {
    writer.uint32((1 << 3) | LENGTH_DELIMITED).fork();
    for (const label of series.labels) {
      writer.uint32((1 << 3) | LENGTH_DELIMITED).fork();
      writer.uint32((1 << 3) | LENGTH_DELIMITED).string(label.name);
      writer.uint32((2 << 3) | LENGTH_DELIMITED).string(label.value);
      writer.ldelim();
    }
    for (const sample of series.samples) {
      writer.uint32((2 << 3) | LENGTH_DELIMITED).fork();
      writer.uint32((1 << 3) | FIXED64);
      if (sample.stale) writer.fixed64(STALE_NAN_BITS);
      else writer.double(sample.value);
      writer.uint32((2 << 3) | VARINT).int64(Long.fromString(String(sample.timestampMs)));
      writer.ldelim();
    }
    for (let i = 0; i < series.exemplars; i++) writer.uint32((3 << 3) | LENGTH_DELIMITED).uint32(0);
    for (let i = 0; i < series.histograms; i++) writer.uint32((4 << 3) | LENGTH_DELIMITED).uint32(0);
    writer.ldelim();
  }
  for (const metadata of request.metadata ?? []) {
    writer.uint32((3 << 3) | LENGTH_DELIMITED).fork();
    writer.uint32((1 << 3) | VARINT).int32(metadata.type);
    writer.uint32((2 << 3) | LENGTH_DELIMITED).string(metadata.metricFamilyName);
    writer.uint32((4 << 3) | LENGTH_DELIMITED).string(metadata.help);
    writer.uint32((5 << 3) | LENGTH_DELIMITED).string(metadata.unit);
    writer.ldelim();
  }
  return writer.finish();
}
