import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serverLogRecord } from '../../bus/raw-records.js';
import { silentLogger } from '../../core/logger.js';
import { AUTO_CHECK_MS, createMysqlLogSource, type MysqlLogSettings, type SqlRunner } from './log-source.js';

const ENTITY = { entityId: 'mysql:main', host: 'db1' };

const slowEntry = (thread: number, email: string) =>
  `# Time: 261127 14:10:01\n# User@Host: app[app] @  [10.0.0.7]\n# Thread_id: ${thread}  Schema: shop  QC_hit: No\n` +
  `# Query_time: 0.250000  Lock_time: 0.000100  Rows_sent: 1  Rows_examined: 10\n` +
  `SET timestamp=1795788601;\nSELECT id FROM customers WHERE email = '${email}';\n`;

/** A server that answers the statements the source sends, and records them. */
function server(answer: (sql: string) => Record<string, unknown>[] | Error) {
  const statements: string[] = [];
  const sql: SqlRunner = <T extends Record<string, unknown>>(text: string) => {
    statements.push(text);
    const result = answer(text);
    return result instanceof Error ? Promise.reject(result) : Promise.resolve(result as T[]);
  };
  return { sql, statements };
}

function recordingLogger() {
  const messages: string[] = [];
  const logger = silentLogger();
  logger.info = ((_fields: unknown, message: string) => {
    messages.push(message);
  }) as typeof logger.info;
  return { logger, messages };
}

const settings = (overrides: Partial<MysqlLogSettings>): MysqlLogSettings => ({
  errorLog: 'off',
  slowLog: 'off',
  keepLiterals: false,
  ...overrides,
});

describe('createMysqlLogSource', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sightline-mysql-logs-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads nothing when both logs are off, and refuses sql for the slow log', () => {
    expect(createMysqlLogSource(ENTITY, settings({}), silentLogger())).toBeUndefined();
    expect(() => createMysqlLogSource(ENTITY, settings({ slowLog: 'sql' }), silentLogger())).toThrow(
      /logs.slowLog .* is sql, which only the error log has/,
    );
  });

  it('reads a slow log file from its end, then each entry once it is complete', async () => {
    const file = join(dir, 'slow.log');
    await writeFile(file, slowEntry(1, 'history@example.com'));
    const source = createMysqlLogSource(ENTITY, settings({ slowLog: file }), silentLogger());
    const { sql } = server(() => []);
    expect(await source?.read(sql)).toEqual([]);
    await appendFile(file, slowEntry(2, 'alice@example.com') + slowEntry(3, 'bob@example.com'));
    // The second entry ends only when the next begins, or when the file has been idle.
    const first = (await source?.read(sql)) ?? [];
    expect(first.map((r) => r.pid)).toEqual([2]);
    const second = (await source?.read(sql)) ?? [];
    expect(second.map((r) => r.pid)).toEqual([3]);
    expect(await source?.read(sql)).toEqual([]);
    for (const record of [...first, ...second]) {
      expect(serverLogRecord.parse(record)).toMatchObject({
        entityId: 'mysql:main',
        host: 'db1',
        category: 'statement_duration',
        durationMs: 250,
        database: 'shop',
        user: 'app',
        statement: 'SELECT id FROM customers WHERE email = ?',
        attributes: { client_host: '10.0.0.7', rows_examined: 10, lock_time_ms: 0.1 },
      });
    }
    expect(JSON.stringify([...first, ...second])).not.toContain('@example.com');
  });

  it('keeps literals with keepLiterals', async () => {
    const file = join(dir, 'slow.log');
    await writeFile(file, '');
    const source = createMysqlLogSource(
      ENTITY,
      settings({ slowLog: file, keepLiterals: true }),
      silentLogger(),
    );
    const { sql } = server(() => []);
    await source?.read(sql);
    await appendFile(file, slowEntry(2, 'alice@example.com'));
    await source?.read(sql);
    const [record] = (await source?.read(sql)) ?? [];
    expect(record?.statement).toBe("SELECT id FROM customers WHERE email = 'alice@example.com'");
  });

  it('says what to do when a configured file cannot be read', async () => {
    const missing = join(dir, 'nowhere.log');
    const source = createMysqlLogSource(ENTITY, settings({ errorLog: missing }), silentLogger());
    await expect(source?.read(server(() => []).sql)).rejects.toThrow(
      `cannot read the MySQL error log: ${missing} is not on this host: log files are read only where the server runs, so run the collector there; or set logs.errorLog to auto, sql (MySQL 8.0.22+) or off`,
    );
  });

  it('returns the records of one log on the next read when the other fails', async () => {
    const slow = join(dir, 'slow.log');
    await writeFile(slow, '');
    const source = createMysqlLogSource(
      ENTITY,
      settings({ errorLog: join(dir, 'missing.err'), slowLog: slow }),
      silentLogger(),
    );
    const { sql } = server(() => []);
    await expect(source?.read(sql)).rejects.toThrow(/error log/);
    await appendFile(slow, slowEntry(2, 'alice@example.com'));
    await expect(source?.read(sql)).rejects.toThrow(/error log/);
    await expect(source?.read(sql)).rejects.toThrow(/error log/);
    // The slow entry completed during the failing read above: it is returned now, not lost.
    expect(((await source?.read(sql)) ?? []).map((r) => r.pid)).toEqual([2]);
  });

  it('auto: finds the slow log relative to the data directory', async () => {
    await writeFile(join(dir, 'host-slow.log'), '');
    const { logger, messages } = recordingLogger();
    const source = createMysqlLogSource(ENTITY, settings({ slowLog: 'auto' }), logger);
    const { sql, statements } = server((text) =>
      text.includes('@@slow_query_log')
        ? [{ enabled: 1, output: 'FILE,TABLE', file: 'host-slow.log', datadir: `${dir}/` }]
        : [],
    );
    expect(await source?.read(sql)).toEqual([]);
    expect(messages).toEqual(['reading the MySQL slow query log']);
    await appendFile(join(dir, 'host-slow.log'), slowEntry(5, 'carol@example.net'));
    await source?.read(sql);
    expect(((await source?.read(sql)) ?? []).map((r) => r.pid)).toEqual([5]);
    expect(statements).toHaveLength(1);
  });

  it('auto: says once why the slow log is not read, asks again every few minutes, and starts when it can', async () => {
    const file = join(dir, 'slow.log');
    await writeFile(file, slowEntry(1, 'history@example.com'));
    const clock = { now: 0 };
    let answer: Record<string, unknown> = { enabled: 0, output: 'FILE', file, datadir: dir };
    const { logger, messages } = recordingLogger();
    const source = createMysqlLogSource(ENTITY, settings({ slowLog: 'auto' }), logger, () => clock.now);
    const { sql, statements } = server(() => [answer]);
    expect(await source?.read(sql)).toEqual([]);
    expect(await source?.read(sql)).toEqual([]);
    expect(statements).toHaveLength(1);
    expect(messages).toEqual([
      'not reading the MySQL slow query log: slow_query_log is OFF; SET GLOBAL slow_query_log = ON (and long_query_time, in seconds) to log slow statements',
    ]);
    clock.now += AUTO_CHECK_MS;
    answer = { enabled: 'ON', output: 'TABLE', file, datadir: dir };
    await source?.read(sql);
    expect(messages[1]).toBe(
      "not reading the MySQL slow query log: log_output is TABLE, so the slow log goes to no file; SET GLOBAL log_output = 'FILE' (or 'FILE,TABLE')",
    );
    clock.now += AUTO_CHECK_MS;
    answer = { enabled: '1', output: 'FILE', file, datadir: dir };
    expect(await source?.read(sql)).toEqual([]);
    expect(messages[2]).toBe('reading the MySQL slow query log');
    await appendFile(file, slowEntry(2, 'alice@example.com'));
    await source?.read(sql);
    expect(((await source?.read(sql)) ?? []).map((r) => r.pid)).toEqual([2]);
  });

  it('auto: says when the slow log is not on this host', async () => {
    const { logger, messages } = recordingLogger();
    const source = createMysqlLogSource(ENTITY, settings({ slowLog: 'auto' }), logger);
    await source?.read(
      server(() => [
        { enabled: 1, output: 'FILE', file: '/var/lib/mysql/db-slow.log', datadir: '/var/lib/mysql/' },
      ]).sql,
    );
    expect(messages).toEqual([
      'not reading the MySQL slow query log: the slow log /var/lib/mysql/db-slow.log is not on this host: log files are read only where the server runs, so run the collector there',
    ]);
  });

  it('auto: reads a MariaDB error log file, its local times in the server’s zone', async () => {
    const file = join(dir, 'db.err');
    await writeFile(file, '2026-11-27 14:09:53 0 [Note] history\n');
    const source = createMysqlLogSource(ENTITY, settings({ errorLog: 'auto' }), silentLogger());
    const { sql, statements } = server((text) => {
      if (text.includes('@@log_error'))
        return [{ version: '10.11.19-MariaDB-0+deb12u1-log', log_error: './db.err', datadir: `${dir}/` }];
      if (text.includes("'SYSTEM'")) return [{ offset: 60 }];
      return new Error(`unexpected statement ${text}`);
    });
    expect(await source?.read(sql)).toEqual([]);
    await appendFile(
      file,
      "2026-11-27 14:10:01 6 [Warning] Access denied for user 'root'@'127.0.0.1' (using password: YES)\n",
    );
    await source?.read(sql);
    const [denied] = (await source?.read(sql)) ?? [];
    expect(denied).toMatchObject({
      ts: '1795785001000000000',
      level: 'Warning',
      user: 'root',
      category: 'connection',
      attributes: { client_host: '127.0.0.1', log_format: 'error_log' },
    });
    expect(statements.filter((s) => s.includes("'SYSTEM'"))).toHaveLength(1);
  });

  it('auto: says when the error log goes to standard error', async () => {
    const { logger, messages } = recordingLogger();
    const source = createMysqlLogSource(ENTITY, settings({ errorLog: 'auto' }), logger);
    await source?.read(
      server(() => [{ version: '10.6.18-MariaDB', log_error: '', datadir: '/var/lib/mysql/' }]).sql,
    );
    expect(messages[0]).toMatch(
      /^not reading the MySQL error log: the server writes its error log to standard error/,
    );
  });

  it('auto: reads performance_schema.error_log on MySQL 8.0.22+, each row once', async () => {
    const row = (logged: string, data: string, prio = 'Note') => ({
      logged,
      thread_id: 8,
      prio,
      error_code: 'MY-010926',
      subsystem: 'Server',
      data,
    });
    let table = [row('1795788511.000001', 'old')];
    const { logger, messages } = recordingLogger();
    const source = createMysqlLogSource(ENTITY, settings({ errorLog: 'auto' }), logger);
    const { sql, statements } = server((text) => {
      if (text.includes('@@log_error'))
        return [{ version: '8.0.40', log_error: 'stderr', datadir: '/var/lib/mysql/' }];
      if (text.includes('LIMIT 1') && !text.includes('ORDER BY')) return [];
      if (text.includes('MAX(LOGGED)')) return table.slice(-1);
      const since = /UNIX_TIMESTAMP\(LOGGED\) >= (\d+\.\d{6})/.exec(text)?.[1] ?? '';
      return table.filter((r) => Number(r.logged) >= Number(since));
    });
    expect(await source?.read(sql)).toEqual([]);
    expect(messages).toEqual(['reading the MySQL error log']);
    table = [
      ...table,
      row('1795788512.500000', "Access denied for user 'app'@'10.0.0.7' (using password: YES)"),
      row('1795788512.500000', 'same microsecond', 'Error'),
    ];
    const first = (await source?.read(sql)) ?? [];
    expect(first.map((r) => [r.ts, r.level, r.message, r.user])).toEqual([
      ['1795788512500000000', 'Note', "Access denied for user 'app'@'10.0.0.7' (using password: YES)", 'app'],
      ['1795788512500000000', 'ERROR', 'same microsecond', ''],
    ]);
    expect(first[0]?.attributes).toMatchObject({
      'mysql.error_code': 'MY-010926',
      log_format: 'error_log_table',
    });
    table = [...table, row('1795788512.500000', 'late row, same microsecond')];
    expect(((await source?.read(sql)) ?? []).map((r) => r.message)).toEqual(['late row, same microsecond']);
    expect(await source?.read(sql)).toEqual([]);
    expect(statements.at(-1)).toContain('UNIX_TIMESTAMP(LOGGED) >= 1795788512.500000 ORDER BY LOGGED');
  });

  it('sql: says what to do when performance_schema.error_log cannot be read', async () => {
    const source = createMysqlLogSource(ENTITY, settings({ errorLog: 'sql' }), silentLogger());
    await expect(
      source?.read(server(() => new Error("Table 'performance_schema.error_log' doesn't exist")).sql),
    ).rejects.toThrow(
      /it exists on MySQL 8\.0\.22 and later .* set logs\.errorLog to auto, the error log file, or off/,
    );
  });
});
