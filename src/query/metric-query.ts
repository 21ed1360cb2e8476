import { SightlineError } from '../core/errors.js';
import type { MetricAggregation, MetricQuery } from '../store/store.js';
import { checkedStepNs, parseTimeRange } from './time-range.js';

export const MAX_METRIC_POINTS = 100_000;
const AGGREGATIONS: readonly MetricAggregation[] = ['avg', 'min', 'max', 'sum', 'count', 'last'];
/** More buckets than this would not fit any chart; the step must be coarser. */
const MAX_BUCKETS = 11_000;

export interface MetricQueryParams {
  name?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  step?: string | undefined;
  agg?: string | undefined;
}

export function parseMetricQuery(params: MetricQueryParams, nowMs: number, maxRangeMs?: number): MetricQuery {
  const name = params.name?.trim() ?? '';
  if (name === '') {
    throw new SightlineError(
      'SL_ERR_BAD_REQUEST',
      'name is required: the metric to read, e.g. name=http.server.duration',
    );
  }
  const range = parseTimeRange(params.from, params.to, nowMs, maxRangeMs);
  const aggregation = (params.agg ?? 'avg') as MetricAggregation;
  if (!AGGREGATIONS.includes(aggregation)) {
    throw new SightlineError(
      'SL_ERR_BAD_REQUEST',
      `agg=${params.agg ?? ''} is not supported; use one of ${AGGREGATIONS.join(', ')}`,
    );
  }
  const query: MetricQuery = { name, ...range, aggregation, maxPoints: MAX_METRIC_POINTS };
  if (params.step === undefined || params.step === '') return query;
  return { ...query, stepNs: checkedStepNs(params.step, range, MAX_BUCKETS, 1) };
}
