import { beforeAll, describe, expect, it } from 'vitest';
import { loadSqlParser } from '../../../sql/postgres-shape.js';
import { redactContext, redactDetail, redactStatement } from './redact.js';

beforeAll(async () => {
  await loadSqlParser();
});

describe('redactStatement', () => {
  it('removes literals and keeps the fingerprint of the shape', () => {
    const alice = redactStatement("SELECT * FROM customers WHERE email = 'alice@example.com'", false);
    const bob = redactStatement("SELECT * FROM customers WHERE email = 'bob@example.com'", false);
    expect(alice.statement).toBe('SELECT * FROM customers WHERE email = $1');
    expect(alice.statement).not.toContain('alice');
    expect(alice.fingerprint).toBe(bob.fingerprint);
  });

  it('keeps literals when asked, with the same fingerprint', () => {
    const text = "SELECT * FROM customers WHERE email = 'alice@example.com'";
    expect(redactStatement(text, true)).toEqual({
      statement: text,
      fingerprint: redactStatement(text, false).fingerprint,
    });
  });
});

describe('redactDetail', () => {
  it.each([
    ["parameters: $1 = 'alice@example.com', $2 = '42'", 'parameters: $1 = ?, $2 = ?'],
    ['Key (email)=(alice@example.com) already exists.', 'Key (email)=(?) already exists.'],
    ['Key (lower(email))=(alice@example.com) already exists.', 'Key (lower(email))=(?) already exists.'],
    ['Failing row contains (1, alice@example.com, null).', 'Failing row contains (?).'],
    ['Connection matched pg_hba.conf line 91: "host all all 127.0.0.1/32 scram-sha-256"', null],
  ])('%s', (detail, expected) => {
    expect(redactDetail(detail)).toBe(expected ?? detail);
  });
});

describe('redactContext', () => {
  it('shapes the SQL of a PL/pgSQL context and blanks quoted values elsewhere', () => {
    expect(
      redactContext(
        [
          `SQL statement "SELECT * FROM t WHERE email = 'alice@example.com'"`,
          'PL/pgSQL function f(integer) line 3 at PERFORM',
          "unnamed portal parameter $1 = 'alice@example.com'",
          'COPY customers, line 2: "2,alice@example.com,note"',
        ].join('\n'),
      ),
    ).toBe(
      [
        'SQL statement "SELECT * FROM t WHERE email = $1"',
        'PL/pgSQL function f(integer) line 3 at PERFORM',
        'unnamed portal parameter $1 = ?',
        'COPY customers, line 2: ?',
      ].join('\n'),
    );
  });
});
