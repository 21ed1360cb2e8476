import { describe, expect, it } from 'vitest';
import { thrown } from '../../test/helpers/thrown.js';
import { MAX_METRIC_POINTS, parseMetricQuery } from './metric-query.js';

const NOW_MS = 1_714_564_800_000;
const NOW_NS = 1_714_564_800_000_000_000n;
const HOUR_NS = 3_600_000_000_000n;

describe('parseMetricQuery', () => {
  it('requires a metric name', () => {
    for (const name of [undefined, '', '   ']) {
      const error = thrown(() => parseMetricQuery({ name }, NOW_MS));
      expect(error.code).toBe('SL_ERR_BAD_REQUEST');
      expect(error.message).toBe('name is required: the metric to read, e.g. name=http.server.duration');
    }
  });

  it('returns raw points over the last hour with avg when only a name is given', () => {
    expect(parseMetricQuery({ name: ' cpu ' }, NOW_MS)).toEqual({
      name: 'cpu',
      fromNs: NOW_NS - HOUR_NS,
      toNs: NOW_NS,
      aggregation: 'avg',
      maxPoints: MAX_METRIC_POINTS,
    });
  });

  it('parses the step as a duration or a number of seconds', () => {
    expect(parseMetricQuery({ name: 'cpu', step: '30s' }, NOW_MS).stepNs).toBe(30_000_000_000n);
    expect(parseMetricQuery({ name: 'cpu', step: '1m' }, NOW_MS).stepNs).toBe(60_000_000_000n);
    expect(parseMetricQuery({ name: 'cpu', step: '60' }, NOW_MS).stepNs).toBe(60_000_000_000n);
    expect(parseMetricQuery({ name: 'cpu', step: '' }, NOW_MS).stepNs).toBeUndefined();
  });

  it('rejects a step that is not a duration or rounds to zero', () => {
    expect(thrown(() => parseMetricQuery({ name: 'cpu', step: 'often' }, NOW_MS)).message).toContain(
      'step="often" is not a duration',
    );
    expect(thrown(() => parseMetricQuery({ name: 'cpu', step: '0' }, NOW_MS)).message).toBe(
      'step must be at least 1ms',
    );
  });

  it('rejects a step that makes too many buckets over the range', () => {
    const error = thrown(() => parseMetricQuery({ name: 'cpu', step: '100ms' }, NOW_MS));
    expect(error.code).toBe('SL_ERR_BAD_REQUEST');
    expect(error.message).toBe(
      'step=100ms makes more than 11000 buckets over this range; use a larger step or a shorter range',
    );
    expect(parseMetricQuery({ name: 'cpu', step: '1s' }, NOW_MS).stepNs).toBe(1_000_000_000n);
  });

  it('accepts every supported aggregation and rejects others, listing them', () => {
    for (const agg of ['avg', 'min', 'max', 'sum', 'count', 'last']) {
      expect(parseMetricQuery({ name: 'cpu', agg }, NOW_MS).aggregation).toBe(agg);
    }
    const error = thrown(() => parseMetricQuery({ name: 'cpu', agg: 'median' }, NOW_MS));
    expect(error.code).toBe('SL_ERR_BAD_REQUEST');
    expect(error.message).toBe('agg=median is not supported; use one of avg, min, max, sum, count, last');
  });

  it('uses the given time range', () => {
    const query = parseMetricQuery(
      { name: 'cpu', from: '2024-05-01T11:30:00Z', to: '2024-05-01T12:00:00Z' },
      0,
    );
    expect(query.fromNs).toBe(NOW_NS - HOUR_NS / 2n);
    expect(query.toNs).toBe(NOW_NS);
  });
});
