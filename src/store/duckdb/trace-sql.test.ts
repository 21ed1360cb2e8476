import { describe, expect, it } from 'vitest';
import { compileSpanRed, compileTraceSearch, type TableScope } from './trace-sql.js';

/** As the store's orgScoped builds it. */
const scope: TableScope = (table, conditions) => ({
  from: `FROM ${table} WHERE org_id = $org${conditions.map((c) => ` AND ${c}`).join('')}`,
  params: { org: 'org_a' },
});

const INJECTION = `x' OR 1=1; DROP TABLE spans; --`;

describe('trace search SQL', () => {
  it('scopes both the matching spans and the summary by org, newest first, limited', () => {
    const { sql, params } = compileTraceSearch(scope, { fromNs: 1n, toNs: 2n, attributes: {}, limit: 20 });
    expect(sql).toContain(
      'WITH matched AS (SELECT trace_id, min(start_ts) AS first_ts FROM spans WHERE org_id = $org AND ' +
        'start_ts >= $p0 AND start_ts < $p1 GROUP BY trace_id ORDER BY first_ts DESC, trace_id LIMIT $p2)',
    );
    expect(sql).toContain(
      'FROM spans WHERE org_id = $org AND trace_id IN (SELECT trace_id FROM matched) GROUP BY trace_id ' +
        'ORDER BY start_ts DESC, trace_id',
    );
    expect(params).toEqual({ org: 'org_a', p0: 1n, p1: 2n, p2: 20n });
  });

  it('puts every filter value in a parameter, never in the SQL text', () => {
    const { sql, params, types } = compileTraceSearch(scope, {
      fromNs: 1n,
      toNs: 2n,
      service: INJECTION,
      operation: `GET /"a"`,
      minDurationNs: 5n,
      maxDurationNs: 9n,
      status: 'error',
      attributes: { [`k"') --`]: INJECTION },
      limit: 3,
    });
    expect(sql).not.toContain('DROP');
    expect(sql).not.toContain('GET /');
    expect(sql).toContain(
      'service = $p2 AND name = $p3 AND duration_ns >= $p4 AND duration_ns <= $p5 AND status = $p6 AND ' +
        'coalesce(json_extract_string(attributes, $p7) = $p8, json_extract_string(resource, $p7) = $p8, false)',
    );
    expect(params).toMatchObject({
      p2: INJECTION,
      p3: 'GET /"a"',
      p4: 5n,
      p5: 9n,
      p6: 'error',
      p7: `$."k\\"') --"`,
      p8: INJECTION,
      p9: 3n,
    });
    expect(Object.keys(types).sort()).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8', 'p9']);
  });
});

describe('RED SQL', () => {
  it('groups the org-scoped rollup by service, or by operation of one service', () => {
    const services = compileSpanRed(scope, { fromNs: 1n, toNs: 2n });
    expect(services.sql).toMatch(
      /^SELECT service, '' AS operation, .* FROM span_latency_1m WHERE org_id = \$org AND bucket_ts >= \$p0 AND bucket_ts < \$p1 GROUP BY ALL/,
    );
    expect(services.params).toEqual({ org: 'org_a', p0: 1n, p1: 2n });

    const operations = compileSpanRed(scope, { fromNs: 1n, toNs: 2n }, INJECTION);
    expect(operations.sql).toContain('SELECT service, name AS operation,');
    expect(operations.sql).toContain('AND service = $p2 GROUP BY ALL');
    expect(operations.sql).not.toContain('DROP');
    expect(operations.params).toEqual({ org: 'org_a', p0: 1n, p1: 2n, p2: INJECTION });
  });

  it('weights the minute quantiles by their span counts', () => {
    const { sql } = compileSpanRed(scope, { fromNs: 1n, toNs: 2n });
    expect(sql).toContain('sum(p95_ns * count) / nullif(sum(count), 0) AS p95_ns');
  });
});
