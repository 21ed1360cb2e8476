import { describe, expect, it } from 'vitest';
import type { LogQuery } from '../log-query.js';
import { parseLogQuery } from '../../query/log-language/parser.js';
import { compileLogQuery, type OrgScope } from './log-search-sql.js';

/** As the store's orgScoped builds it. */
const scope: OrgScope = (conditions) => ({
  from: `FROM logs WHERE org_id = $org${conditions.map((c) => ` AND ${c}`).join('')}`,
  params: { org: 'org_a' },
});

function compile(q: string, extra: Partial<LogQuery> = {}) {
  const parsed = parseLogQuery(q);
  return compileLogQuery(scope, {
    fromNs: 1n,
    toNs: 2n,
    filter: parsed.filter,
    aggregate:
      parsed.aggregate === null ? null : { by: parsed.aggregate.by.map((b) => b.field), stepNs: null },
    limit: 10,
    after: null,
    timeoutMs: 1000,
    ...extra,
  });
}

describe('log search SQL', () => {
  it('scopes by org and time, newest first, one row more than the limit', () => {
    const { sql, params } = compile('');
    expect(sql).toMatch(
      /FROM logs WHERE org_id = \$org AND ts >= \$fromNs AND ts < \$toNs ORDER BY ts DESC, id DESC LIMIT \$limit$/,
    );
    expect(params).toMatchObject({ org: 'org_a', fromNs: 1n, toNs: 2n, limit: 11 });
  });

  it('compiles terms, fields, wildcards, comparisons and severity to parameters', () => {
    const { sql, params } = compile(
      'timeout service:api host:web-* duration_ms>=500 resource.k8s.pod.name:x severity>=error',
    );
    expect(sql).toContain(
      "(regexp_matches(body, $p0, 'is') AND service = $p1 AND host LIKE $p2 ESCAPE '\\' AND " +
        'coalesce(TRY_CAST(json_extract_string(attributes, $p3) AS DOUBLE) >= $p4, false) AND ' +
        'coalesce(json_extract_string(resource, $p5) = $p6, false) AND severity IN ($p7, $p8))',
    );
    expect(params).toMatchObject({
      p0: 'timeout',
      p1: 'api',
      p2: 'web-%',
      p3: '$."duration_ms"',
      p4: 500,
      p5: '$."k8s.pod.name"',
      p6: 'x',
      p7: 'ERROR',
      p8: 'FATAL',
    });
  });

  it('compiles OR, NOT and groups with the parser precedence', () => {
    const { sql } = compile('a OR -b c');
    expect(sql).toContain(
      "(regexp_matches(body, $p0, 'is') OR ((NOT regexp_matches(body, $p1, 'is')) AND regexp_matches(body, $p2, 'is')))",
    );
  });

  it('escapes pattern characters in values and keeps quotes out of the SQL text', () => {
    const { sql, params } = compile(
      `service:"x' OR 1=1 --" "100%_done\\\\" a_b* "(a.b)+[c]" host:we%b_* k\\"ey:v`,
    );
    expect(sql).not.toContain("'x");
    expect(sql).not.toContain('OR 1=1');
    expect(Object.values(params)).toEqual(
      expect.arrayContaining([
        "x' OR 1=1 --",
        '100%_done\\\\',
        'a_b.*',
        '\\(a\\.b\\)\\+\\[c\\]',
        'we\\%b\\_%',
      ]),
    );
    // Only this file's fixed fragments reach the SQL: no character of a value does.
    expect(sql.replace(/\$\w+/g, '')).not.toMatch(/100|done|OR 1/);
  });

  it('matches any body for a lone *, without reading the bodies', () => {
    expect(compile('*').sql).toContain('AND true ORDER BY');
    expect(compile('* | count by service').sql).toContain('AND true GROUP BY');
  });

  it('puts attribute keys into quoted JSON paths, escaping quotes and backslashes', () => {
    const { params } = compile('a.b:1 resource.x:2');
    expect(params).toMatchObject({ p0: '$."a.b"', p2: '$."x"' });
    const odd = compileLogQuery(scope, {
      fromNs: 1n,
      toNs: 2n,
      filter: {
        kind: 'match',
        field: { kind: 'attribute', source: 'attributes', key: 'we"ird\\' },
        value: { kind: 'exact', text: 'v' },
      },
      aggregate: null,
      limit: 1,
      after: null,
      timeoutMs: 1,
    });
    expect(odd.params.p0).toBe('$."we\\"ird\\\\"');
  });

  it('pages after the last row by (ts, id)', () => {
    const { sql, params } = compile('', { after: { ts: 5n, id: 'x' } });
    expect(sql).toContain('AND (ts < $afterTs OR (ts = $afterTs AND id < $afterId))');
    expect(params).toMatchObject({ afterTs: 5n, afterId: 'x' });
  });

  it('compiles counts by fields over time buckets', () => {
    const parsed = parseLogQuery('| count by service, level, http.route');
    const { sql, params } = compileLogQuery(scope, {
      fromNs: 1n,
      toNs: 2n,
      filter: null,
      aggregate: { by: parsed.aggregate?.by.map((b) => b.field) ?? [], stepNs: 60n },
      limit: 10,
      after: null,
      timeoutMs: 1,
    });
    expect(sql).toBe(
      'SELECT (ts // $stepNs) * $stepNs AS bucket, service AS g0, severity AS g1, ' +
        'json_extract_string(attributes, $p0) AS g2, count(*) AS n FROM logs WHERE org_id = $org ' +
        'AND ts >= $fromNs AND ts < $toNs GROUP BY ALL ORDER BY bucket, n DESC, g0, g1, g2 LIMIT $limit',
    );
    expect(params).toMatchObject({ stepNs: 60n, p0: '$."http.route"' });
  });
});
