import { decodeRequest } from '../../src/otlp/codec.js';
import type { KeyValue } from '../../src/otlp/types.js';

export interface DecodedPoint {
  value: number;
  attributes: Record<string, unknown>;
}

/** Metric name → every gauge and sum point of the given OTLP protobuf messages, in order. */
export type MetricPoints = Map<string, DecodedPoint[]>;

export function metricPointsOf(messages: Iterable<Uint8Array>): MetricPoints {
  const points: MetricPoints = new Map();
  for (const message of messages) {
    const request = decodeRequest('metrics', 'protobuf', message);
    if (request.signal !== 'metrics') continue;
    for (const metric of (request.message.resourceMetrics ?? []).flatMap((rm) =>
      (rm.scopeMetrics ?? []).flatMap((sm) => sm.metrics ?? []),
    )) {
      for (const p of metric.gauge?.dataPoints ?? metric.sum?.dataPoints ?? []) {
        const attributes: Record<string, unknown> = {};
        for (const kv of p.attributes ?? []) attributes[kv.key ?? ''] = attributeValue(kv.value);
        const list = points.get(metric.name ?? '') ?? [];
        list.push({ value: p.asDouble ?? Number(p.asInt ?? NaN), attributes });
        points.set(metric.name ?? '', list);
      }
    }
  }
  return points;
}

function attributeValue(value: KeyValue['value']): string | number | boolean | undefined {
  if (typeof value?.stringValue === 'string') return value.stringValue;
  if (typeof value?.boolValue === 'boolean') return value.boolValue;
  if (value?.intValue !== undefined && value.intValue !== null) return Number(value.intValue);
  return undefined;
}
