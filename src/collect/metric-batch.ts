import Long from 'long';
import type { KeyValue, Metric, MetricsRequest } from '../otlp/types.js';

export type PointValue = number | bigint;
export type PointAttributes = Readonly<Record<string, string | number | boolean>>;

export interface MetricDefinition {
  name: string;
  unit: string;
  description: string;
  /** A cumulative monotonic counter (OTLP Sum); otherwise a gauge. */
  counter?: boolean;
}

/** OTLP's AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE. */
const CUMULATIVE = 2;

/**
 * The points of one collection cycle, built into one OTLP ExportMetricsServiceRequest:
 * collectors' metrics travel on `otel-metrics` exactly like any SDK's, so the pipeline and
 * the store treat them alike.
 */
export class MetricBatch {
  private readonly metrics = new Map<string, { definition: MetricDefinition; metric: Metric }>();
  private pointCount = 0;

  constructor(
    private readonly timeNs: bigint,
    /** Start of cumulative counters: when the server (or its statistics) started counting. */
    private readonly startNs: bigint,
  ) {}

  get size(): number {
    return this.pointCount;
  }

  /**
   * Adds a point. `sinceNs` is when a counter last started from zero, when the source says so
   * (a statistics reset): later than the batch's start, it tells consumers the drop was a reset.
   */
  add(
    definition: MetricDefinition,
    value: PointValue | null | undefined,
    attributes: PointAttributes = {},
    sinceNs?: bigint,
  ): void {
    if (value === null || value === undefined) return;
    const numeric = typeof value === 'bigint' ? Number(value) : value;
    if (!Number.isFinite(numeric)) return;
    let entry = this.metrics.get(definition.name);
    if (entry === undefined) {
      entry = { definition, metric: emptyMetric(definition) };
      this.metrics.set(definition.name, entry);
    }
    const point = {
      attributes: toKeyValues(attributes),
      timeUnixNano: Long.fromString(this.timeNs.toString(), true),
      ...(definition.counter === true
        ? {
            startTimeUnixNano: Long.fromString(
              (sinceNs !== undefined && sinceNs > this.startNs ? sinceNs : this.startNs).toString(),
              true,
            ),
          }
        : {}),
      asDouble: numeric,
    };
    (entry.metric.sum ?? entry.metric.gauge)?.dataPoints?.push(point);
    this.pointCount += 1;
  }

  /** The same batch, adding every point with counters started at `sinceNs` (see `add`). */
  since(sinceNs: bigint | undefined): Pick<MetricBatch, 'add'> {
    return {
      add: (definition, value, attributes = {}) => {
        this.add(definition, value, attributes, sinceNs);
      },
    };
  }

  toRequest(resource: PointAttributes, scopeName: string, scopeVersion: string): MetricsRequest {
    return {
      resourceMetrics: [
        {
          resource: { attributes: toKeyValues(resource) },
          scopeMetrics: [
            {
              scope: { name: scopeName, version: scopeVersion },
              metrics: [...this.metrics.values()].map((entry) => entry.metric),
            },
          ],
        },
      ],
    };
  }
}

function emptyMetric(definition: MetricDefinition): Metric {
  const base = { name: definition.name, unit: definition.unit, description: definition.description };
  return definition.counter === true
    ? { ...base, sum: { dataPoints: [], aggregationTemporality: CUMULATIVE, isMonotonic: true } }
    : { ...base, gauge: { dataPoints: [] } };
}

export function toKeyValues(attributes: PointAttributes): KeyValue[] {
  return Object.entries(attributes).map(([key, value]): KeyValue => {
    if (typeof value === 'string') return { key, value: { stringValue: value } };
    if (typeof value === 'boolean') return { key, value: { boolValue: value } };
    if (Number.isSafeInteger(value)) return { key, value: { intValue: Long.fromNumber(value) } };
    return { key, value: { doubleValue: value } };
  });
}
