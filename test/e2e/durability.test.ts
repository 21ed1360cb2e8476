import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../harness/api-client.js';
import { logsPipeline } from '../harness/otel-sdk.js';
import { newDataDir, startSightlineProcess, type SightlineProcess } from '../harness/sightline.js';

describe('durability of acknowledged records', () => {
  const started: SightlineProcess[] = [];
  afterEach(async () => {
    for (const server of started.splice(0)) {
      await server.stop('SIGKILL');
      server.cleanup();
    }
  });

  it('keeps all 1,000 acknowledged log records across kill -9 and a restart, with the printed key', async () => {
    const dataDir = newDataDir();
    const first = await startSightlineProcess({ dataDir, key: 'printed' });
    started.push(first);
    expect(first.key).toMatch(/^sl_[A-Za-z0-9]{32}$/);

    const { provider, logger, tally } = logsPipeline(first.ingestUrl, first.key, 'proto', 'durable');
    for (let i = 0; i < 1000; i++) logger.emit({ body: `durable record ${i}`, attributes: { seq: i } });
    await provider.forceFlush();
    expect(tally).toEqual({ succeeded: 1000, failed: 0, errors: [] });

    // As a user would ask: no parameters, so the defaults (the last hour, newest 1,000 first).
    const before = await new ApiClient(first.apiUrl, first.key).logs({});
    expect(before).toHaveLength(1000);

    // No graceful shutdown: everything acknowledged must already be committed.
    expect(await first.stop('SIGKILL')).toBeNull();
    started.pop();

    const second = await startSightlineProcess({ dataDir, key: 'existing' });
    started.push(second);
    expect(second.stdout()).not.toContain('First start');
    const after = await new ApiClient(second.apiUrl, first.key).logs({});
    expect(after).toHaveLength(1000);
    expect(new Set(after.map((l) => l.body))).toEqual(new Set(before.map((l) => l.body)));
    await provider.shutdown();
  });

  it('stores what it acknowledged before a graceful stop and exits 0', async () => {
    const dataDir = newDataDir();
    const first = await startSightlineProcess({ dataDir });
    started.push(first);
    const { provider, logger, tally } = logsPipeline(first.ingestUrl, first.key, 'json', 'graceful');
    for (let i = 0; i < 300; i++) logger.emit({ body: `graceful ${i}` });
    await provider.forceFlush();
    expect(tally.succeeded).toBe(300);
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(first.stdout()).toContain('Sightline stopped.');
    started.pop();

    const second = await startSightlineProcess({ dataDir, key: first.key });
    started.push(second);
    const stats = await new ApiClient(second.apiUrl, first.key).get<{ logs: number }>('/api/v1/stats');
    expect(stats.body.logs).toBe(300);
    await provider.shutdown();
  });

  it('refuses a second start on the same data dir with a clear message and exit code 3', async () => {
    const server = await startSightlineProcess();
    started.push(server);
    await expect(startSightlineProcess({ dataDir: server.dataDir, key: server.key })).rejects.toThrow(
      /exited with 3 before listening[\s\S]*already in use by another process \(PID \d+/,
    );
    const health = await fetch(`${server.apiUrl}/healthz`);
    expect(health.status).toBe(200);
  });
});
