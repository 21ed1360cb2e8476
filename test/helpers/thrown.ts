import { expect } from 'vitest';
import { SightlineError } from '../../src/core/errors.js';

/** The SightlineError `fn` throws (fails the test when it throws nothing or something else). */
export function thrown(fn: () => unknown): SightlineError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SightlineError);
    return error as SightlineError;
  }
  throw new Error('expected a SightlineError');
}
