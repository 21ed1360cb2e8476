import { expect, it } from 'vitest';
import {
  DEFAULT_MIX,
  resolveLoadOptions,
  type LoadMix,
  type LoadOptions,
  type LoadTarget,
} from '../../src/collect/loadgen/driver.js';

/** A mix with the given weights and weight 0 for every other kind. */
export function mix(weights: Partial<LoadMix>): LoadMix {
  return { point: 0, scan: 0, write: 0, lock: 0, error: 0, idle: 0, ...weights };
}

/** Options over the URL, and null if they are accepted or the message (or a pattern of it) they are rejected with. */
export type OptionsCase = [Partial<LoadOptions>, string | RegExp | null];

/**
 * Registers, in the current describe, the checks resolveLoadOptions makes for one database: the
 * defaults it fills for `url`, then each case.
 */
export function checkLoadOptions(target: LoadTarget, url: string, cases: OptionsCase[]): void {
  it('fills the defaults', () => {
    expect(resolveLoadOptions({ url }, target)).toEqual({
      url,
      schema: 'sightline_loadgen',
      scale: 10_000,
      rate: 50,
      durationS: undefined,
      connections: 4,
      mix: DEFAULT_MIX,
      reset: false,
    });
  });

  it.each(cases)('checks %j', (options, message) => {
    const resolve = () => resolveLoadOptions({ url, ...options }, target);
    if (message === null) expect(resolve).not.toThrow();
    else expect(resolve).toThrow(message);
  });
}
