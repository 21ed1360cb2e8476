import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './load.js';
import { configSchema } from './schema.js';

const EXAMPLE = new URL('../../sightline.example.yaml', import.meta.url).pathname;

describe('sightline.example.yaml', () => {
  it('is valid and states exactly the defaults', () => {
    expect(loadConfig({ file: EXAMPLE, env: {} })).toEqual(configSchema.parse({}));
  });

  it('documents every key the schema knows', () => {
    const text = readFileSync(EXAMPLE, 'utf8').replace(/^(\s*)# ([a-z]\w*:)/gm, '$1$2');
    const documented = parse(text) as Record<string, unknown>;
    const keys = (value: unknown, prefix = ''): string[] =>
      typeof value === 'object' && value !== null && !Array.isArray(value)
        ? Object.entries(value).flatMap(([k, v]) => keys(v, `${prefix}${k}.`))
        : [prefix.slice(0, -1)];
    const parsed = configSchema.parse({});
    const defaults = { ...parsed, auth: { ...parsed.auth, bootstrapKey: 'x', bootstrapPassword: 'x' } };
    const withOptional = {
      ...defaults,
      control: { ...defaults.control, postgres: { ...defaults.control.postgres, url: 'postgresql://x' } },
      store: {
        ...defaults.store,
        duckdb: { ...defaults.store.duckdb, threads: 2 },
        clickhouse: { ...defaults.store.clickhouse, password: 'x' },
      },
    };
    expect(keys(documented).sort()).toEqual(keys(withOptional).sort());
  });
});
