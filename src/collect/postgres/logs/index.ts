import { CsvlogParser } from './csvlog.js';
import { JsonlogParser } from './jsonlog.js';
import type { LogFormat, LogParser, LogParserOptions } from './log-parser.js';
import { StderrParser } from './stderr.js';

export type { LogFormat, LogParser, LogParserOptions, ParsedLogEntry } from './log-parser.js';
export { DEFAULT_MAX_RECORD_BYTES, detectLogFormat } from './log-parser.js';
export type { LogCategory } from './classify.js';
export { DEFAULT_MAX_PLAN_BYTES } from './plan.js';
export { toServerLogFields, type ServerLogFields, type ServerLogOptions } from './record.js';

/** A parser for one log file of the given format; use one per file, it keeps state between chunks. */
export function createLogParser(format: LogFormat, options: LogParserOptions = {}): LogParser {
  switch (format) {
    case 'csvlog':
      return new CsvlogParser(options);
    case 'jsonlog':
      return new JsonlogParser(options);
    case 'stderr':
      return new StderrParser(options);
  }
}
