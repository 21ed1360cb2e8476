import { describe, expect, it } from 'vitest';
import { parsePromql } from '../../src/query/promql/parser.js';
import { databaseCharts } from '../../ui/src/db-charts.js';

/**
 * The database page builds its charts' PromQL in the browser (ui/src/db-charts.ts); the server
 * evaluates a subset (docs/metrics-query.md). Every expression it can build must parse there,
 * for both collectors, with hostile ids and database names quoted.
 */
describe("the database page's chart queries", () => {
  const scopes = [
    { kind: 'postgresql.instance', instanceId: 'pg:main', window: '60s' },
    { kind: 'postgresql.instance', instanceId: 'pg:main', database: 'shop', window: '1440s' },
    { kind: 'postgresql.instance', instanceId: 'pg:"x\\', database: 'we"ird\\', window: '60s' },
    { kind: 'mysql.instance', instanceId: 'mysql:main', window: '120s' },
  ];

  it.each(scopes)('parse as the PromQL subset the server runs: $kind $instanceId $database', (scope) => {
    const exprs = databaseCharts(scope).flatMap((chart) => chart.queries.map((q) => q.expr));
    expect(exprs.length).toBeGreaterThan(7);
    for (const expr of exprs) expect(() => parsePromql(expr), expr).not.toThrow();
  });
});
