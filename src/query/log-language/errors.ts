import { SightlineError } from '../../core/errors.js';

/**
 * A query that does not parse: a 400 whose message names the 1-based column (counted in
 * characters, so an emoji is one column) and what the parser expected there.
 */
export class LogQuerySyntaxError extends SightlineError {
  constructor(
    readonly column: number,
    readonly found: string,
    readonly expected: string,
  ) {
    super('SL_ERR_BAD_REQUEST', `unexpected ${found} at column ${column}: expected ${expected}`);
    this.name = 'LogQuerySyntaxError';
  }
}

/** A query that parses but asks for something the language cannot do (`service>5`, `level:loud`). */
export class LogQueryMeaningError extends SightlineError {
  constructor(
    readonly column: number,
    problem: string,
  ) {
    super('SL_ERR_BAD_REQUEST', `${problem} (at column ${column})`);
    this.name = 'LogQueryMeaningError';
  }
}
