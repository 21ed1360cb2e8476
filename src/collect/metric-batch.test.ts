import { describe, expect, it } from 'vitest';
import { MetricBatch } from './metric-batch.js';

const COUNTER = { name: 'c', unit: '1', description: '', counter: true };
const GAUGE = { name: 'g', unit: '1', description: '' };

function points(batch: MetricBatch, name: string) {
  const metrics = batch.toRequest({}, 'scope', '1').resourceMetrics?.[0]?.scopeMetrics?.[0]?.metrics ?? [];
  const metric = metrics.find((m) => m.name === name);
  return metric?.sum?.dataPoints ?? metric?.gauge?.dataPoints ?? [];
}

describe('MetricBatch', () => {
  it('makes counters cumulative sums starting when the server started, and gauges without a start', () => {
    const batch = new MetricBatch(2000n, 1000n);
    batch.add(COUNTER, 5);
    batch.add(GAUGE, 7);
    const metrics = batch.toRequest({}, 'scope', '1').resourceMetrics?.[0]?.scopeMetrics?.[0]?.metrics ?? [];
    expect(metrics.find((m) => m.name === 'c')?.sum).toMatchObject({
      aggregationTemporality: 2,
      isMonotonic: true,
    });
    expect(String(points(batch, 'c')[0]?.startTimeUnixNano)).toBe('1000');
    expect(points(batch, 'g')[0]?.startTimeUnixNano).toBeUndefined();
  });

  it('starts a counter at its statistics reset when that is later than the server start', () => {
    const batch = new MetricBatch(2000n, 1000n);
    batch.since(1500n).add(COUNTER, 1, { a: 'reset' });
    batch.since(500n).add(COUNTER, 1, { a: 'older' });
    batch.since(undefined).add(COUNTER, 1, { a: 'unknown' });
    expect(points(batch, 'c').map((p) => String(p.startTimeUnixNano))).toEqual(['1500', '1000', '1000']);
  });

  it('skips values that are missing or not finite, and counts the rest', () => {
    const batch = new MetricBatch(1n, 0n);
    batch.add(GAUGE, null);
    batch.add(GAUGE, undefined);
    batch.add(GAUGE, Number.NaN);
    batch.add(GAUGE, 12n);
    expect(batch.size).toBe(1);
    expect(points(batch, 'g')[0]?.asDouble).toBe(12);
  });

  it('keeps attribute types: strings, booleans, integers and fractions', () => {
    const batch = new MetricBatch(1n, 0n);
    batch.add(GAUGE, 1, { s: 'x', b: true, i: 42, f: 0.5 });
    const attributes = points(batch, 'g')[0]?.attributes ?? [];
    expect(
      attributes.map((kv) => [
        kv.key,
        kv.value?.stringValue ?? kv.value?.boolValue ?? kv.value?.doubleValue ?? String(kv.value?.intValue),
      ]),
    ).toEqual([
      ['s', 'x'],
      ['b', true],
      ['i', '42'],
      ['f', 0.5],
    ]);
  });
});
