import { describe, expect, it } from 'vitest';
import { SightlineError } from '../core/errors.js';
import { parsePromTime, parseQuery, parseStepMs } from './promql-query.js';

const codeOf = (work: () => unknown): string => {
  try {
    work();
  } catch (error) {
    return error instanceof SightlineError ? `${error.code}: ${error.message}` : String(error);
  }
  return 'no error';
};

describe('Prometheus API parameters', () => {
  it.each([
    ['1714564800', 1714564800000],
    ['1714564800.123', 1714564800123],
    ['1.7145648e9', 1714564800000],
    ['2024-05-01T12:00:00Z', 1714564800000],
    ['2024-05-01T14:00:00.5+02:00', 1714564800500],
  ])('time %s', (value, ms) => {
    expect(parsePromTime('time', value)).toBe(ms);
  });

  it.each(['yesterday', '2024-05-01', '', '12:00'])('rejects time %j saying what to use', (value) => {
    expect(codeOf(() => parsePromTime('start', value))).toMatch(/^SL_ERR_BAD_REQUEST: start=.* Unix seconds/);
  });

  it.each([
    ['15', 15_000],
    ['0.5', 500],
    ['1m', 60_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['1d', 86_400_000],
  ])('step %s', (value, ms) => {
    expect(parseStepMs(value)).toBe(ms);
  });

  it.each([
    ['0', /zero or negative/],
    ['-5', /zero or negative/],
    ['5 minutes', /not a duration/],
    ['m', /not a duration/],
  ])('rejects step %s', (value, message) => {
    expect(codeOf(() => parseStepMs(value))).toMatch(message);
  });

  it('points a parse error at its line and column', () => {
    expect(codeOf(() => parseQuery('sum(rate(x[5m])'))).toMatch(
      /^SL_ERR_BAD_REQUEST: invalid query at line 1, column \d+/,
    );
    expect(codeOf(() => parseQuery(''))).toBe('SL_ERR_BAD_REQUEST: query is required');
  });
});
