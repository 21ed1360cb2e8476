import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import type { ServerLogRecord } from '../../bus/raw-records.js';
import { SightlineError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { FileTail, errorCode } from '../log-tail.js';
import { ErrorLogParser, errorLogFields, type ErrorLogEntry, type MysqlLogFields } from './logs/error-log.js';
import { SlowLogParser, slowLogFields, type SlowLogEntry } from './logs/slow-log.js';
import { text, versionNumber } from './session.js';

/** Runs one statement on the watched server and returns its rows. */
export type SqlRunner = <T extends Record<string, unknown>>(sql: string) => Promise<T[]>;

/** `logs` of a MySQL target (config/schema.ts). */
export interface MysqlLogSettings {
  /** `auto`, `off`, `sql` (MySQL 8.0.22+ performance_schema.error_log) or the path of the file. */
  errorLog: string;
  /** `auto`, `off` or the path of the file. */
  slowLog: string;
  /** Keep the literals of logged statements (default false: they are removed in the collector). */
  keepLiterals: boolean;
}

/** Reads a server's error log and slow query log. */
export interface MysqlLogSource {
  /**
   * The entries written since the last read, as records. The first read of a log only finds its
   * end: history from before the collector started is not replayed. Throws when a log that
   * was configured (or found by `auto`) cannot be read, saying what to do.
   */
  read(sql: SqlRunner): Promise<ServerLogRecord[]>;
}

/** How often `auto` asks the server again where its logs are (a setting may change, a file appear). */
export const AUTO_CHECK_MS = 5 * 60_000;
/** How often the server's UTC offset is asked again, to follow daylight saving time. */
const ZONE_CHECK_MS = 10 * 60_000;
/** Most rows of performance_schema.error_log per read (the table holds a few thousand at most). */
const MAX_TABLE_ROWS = 1000;

type LogKind = 'errorLog' | 'slowLog';
const LOG_NAMES: Record<LogKind, string> = { errorLog: 'error log', slowLog: 'slow query log' };

/** One of the two logs, however it is read. */
interface LogPart {
  read(sql: SqlRunner): Promise<MysqlLogFields[]>;
  /** The entries still held back, when the part is about to be dropped. */
  drain(sql: SqlRunner): Promise<MysqlLogFields[]>;
}

interface StreamParser<E> {
  push(chunk: Buffer): E[];
  flush(): E[];
}

/**
 * A log file on this host, read with a FileTail (from its end at first sight; again from the
 * start after rotation or truncation; at most 8 MiB a read) and parsed with one parser per
 * generation of the file. An entry ends only where the next begins, and the server writes an
 * entry at once: a read that finds nothing new completes the entry held back.
 */
class FileLog<E> implements LogPart {
  private readonly tail: FileTail;
  private parser: StreamParser<E>;
  private generation = 0;

  constructor(
    readonly path: string,
    private readonly kind: LogKind,
    private readonly newParser: () => StreamParser<E>,
    private readonly toFields: (entries: E[], sql: SqlRunner) => Promise<MysqlLogFields[]>,
  ) {
    this.tail = new FileTail(path);
    this.parser = newParser();
  }

  async read(sql: SqlRunner): Promise<MysqlLogFields[]> {
    let chunk;
    try {
      chunk = await this.tail.read();
    } catch (error) {
      throw unreadable(this.kind, this.path, error);
    }
    const entries: E[] = [];
    if (chunk.generation !== this.generation) {
      // Rotated or truncated: what the old parser holds is complete, the rest is a new stream.
      entries.push(...this.parser.flush());
      this.parser = this.newParser();
      this.generation = chunk.generation;
    }
    if (chunk.bytes.length === 0) entries.push(...this.parser.flush());
    else entries.push(...this.parser.push(chunk.bytes));
    return entries.length === 0 ? [] : this.toFields(entries, sql);
  }

  async drain(sql: SqlRunner): Promise<MysqlLogFields[]> {
    const entries = this.parser.flush();
    return entries.length === 0 ? [] : this.toFields(entries, sql);
  }
}

/** The server's UTC offset, for error logs that write local times without a zone (MariaDB). */
class ServerZone {
  private offset: number | undefined;
  private checkedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly now: () => number) {}

  /** Minutes east of UTC; undefined (this process's zone) when the server does not say. */
  async utcOffsetMinutes(sql: SqlRunner): Promise<number | undefined> {
    if (this.now() - this.checkedAt < ZONE_CHECK_MS) return this.offset;
    this.checkedAt = this.now();
    try {
      // 'SYSTEM' is the zone the server process runs in, the one its log times are in; it
      // needs no time zone tables.
      const [row] = await sql<{ offset: unknown }>(
        `SELECT TIMESTAMPDIFF(MINUTE, UTC_TIMESTAMP(), CONVERT_TZ(UTC_TIMESTAMP(), '+00:00', 'SYSTEM')) AS offset`,
      );
      const offset = Number(row?.offset ?? Number.NaN);
      this.offset = row?.offset !== null && Number.isInteger(offset) ? offset : undefined;
    } catch {
      this.offset = undefined;
    }
    return this.offset;
  }
}

/** Times with a zone need no offset from the server: MySQL 5.7+ logs, the table's epoch seconds. */
const ZONED_TIME = /(?:Z|[+-]\d\d:\d\d)$|^\d+(?:\.\d+)?$/;

function errorLogFile(path: string, settings: MysqlLogSettings, now: () => number): FileLog<ErrorLogEntry> {
  const zone = new ServerZone(now);
  return new FileLog(
    path,
    'errorLog',
    () => new ErrorLogParser(),
    async (entries, sql) => {
      const zoneless = entries.some((e) => e.time !== '' && !ZONED_TIME.test(e.time));
      const utcOffsetMinutes = zoneless ? await zone.utcOffsetMinutes(sql) : undefined;
      return entries.map((entry) =>
        errorLogFields(entry, {
          keepLiterals: settings.keepLiterals,
          ...(utcOffsetMinutes === undefined ? {} : { utcOffsetMinutes }),
        }),
      );
    },
  );
}

function slowLogFile(path: string, settings: MysqlLogSettings): FileLog<SlowLogEntry> {
  return new FileLog(
    path,
    'slowLog',
    () => new SlowLogParser(),
    async (entries) => entries.map((entry) => slowLogFields(entry, { keepLiterals: settings.keepLiterals })),
  );
}

interface ErrorLogRow extends Record<string, unknown> {
  logged: unknown;
  thread_id: unknown;
  prio: unknown;
  error_code: unknown;
  subsystem: unknown;
  data: unknown;
}

const TABLE_COLUMNS =
  'CAST(UNIX_TIMESTAMP(LOGGED) AS CHAR) AS logged, THREAD_ID AS thread_id, PRIO AS prio, ' +
  'ERROR_CODE AS error_code, SUBSYSTEM AS subsystem, DATA AS data FROM performance_schema.error_log';

/**
 * MySQL 8.0.22+ performance_schema.error_log, read by LOGGED: the rows at or after the last
 * time read, less those already read at that very time (several entries can share a
 * microsecond). Times are compared as UNIX_TIMESTAMP(LOGGED), which does not depend on the
 * session's time_zone, and come back as epoch seconds.
 */
class ErrorLogTable implements LogPart {
  /** Microseconds since the epoch of the last row read; undefined before the first read. */
  private cursor: bigint | undefined;
  /** Rows read at exactly `cursor`. */
  private seen = new Set<string>();

  constructor(private readonly settings: MysqlLogSettings) {}

  async read(sql: SqlRunner): Promise<MysqlLogFields[]> {
    if (this.cursor === undefined) {
      // First sight: only find the end.
      const last = await this.query(
        sql,
        `SELECT ${TABLE_COLUMNS} WHERE LOGGED = (SELECT MAX(LOGGED) FROM performance_schema.error_log)`,
      );
      this.cursor = 0n;
      this.advance(last);
      return [];
    }
    const rows = await this.query(
      sql,
      `SELECT ${TABLE_COLUMNS} WHERE UNIX_TIMESTAMP(LOGGED) >= ${formatMicros(this.cursor)} ` +
        `ORDER BY LOGGED LIMIT ${MAX_TABLE_ROWS + this.seen.size}`,
    );
    const fresh = rows.filter((row) => !(micros(row.logged) === this.cursor && this.seen.has(rowKey(row))));
    this.advance(rows);
    return fresh.map((row) =>
      errorLogFields(
        {
          time: text(row.logged),
          threadId: integerOrNull(row.thread_id),
          level: text(row.prio),
          errorCode: text(row.error_code),
          subsystem: text(row.subsystem),
          message: text(row.data),
          program: '',
          truncated: false,
          malformed: false,
        },
        { keepLiterals: this.settings.keepLiterals, logFormat: 'error_log_table' },
      ),
    );
  }

  async drain(): Promise<MysqlLogFields[]> {
    return [];
  }

  private advance(rows: ErrorLogRow[]): void {
    for (const row of rows) {
      const at = micros(row.logged);
      if (at === undefined || this.cursor === undefined || at < this.cursor) continue;
      if (at > this.cursor) {
        this.cursor = at;
        this.seen = new Set();
      }
      this.seen.add(rowKey(row));
    }
  }

  private async query(sql: SqlRunner, text: string): Promise<ErrorLogRow[]> {
    try {
      return await sql<ErrorLogRow>(text);
    } catch (error) {
      throw new Error(
        `cannot read performance_schema.error_log (${errorMessage(error)}): it exists on MySQL 8.0.22 and ` +
          'later with performance_schema on; grant the collector SELECT on performance_schema.error_log, ' +
          'or set logs.errorLog to auto, the error log file, or off',
        { cause: error },
      );
    }
  }
}

function rowKey(row: ErrorLogRow): string {
  return JSON.stringify([String(row.thread_id), String(row.error_code), String(row.prio), String(row.data)]);
}

/** `1795788511.123456` → microseconds; undefined for anything else. */
function micros(value: unknown): bigint | undefined {
  const match = /^(\d{1,12})(?:\.(\d{1,6}))?$/.exec(text(value));
  if (match === null) return undefined;
  return BigInt(match[1] ?? '0') * 1_000_000n + BigInt((match[2] ?? '').padEnd(6, '0'));
}

/** Digits only, so it can stand in the statement: the runner takes no parameters. */
function formatMicros(value: bigint): string {
  return `${value / 1_000_000n}.${(value % 1_000_000n).toString().padStart(6, '0')}`;
}

function integerOrNull(value: unknown): number | null {
  const n = Number(value);
  return value !== null && value !== '' && Number.isSafeInteger(n) && n >= 0 ? n : null;
}

type Plan = { kind: 'off'; reason: string } | { kind: 'file'; path: string } | { kind: 'table' };

/**
 * `auto`: asks the server where the log is and whether it can be read here, and says once (at
 * info) why not when it cannot. It asks again every few minutes — a setting may be turned on,
 * a file may be rotated to a new name — and switches when the answer changes.
 */
class AutoLog implements LogPart {
  private current: { plan: Plan; part: LogPart | undefined } | undefined;
  private nextCheckAt = 0;

  constructor(
    private readonly kind: LogKind,
    private readonly entity: { entityId: string },
    private readonly settings: MysqlLogSettings,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  async read(sql: SqlRunner): Promise<MysqlLogFields[]> {
    const fields: MysqlLogFields[] = [];
    if (this.now() >= this.nextCheckAt) {
      this.nextCheckAt = this.now() + AUTO_CHECK_MS;
      let plan: Plan;
      try {
        plan = this.kind === 'errorLog' ? await errorLogPlan(sql) : await slowLogPlan(sql);
      } catch (error) {
        // The server did not answer: ask again next time rather than in five minutes.
        this.nextCheckAt = 0;
        throw error;
      }
      if (!samePlan(plan, this.current?.plan)) {
        if (this.current?.part !== undefined) fields.push(...(await this.current.part.drain(sql)));
        this.current = { plan, part: this.partFor(plan) };
        const name = `the MySQL ${LOG_NAMES[this.kind]}`;
        if (plan.kind === 'off')
          this.logger.info({ entityId: this.entity.entityId }, `not reading ${name}: ${plan.reason}`);
        else
          this.logger.info(
            {
              entityId: this.entity.entityId,
              source: plan.kind === 'file' ? plan.path : 'performance_schema.error_log',
            },
            `reading ${name}`,
          );
      }
    }
    const part = this.current?.part;
    if (part !== undefined) fields.push(...(await part.read(sql)));
    return fields;
  }

  async drain(sql: SqlRunner): Promise<MysqlLogFields[]> {
    return (await this.current?.part?.drain(sql)) ?? [];
  }

  private partFor(plan: Plan): LogPart | undefined {
    if (plan.kind === 'off') return undefined;
    if (plan.kind === 'table') return new ErrorLogTable(this.settings);
    return this.kind === 'errorLog'
      ? errorLogFile(plan.path, this.settings, this.now)
      : slowLogFile(plan.path, this.settings);
  }
}

function samePlan(a: Plan, b: Plan | undefined): boolean {
  if (b === undefined || a.kind !== b.kind) return false;
  if (a.kind === 'file' && b.kind === 'file') return a.path === b.path;
  if (a.kind === 'off' && b.kind === 'off') return a.reason === b.reason;
  return true;
}

/**
 * Error log: performance_schema.error_log on MySQL 8.0.22+ when the collector may read it,
 * else the file of @@log_error (relative names are relative to @@datadir; MySQL adds `.err` to
 * a name without an extension) when it is readable on this host.
 */
async function errorLogPlan(sql: SqlRunner): Promise<Plan> {
  const [row] = await sql<{ version: unknown; log_error: unknown; datadir: unknown }>(
    'SELECT VERSION() AS version, @@log_error AS log_error, @@datadir AS datadir',
  );
  const version = text(row?.version);
  let tableProblem = '';
  if (!/mariadb/i.test(version) && versionNumber(version) >= 80022) {
    try {
      await sql('SELECT 1 AS found FROM performance_schema.error_log LIMIT 1');
      return { kind: 'table' };
    } catch (error) {
      tableProblem = `; performance_schema.error_log cannot be read either (${errorMessage(error)}): grant SELECT on it to the collector`;
    }
  }
  const setting = text(row?.log_error).trim();
  if (setting === '' || setting === 'stderr') {
    return {
      kind: 'off',
      reason:
        'the server writes its error log to standard error (the service manager or container keeps it); ' +
        `set log_error to a file to read it here${tableProblem}`,
    };
  }
  let path = resolve(text(row?.datadir), setting);
  if (extname(path) === '' && !(await exists(path))) path = `${path}.err`;
  const problem = await unreadableReason(path);
  return problem === undefined
    ? { kind: 'file', path }
    : { kind: 'off', reason: `the error log ${path} ${problem}${tableProblem}` };
}

/** Slow log: when slow_query_log is on and log_output has FILE, @@slow_query_log_file (relative to @@datadir) when readable here. */
async function slowLogPlan(sql: SqlRunner): Promise<Plan> {
  const [row] = await sql<{ enabled: unknown; output: unknown; file: unknown; datadir: unknown }>(
    'SELECT @@slow_query_log AS enabled, @@log_output AS output, @@slow_query_log_file AS file, @@datadir AS datadir',
  );
  const enabled = text(row?.enabled).toUpperCase();
  if (!['1', 'ON'].includes(enabled)) {
    return {
      kind: 'off',
      reason:
        'slow_query_log is OFF; SET GLOBAL slow_query_log = ON (and long_query_time, in seconds) to log slow statements',
    };
  }
  const output = text(row?.output).toUpperCase();
  if (!output.split(',').includes('FILE')) {
    return {
      kind: 'off',
      reason: `log_output is ${output || 'empty'}, so the slow log goes to no file; SET GLOBAL log_output = 'FILE' (or 'FILE,TABLE')`,
    };
  }
  const path = resolve(text(row?.datadir), text(row?.file));
  const problem = await unreadableReason(path);
  return problem === undefined
    ? { kind: 'file', path }
    : { kind: 'off', reason: `the slow log ${path} ${problem}` };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Why this process cannot read the file, or undefined when it can. */
async function unreadableReason(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return 'is not a regular file';
    await access(path, constants.R_OK);
    return undefined;
  } catch (error) {
    return adviceFor(errorCode(error), error);
  }
}

function adviceFor(code: string | undefined, error: unknown): string {
  if (code === 'ENOENT')
    return 'is not on this host: log files are read only where the server runs, so run the collector there';
  if (code === 'EACCES' || code === 'EPERM')
    return "may not be read by this process: let the collector's user read it (the file usually belongs to the mysql user and group; add the collector's user to that group)";
  return `cannot be read (${errorMessage(error)})`;
}

function unreadable(kind: LogKind, path: string, error: unknown): Error {
  return new Error(
    `cannot read the MySQL ${LOG_NAMES[kind]}: ${path} ${adviceFor(errorCode(error), error)}; ` +
      `or set logs.${kind} to ${kind === 'errorLog' ? 'auto, sql (MySQL 8.0.22+) or off' : 'auto or off'}`,
    { cause: error },
  );
}

/**
 * Both logs of one server. A log that fails does not hold back the other: the other's records
 * are kept and returned by the next read, and the failure is thrown now (the caller counts it
 * and warns).
 */
class MysqlLogs implements MysqlLogSource {
  private held: MysqlLogFields[] = [];

  constructor(
    private readonly entity: { entityId: string; host: string },
    private readonly parts: readonly LogPart[],
  ) {}

  async read(sql: SqlRunner): Promise<ServerLogRecord[]> {
    if (this.held.length > 0) {
      const held = this.held;
      this.held = [];
      return held.map((fields) => this.record(fields));
    }
    const fields: MysqlLogFields[] = [];
    let failure: Error | undefined;
    for (const part of this.parts) {
      try {
        fields.push(...(await part.read(sql)));
      } catch (error) {
        failure ??= error instanceof Error ? error : new Error(errorMessage(error));
      }
    }
    if (failure !== undefined) {
      this.held = fields;
      throw failure;
    }
    return fields.map((f) => this.record(f));
  }

  private record(fields: MysqlLogFields): ServerLogRecord {
    return { ...fields, entityId: this.entity.entityId, host: this.entity.host };
  }
}

/**
 * The log source a target's `logs` settings ask for, or undefined when both logs are off.
 *
 * - `auto` (the default): see errorLogPlan / slowLogPlan.
 * - a path: that file, on this host; relative paths are relative to the collector's directory.
 * - errorLog `sql`: performance_schema.error_log (MySQL 8.0.22+), which also works when the
 *   collector does not run on the database host.
 *
 * Times of MariaDB's error log are local times without a zone: the server's UTC offset is asked
 * (`CONVERT_TZ(…, 'SYSTEM')`) every ten minutes, and this process's zone is assumed when that
 * fails.
 */
export function createMysqlLogSource(
  entity: { entityId: string; host: string },
  settings: MysqlLogSettings,
  logger: Logger,
  now: () => number = Date.now,
): MysqlLogSource | undefined {
  const parts: LogPart[] = [];
  const error = settings.errorLog.trim();
  const slow = settings.slowLog.trim();
  if (error === 'auto') parts.push(new AutoLog('errorLog', entity, settings, logger, now));
  else if (error === 'sql') parts.push(new ErrorLogTable(settings));
  else if (error !== 'off') parts.push(errorLogFile(error, settings, now));
  if (slow === 'sql') {
    throw new SightlineError(
      'SL_ERR_CONFIG_INVALID',
      `logs.slowLog of MySQL target ${entity.entityId} is sql, which only the error log has; ` +
        'use auto, the path of the slow log file, or off',
    );
  }
  if (slow === 'auto') parts.push(new AutoLog('slowLog', entity, settings, logger, now));
  else if (slow !== 'off') parts.push(slowLogFile(slow, settings));
  if (parts.length === 0) return undefined;
  for (const part of parts) {
    if (part instanceof FileLog)
      logger.info({ entityId: entity.entityId, file: part.path }, 'reading a MySQL log file');
  }
  if (error === 'sql')
    logger.info(
      { entityId: entity.entityId },
      'reading the MySQL error log from performance_schema.error_log',
    );
  return new MysqlLogs(entity, parts);
}
