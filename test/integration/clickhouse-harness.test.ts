import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLICKHOUSE_INSTALL_HINT,
  clickhouseAvailable,
  startClickhouse,
  type ClickhouseInstance,
} from '../harness/clickhouse.js';
import { requireService } from '../harness/service-missing.js';

const available = requireService('ClickHouse', clickhouseAvailable(), CLICKHOUSE_INSTALL_HINT);

describe.skipIf(!available)('ClickHouse harness', () => {
  let ch: ClickhouseInstance;

  beforeAll(async () => {
    ch = await startClickhouse();
  }, 60_000);

  afterAll(async () => {
    await ch?.stop();
  });

  it('starts a private server on loopback that answers queries', async () => {
    console.log(`ClickHouse ${ch.version} started in ${ch.startMs} ms at ${ch.url}`);
    expect(ch.version).toMatch(/^\d+\.\d+/);
    expect(ch.url).toBe(`http://127.0.0.1:${ch.httpPort}`);
    expect((await ch.query('SELECT 1 + 1')).trim()).toBe('2');
    // Its data lives in the temp directory, not in /var/lib/clickhouse.
    expect(
      (await ch.query("SELECT value FROM system.build_options WHERE name = 'VERSION_FULL'")).length,
    ).toBeGreaterThan(0);
    expect(existsSync(`${ch.dir}/data/metadata`)).toBe(true);
  });

  it('keeps its data across a kill and a restart on the same port', async () => {
    await ch.query('CREATE TABLE kept (x UInt8) ENGINE = MergeTree() ORDER BY x');
    await ch.query('INSERT INTO kept VALUES (7)');
    await ch.kill();
    await expect(ch.query('SELECT 1')).rejects.toThrow();
    await ch.restart();
    expect((await ch.query('SELECT x FROM kept')).trim()).toBe('7');
    expect(ch.output()).toContain('Ready for connections');
  });

  it('stops and removes its directory', async () => {
    const dir = ch.dir;
    await ch.stop();
    await ch.stop();
    expect(existsSync(dir)).toBe(false);
  });
});
