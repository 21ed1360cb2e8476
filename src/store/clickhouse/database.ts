import {
  ClickHouseLogLevel,
  createClient,
  type ClickHouseClient,
  type ClickHouseSettings,
} from '@clickhouse/client';
import { SightlineError } from '../../core/errors.js';
import { randomUUID } from 'node:crypto';
import { rawSql, sql, type Sql } from './sql.js';

export interface ClickhouseOptions {
  /** `http://host:8123` (the HTTP interface). */
  url: string;
  database?: string;
  username?: string;
  password?: string;
  /** Per request, in milliseconds. */
  requestTimeoutMs?: number;
}

/**
 * Settings sent with every request. Only settings 18.16 knows: a newer name would make every
 * query fail there with "Unknown setting".
 * - 64-bit integers come back as JSON strings (the default, stated so nobody turns it off):
 *   nanosecond times do not fit a JavaScript number;
 * - NaN and ±Infinity come back as "nan"/"inf"/"-inf" strings instead of null.
 */
const SETTINGS: ClickHouseSettings = {
  output_format_json_quote_64bit_integers: 1,
  output_format_json_quote_denormals: 1,
};

/** The oldest server this dialect runs on (Debian bookworm's package); see README.md. */
export const MIN_SERVER_VERSION: readonly [number, number] = [18, 16];

/**
 * One client for one ClickHouse database; every statement goes through `run` or `select`,
 * which take `Sql` (values already rendered by `literal`), never a bare string.
 */
export class ClickhouseDatabase {
  private readonly client: ClickHouseClient;
  private closed = false;

  constructor(readonly options: ClickhouseOptions) {
    this.client = createClient({
      url: options.url,
      ...(options.database === undefined ? {} : { database: options.database }),
      username: options.username ?? 'default',
      password: options.password ?? '',
      request_timeout: options.requestTimeoutMs ?? 30_000,
      clickhouse_settings: SETTINGS,
      // Plain responses: gzip costs CPU on both sides for loopback-sized answers.
      compression: { request: false, response: false },
      // Failures reach the caller as errors (storeError); the client's own console logging
      // would print each one a second time, outside Sightline's logger.
      log: { level: ClickHouseLogLevel.OFF },
    });
  }

  /** A statement without a result (DDL, INSERT … VALUES, ALTER). */
  async run(statement: Sql): Promise<void> {
    try {
      await this.client.command({ query: statement.text });
    } catch (error) {
      throw storeError(error, statement);
    }
  }

  /** A SELECT's rows as objects; Int64/UInt64 columns arrive as strings (see SETTINGS). */
  async select<Row = Record<string, unknown>>(statement: Sql, settings?: ClickHouseSettings): Promise<Row[]> {
    try {
      const result = await this.client.query({
        query: statement.text,
        format: 'JSONEachRow',
        ...(settings === undefined ? {} : { clickhouse_settings: settings }),
      });
      return await result.json<Row>();
    } catch (error) {
      throw storeError(error, statement);
    }
  }

  /**
   * A read for the query API, stopped after `timeoutMs` as SL_ERR_QUERY_TIMEOUT (the message
   * DuckDB's store gives). 18.16's `max_execution_time` takes whole seconds only (a fraction is
   * "Bad get: has Float64"), so the server limit is the timeout rounded up, and a client timer
   * enforces the exact limit: it aborts the request and kills the query by its id (closing the
   * connection alone does not stop a query on 18.16).
   */
  async selectWithin<Row = Record<string, unknown>>(statement: Sql, timeoutMs: number): Promise<Row[]> {
    const limitMs = Math.max(1, Math.min(timeoutMs, this.options.requestTimeoutMs ?? 30_000));
    const queryId = `sightline-${randomUUID()}`;
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
      // Best effort: the query may already be over; a failure here changes nothing for the caller.
      this.client
        .command({ query: sql`KILL QUERY WHERE query_id = ${queryId} ASYNC`.text })
        .catch(() => undefined);
    }, limitMs);
    try {
      const result = await this.client.query({
        query: statement.text,
        format: 'JSONEachRow',
        query_id: queryId,
        abort_signal: abort.signal,
        clickhouse_settings: {
          max_execution_time: Math.ceil(limitMs / 1000),
          timeout_overflow_mode: 'throw',
        },
      });
      return await result.json<Row>();
    } catch (error) {
      // Code 159 is TIMEOUT_EXCEEDED: the server's own (rounded-up) limit struck first.
      if (timedOut || /^Code: 159\b|TIMEOUT_EXCEEDED|Timeout exceeded/i.test(errorText(error))) {
        throw new SightlineError(
          'SL_ERR_QUERY_TIMEOUT',
          `the query ran longer than ${limitMs / 1000} s and was stopped (api.query.timeoutSeconds); ` +
            'narrow the time range or the filters and try again',
          { cause: error },
        );
      }
      throw storeError(error, statement);
    } finally {
      clearTimeout(timer);
    }
  }

  /** `SELECT version()`, e.g. `18.16.1` or `25.3.2.39`. */
  async serverVersion(): Promise<string> {
    const rows = await this.select<{ v: string }>(rawSql('SELECT version() AS v'));
    return rows[0]?.v ?? '';
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.close();
  }
}

/** Major and minor of a `version()` string; [0, 0] when it is not one. */
export function parseVersion(version: string): [number, number] {
  const match = /^(\d+)\.(\d+)/.exec(version);
  return match === null ? [0, 0] : [Number(match[1]), Number(match[2])];
}

export function versionAtLeast(version: string, min: readonly [number, number]): boolean {
  const [major, minor] = parseVersion(version);
  return major > min[0] || (major === min[0] && minor >= min[1]);
}

/**
 * A failed request as a store error: a refused or dropped connection is SL_ERR_STORE_UNAVAILABLE
 * (retryable by the caller), anything ClickHouse answered is the statement's fault and keeps
 * ClickHouse's message with the start of the statement.
 */
function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function storeError(error: unknown, statement: Sql): Error {
  const message = errorText(error);
  const code = (error as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND'].includes(code)
  ) {
    return new SightlineError(
      'SL_ERR_STORE_UNAVAILABLE',
      `ClickHouse is not reachable (${code}): ${message}. Check that it runs and that store.url points to it.`,
      { retryAfterSeconds: 5, cause: error },
    );
  }
  if (/timeout/i.test(message) && !/^Code: \d+/.test(message)) {
    return new SightlineError('SL_ERR_STORE_UNAVAILABLE', `ClickHouse did not answer in time: ${message}`, {
      retryAfterSeconds: 5,
      cause: error,
    });
  }
  return new Error(`ClickHouse rejected ${statement.text.slice(0, 160)}…: ${message}`, { cause: error });
}
