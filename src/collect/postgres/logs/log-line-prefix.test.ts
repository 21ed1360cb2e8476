import { describe, expect, it } from 'vitest';
import { COMMON_LINE_PREFIXES, compileLinePrefix, matchLine } from './log-line-prefix.js';

function fieldsOf(prefix: string, line: string): Record<string, string> | undefined {
  const match = matchLine([compileLinePrefix(prefix)], line);
  if (match === undefined) return undefined;
  return { ...match.fields, severity: match.severity, rest: match.rest };
}

describe('compileLinePrefix', () => {
  it('matches the PostgreSQL default', () => {
    expect(fieldsOf('%m [%p] ', '2026-11-23 19:08:41.123 UTC [42] LOG:  hello')).toEqual({
      logTime: '2026-11-23 19:08:41.123 UTC',
      pid: '42',
      severity: 'LOG',
      rest: 'hello',
    });
  });

  it("makes what follows %q optional (Debian's default)", () => {
    const prefix = '%m [%p] %q%u@%d ';
    expect(fieldsOf(prefix, '2026-11-23 19:08:41.123 UTC [42] app@shop ERROR:  x')).toMatchObject({
      user: 'app',
      database: 'shop',
      severity: 'ERROR',
    });
    expect(fieldsOf(prefix, '2026-11-23 19:08:41.123 UTC [7] LOG:  checkpoint starting: time')).toEqual({
      logTime: '2026-11-23 19:08:41.123 UTC',
      pid: '7',
      severity: 'LOG',
      rest: 'checkpoint starting: time',
    });
  });

  it("reads pgBadger's form, with spaces in the application name", () => {
    expect(
      fieldsOf(
        COMMON_LINE_PREFIXES[0],
        '2026-11-23 20:14:44 +01 [9]: [3-1] user=app,db=shop,app=my app,client=10.0.0.1 LOG:  x',
      ),
    ).toEqual({
      logTime: '2026-11-23 20:14:44 +01',
      pid: '9',
      sessionLineNum: '3',
      user: 'app',
      database: 'shop',
      application: 'my app',
      remoteHost: '10.0.0.1',
      severity: 'LOG',
      rest: 'x',
    });
  });

  it('translates every escape, padding and %%', () => {
    const prefix = '%t|%c|%l|%s|%v|%x|%e|%i|%b|%P|%Q|%r|%-6u|100%%|%Z ';
    const line =
      '2026-11-23 19:08:41 UTC|6b04909e.3746|5|2026-11-23 19:08:40 UTC|3/7|735|22012|SELECT|client backend||-42|[local]|bob   |100%| ERROR:  division by zero';
    expect(fieldsOf(prefix, line)).toEqual({
      logTime: '2026-11-23 19:08:41 UTC',
      sessionId: '6b04909e.3746',
      sessionLineNum: '5',
      sessionStart: '2026-11-23 19:08:40 UTC',
      virtualTransactionId: '3/7',
      transactionId: '735',
      sqlstate: '22012',
      commandTag: 'SELECT',
      backendType: 'client backend',
      leaderPid: '',
      queryId: '-42',
      remoteHostPort: '[local]',
      user: 'bob',
      severity: 'ERROR',
      rest: 'division by zero',
    });
  });

  it('reads epoch times (%n)', () => {
    expect(fieldsOf('%n [%p] ', '1795460921.123 [42] LOG:  x')).toMatchObject({ logTime: '1795460921.123' });
  });

  it('does not mistake one common form for another', () => {
    const line = '2026-11-23 19:08:41.123 UTC [42] LOG:  x';
    expect(fieldsOf(COMMON_LINE_PREFIXES[0], line)).toBeUndefined();
    expect(fieldsOf(COMMON_LINE_PREFIXES[2], line)).toMatchObject({ pid: '42', rest: 'x' });
    expect(fieldsOf(COMMON_LINE_PREFIXES[2], 'plain text')).toBeUndefined();
  });

  it('gives up quickly on a long line that does not match', () => {
    const prefixes = [compileLinePrefix('%u %d %a %h %i ')];
    const started = performance.now();
    expect(matchLine(prefixes, 'x '.repeat(500_000))).toBeUndefined();
    expect(matchLine(prefixes, `${'x '.repeat(500_000)}LOG:  late`)).toBeUndefined();
    expect(matchLine(prefixes, 'u d app 10.0.0.1 SELECT LOG:  hi')).toMatchObject({
      fields: { user: 'u', database: 'd', application: 'app', remoteHost: '10.0.0.1', commandTag: 'SELECT' },
      rest: 'hi',
    });
    expect(performance.now() - started).toBeLessThan(200);
  });
});
