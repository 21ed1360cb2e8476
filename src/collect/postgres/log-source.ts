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

/** The log source a target's config asks for, or none. */
export function createLogSource(target: PostgresTarget, logger: Logger): ServerLogSource | undefined {
  const { source, format } = target.logs;
  if (source === 'off') return undefined;
  const reader = source === 'sql' ? new SqlLogReader(format) : new LocalLogReader(source, format);
  logger.info({ source, format }, 'reading the PostgreSQL server log');
  return new ParsedLogSource(reader, target);
}
