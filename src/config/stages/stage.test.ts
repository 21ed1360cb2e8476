import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { stageSchema } from './stage.js';

const example = stageSchema('example', {
  rate: z.number().default(5),
  mode: z.enum(['a', 'b']).default('a'),
});

describe('stageSchema', () => {
  it('fills the defaults of the stage but not of an org override', () => {
    expect(
      example.parse({ type: 'example', orgs: { org_1: { rate: 1 }, org_2: { enabled: false } } }),
    ).toEqual({
      type: 'example',
      enabled: true,
      rate: 5,
      mode: 'a',
      orgs: { org_1: { rate: 1 }, org_2: { enabled: false } },
    });
  });

  it('rejects an unknown option, also in an override', () => {
    expect(() => example.parse({ type: 'example', speed: 1 })).toThrow(/speed/);
    expect(() => example.parse({ type: 'example', orgs: { org_1: { speed: 1 } } })).toThrow(/speed/);
  });
});
