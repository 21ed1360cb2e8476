import { beforeAll, describe, expect, it } from 'vitest';
import { loadSqlParser } from '../../../sql/postgres-shape.js';
import { shapePlan } from './plan.js';

beforeAll(async () => {
  await loadSqlParser();
});

const jsonPlan = JSON.stringify(
  {
    'Query Text': "SELECT id FROM customers WHERE email = 'alice@example.com' AND id > 5",
    Plan: {
      'Node Type': 'Index Scan',
      'Index Cond': "(email = 'alice@example.com'::text)",
      Filter: '(id > 5)',
      'Actual Total Time': 0.012,
      Plans: [{ 'Node Type': 'Result', Output: ["'alice'::text", 'c.id'] }],
    },
  },
  null,
  2,
);

describe('shapePlan', () => {
  it('removes literals from the query text and the expressions of a JSON plan', () => {
    const shaped = shapePlan(jsonPlan, { keepLiterals: false, maxPlanBytes: 256 * 1024 });
    expect(shaped).toMatchObject({
      format: 'json',
      query: 'SELECT id FROM customers WHERE email = $1 AND id > $2',
      fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/) as unknown,
      truncated: false,
    });
    expect(shaped.plan).not.toContain('alice');
    expect(JSON.parse(shaped.plan)).toEqual({
      'Query Text': 'SELECT id FROM customers WHERE email = $1 AND id > $2',
      Plan: {
        'Node Type': 'Index Scan',
        'Index Cond': '(email = ?::text)',
        Filter: '(id > ?)',
        'Actual Total Time': 0.012,
        Plans: [{ 'Node Type': 'Result', Output: ['?::text', 'c.id'] }],
      },
    });
  });

  it('keeps a JSON plan as it is with keepLiterals', () => {
    const shaped = shapePlan(jsonPlan, { keepLiterals: true, maxPlanBytes: 256 * 1024 });
    expect(JSON.parse(shaped.plan)).toEqual(JSON.parse(jsonPlan));
  });

  it('keeps a text plan as {"text"}, the multi-line query text separated from the tree', () => {
    const text = [
      'Query Text: SELECT c.id',
      "  FROM customers c WHERE c.note LIKE 'n%' AND c.id < 10",
      'Seq Scan on customers c  (cost=0.00..1.75 rows=8 width=22) (actual time=0.016..0.021 rows=7 loops=1)',
      "  Filter: ((note ~~ 'n%'::text) AND (id < 10))",
      '  Rows Removed by Filter: 43',
    ].join('\n');
    const shaped = shapePlan(text, { keepLiterals: false, maxPlanBytes: 256 * 1024 });
    expect(shaped.format).toBe('text');
    expect(shaped.query).toBe('SELECT c.id\n  FROM customers c WHERE c.note LIKE $1 AND c.id < $2');
    expect(JSON.parse(shaped.plan)).toEqual({
      text: [
        'Query Text: SELECT c.id\n  FROM customers c WHERE c.note LIKE $1 AND c.id < $2',
        'Seq Scan on customers c  (cost=0.00..1.75 rows=8 width=22) (actual time=0.016..0.021 rows=7 loops=1)',
        '  Filter: ((note ~~ ?::text) AND (id < ?))',
        '  Rows Removed by Filter: 43',
      ].join('\n'),
    });
  });

  it('cuts a plan over the limit to valid JSON and flags it', () => {
    const nodes = Array.from({ length: 5000 }, (_, i) => ({
      'Node Type': 'Seq Scan',
      'Relation Name': `t${i}`,
    }));
    const big = JSON.stringify(
      { 'Query Text': 'SELECT 1', Plan: { 'Node Type': 'Append', Plans: nodes } },
      null,
      2,
    );
    const shaped = shapePlan(big, { keepLiterals: false, maxPlanBytes: 16 * 1024 });
    expect(shaped.truncated).toBe(true);
    expect(Buffer.byteLength(shaped.plan)).toBeLessThanOrEqual(16 * 1024);
    const parsed = JSON.parse(shaped.plan) as { text: string; truncated: boolean };
    expect(parsed.truncated).toBe(true);
    expect(parsed.text.startsWith('{\n "Query Text": "SELECT $1"')).toBe(true);
  });

  it('treats a JSON plan cut short as text and removes every literal-looking token', () => {
    const cut = jsonPlan.slice(0, jsonPlan.indexOf('Filter'));
    const shaped = shapePlan(cut, { keepLiterals: false, maxPlanBytes: 256 * 1024 });
    expect(shaped.format).toBe('other');
    expect(shaped.query).toBe('SELECT id FROM customers WHERE email = $1 AND id > $2');
    expect(shaped.plan).not.toContain('alice');
  });

  it('redacts a YAML plan line by line, keeping its figures', () => {
    const yaml = [
      '- Query Text: "SELECT * FROM t WHERE a = \'alice\' AND b = 5"',
      '  Plan: ',
      '    Node Type: "Seq Scan"',
      '    Total Cost: 1.50',
      '    Filter: "((a = \'alice\'::text) AND (b = 5))"',
    ].join('\n');
    const shaped = shapePlan(yaml, { keepLiterals: false, maxPlanBytes: 256 * 1024 });
    expect(shaped.query).toBe('SELECT * FROM t WHERE a = $1 AND b = $2');
    expect((JSON.parse(shaped.plan) as { text: string }).text).toBe(
      [
        '- "Query Text": "SELECT * FROM t WHERE a = $1 AND b = $2"',
        '  Plan: ',
        '    Node Type: "Seq Scan"',
        '    Total Cost: 1.50',
        '    Filter: "((a = ?::text) AND (b = ?))"',
      ].join('\n'),
    );
  });
});
