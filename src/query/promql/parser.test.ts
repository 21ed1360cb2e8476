import { describe, expect, it } from 'vitest';
import type { Expr } from './ast.js';
import { PromqlParseError } from './errors.js';
import { parsePromql } from './parser.js';

/** A canonical spelling of the tree: every binary and unary node gets explicit parentheses. */
function show(e: Expr): string {
  switch (e.kind) {
    case 'number':
      return String(e.value);
    case 'string':
      return JSON.stringify(e.value);
    case 'vectorSelector': {
      const matchers = e.matchers
        .filter((m) => !(e.name !== undefined && m.name === '__name__' && m.op === '='))
        .map((m) => `${m.name}${m.op}${JSON.stringify(m.value)}`);
      const body = `${e.name ?? ''}${matchers.length > 0 || e.name === undefined ? `{${matchers.join(',')}}` : ''}`;
      return e.offsetMs !== 0 ? `${body} offset ${e.offsetMs}ms` : body;
    }
    case 'matrixSelector': {
      const inner = show({ ...e.selector, offsetMs: 0 });
      return `${inner}[${e.rangeMs}ms]${e.selector.offsetMs !== 0 ? ` offset ${e.selector.offsetMs}ms` : ''}`;
    }
    case 'call':
      return `${e.func}(${e.args.map(show).join(', ')})`;
    case 'aggregate': {
      const grouping =
        e.grouping.length > 0 || e.without
          ? ` ${e.without ? 'without' : 'by'} (${e.grouping.join(',')})`
          : '';
      return `${e.op}${grouping} (${e.param !== null ? `${show(e.param)}, ` : ''}${show(e.expr)})`;
    }
    case 'binary': {
      let modifiers = e.bool ? ' bool' : '';
      const m = e.matching;
      if (m !== null && (m.on || m.labels.length > 0))
        modifiers += ` ${m.on ? 'on' : 'ignoring'}(${m.labels.join(',')})`;
      if (m !== null && m.card === 'many-to-one') modifiers += ` group_left(${m.include.join(',')})`;
      if (m !== null && m.card === 'one-to-many') modifiers += ` group_right(${m.include.join(',')})`;
      return `(${show(e.lhs)} ${e.op}${modifiers} ${show(e.rhs)})`;
    }
    case 'unary':
      return `(${e.op}${show(e.expr)})`;
    case 'paren':
      return `[${show(e.expr)}]`;
  }
}

function parseError(q: string): PromqlParseError {
  try {
    parsePromql(q);
  } catch (error) {
    if (error instanceof PromqlParseError) return error;
    throw error;
  }
  throw new Error(`${q} parsed`);
}

describe('PromQL parser', () => {
  const valid: [string, string][] = [
    ['1', '1'],
    ['1e3', '1000'],
    ['0x1F', '31'],
    ['010', '8'],
    ['.5', '0.5'],
    ['Inf', 'Infinity'],
    ['-Inf', '-Infinity'],
    ['NaN', 'NaN'],
    ['"a\\nb"', '"a\\nb"'],
    ["'it\\'s'", '"it\'s"'],
    ['`raw\\n`', '"raw\\\\n"'],
    ['"\\u00e9\\x41"', '"éA"'],
    ['up', 'up'],
    ['job:requests:rate5m', 'job:requests:rate5m'],
    [
      'up{job="api",instance!="a",path=~"/v1.*",code!~"5.."}',
      'up{job="api",instance!="a",path=~"/v1.*",code!~"5.."}',
    ],
    ['{__name__=~"http_.*"}', '{__name__=~"http_.*"}'],
    ['up{job="api",}', 'up{job="api"}'],
    ['up{on="x", by="y"}', 'up{on="x",by="y"}'],
    ['up[5m]', 'up[300000ms]'],
    ['up[1h30m]', 'up[5400000ms]'],
    ['up[1d]', 'up[86400000ms]'],
    ['up[1w]', 'up[604800000ms]'],
    ['up[1y]', 'up[31536000000ms]'],
    ['up[100ms]', 'up[100ms]'],
    ['up offset 5m', 'up offset 300000ms'],
    ['up offset -5m', 'up offset -300000ms'],
    ['up[5m] offset 1h', 'up[300000ms] offset 3600000ms'],
    ['rate(http_requests_total[5m])', 'rate(http_requests_total[300000ms])'],
    ['rate((x[5m]))', 'rate([x[300000ms]])'],
    ['quantile_over_time(0.9, x[1m])', 'quantile_over_time(0.9, x[60000ms])'],
    ['round(x, 0.5)', 'round(x, 0.5)'],
    ['round(x)', 'round(x)'],
    ['time()', 'time()'],
    ['label_replace(up, "dst", "$1", "src", "(.*)")', 'label_replace(up, "dst", "$1", "src", "(.*)")'],
    ['sum(x)', 'sum (x)'],
    ['sum by (job) (x)', 'sum by (job) (x)'],
    ['sum(x) by (job, instance)', 'sum by (job,instance) (x)'],
    ['SUM WITHOUT (instance) (x)', 'sum without (instance) (x)'],
    ['sum by () (x)', 'sum (x)'],
    ['topk(3, x)', 'topk (3, x)'],
    ['count_values("v", x)', 'count_values ("v", x)'],
    ['quantile by (le) (0.5, x)', 'quantile by (le) (0.5, x)'],
    ['1 + 2 * 3', '(1 + (2 * 3))'],
    ['1 - 2 - 3', '((1 - 2) - 3)'],
    ['2 ^ 3 ^ 2', '(2 ^ (3 ^ 2))'],
    ['-2 ^ 2', '(-(2 ^ 2))'],
    ['-a * b', '((-a) * b)'],
    ['a + b offset 1m', '(a + b offset 60000ms)'],
    ['a or b and c unless d', '(a or ((b and c) unless d))'],
    ['a > 1 == bool 2', '((a > 1) == bool 2)'],
    ['a / on(job) b', '(a / on(job) b)'],
    ['a / ignoring(instance) group_left(version) b', '(a / ignoring(instance) group_left(version) b)'],
    ['a * on(job) group_right b', '(a * on(job) group_right() b)'],
    ['a > bool 5', '(a > bool 5)'],
    ['1 < bool 2', '(1 < bool 2)'],
    ['a atan2 b', '(a atan2 b)'],
    ['(a + b) * c', '([(a + b)] * c)'],
    ['up # a comment\n + 1', '(up + 1)'],
    [
      'histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))',
      'histogram_quantile(0.9, sum by (le) (rate(h_bucket[300000ms])))',
    ],
  ];
  it.each(valid)('parses %j', (query, expected) => {
    expect(show(parsePromql(query))).toBe(expected);
  });

  it('sets the __name__ matcher of a written metric name and leaves hostile values as data', () => {
    const expr = parsePromql(`up{a="'; DROP TABLE x; --"}`);
    expect(expr).toMatchObject({
      kind: 'vectorSelector',
      name: 'up',
      matchers: [
        { name: 'a', op: '=', value: "'; DROP TABLE x; --" },
        { name: '__name__', op: '=', value: 'up' },
      ],
    });
    const other = parsePromql('up{a=~".*\\"; DELETE FROM samples; --"} or up{b=`\'\' OR 1=1`}');
    expect(show(other)).toBe('(up{a=~".*\\"; DELETE FROM samples; --"} or up{b="\'\' OR 1=1"})');
  });

  const invalid: [string, number, string][] = [
    ['', 0, 'empty query'],
    ['sum(x', 5, "unexpected end of input at line 1, column 6: expected ',' or ')'"],
    ['rate(x[5m]) + )', 14, "unexpected ')' at line 1, column 15: expected an expression"],
    ['up{a="b"', 8, "unexpected end of input at line 1, column 9: expected ',' or '}'"],
    ['up{a="b}', 5, 'unterminated quoted string at line 1, column 6'],
    ['up{a=b}', 5, 'unexpected identifier'],
    ['up{a~"b"}', 4, "unexpected character '~'"],
    ['{a=""}', 0, 'vector selector must contain at least one non-empty matcher'],
    ['{a=~".*"}', 0, 'at least one non-empty matcher'],
    ['foo{__name__="bar"}', 0, 'metric name must not be set twice'],
    ['rate(x)', 5, "expected type range vector in call to function 'rate', got instant vector"],
    ['nope(x)', 0, "unknown function with name 'nope'"],
    ['rate(x[5m], 1)', 0, "expected 1 argument(s) in call to 'rate', got 2"],
    ['1 > 2', 2, 'comparisons between scalars must use BOOL modifier'],
    ['a + bool b', 2, 'bool modifier can only be used on comparison operators'],
    ['1 and a', 2, "set operator 'and' not allowed in binary scalar expression"],
    ['a and on(x) group_left b', 12, "no grouping allowed for 'and' operation"],
    ['x[5m] + 1', 0, 'binary expression must contain only scalar and instant vector types'],
    ['(x)[5m]', 3, 'ranges only allowed for vector selectors'],
    ['x[5x]', 2, 'bad number or duration syntax'],
    ['x[5m:1m]', 4, 'subqueries are not supported'],
    ['x[1m5h]', 2, "not a valid duration string '1m5h'"],
    ['sum(x) offset 5m', 7, 'offset modifier must be preceded on an instant vector selector'],
    ['topk(x)', 0, 'wrong number of arguments for aggregate expression provided, expected 2, got 1'],
    ['sum("a")', 4, 'expected type instant vector in aggregation expression, got string'],
    ['up{a=~"("}', 6, 'invalid regular expression'],
    ['up\n  + * 2', 7, "unexpected '*' at line 2, column 5: expected an expression"],
    ['up ! 1', 3, "unexpected character after '!'"],
    ['a / on(x) group_left(x) b', 10, "label 'x' must not occur in ON and GROUP clause at once"],
    ['"\\q"', 1, "unknown escape sequence '\\q'"],
    ['up )', 3, "unexpected ')' at line 1, column 4: expected an operator or end of input"],
    ['sum by (a) (x) by (b)', 15, 'aggregation must only contain one grouping clause'],
  ];
  it.each(invalid)('rejects %j at offset %i', (query, position, message) => {
    const error = parseError(query);
    expect(error.message).toContain(message);
    expect(error.position).toBe(position);
    const before = Array.from(query).slice(0, position);
    expect(error.line).toBe(before.filter((c) => c === '\n').length + 1);
    expect(error.column).toBe(position - before.lastIndexOf('\n'));
  });

  it('counts columns in characters, so an emoji before the error is one column', () => {
    const error = parseError('up{a="😀"} +');
    expect(error.column).toBe(12);
  });

  it('refuses nesting deep enough to overflow the stack', () => {
    expect(() => parsePromql(`${'('.repeat(5000)}1${')'.repeat(5000)}`)).toThrow(PromqlParseError);
  });
});
