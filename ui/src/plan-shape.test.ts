import { describe, expect, it } from 'vitest';
import { planShape, planVersions, shapeHash } from './plan-shape.js';

const seqScan = (rows: number, time: number) => [
  {
    Plan: {
      'Node Type': 'Aggregate',
      'Actual Rows': 1,
      Plans: [
        {
          'Node Type': 'Seq Scan',
          'Relation Name': 'orders',
          'Actual Rows': rows,
          'Actual Total Time': time,
        },
      ],
    },
  },
];
const indexScan = {
  Plan: {
    'Node Type': 'Nested Loop',
    'Join Type': 'Inner',
    Plans: [
      { 'Node Type': 'Index Scan', 'Relation Name': 'orders', 'Index Name': 'orders_pkey' },
      { 'Node Type': 'Seq Scan', 'Relation Name': 'items' },
    ],
  },
};

describe('planShape', () => {
  it('names each node with what it reads, indented by depth, without costs or row counts', () => {
    expect(planShape(seqScan(10, 1))).toBe('Aggregate\n  Seq Scan on orders');
    expect(planShape(indexScan)).toBe(
      'Nested Loop (Inner)\n  Index Scan on orders_pkey\n  Seq Scan on items',
    );
  });

  it('has no shape without a JSON plan', () => {
    expect(planShape(null)).toBeNull();
    expect(planShape({ other: 1 })).toBeNull();
    expect(planShape('')).toBeNull();
    expect(planShape('Seq Scan on t')).toBe('text plan');
  });
});

describe('planVersions', () => {
  it('groups samples by shape with when each was first and last seen, oldest first', () => {
    const versions = planVersions([
      { timestamp: '2026-01-01T03:00:00Z', durationMs: 4, plan: indexScan },
      { timestamp: '2026-01-01T02:00:00Z', durationMs: 30, plan: seqScan(900, 25) },
      { timestamp: '2026-01-01T01:00:00Z', durationMs: 10, plan: seqScan(10, 8) },
      { timestamp: '2026-01-01T04:00:00Z', durationMs: 6, plan: indexScan },
      { timestamp: '2026-01-01T05:00:00Z', durationMs: 99, plan: null },
    ]);
    expect(versions).toEqual([
      {
        hash: shapeHash('Aggregate\n  Seq Scan on orders'),
        shape: 'Aggregate\n  Seq Scan on orders',
        firstSeen: '2026-01-01T01:00:00Z',
        lastSeen: '2026-01-01T02:00:00Z',
        samples: 2,
        meanDurationMs: 20,
      },
      {
        hash: shapeHash('Nested Loop (Inner)\n  Index Scan on orders_pkey\n  Seq Scan on items'),
        shape: 'Nested Loop (Inner)\n  Index Scan on orders_pkey\n  Seq Scan on items',
        firstSeen: '2026-01-01T03:00:00Z',
        lastSeen: '2026-01-01T04:00:00Z',
        samples: 2,
        meanDurationMs: 5,
      },
    ]);
  });

  it('names different shapes differently and the same shape the same', () => {
    expect(shapeHash('a')).not.toBe(shapeHash('b'));
    expect(shapeHash('Aggregate')).toBe(shapeHash('Aggregate'));
    expect(shapeHash('Aggregate')).toMatch(/^[0-9a-f]{8}$/);
  });
});
