import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { logIn } from '../harness/api-client.js';
import { runCli, startSightlineProcess } from '../harness/sightline.js';

describe('the sightline CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sightline-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('explains itself with --help', async () => {
    const { code, stdout: raw } = await runCli(['--help']);
    // Help text wraps to the terminal width; compare it as one line.
    const stdout = raw.replace(/\s+/g, ' ');
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: sightline');
    expect(stdout).toMatch(/start \[options\]\s+run Sightline: by default every role in one process/);
    expect(stdout).toContain('version print the version');
  });

  it('documents every start option with its environment variable and the exit codes', async () => {
    const { code, stdout: raw } = await runCli(['start', '--help']);
    const stdout = raw.replace(/\s+/g, ' ');
    expect(code).toBe(0);
    for (const [flag, env] of [
      ['--config <file>', 'SIGHTLINE_CONFIG'],
      ['--data-dir <dir>', 'SIGHTLINE_DATA_DIR'],
      ['--ingest-port <port>', 'SIGHTLINE_INGEST_PORT'],
      ['--port <port>', 'SIGHTLINE_PORT'],
      ['--host <address>', 'SIGHTLINE_HOST'],
      ['--bootstrap-key <key>', 'SIGHTLINE_BOOTSTRAP_KEY'],
      ['--bootstrap-email <email>', 'SIGHTLINE_BOOTSTRAP_EMAIL'],
      ['--bootstrap-password <password>', 'SIGHTLINE_BOOTSTRAP_PASSWORD'],
    ]) {
      expect(stdout).toContain(flag);
      expect(stdout).toContain(`env: ${env}`);
    }
    expect(stdout).toContain('Exit codes');
  });

  it('prints its version', async () => {
    const { code, stdout } = await runCli(['version']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^sightline \d+\.\d+\.\d+ \(node v\d+/);
  });

  it('stops with exit code 2 and names the key when the config is invalid', async () => {
    const config = join(dir, 'bad.yaml');
    writeFileSync(config, 'ingest:\n  prot: 4318\napi:\n  port: 99999\n');
    const { code, stderr } = await runCli(['start', '--config', config, '--data-dir', join(dir, 'data')]);
    expect(code).toBe(2);
    expect(stderr).toContain(`unknown key "ingest.prot" (from ${config}); allowed here: port, maxBodyBytes`);
    expect(stderr).toContain(`"api.port" (from ${config}): must be at most 65535, got 99999`);
  });

  it('names the flag or environment variable a bad value came from', async () => {
    const flag = await runCli(['start', '--port', 'web', '--data-dir', join(dir, 'data')]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('"api.port" (from --port): expected a number, got "web"');
    const env = await runCli(['start', '--data-dir', join(dir, 'data')], {
      env: { SIGHTLINE_INGEST__MAX_BODY_BYTES: '-5' },
    });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('"ingest.maxBodyBytes" (from SIGHTLINE_INGEST__MAX_BODY_BYTES)');
    const key = await runCli(['start', '--data-dir', join(dir, 'data')], {
      env: { SIGHTLINE_BOOTSTRAP_KEY: 'secret' },
    });
    expect(key.code).toBe(2);
    expect(key.stderr).toContain('"auth.bootstrapKey" (from SIGHTLINE_BOOTSTRAP_KEY): must start with "sl_"');
  });

  it('stops with exit code 4 and says what to do when a port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const { code, stderr } = await runCli([
        'start',
        '--data-dir',
        join(dir, 'ports'),
        '--port',
        '0',
        '--ingest-port',
        String(port),
      ]);
      expect(code).toBe(4);
      expect(stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
      expect(stderr).toContain('--ingest-port');
    } finally {
      blocker.close();
    }
  });

  it('keeps the first API key for the start that succeeds when the first start fails', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const dataDir = join(dir, 'first-start');
    const failed = await runCli([
      'start',
      '--data-dir',
      dataDir,
      '--port',
      String(port),
      '--ingest-port',
      '0',
    ]);
    blocker.close();
    expect(failed.code).toBe(4);
    const server = await startSightlineProcess({ dataDir, key: 'printed', user: 'printed' });
    try {
      expect(server.stdout()).toContain('First start: created the organization "default"');
      const stats = await fetch(`${server.apiUrl}/api/v1/stats`, {
        headers: { authorization: `Bearer ${server.key}` },
      });
      expect(stats.status).toBe(200);
      // The owner's password is printed once too, and signs in.
      expect(server.user.email).toBe('admin@localhost');
      const cookie = await logIn(server.apiUrl, server.user);
      const me = await fetch(`${server.apiUrl}/api/v1/auth/me`, { headers: { cookie } });
      expect(await me.json()).toMatchObject({ role: 'owner', user: { email: 'admin@localhost' } });
    } finally {
      await server.stop();
    }
  });

  it('prints the least-privilege PostgreSQL setup and refuses engines it does not know', async () => {
    const { code, stdout } = await runCli(['setup-sql', 'postgres', '--user', 'mon', '--password', "it's"]);
    expect(code).toBe(0);
    expect(stdout).toContain(`CREATE ROLE "mon" WITH LOGIN PASSWORD 'it''s'`);
    expect(stdout).toContain('GRANT pg_monitor TO "mon";');
    expect(stdout).toContain('CREATE EXTENSION IF NOT EXISTS pg_stat_statements;');
    expect(stdout).toContain('GRANT EXECUTE ON FUNCTION pg_read_binary_file(text, bigint, bigint) TO "mon";');
    const noLogs = await runCli(['setup-sql', 'postgres', '--no-logs-over-sql']);
    expect(noLogs.stdout).not.toContain('pg_read_binary_file');
    const random = await runCli(['setup-sql', 'postgres']);
    expect(random.stdout).toMatch(/CREATE ROLE "sightline" WITH LOGIN PASSWORD '[A-Za-z0-9]{24}'/);
    const unknown = await runCli(['setup-sql', 'oracle']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('Allowed choices are postgres, mysql');
  });

  it('rejects a --postgres value that is not a connection string, naming the flag', async () => {
    const { code, stderr } = await runCli([
      'start',
      '--postgres',
      'db1:5432',
      '--data-dir',
      join(dir, 'data'),
    ]);
    expect(code).toBe(2);
    expect(stderr).toContain('"collect.postgres.urls.0" (from --postgres)');
    expect(stderr).toContain('must be a postgresql:// connection string');
  });

  it('keeps serving when a watched PostgreSQL cannot be reached, and says so', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const address = closed.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const server = await startSightlineProcess({
      args: ['--postgres', `postgresql://sightline:pw@127.0.0.1:${port}/app`],
    });
    try {
      expect(server.stdout()).toContain(`Watching      postgres/127.0.0.1-${port}`);
      const deadline = Date.now() + 10_000;
      while (!server.stderr().includes('PostgreSQL collection cycle failed') && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 100));
      expect(server.stderr()).toContain('ECONNREFUSED');
      const health = await fetch(`${server.apiUrl}/healthz`);
      expect(health.status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
      server.cleanup();
    }
  });

  it('stops with exit code 3 when the data dir cannot be created', async () => {
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, '');
    const { code, stderr } = await runCli([
      'start',
      '--data-dir',
      join(file, 'data'),
      '--port',
      '0',
      '--ingest-port',
      '0',
    ]);
    expect(code).toBe(3);
    expect(stderr).toContain('cannot create the data directory');
    expect(stderr).toContain('--data-dir');
  });
});
