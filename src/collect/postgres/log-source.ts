import type { ServerLogRecord } from '../../bus/raw-records.js';
import type { Logger } from '../../core/logger.js';
import { LocalLogReader, SqlLogReader, type LogReader } from './log-files.js';
import { createLogParser, toServerLogFields, type LogParser } from './logs/index.js';
import type { PostgresSession } from './session.js';
import type { PostgresTarget } from './target.js';

/** Where the collector reads the server log from: a local file, or pg_read_binary_file. */
export interface ServerLogSource {
  /** The entries written since the last read, parsed. */
  read(session: PostgresSession): Promise<ServerLogRecord[]>;
}

/**
 * Reads new log bytes each cycle and parses them with one parser per file (a parser keeps a
 * record that is cut between two reads until its end arrives). A file that rotated away is
 * flushed: its last record is complete once the server has moved on.
 */
export class ParsedLogSource implements ServerLogSource {
  private parser: { file: string; parser: LogParser } | undefined;

  constructor(
    private readonly reader: LogReader,
    private readonly target: PostgresTarget,
  ) {}

  async read(session: PostgresSession): Promise<ServerLogRecord[]> {
    const records: ServerLogRecord[] = [];
    const options = { keepLiterals: this.target.logs.keepLiterals };
    const chunks = await this.reader.read(session);
    // A stderr entry ends only when the next begins; the server writes an entry at once, so a
    // log that got nothing new since the last read has no entry still being written.
    if (chunks.length === 0 && this.parser?.parser.format === 'stderr') {
      for (const entry of this.parser.parser.flush())
        records.push(this.record(toServerLogFields(entry, options)));
    }
    for (const chunk of chunks) {
      if (this.parser?.file !== chunk.file) {
        const previous = this.parser?.parser.flush() ?? [];
        for (const entry of previous) records.push(this.record(toServerLogFields(entry, options)));
        this.parser = {
          file: chunk.file,
          parser: createLogParser(chunk.format, {
            ...(this.target.logs.linePrefix === undefined ? {} : { linePrefix: this.target.logs.linePrefix }),
          }),
        };
      }
      for (const entry of this.parser.parser.push(chunk.bytes))
        records.push(this.record(toServerLogFields(entry, options)));
    }
    return records;
  }

  private record(fields: ReturnType<typeof toServerLogFields>): ServerLogRecord {
    return { ...fields, entityId: this.target.entityId, host: this.target.host };
  }
}

/** How often `auto` looks again for a log it could not read (a grant or a restart may come later). */
const AUTO_RETRY_MS = 5 * 60_000;

/**
 * `logs.source: auto`: reads the log over SQL when the role may (the grants of `sightline
 * setup-sql postgres`) and the server writes one through its logging collector; otherwise says
 * once what is missing, and looks again every few minutes.
 */
export class AutoLogSource implements ServerLogSource {
  private source: ServerLogSource | undefined;
  private nextCheckAt = 0;
  private lastReason = '';

  constructor(
    private readonly target: PostgresTarget,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async read(session: PostgresSession): Promise<ServerLogRecord[]> {
    if (this.source === undefined) {
      if (this.now() < this.nextCheckAt) return [];
      this.nextCheckAt = this.now() + AUTO_RETRY_MS;
      const reason = await this.whyNot(session);
      if (reason !== undefined) {
        if (reason !== this.lastReason)
          this.logger.info({ target: this.target.name }, `not reading the PostgreSQL server log: ${reason}`);
        this.lastReason = reason;
        return [];
      }
      this.logger.info({ target: this.target.name }, 'reading the PostgreSQL server log over SQL');
      this.source = new ParsedLogSource(new SqlLogReader(this.target.logs.format), this.target);
    }
    return this.source.read(session);
  }

  private async whyNot(session: PostgresSession): Promise<string | undefined> {
    const [row] = await session.query(
      `SELECT has_function_privilege('pg_read_binary_file(text, bigint, bigint)', 'EXECUTE')
              AND has_function_privilege('pg_stat_file(text)', 'EXECUTE')
              AND has_function_privilege('pg_current_logfile(text)', 'EXECUTE') AS allowed,
              current_setting('logging_collector') = 'on' AS collecting`,
    );
    if (row?.allowed !== true)
      return 'the role may not read it; run the grants of `sightline setup-sql postgres`, or set logs.source to the log directory';
    if (row.collecting !== true)
      return 'logging_collector is off; turn it on (`sightline setup-sql postgres` does) and restart PostgreSQL';
    return undefined;
  }
}

/** The log source a target's config asks for, or none. */
export function createLogSource(target: PostgresTarget, logger: Logger): ServerLogSource | undefined {
  const { source, format } = target.logs;
  if (source === 'off') return undefined;
  if (source === 'auto') return new AutoLogSource(target, logger);
  const reader = source === 'sql' ? new SqlLogReader(format) : new LocalLogReader(source, format);
  logger.info({ target: target.name, source, format }, 'reading the PostgreSQL server log');
  return new ParsedLogSource(reader, target);
}
