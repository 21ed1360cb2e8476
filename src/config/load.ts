import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { SightlineError } from '../core/errors.js';
import { configSchema, type Config } from './schema.js';

type Path = readonly string[];
type Plain = Record<string, unknown>;

/** Flags take precedence over environment variables, which take precedence over the file. */
export interface ConfigSources {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Values from command-line flags, keyed by config path (`ingest.port`), with the flag's name. */
  flags?: ReadonlyArray<{ path: string; value: unknown; flag: string }>;
}

export const ENV_PREFIX = 'SIGHTLINE_';

/** Short names for the settings people set most, beside the generic `SIGHTLINE_SECTION__KEY`. */
const ENV_ALIASES: Record<string, string> = {
  SIGHTLINE_PORT: 'api.port',
  SIGHTLINE_INGEST_PORT: 'ingest.port',
  SIGHTLINE_BOOTSTRAP_KEY: 'auth.bootstrapKey',
  SIGHTLINE_BOOTSTRAP_EMAIL: 'auth.bootstrapEmail',
  SIGHTLINE_BOOTSTRAP_PASSWORD: 'auth.bootstrapPassword',
  SIGHTLINE_LOG_LEVEL: 'log.level',
};

/** Environment variables that are not config keys. */
const ENV_RESERVED = new Set(['SIGHTLINE_CONFIG']);

export function loadConfig(sources: ConfigSources): Config {
  const merged: Plain = {};
  const origin = new Map<string, string>();

  if (sources.file !== undefined) {
    const fromFile = readConfigFile(sources.file);
    for (const [path, value] of leaves(fromFile, [])) {
      // `key:` with nothing after it (or only comments) is YAML null: the key is unset.
      if (value === null) continue;
      setPath(merged, path, value);
      origin.set(path.join('.'), sources.file);
    }
  }
  for (const [name, raw] of Object.entries(sources.env ?? {})) {
    if (!name.startsWith(ENV_PREFIX) || ENV_RESERVED.has(name) || raw === undefined) continue;
    const path = (ENV_ALIASES[name] ?? envNameToPath(name)).split('.');
    setPath(merged, path, parseEnvValue(raw));
    origin.set(path.join('.'), name);
  }
  for (const { path, value, flag } of sources.flags ?? []) {
    if (value === undefined) continue;
    setPath(merged, path.split('.'), value);
    origin.set(path, flag);
  }

  const result = configSchema.safeParse(merged);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => describeIssue(issue, merged, origin));
  throw new SightlineError(
    'SL_ERR_CONFIG_INVALID',
    `invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\n` +
      'See sightline.example.yaml for every key, its default and what it allows.',
  );
}

function readConfigFile(file: string): Plain {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new SightlineError(
      'SL_ERR_CONFIG_INVALID',
      `cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}. ` +
        'Check the path given to --config or SIGHTLINE_CONFIG.',
    );
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    const where = error instanceof YAMLParseError ? ` at line ${error.linePos?.[0].line ?? '?'}` : '';
    throw new SightlineError(
      'SL_ERR_CONFIG_INVALID',
      `config file ${file} is not valid YAML${where}: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isPlain(parsed)) {
    throw new SightlineError(
      'SL_ERR_CONFIG_INVALID',
      `config file ${file} must be a YAML mapping of keys to values (see sightline.example.yaml)`,
    );
  }
  return parsed;
}

/** `SIGHTLINE_STORE__DUCKDB__MEMORY_LIMIT` → `store.duckdb.memoryLimit`. */
export function envNameToPath(name: string): string {
  return name
    .slice(ENV_PREFIX.length)
    .split('__')
    .map((segment) => segment.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()))
    .join('.');
}

/** Environment values are YAML scalars, so `8080` is a number and `true` a boolean. */
function parseEnvValue(raw: string): unknown {
  try {
    const value: unknown = parseYaml(raw);
    return value === null ? raw : value;
  } catch {
    return raw;
  }
}

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function* leaves(value: Plain, prefix: Path): Generator<[Path, unknown]> {
  for (const [key, child] of Object.entries(value)) {
    const path = [...prefix, key];
    if (isPlain(child) && Object.keys(child).length > 0) yield* leaves(child, path);
    else yield [path, child];
  }
}

function setPath(target: Plain, path: Path, value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (!isPlain(next)) node[key] = {};
    node = node[key] as Plain;
  }
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
}

function getPath(target: Plain, path: readonly PropertyKey[]): unknown {
  let node: unknown = target;
  for (const key of path) {
    if (!isPlain(node)) return undefined;
    node = node[String(key)];
  }
  return node;
}

function describeIssue(issue: z.core.$ZodIssue, merged: Plain, origin: Map<string, string>): string {
  const key = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((unknownKey) => {
        const full = key === '' ? unknownKey : `${key}.${unknownKey}`;
        return `unknown key "${full}"${fromWhere(full, origin)}; allowed here: ${allowedKeys(issue.path).join(', ')}`;
      })
      .join('\n  - ');
  }
  const got = getPath(merged, issue.path);
  const shown = got === undefined ? '' : `, got ${JSON.stringify(got)}`;
  return `"${key}"${fromWhere(key, origin)}: ${explain(issue)}${shown}`;
}

/**
 * Origins are kept per leaf; an unknown section takes the origin of a key beneath it, and an
 * item of a list (`collect.postgres.urls.0`) the origin of the list.
 */
function fromWhere(key: string, origin: Map<string, string>): string {
  let source = origin.get(key);
  for (let parent = key; source === undefined && parent.includes('.');) {
    parent = parent.slice(0, parent.lastIndexOf('.'));
    source = origin.get(parent);
  }
  if (source === undefined) {
    for (const [path, where] of origin) {
      if (path.startsWith(`${key}.`)) {
        source = where;
        break;
      }
    }
  }
  return source === undefined ? '' : ` (from ${source})`;
}

function explain(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected === 'int' ? 'an integer' : /^[aeiou]/.test(issue.expected) ? `an ${issue.expected}` : `a ${issue.expected}`}`;
    case 'too_small':
      return `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return issue.message;
  }
}

/** The keys the schema allows at `path`, for "did you mean" style errors. */
function allowedKeys(path: readonly PropertyKey[]): string[] {
  let schema: z.core.$ZodType = configSchema;
  for (const key of path) {
    const shape = objectShape(schema);
    const child = shape?.[String(key)];
    if (child === undefined) return [];
    schema = child;
  }
  return Object.keys(objectShape(schema) ?? {});
}

function objectShape(schema: z.core.$ZodType): Record<string, z.core.$ZodType> | undefined {
  let current: z.core.$ZodType = schema;
  // Defaults and optionals wrap the object schema; unwrap to reach its shape.
  for (let i = 0; i < 5; i++) {
    const def = current._zod.def as {
      type: string;
      innerType?: z.core.$ZodType;
      shape?: Record<string, z.core.$ZodType>;
    };
    if (def.type === 'object') return def.shape;
    if (def.innerType === undefined) return undefined;
    current = def.innerType;
  }
  return undefined;
}
