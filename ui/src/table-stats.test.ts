import { describe, expect, it } from 'vitest';
import { joinRelations, sortRelations, type RelationRow } from './table-stats.js';

const KEY = ['schema', 'table'];
const at = (schema: string, table: string, extra: Record<string, string> = {}) => ({
  schema,
  table,
  ...extra,
});

describe('joinRelations', () => {
  it('joins each column’s series into one row per relation, leaving unmeasured cells out', () => {
    const rows = joinRelations(KEY, [
      {
        column: 'size',
        series: [
          { metric: at('public', 'orders'), value: 800 },
          { metric: at('public', 'items'), value: 90 },
        ],
      },
      { column: 'dead', series: [{ metric: at('public', 'orders', { state: 'dead' }), value: 12 }] },
    ]);
    expect(rows).toEqual([
      { key: ['public', 'orders'], values: { size: 800, dead: 12 } },
      { key: ['public', 'items'], values: { size: 90 } },
    ]);
  });

  it('adds up series of one relation that differ in other labels (data and index size)', () => {
    const rows = joinRelations(KEY, [
      {
        column: 'size',
        series: [
          { metric: at('shop', 't', { kind: 'data' }), value: 100 },
          { metric: at('shop', 't', { kind: 'index' }), value: 20 },
        ],
      },
    ]);
    expect(rows).toEqual([{ key: ['shop', 't'], values: { size: 120 } }]);
  });
});

describe('sortRelations', () => {
  it('puts the largest first and relations without the value last, by name', () => {
    const rows: RelationRow[] = [
      { key: ['s', 'b'], values: {} },
      { key: ['s', 'small'], values: { size: 1 } },
      { key: ['s', 'a'], values: {} },
      { key: ['s', 'big'], values: { size: 9 } },
    ];
    expect(sortRelations(rows, 'size').map((r) => r.key[1])).toEqual(['big', 'small', 'a', 'b']);
  });
});
