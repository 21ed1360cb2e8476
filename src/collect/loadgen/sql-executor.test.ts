import { describe, expect, it } from 'vitest';
import { SqlExecutor, duplicateAccount, intLiteral, type MixSql, type SqlDatabase } from './sql-executor.js';

const SQL: MixSql = {
  begin: 'BEGIN',
  point: (id) => `POINT ${id}`,
  scan: 'SCAN',
  insertOrder: 'INSERT ORDER',
  updateBalance: 'UPDATE BALANCE',
  insertEvent: 'INSERT EVENT',
  readAccount: 'READ',
  failing: [
    { sql: 'DIVIDE', values: (id) => [0, id] },
    { sql: 'DUPLICATE', values: duplicateAccount },
  ],
};

/**
 * A database that records each statement as `<connection> <sql> <values>` and answers with `answer`;
 * E-codes are connection errors, as in both real ones.
 */
class FakeDatabase implements SqlDatabase {
  readonly server = 'TestDB';
  readonly sql = SQL;
  readonly expectedErrorCodes = new Set(['22012']);
  readonly log: string[] = [];
  checkedOut = 0;
  private connections = 0;

  constructor(
    private readonly answer: (sql: string, connection: number) => Promise<unknown> = async () => [],
  ) {}

  isConnectionError(error: unknown): boolean {
    return /^E[A-Z]+$/.test(String((error as { code?: unknown }).code));
  }

  async withConnection<T>(use: (query: (sql: string, values?: unknown[]) => Promise<unknown>) => Promise<T>) {
    const connection = ++this.connections;
    this.checkedOut++;
    try {
      return await use(async (sql, values) => {
        this.log.push(`${connection} ${sql}${values === undefined ? '' : ` ${JSON.stringify(values)}`}`);
        return this.answer(sql, connection);
      });
    } finally {
      this.checkedOut--;
    }
  }
}

function failure(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

/** Aborted from the start: the deliberate waits of lock and idle are skipped. */
const STOPPED = AbortSignal.abort();

describe('SqlExecutor', () => {
  it('reads one account with its id inlined, and scans with a sleep of whole milliseconds', async () => {
    const database = new FakeDatabase();
    const executor = new SqlExecutor(database, 1);
    expect(await executor.execute('point', STOPPED)).toEqual({ status: 'ok' });
    expect(await executor.execute('scan', STOPPED)).toEqual({ status: 'ok' });
    expect(database.log[0]).toBe('1 POINT 1');
    expect(database.log[1]).toMatch(/^2 SCAN \[0\.\d{1,3},"%[0-9a-f]{2}%"\]$/);
  });

  it('writes in turn an order, a balance update and an event', async () => {
    const database = new FakeDatabase();
    const executor = new SqlExecutor(database, 1);
    for (let i = 0; i < 4; i++) await executor.execute('write', STOPPED);
    expect(database.log.map((line) => line.replace(/ \[.*/, ''))).toEqual([
      '1 INSERT ORDER',
      '2 UPDATE BALANCE',
      '3 INSERT EVENT',
      '4 INSERT ORDER',
    ]);
    expect(database.log[2]).toMatch(
      /^3 INSERT EVENT \[1,"balance_checked","\{\\"amount\\":-?[\d.]+,\\"source\\":\\"sightline-loadgen\\"\}"\]$/,
    );
  });

  it('holds a row lock on one connection while a second waits for it, until the first commits', async () => {
    let committed: () => void = () => undefined;
    const commit = new Promise<void>((resolve) => {
      committed = resolve;
    });
    const database = new FakeDatabase(async (sql, connection) => {
      if (sql === 'COMMIT') committed();
      if (sql === 'UPDATE BALANCE' && connection === 2) await commit;
      return [];
    });
    const executor = new SqlExecutor(database, 1);
    expect(executor.connectionsFor('lock')).toBe(2);
    expect(await executor.execute('lock', STOPPED)).toEqual({ status: 'ok' });
    expect(database.log).toEqual([
      '1 BEGIN',
      '1 UPDATE BALANCE [1,1]',
      '2 UPDATE BALANCE [-1,1]',
      '1 COMMIT',
    ]);
    expect(database.checkedOut).toBe(0);
  });

  it('reports a lock wait that failed, once the holder is done', async () => {
    const database = new FakeDatabase(async (sql, connection) => {
      if (sql === 'UPDATE BALANCE' && connection === 2) throw failure('40P01', 'deadlock detected');
      return [];
    });
    const outcome = await new SqlExecutor(database, 1).execute('lock', STOPPED);
    expect(outcome).toEqual({
      status: 'failed',
      expected: false,
      connection: false,
      message: 'deadlock detected',
    });
    expect(database.log.at(-1)).toBe('1 COMMIT');
  });

  it('stays idle in a transaction and commits', async () => {
    const database = new FakeDatabase();
    expect(await new SqlExecutor(database, 1).execute('idle', STOPPED)).toEqual({ status: 'ok' });
    expect(database.log).toEqual(['1 BEGIN', '1 READ [1]', '1 COMMIT']);
  });

  it('rolls back a failed transaction, and reports a failed rollback as a connection error', async () => {
    const rolledBack = new FakeDatabase(async (sql) => {
      if (sql === 'READ') throw failure('57014', 'canceling statement');
    });
    expect(await new SqlExecutor(rolledBack, 1).execute('idle', STOPPED)).toMatchObject({
      status: 'failed',
      connection: false,
      message: 'canceling statement',
    });
    expect(rolledBack.log).toEqual(['1 BEGIN', '1 READ [1]', '1 ROLLBACK']);

    const stuck = new FakeDatabase(async (sql) => {
      if (sql === 'READ') throw failure('57014', 'canceling statement');
      if (sql === 'ROLLBACK') throw failure('ECONNRESET', 'socket hang up');
    });
    expect(await new SqlExecutor(stuck, 1).execute('idle', STOPPED)).toEqual({
      status: 'failed',
      expected: false,
      connection: true,
      message: 'canceling statement (and the rollback failed: socket hang up)',
    });
  });

  it('runs the failing statements in turn and tells designed failures from others', async () => {
    const database = new FakeDatabase(async (sql) => {
      if (sql === 'DIVIDE') throw failure('22012', 'division by zero');
      if (sql === 'DUPLICATE') throw failure('ECONNREFUSED', 'connect ECONNREFUSED');
    });
    const executor = new SqlExecutor(database, 1);
    expect(await executor.execute('error', STOPPED)).toEqual({
      status: 'failed',
      expected: true,
      connection: false,
      message: 'division by zero',
    });
    expect(await executor.execute('error', STOPPED)).toEqual({
      status: 'failed',
      expected: false,
      connection: true,
      message: 'connect ECONNREFUSED',
    });
    expect(database.log[0]).toBe('1 DIVIDE [0,1]');
    expect(database.log[1]).toMatch(/^2 DUPLICATE \[1,"duplicate-1-\d+@example\.com","Duplicate","eu"\]$/);
  });

  it('counts a failing statement that succeeds as an unexpected error', async () => {
    const outcome = await new SqlExecutor(new FakeDatabase(), 1).execute('error', STOPPED);
    expect(outcome).toEqual({
      status: 'failed',
      expected: false,
      connection: false,
      message: 'a statement meant to fail succeeded',
    });
  });
});

describe('intLiteral', () => {
  it('writes safe integers only', () => {
    expect(intLiteral(42)).toBe('42');
    expect(() => intLiteral(1.5)).toThrow('not a safe integer: 1.5');
    expect(() => intLiteral(2 ** 53)).toThrow('not a safe integer');
  });
});
