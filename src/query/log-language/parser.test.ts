import { describe, expect, it } from 'vitest';
import type { LogExpr } from '../../store/log-query.js';
import { LogQueryMeaningError, LogQuerySyntaxError } from './errors.js';
import { MAX_NESTING, MAX_QUERY_LENGTH, parseLogQuery } from './parser.js';

const body = (text: string): LogExpr => ({
  kind: 'match',
  field: { kind: 'body' },
  value: { kind: 'exact', text },
});
const attr = (key: string) => ({ kind: 'attribute', source: 'attributes', key }) as const;
const filter = (q: string) => parseLogQuery(q).filter;

function syntaxError(q: string): LogQuerySyntaxError {
  try {
    parseLogQuery(q);
  } catch (error) {
    if (error instanceof LogQuerySyntaxError || error instanceof LogQueryMeaningError) {
      return error as LogQuerySyntaxError;
    }
    throw error;
  }
  throw new Error(`${q} parsed`);
}

describe('log search language parser', () => {
  it('reads an empty query as no filter', () => {
    expect(parseLogQuery('   ')).toEqual({ filter: null, aggregate: null });
  });

  it('reads words and phrases as body terms joined by an implicit AND', () => {
    expect(filter('timeout "connection reset"')).toEqual({
      kind: 'and',
      operands: [body('timeout'), body('connection reset')],
    });
  });

  it('reads field:value, field:"a b" and the entity/level aliases', () => {
    expect(filter('service:checkout host:"web 1" entity:db/main')).toEqual({
      kind: 'and',
      operands: [
        {
          kind: 'match',
          field: { kind: 'column', column: 'service' },
          value: { kind: 'exact', text: 'checkout' },
        },
        { kind: 'match', field: { kind: 'column', column: 'host' }, value: { kind: 'exact', text: 'web 1' } },
        {
          kind: 'match',
          field: { kind: 'column', column: 'entity_id' },
          value: { kind: 'exact', text: 'db/main' },
        },
      ],
    });
    expect(filter('level:warning')).toEqual({ kind: 'severity', severities: ['WARN'] });
  });

  it('lower-cases trace and span ids, which are stored as lower-case hex', () => {
    expect(filter('trace_id:0AF7651916CD43DD8448EB211C80319C')).toMatchObject({
      value: { kind: 'exact', text: '0af7651916cd43dd8448eb211c80319c' },
    });
  });

  it('reads other names as attribute keys and resource. as resource keys', () => {
    expect(filter('http.route:/orders resource.k8s.pod.name:api-7')).toEqual({
      kind: 'and',
      operands: [
        { kind: 'match', field: attr('http.route'), value: { kind: 'exact', text: '/orders' } },
        {
          kind: 'match',
          field: { kind: 'attribute', source: 'resource', key: 'k8s.pod.name' },
          value: { kind: 'exact', text: 'api-7' },
        },
      ],
    });
  });

  it('reads * and ? as wildcards, literal when escaped or quoted', () => {
    expect(filter('service:check*ou?')).toMatchObject({
      value: {
        kind: 'pattern',
        parts: [{ literal: 'check' }, { wildcard: '*' }, { literal: 'ou' }, { wildcard: '?' }],
      },
    });
    expect(filter('service:a\\*b')).toMatchObject({ value: { kind: 'exact', text: 'a*b' } });
    expect(filter('"50% off*"')).toEqual(body('50% off*'));
  });

  it('reads numeric comparisons on attributes', () => {
    for (const op of ['>', '>=', '<', '<=', '='] as const) {
      expect(filter(`duration_ms${op}500`)).toEqual({
        kind: 'compare',
        field: attr('duration_ms'),
        op,
        value: 500,
      });
    }
    expect(filter('ratio<=-0.5')).toMatchObject({ op: '<=', value: -0.5 });
    expect(filter('status=ok')).toEqual({
      kind: 'match',
      field: attr('status'),
      value: { kind: 'exact', text: 'ok' },
    });
  });

  it('resolves severity comparisons to the bands of src/core/severity.ts', () => {
    expect(filter('severity>=warn')).toEqual({ kind: 'severity', severities: ['WARN', 'ERROR', 'FATAL'] });
    expect(filter('level>error')).toEqual({ kind: 'severity', severities: ['FATAL'] });
    expect(filter('severity<info')).toEqual({ kind: 'severity', severities: ['TRACE', 'DEBUG'] });
    expect(filter('severity<=trace')).toEqual({ kind: 'severity', severities: ['TRACE'] });
  });

  it('gives NOT precedence over AND and AND over OR', () => {
    expect(filter('a OR b c')).toEqual({
      kind: 'or',
      operands: [body('a'), { kind: 'and', operands: [body('b'), body('c')] }],
    });
    expect(filter('NOT a AND b OR -c')).toEqual({
      kind: 'or',
      operands: [
        { kind: 'and', operands: [{ kind: 'not', operand: body('a') }, body('b')] },
        { kind: 'not', operand: body('c') },
      ],
    });
    expect(filter('(a OR b) AND -(c d)')).toEqual({
      kind: 'and',
      operands: [
        { kind: 'or', operands: [body('a'), body('b')] },
        { kind: 'not', operand: { kind: 'and', operands: [body('c'), body('d')] } },
      ],
    });
  });

  it('negates fields and phrases with -, and searches a lone - and lower-case keywords as text', () => {
    expect(filter('-service:api')).toMatchObject({ kind: 'not', operand: { field: { column: 'service' } } });
    expect(filter('-"a b"')).toEqual({ kind: 'not', operand: body('a b') });
    expect(filter('--verbose')).toEqual(body('--verbose'));
    expect(filter('a - b')).toEqual({ kind: 'and', operands: [body('a'), body('-'), body('b')] });
    expect(filter('cats and dogs')).toEqual({
      kind: 'and',
      operands: [body('cats'), body('and'), body('dogs')],
    });
  });

  it('reads escaped quotes inside phrases', () => {
    expect(filter('"say \\"hi\\""')).toEqual(body('say "hi"'));
  });

  it('keeps injection attempts as plain values', () => {
    expect(filter(`service:"x' OR 1=1 --"`)).toEqual({
      kind: 'match',
      field: { kind: 'column', column: 'service' },
      value: { kind: 'exact', text: "x' OR 1=1 --" },
    });
    expect(filter("'; DROP TABLE logs; --")).toMatchObject({
      kind: 'and',
      operands: [body("';"), body('DROP'), body('TABLE'), body('logs;'), body('--')],
    });
    // A backslash cannot be part of a field name: the whole word is text.
    expect(filter('a\\"b:c')).toEqual(body('a"b:c'));
  });

  it('handles unicode terms and counts columns in characters', () => {
    expect(filter('用户:登录 "café ☕"')).toEqual({
      kind: 'and',
      operands: [body('用户:登录'), body('café ☕')],
    });
    const error = syntaxError('😀😀 service:api )');
    expect(error.message).toBe(
      "unexpected ')' at column 16: expected a term or the end of the query (this ')' closes nothing)",
    );
  });

  it('points at the column of what it did not expect', () => {
    expect(syntaxError('service:api OR )').message).toBe("unexpected ')' at column 16: expected a term");
    expect(syntaxError('(a OR b').message).toBe(
      "unexpected end of query at column 8: expected ')' to close the '(' at column 1",
    );
    expect(syntaxError('a AND').message).toBe('unexpected end of query at column 6: expected a term');
    expect(syntaxError('OR a').message).toBe("unexpected 'OR' at column 1: expected a term");
    expect(syntaxError('body:"unclosed').message).toBe(
      `unexpected end of query at column 15: expected a closing '"' for the quote at column 6`,
    );
    expect(syntaxError('service: api').message).toBe(
      "unexpected a space at column 9: expected a value right after 'service:'",
    );
    expect(syntaxError('duration_ms>fast').message).toBe(
      "unexpected 'fast' at column 13: expected a number after 'duration_ms>'",
    );
    expect(syntaxError('a\\').message).toBe(
      "unexpected end of query at column 3: expected a character after '\\'",
    );
  });

  it('refuses what the fields cannot mean, naming the column', () => {
    expect(syntaxError('x level:loud').message).toBe(
      'level:loud is not a level; use one of trace, debug, info, warn, error, fatal (at column 9)',
    );
    expect(syntaxError('service>5').message).toMatch(
      /^'>' compares numbers .* use service:value \(at column 1\)$/,
    );
  });

  it('limits nesting, length and the number of terms', () => {
    const ok = `${'('.repeat(MAX_NESTING)}a${')'.repeat(MAX_NESTING)}`;
    expect(filter(ok)).toEqual(body('a'));
    const deep = `${'('.repeat(MAX_NESTING + 1)}a${')'.repeat(MAX_NESTING + 1)}`;
    expect(syntaxError(deep).message).toBe(
      `the query nests groups and negations more than ${MAX_NESTING} deep (at column ${MAX_NESTING + 1})`,
    );
    expect(syntaxError('NOT '.repeat(40) + 'a').message).toMatch(/nests .* more than 32 deep/);
    expect(syntaxError('a'.repeat(MAX_QUERY_LENGTH + 1)).message).toMatch(/the limit is 4096/);
    expect(syntaxError(Array.from({ length: 257 }, () => 'x').join(' ')).message).toMatch(
      /more than 256 terms/,
    );
    // A million-deep input fails fast instead of overflowing the stack.
    expect(() => parseLogQuery('('.repeat(4000))).toThrow(/more than 32 deep/);
  });

  it('reads aggregations after a |', () => {
    expect(parseLogQuery('| count')).toEqual({ filter: null, aggregate: { by: [], over: null } });
    expect(parseLogQuery('level:error | count by service')).toEqual({
      filter: { kind: 'severity', severities: ['ERROR'] },
      aggregate: { by: [{ name: 'service', field: { kind: 'column', column: 'service' } }], over: null },
    });
    expect(parseLogQuery('| COUNT by LEVEL, http.route over 1m').aggregate).toEqual({
      by: [
        { name: 'level', field: { kind: 'severity' } },
        { name: 'http.route', field: attr('http.route') },
      ],
      over: '1m',
    });
    expect(parseLogQuery('| count over 30s by host').aggregate).toMatchObject({
      over: '30s',
      by: [{ name: 'host' }],
    });
    expect(parseLogQuery('"a | b" | count').filter).toEqual(body('a | b'));
  });

  it('points at the column of a bad aggregation', () => {
    expect(syntaxError('x | sum by service').message).toBe(
      "unexpected 'sum' at column 5: expected 'count' after '|'",
    );
    expect(syntaxError('x | count by').message).toBe(
      "unexpected end of query at column 13: expected a field name after 'by'",
    );
    expect(syntaxError('x | count over soon').message).toBe(
      "unexpected 'soon' at column 16: expected a duration such as 30s, 1m or 1h after 'over'",
    );
    expect(syntaxError('x | count by service service').message).toBe(
      "unexpected 'service' at column 22: expected 'over', the end of the query",
    );
    expect(syntaxError('x | count by body').message).toBe(
      'counts cannot be grouped by the body (at column 14)',
    );
    expect(syntaxError('x | count; DROP').message).toBe(
      "unexpected ';' at column 10: expected 'count', 'by', 'over', a field name or a duration",
    );
  });
});
