import { SightlineError } from '../../core/errors.js';

/** Line and 1-based column (in characters) of a 0-based character offset. */
export function lineAndColumn(chars: readonly string[], position: number): { line: number; column: number } {
  let line = 1;
  let column = 1;
  for (let i = 0; i < position && i < chars.length; i++) {
    if (chars[i] === '\n') {
      line++;
      column = 1;
    } else {
      column++;
    }
  }
  return { line, column };
}

/**
 * A query that does not parse or does not type-check: a 400 whose message names the line and
 * column (counted in characters) of the offending token and what was expected there.
 */
export class PromqlParseError extends SightlineError {
  readonly position: number;
  readonly line: number;
  readonly column: number;

  constructor(chars: readonly string[], position: number, problem: string) {
    const { line, column } = lineAndColumn(chars, position);
    super('SL_ERR_BAD_REQUEST', problem.replace('{at}', `at line ${line}, column ${column}`));
    this.name = 'PromqlParseError';
    this.position = position;
    this.line = line;
    this.column = column;
  }
}

/** A query that parses but cannot be evaluated (duplicate series, bad arguments). Prometheus answers 422. */
export class PromqlEvalError extends SightlineError {
  constructor(message: string) {
    super('SL_ERR_BAD_REQUEST', message);
    this.name = 'PromqlEvalError';
  }
}

/**
 * A query stopped by a guard rail: too many samples in memory (a 400: narrow the query) or the
 * caller's signal (a 503: the deadline passed, try a shorter range).
 */
export class PromqlLimitError extends SightlineError {
  readonly limit: 'samples' | 'timeout';

  constructor(limit: 'samples' | 'timeout', message: string) {
    super(limit === 'samples' ? 'SL_ERR_BAD_REQUEST' : 'SL_ERR_STORE_UNAVAILABLE', message);
    this.name = 'PromqlLimitError';
    this.limit = limit;
  }
}
