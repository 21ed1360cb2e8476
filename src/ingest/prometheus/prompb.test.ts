import protobuf from 'protobufjs/minimal.js';
import { describe, expect, it } from 'vitest';
import { decodeWriteRequest, encodeWriteRequest, type PromWriteRequest } from './prompb.js';

const request: PromWriteRequest = {
  timeseries: [
    {
      labels: [
        { name: '__name__', value: 'node_cpu_seconds_total' },
        { name: 'cpu', value: '0' },
        { name: 'instance', value: 'host-1:9100' },
        { name: 'job', value: 'node' },
      ],
      samples: [
        { value: 1234.5, timestampMs: 1_718_000_000_000n },
        { value: -0.25, timestampMs: 1_718_000_015_000n },
        { value: Number.NaN, timestampMs: 1_718_000_030_000n, stale: true },
      ],
      exemplars: 1,
      histograms: 2,
    },
  ],
  metadata: [{ type: 1, metricFamilyName: 'node_cpu_seconds_total', help: 'CPU time.', unit: 'seconds' }],
};

describe('the remote write 1.0 WriteRequest codec', () => {
  it('decodes what it encodes: labels, samples with millisecond int64 times, metadata, counts of the rest', () => {
    expect(decodeWriteRequest(encodeWriteRequest(request))).toEqual(request);
  });

  it('tells the staleness marker from any other NaN by its bits', () => {
    const plainNaN: PromWriteRequest = {
      timeseries: [
        { labels: [], samples: [{ value: Number.NaN, timestampMs: 1n }], exemplars: 0, histograms: 0 },
      ],
      metadata: [],
    };
    const [sample] = decodeWriteRequest(encodeWriteRequest(plainNaN)).timeseries[0]?.samples ?? [];
    expect(sample?.value).toBeNaN();
    expect(sample?.stale).toBeUndefined();
    const [marker] = decodeWriteRequest(encodeWriteRequest(request)).timeseries[0]?.samples.slice(2) ?? [];
    expect(marker?.stale).toBe(true);
  });

  it('keeps negative and 64-bit timestamps exactly', () => {
    const wide: PromWriteRequest = {
      timeseries: [
        {
          labels: [],
          samples: [
            { value: 1, timestampMs: -5n },
            { value: 2, timestampMs: 2n ** 62n + 1n },
          ],
          exemplars: 0,
          histograms: 0,
        },
      ],
      metadata: [],
    };
    expect(decodeWriteRequest(encodeWriteRequest(wide))).toEqual(wide);
  });

  it('skips fields it does not know, as protobuf readers must', () => {
    const writer = protobuf.Writer.create();
    writer.uint32((9 << 3) | 2).string('from a newer sender');
    writer.uint32((2 << 3) | 0).uint32(7); // reserved 2
    const known = encodeWriteRequest(request);
    const bytes = Buffer.concat([writer.finish(), known]);
    expect(decodeWriteRequest(bytes)).toEqual(request);
  });

  it('throws on a message cut short and on a field of the wrong wire type', () => {
    const bytes = encodeWriteRequest(request);
    expect(() => decodeWriteRequest(bytes.subarray(0, bytes.length - 10))).toThrow(
      /cut short|index out of range/,
    );
    const wrong = protobuf.Writer.create()
      .uint32((1 << 3) | 0)
      .uint32(5)
      .finish();
    expect(() => decodeWriteRequest(wrong)).toThrow('timeseries has wire type 0, expected 2');
  });

  it('decodes an empty body as an empty request', () => {
    expect(decodeWriteRequest(new Uint8Array())).toEqual({ timeseries: [], metadata: [] });
  });
});
