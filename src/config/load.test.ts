import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SightlineError } from '../core/errors.js';
import { envNameToPath, loadConfig } from './load.js';
import type { ConfigSources } from './load.js';

const dir = mkdtempSync(join(tmpdir(), 'sightline-config-test-'));
let fileCount = 0;

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function yamlFile(text: string): string {
  const file = join(dir, `config-${++fileCount}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** The SightlineError loadConfig throws for these sources (fails the test when it does not throw). */
function configError(sources: ConfigSources): SightlineError {
  try {
    loadConfig(sources);
  } catch (error) {
    expect(error).toBeInstanceOf(SightlineError);
    const sightlineError = error as SightlineError;
    expect(sightlineError.code).toBe('SL_ERR_CONFIG_INVALID');
    return sightlineError;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig defaults', () => {
  it('gives every documented default when no source sets anything', () => {
    const config = loadConfig({});
    expect(config.dataDir).toBe('./data');
    expect(config.host).toBe('127.0.0.1');
    expect(config.log.level).toBe('info');
    expect(config.ingest).toEqual({
      port: 4318,
      maxBodyBytes: 20 * 1024 * 1024,
      maxAttributeDepth: 16,
      retryAfterSeconds: 2,
      ackTimeoutSeconds: 30,
      limits: {
        maxAttributes: 128,
        maxAttributeValueBytes: 32 * 1024,
        maxLogBodyBytes: 256 * 1024,
        maxNameBytes: 255,
        maxFutureSeconds: 3600,
        maxPastSeconds: 7 * 24 * 3600,
      },
      rum: { trustProxy: false },
    });
    expect(config.api.port).toBe(3000);
    expect(config.auth.bootstrapKey).toBeUndefined();
    expect(config.roles).toEqual(['gateway', 'processor', 'collector', 'api']);
    expect(config.bus).toEqual({
      type: 'memory',
      memory: { maxQueueBytes: 128 * 1024 * 1024, maxQueueMessages: 10_000 },
      kafka: {
        brokers: [],
        clientId: 'sightline',
        partitions: 3,
        replicationFactor: 1,
        publishTimeoutSeconds: 10,
        drainTimeoutSeconds: 30,
        sessionTimeoutSeconds: 10,
      },
    });
    expect(config.control).toEqual({ type: 'duckdb', postgres: { schema: 'sightline' } });
    expect(config.store.type).toBe('duckdb');
    expect(config.store.duckdb).toEqual({
      file: 'sightline.duckdb',
      memoryLimit: '1GB',
      checkpointThreshold: '256MB',
    });
    expect(config.processor.batch).toEqual({ maxMessages: 200, maxBytes: 64 * 1024 * 1024, maxWaitMs: 20 });
  });

  it('treats an empty config file as all defaults', () => {
    const config = loadConfig({ file: yamlFile('') });
    expect(config.ingest.port).toBe(4318);
    expect(config.api.port).toBe(3000);
  });

  it('treats a key written with no value as unset, so its default applies', () => {
    const config = loadConfig({ file: yamlFile('ingest:\n  port:\n  maxBodyBytes: 1024\nhost: # later\n') });
    expect(config.ingest.port).toBe(4318);
    expect(config.ingest.maxBodyBytes).toBe(1024);
    expect(config.host).toBe('127.0.0.1');
  });

  it('keeps defaults for keys a file leaves out of a section it sets', () => {
    const config = loadConfig({ file: yamlFile('ingest:\n  port: 5000\n') });
    expect(config.ingest.port).toBe(5000);
    expect(config.ingest.maxBodyBytes).toBe(20 * 1024 * 1024);
  });
});

describe('loadConfig precedence', () => {
  const file = (): string => yamlFile('api:\n  port: 1111\ningest:\n  port: 2222\ndataDir: /from/file\n');

  it('takes values from the file over defaults', () => {
    const config = loadConfig({ file: file() });
    expect(config.api.port).toBe(1111);
    expect(config.ingest.port).toBe(2222);
    expect(config.dataDir).toBe('/from/file');
  });

  it('takes environment variables over the file', () => {
    const config = loadConfig({ file: file(), env: { SIGHTLINE_PORT: '3333' } });
    expect(config.api.port).toBe(3333);
    expect(config.ingest.port).toBe(2222);
  });

  it('takes flags over environment variables and the file', () => {
    const config = loadConfig({
      file: file(),
      env: { SIGHTLINE_PORT: '3333', SIGHTLINE_DATA_DIR: '/from/env' },
      flags: [
        { path: 'api.port', value: 4444, flag: '--port' },
        { path: 'dataDir', value: '/from/flag', flag: '--data-dir' },
      ],
    });
    expect(config.api.port).toBe(4444);
    expect(config.dataDir).toBe('/from/flag');
    expect(config.ingest.port).toBe(2222);
  });

  it('ignores a flag whose value is undefined, so the lower source still counts', () => {
    const config = loadConfig({
      env: { SIGHTLINE_PORT: '3333' },
      flags: [{ path: 'api.port', value: undefined, flag: '--port' }],
    });
    expect(config.api.port).toBe(3333);
  });
});

describe('loadConfig environment variables', () => {
  it('maps SIGHTLINE_SECTION__KEY names to camelCase config paths', () => {
    expect(envNameToPath('SIGHTLINE_STORE__DUCKDB__MEMORY_LIMIT')).toBe('store.duckdb.memoryLimit');
    expect(envNameToPath('SIGHTLINE_INGEST__MAX_BODY_BYTES')).toBe('ingest.maxBodyBytes');
    expect(envNameToPath('SIGHTLINE_DATA_DIR')).toBe('dataDir');
  });

  it('sets nested keys through the generic mapping', () => {
    const config = loadConfig({
      env: {
        SIGHTLINE_STORE__DUCKDB__MEMORY_LIMIT: '2GB',
        SIGHTLINE_PROCESSOR__BATCH__MAX_WAIT_MS: '50',
      },
    });
    expect(config.store.duckdb.memoryLimit).toBe('2GB');
    expect(config.processor.batch.maxWaitMs).toBe(50);
  });

  it('understands the short aliases for the most used settings', () => {
    const key = 'sl_abcdefghijklmnop1234';
    const config = loadConfig({
      env: {
        SIGHTLINE_PORT: '8080',
        SIGHTLINE_INGEST_PORT: '9090',
        SIGHTLINE_BOOTSTRAP_KEY: key,
        SIGHTLINE_LOG_LEVEL: 'debug',
      },
    });
    expect(config.api.port).toBe(8080);
    expect(config.ingest.port).toBe(9090);
    expect(config.auth.bootstrapKey).toBe(key);
    expect(config.log.level).toBe('debug');
  });

  it('parses environment values as YAML scalars: numbers stay numbers, text stays text', () => {
    const config = loadConfig({
      env: { SIGHTLINE_INGEST__MAX_BODY_BYTES: '1048576', SIGHTLINE_HOST: '0.0.0.0' },
    });
    expect(config.ingest.maxBodyBytes).toBe(1_048_576);
    expect(config.host).toBe('0.0.0.0');
  });

  it('ignores variables without the prefix and the SIGHTLINE_CONFIG file pointer', () => {
    const config = loadConfig({ env: { PORT: '1', SIGHTLINE_CONFIG: '/etc/sightline.yaml', HOME: '/root' } });
    expect(config.api.port).toBe(3000);
  });
});

describe('loadConfig errors', () => {
  it('names an unknown key with its full path, the environment variable and the allowed keys', () => {
    const error = configError({ env: { SIGHTLINE_STORE__DUCKDB__MEMORY_LIMT: '1GB' } });
    expect(error.message).toContain(
      'unknown key "store.duckdb.memoryLimt" (from SIGHTLINE_STORE__DUCKDB__MEMORY_LIMT); allowed here: file, memoryLimit, checkpointThreshold, threads',
    );
  });

  it('names an unknown key set in a file with the file path', () => {
    const file = yamlFile('ingest:\n  prot: 4318\n');
    const error = configError({ file });
    expect(error.message).toContain(
      `unknown key "ingest.prot" (from ${file}); allowed here: port, maxBodyBytes, maxAttributeDepth, retryAfterSeconds`,
    );
  });

  it('names an unknown key set by a flag with the flag', () => {
    const error = configError({ flags: [{ path: 'api.prot', value: 1, flag: '--api-prot' }] });
    expect(error.message).toContain('unknown key "api.prot" (from --api-prot); allowed here: port');
  });

  it('lists the top-level keys for an unknown top-level key', () => {
    const error = configError({ file: yamlFile('dataDirectory: /x\n') });
    expect(error.message).toContain(
      'allowed here: roles, dataDir, host, log, ingest, api, auth, bus, control, store, collect, processor',
    );
    expect(error.message).toContain('unknown key "dataDirectory"');
  });

  it('names the key, its source and the value for a port that is not a number', () => {
    const error = configError({ env: { SIGHTLINE_PORT: 'abc' } });
    expect(error.message).toContain('"api.port" (from SIGHTLINE_PORT): expected a number, got "abc"');
  });

  it('says an integer is expected for a fractional port from a file', () => {
    const file = yamlFile('ingest:\n  port: 1.5\n');
    const error = configError({ file });
    expect(error.message).toContain(`"ingest.port" (from ${file}): expected an integer, got 1.5`);
  });

  it('rejects a port above 65535 with the bound and the value', () => {
    const error = configError({ env: { SIGHTLINE_INGEST_PORT: '70000' } });
    expect(error.message).toContain(
      '"ingest.port" (from SIGHTLINE_INGEST_PORT): must be at most 65535, got 70000',
    );
  });

  it('rejects a negative port with the lower bound', () => {
    const error = configError({ flags: [{ path: 'api.port', value: -1, flag: '--port' }] });
    expect(error.message).toContain('"api.port" (from --port): must be at least 0, got -1');
  });

  it('lists the allowed log levels for an unknown one', () => {
    const error = configError({ env: { SIGHTLINE_LOG_LEVEL: 'loud' } });
    expect(error.message).toContain(
      '"log.level" (from SIGHTLINE_LOG_LEVEL): must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent", got "loud"',
    );
  });

  it('explains the bootstrap key format when the key does not match it', () => {
    const error = configError({ env: { SIGHTLINE_BOOTSTRAP_KEY: 'secret' } });
    expect(error.message).toContain(
      '"auth.bootstrapKey" (from SIGHTLINE_BOOTSTRAP_KEY): must start with "sl_" followed by 16 to 128 letters, digits, "_" or "-", got "secret"',
    );
  });

  it('reports every problem at once and points to the example file', () => {
    const error = configError({ env: { SIGHTLINE_PORT: '70000', SIGHTLINE_LOG_LEVEL: 'loud' } });
    expect(error.message.startsWith('invalid configuration:\n')).toBe(true);
    expect(error.message).toContain('"api.port"');
    expect(error.message).toContain('"log.level"');
    expect(error.message).toContain('See sightline.example.yaml');
  });

  it('says which file cannot be read and why', () => {
    const missing = join(dir, 'does-not-exist.yaml');
    const error = configError({ file: missing });
    expect(error.message).toBe(
      `cannot read config file ${missing}: ENOENT. Check the path given to --config or SIGHTLINE_CONFIG.`,
    );
  });

  it('says a file is not valid YAML and where', () => {
    const file = yamlFile('ingest:\n  port: [1\n');
    const error = configError({ file });
    expect(error.message).toMatch(new RegExp(`^config file ${file} is not valid YAML at line \\d+: `));
  });

  it('rejects a file that is a YAML list rather than a mapping', () => {
    const file = yamlFile('- a\n- b\n');
    const error = configError({ file });
    expect(error.message).toBe(
      `config file ${file} must be a YAML mapping of keys to values (see sightline.example.yaml)`,
    );
  });
});

describe('where an unknown section came from', () => {
  it('names the file or variable that set keys under an unknown section', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sightline-config-section-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'foo:\n  bar: 1\n');
    expect(() => loadConfig({ file, env: {} })).toThrow(`unknown key "foo" (from ${file})`);
    expect(() => loadConfig({ env: { SIGHTLINE_INGSET__PORT: '1' } })).toThrow(
      'unknown key "ingset" (from SIGHTLINE_INGSET__PORT)',
    );
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('store.retention', () => {
  it('keeps raw rows a week and rollups 30, 90 and 400 days, and rolls up every minute', () => {
    expect(loadConfig({}).store.retention).toEqual({
      days: {
        logs: 7,
        spans: 7,
        metricPoints: 7,
        deadLetters: 7,
        queryStats: 14,
        querySamples: 14,
        activitySamples: 7,
        activitySnapshots: 7,
        rumEvents: 30,
        metricRollups1m: 30,
        metricRollups5m: 90,
        metricRollups1h: 400,
        logCounts1m: 30,
        spanLatency1m: 30,
      },
      intervalSeconds: 300,
      batchRows: 50_000,
      rollups: { intervalSeconds: 60, latenessSeconds: 600 },
    });
  });

  it('refuses an age shorter than the rollups re-read, naming the key; 0 keeps rows forever', () => {
    const error = configError({ env: { SIGHTLINE_STORE__RETENTION__DAYS__METRIC_POINTS: '0.01' } });
    expect(error.message).toContain(
      '"store.retention.days.metricPoints" (from SIGHTLINE_STORE__RETENTION__DAYS__METRIC_POINTS): must be 0 (keep forever) or at least 0.049 days',
    );
    expect(
      loadConfig({ env: { SIGHTLINE_STORE__RETENTION__DAYS__METRIC_POINTS: '0' } }).store.retention.days
        .metricPoints,
    ).toBe(0);
  });
});
