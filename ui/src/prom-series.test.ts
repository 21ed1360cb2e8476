import { describe, expect, it } from 'vitest';
import { alignMatrices, vectorValues } from './prom-series.js';

describe('alignMatrices', () => {
  it('puts the series of several answers on one sorted time axis, with gaps as null', () => {
    const aligned = alignMatrices([
      {
        resultType: 'matrix',
        result: [
          {
            metric: { state: 'idle' },
            values: [
              [20, '2'],
              [10, '1'],
            ],
          },
        ],
      },
      {
        resultType: 'matrix',
        result: [
          {
            metric: { state: 'active' },
            values: [
              [30, '5'],
              [20, 'NaN'],
            ],
          },
        ],
      },
    ]);
    expect(aligned).toEqual({
      times: [10, 20, 30],
      columns: [
        { metric: { state: 'idle' }, values: [1, 2, null] },
        { metric: { state: 'active' }, values: [null, null, 5] },
      ],
    });
  });

  it('leaves out answers that are not matrices', () => {
    expect(alignMatrices([{ resultType: 'scalar', result: [] }])).toEqual({ times: [], columns: [] });
  });
});

describe('vectorValues', () => {
  it('reads each series’ sample and drops values that are not numbers', () => {
    expect(
      vectorValues({
        resultType: 'vector',
        result: [
          { metric: { t: 'a' }, value: [1, '42'] },
          { metric: { t: 'b' }, value: [1, 'NaN'] },
        ],
      }),
    ).toEqual([{ metric: { t: 'a' }, value: 42 }]);
  });
});
