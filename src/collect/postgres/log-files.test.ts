import { appendFileSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  LocalLogReader,
  MAX_BYTES_PER_READ,
  SqlLogReader,
  formatOfFile,
  type LogChunk,
} from './log-files.js';
import type { PostgresSession } from './session.js';

function text(chunks: readonly LogChunk[]): Array<[string, string]> {
  return chunks.map((c) => [c.file.split('/').at(-1) ?? '', c.bytes.toString('utf8')]);
}

/** Sets a file's modification time, so "newest" does not depend on how fast the test runs. */
function touch(file: string, secondsAgo: number): void {
  const at = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(file, at, at);
}

describe('LocalLogReader', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sightline-logs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('starts at the end of the log it finds first, then returns only what was appended', async () => {
    const file = join(dir, 'postgresql.json');
    writeFileSync(file, '{"old":1}\n');
    const reader = new LocalLogReader(dir, 'auto');
    expect(await reader.read()).toEqual([]);
    appendFileSync(file, '{"new":1}\n');
    const chunks = await reader.read();
    expect(text(chunks)).toEqual([['postgresql.json', '{"new":1}\n']]);
    expect(chunks[0]?.format).toBe('jsonlog');
    expect(await reader.read()).toEqual([]);
  });

  it('follows rotation: the rest of the old file, then the new one from its start', async () => {
    const first = join(dir, 'postgresql-1.csv');
    writeFileSync(first, 'a\n');
    touch(first, 20);
    const reader = new LocalLogReader(dir, 'csvlog');
    await reader.read();
    appendFileSync(first, 'b\n');
    touch(first, 10);
    const second = join(dir, 'postgresql-2.csv');
    writeFileSync(second, 'c\n');
    expect(text(await reader.read())).toEqual([
      ['postgresql-1.csv', 'b\n'],
      ['postgresql-2.csv', 'c\n'],
    ]);
  });

  it('reads only the format asked for when the server writes several', async () => {
    writeFileSync(join(dir, 'postgresql.json'), '');
    writeFileSync(join(dir, 'postgresql.csv'), '');
    const reader = new LocalLogReader(dir, 'csvlog');
    await reader.read();
    appendFileSync(join(dir, 'postgresql.json'), '{"x":1}\n');
    appendFileSync(join(dir, 'postgresql.csv'), 'x\n');
    expect(text(await reader.read())).toEqual([['postgresql.csv', 'x\n']]);
  });

  it('starts over when a file was truncated', async () => {
    const file = join(dir, 'server.log');
    writeFileSync(file, 'a long first line\n');
    const reader = new LocalLogReader(file, 'stderr');
    await reader.read();
    writeFileSync(file, 'new\n');
    expect(text(await reader.read())).toEqual([['server.log', 'new\n']]);
  });

  it('reads at most a bounded number of bytes per call and the rest on the next', async () => {
    const file = join(dir, 'big.log');
    writeFileSync(file, '');
    const reader = new LocalLogReader(file, 'stderr');
    await reader.read();
    appendFileSync(file, Buffer.alloc(MAX_BYTES_PER_READ + 10, 0x61));
    const first = await reader.read();
    expect(first[0]?.bytes.length).toBe(MAX_BYTES_PER_READ);
    const second = await reader.read();
    expect(second[0]?.bytes.length).toBe(10);
  });

  it('with auto, locks onto the most structured format present and never flips between them', async () => {
    // log_destination = 'stderr,csvlog,jsonlog': logging_collector writes all three at once.
    const json = join(dir, 'postgresql.json');
    const csv = join(dir, 'postgresql.csv');
    const log = join(dir, 'postgresql.log');
    for (const file of [json, csv, log]) writeFileSync(file, 'old\n');
    const reader = new LocalLogReader(dir, 'auto');
    expect(await reader.read()).toEqual([]);
    appendFileSync(json, '{"a":1}\n');
    appendFileSync(csv, 'a\n');
    appendFileSync(log, 'a\n');
    // The .log and .csv files are now the newest: they must not win.
    touch(json, 30);
    touch(csv, 0);
    touch(log, 0);
    const chunks = await reader.read();
    expect(text(chunks)).toEqual([['postgresql.json', '{"a":1}\n']]);
    expect(chunks[0]?.format).toBe('jsonlog');
    appendFileSync(csv, 'b\n');
    appendFileSync(json, '{"b":1}\n');
    touch(json, 20);
    expect(text(await reader.read())).toEqual([['postgresql.json', '{"b":1}\n']]);
  });

  it('with auto, prefers csvlog to stderr when there is no jsonlog, even for files that come later', async () => {
    const log = join(dir, 'postgresql-1.log');
    const csv = join(dir, 'postgresql-1.csv');
    writeFileSync(log, '');
    writeFileSync(csv, '');
    const reader = new LocalLogReader(dir, 'auto');
    await reader.read();
    writeFileSync(join(dir, 'postgresql-2.log'), 'stderr line\n');
    writeFileSync(join(dir, 'postgresql-2.json'), '{"late":1}\n');
    writeFileSync(join(dir, 'postgresql-2.csv'), 'c\n');
    const chunks = await reader.read();
    expect(text(chunks)).toEqual([['postgresql-2.csv', 'c\n']]);
    expect(chunks[0]?.format).toBe('csvlog');
  });

  it('locks the format the first time files are seen, not while the directory is empty', async () => {
    const reader = new LocalLogReader(dir, 'auto');
    expect(await reader.read()).toEqual([]);
    writeFileSync(join(dir, 'postgresql.log'), 'history\n');
    writeFileSync(join(dir, 'postgresql.json'), '{"history":1}\n');
    // The first files seen are read from their end.
    expect(await reader.read()).toEqual([]);
    appendFileSync(join(dir, 'postgresql.json'), '{"new":1}\n');
    expect(text(await reader.read())).toEqual([['postgresql.json', '{"new":1}\n']]);
  });

  it('reads every file rotated in between two reads, oldest first', async () => {
    const first = join(dir, 'postgresql-1.csv');
    writeFileSync(first, 'history\n');
    touch(first, 40);
    const reader = new LocalLogReader(dir, 'auto');
    await reader.read();
    appendFileSync(first, 'a\n');
    touch(first, 30);
    const second = join(dir, 'postgresql-2.csv');
    writeFileSync(second, 'b\n');
    touch(second, 20);
    const third = join(dir, 'postgresql-3.csv');
    writeFileSync(third, 'c\n');
    touch(third, 10);
    expect(text(await reader.read())).toEqual([
      ['postgresql-1.csv', 'a\n'],
      ['postgresql-2.csv', 'b\n'],
      ['postgresql-3.csv', 'c\n'],
    ]);
    expect(await reader.read()).toEqual([]);
  });

  it('orders files with the same modification time by name', async () => {
    const reader = new LocalLogReader(dir, 'jsonlog');
    writeFileSync(join(dir, 'start.json'), '');
    await reader.read();
    // One instant for all three (touch() takes "now" anew on each call).
    const at = new Date(Date.now() - 5000);
    for (const name of ['p-3.json', 'p-1.json', 'p-2.json']) {
      writeFileSync(join(dir, name), `${name}\n`);
      utimesSync(join(dir, name), at, at);
    }
    expect(text(await reader.read()).map(([file]) => file)).toEqual(['p-1.json', 'p-2.json', 'p-3.json']);
  });

  it('never reads a file twice when it comes back after a newer one', async () => {
    const first = join(dir, 'postgresql-1.json');
    writeFileSync(first, '');
    touch(first, 30);
    const reader = new LocalLogReader(dir, 'jsonlog');
    await reader.read();
    appendFileSync(first, '{"a":1}\n');
    touch(first, 30);
    const second = join(dir, 'postgresql-2.json');
    writeFileSync(second, '{"b":1}\n');
    touch(second, 20);
    expect(text(await reader.read())).toEqual([
      ['postgresql-1.json', '{"a":1}\n'],
      ['postgresql-2.json', '{"b":1}\n'],
    ]);
    // The old file is written again and is the newest once more: only the new bytes.
    appendFileSync(first, '{"c":1}\n');
    touch(first, 0);
    expect(text(await reader.read())).toEqual([['postgresql-1.json', '{"c":1}\n']]);
    appendFileSync(second, '{"d":1}\n');
    touch(second, -10);
    expect(text(await reader.read())).toEqual([['postgresql-2.json', '{"d":1}\n']]);
  });

  it('bounds the bytes read over several rotated files in total and keeps the rest for later', async () => {
    const reader = new LocalLogReader(dir, 'stderr');
    writeFileSync(join(dir, 'postgresql-0.log'), '');
    touch(join(dir, 'postgresql-0.log'), 40);
    await reader.read();
    const big = join(dir, 'postgresql-1.log');
    writeFileSync(big, Buffer.alloc(MAX_BYTES_PER_READ - 5, 0x61));
    touch(big, 30);
    const second = join(dir, 'postgresql-2.log');
    writeFileSync(second, '0123456789');
    touch(second, 20);
    const third = join(dir, 'postgresql-3.log');
    writeFileSync(third, 'third\n');
    touch(third, 10);
    const first = await reader.read();
    expect(first.map((c) => [c.file.split('/').at(-1), c.bytes.length])).toEqual([
      ['postgresql-1.log', MAX_BYTES_PER_READ - 5],
      ['postgresql-2.log', 5],
    ]);
    expect(text(await reader.read())).toEqual([
      ['postgresql-2.log', '56789'],
      ['postgresql-3.log', 'third\n'],
    ]);
  });

  it('keeps going when a file it followed is deleted', async () => {
    const first = join(dir, 'postgresql-1.log');
    writeFileSync(first, 'a\n');
    touch(first, 20);
    const reader = new LocalLogReader(dir, 'stderr');
    await reader.read();
    rmSync(first);
    writeFileSync(join(dir, 'postgresql-2.log'), 'b\n');
    expect(text(await reader.read())).toEqual([['postgresql-2.log', 'b\n']]);
    // Recreated under the same name, it is a new file: read from its start.
    writeFileSync(first, 'again\n');
    touch(first, -10);
    expect(text(await reader.read())).toEqual([['postgresql-1.log', 'again\n']]);
  });

  it('says which file is missing', async () => {
    await expect(new LocalLogReader(join(dir, 'nope'), 'auto').read()).rejects.toThrow(/ENOENT.*nope/);
  });
});

/** A PostgresSession answering the three log functions from files held in memory. */
class FakeServer {
  readonly files = new Map<string, Buffer>();
  readonly current = new Map<string, string>();
  readonly reads: Array<{ file: string; offset: number; length: number }> = [];

  session(): PostgresSession {
    return {
      query: (sql: string, params: readonly unknown[] = []) => this.query(sql, params),
    } as unknown as PostgresSession;
  }

  append(file: string, data: string | Buffer): void {
    this.files.set(file, Buffer.concat([this.files.get(file) ?? Buffer.alloc(0), Buffer.from(data)]));
  }

  private query(sql: string, params: readonly unknown[]): Promise<Array<Record<string, unknown>>> {
    if (sql.includes('pg_current_logfile')) {
      return Promise.resolve([{ file: this.current.get(String(params[0])) ?? null }]);
    }
    const file = String(params[0]);
    const data = this.files.get(file);
    if (data === undefined) {
      return Promise.reject(
        Object.assign(new Error(`could not stat file "${file}": No such file or directory`), {
          code: '58P01',
        }),
      );
    }
    if (sql.includes('pg_stat_file')) return Promise.resolve([{ size: String(data.length) }]);
    if (sql.includes('pg_read_binary_file')) {
      const offset = Number(params[1]);
      const length = Number(params[2]);
      this.reads.push({ file, offset, length });
      return Promise.resolve([{ bytes: Buffer.from(data.subarray(offset, offset + length)) }]);
    }
    return Promise.reject(new Error(`unexpected query: ${sql}`));
  }
}

describe('SqlLogReader', () => {
  it('starts at the end of the current file, then returns only what was appended', async () => {
    const server = new FakeServer();
    server.current.set('jsonlog', 'log/postgresql.json');
    server.append('log/postgresql.json', '{"old":1}\n');
    const reader = new SqlLogReader('auto');
    expect(await reader.read(server.session())).toEqual([]);
    server.append('log/postgresql.json', '{"new":1}\n');
    const chunks = await reader.read(server.session());
    expect(text(chunks)).toEqual([['postgresql.json', '{"new":1}\n']]);
    expect(chunks[0]?.format).toBe('jsonlog');
    expect(await reader.read(server.session())).toEqual([]);
  });

  it('prefers jsonlog, then csvlog, with auto', async () => {
    const server = new FakeServer();
    server.current.set('csvlog', 'log/postgresql.csv');
    server.current.set('stderr', 'log/postgresql');
    server.append('log/postgresql.csv', '');
    server.append('log/postgresql', '');
    const reader = new SqlLogReader('auto');
    await reader.read(server.session());
    server.append('log/postgresql.csv', 'x\n');
    server.append('log/postgresql', 'x\n');
    const chunks = await reader.read(server.session());
    expect(text(chunks)).toEqual([['postgresql.csv', 'x\n']]);
    expect(chunks[0]?.format).toBe('csvlog');
  });

  it('follows rotation: the rest of the old file, then the new one from its start', async () => {
    const server = new FakeServer();
    server.current.set('csvlog', 'log/p-1.csv');
    server.append('log/p-1.csv', 'history\n');
    const reader = new SqlLogReader('csvlog');
    await reader.read(server.session());
    server.append('log/p-1.csv', 'a\n');
    server.append('log/p-2.csv', 'b\n');
    server.current.set('csvlog', 'log/p-2.csv');
    expect(text(await reader.read(server.session()))).toEqual([
      ['p-1.csv', 'a\n'],
      ['p-2.csv', 'b\n'],
    ]);
    server.append('log/p-2.csv', 'c\n');
    expect(text(await reader.read(server.session()))).toEqual([['p-2.csv', 'c\n']]);
  });

  it('stays on a rotated-away file until it is read to its end, bounded per call', async () => {
    const server = new FakeServer();
    server.current.set('jsonlog', 'log/p-1.json');
    server.append('log/p-1.json', '');
    const reader = new SqlLogReader('jsonlog');
    await reader.read(server.session());
    server.append('log/p-1.json', Buffer.alloc(2 * MAX_BYTES_PER_READ + 7, 0x61));
    server.append('log/p-2.json', 'new\n');
    server.current.set('jsonlog', 'log/p-2.json');
    const sizes = async () =>
      (await reader.read(server.session())).map((c) => [c.file, c.bytes.length, c.format]);
    expect(await sizes()).toEqual([['log/p-1.json', MAX_BYTES_PER_READ, 'jsonlog']]);
    expect(await sizes()).toEqual([['log/p-1.json', MAX_BYTES_PER_READ, 'jsonlog']]);
    expect(await sizes()).toEqual([
      ['log/p-1.json', 7, 'jsonlog'],
      ['log/p-2.json', 4, 'jsonlog'],
    ]);
    expect(await sizes()).toEqual([]);
    expect(server.reads.every((r) => r.length <= MAX_BYTES_PER_READ)).toBe(true);
  });

  it('keeps the format of the old file when the current one changes format', async () => {
    const server = new FakeServer();
    server.current.set('csvlog', 'log/p-1.csv');
    server.append('log/p-1.csv', '');
    const reader = new SqlLogReader('auto');
    await reader.read(server.session());
    server.append('log/p-1.csv', 'a\n');
    server.current.set('jsonlog', 'log/p-2.json');
    server.append('log/p-2.json', '{"b":1}\n');
    const chunks = await reader.read(server.session());
    expect(chunks.map((c) => [c.file, c.format])).toEqual([
      ['log/p-1.csv', 'csvlog'],
      ['log/p-2.json', 'jsonlog'],
    ]);
  });

  it('moves on when the old file was deleted before it was finished', async () => {
    const server = new FakeServer();
    server.current.set('stderr', 'log/p-1.log');
    server.append('log/p-1.log', '');
    const reader = new SqlLogReader('stderr');
    await reader.read(server.session());
    server.files.delete('log/p-1.log');
    server.append('log/p-2.log', 'b\n');
    server.current.set('stderr', 'log/p-2.log');
    expect(text(await reader.read(server.session()))).toEqual([['p-2.log', 'b\n']]);
  });

  it('starts over when the current file was truncated', async () => {
    const server = new FakeServer();
    server.current.set('stderr', 'log/p.log');
    server.append('log/p.log', 'a long first line\n');
    const reader = new SqlLogReader('stderr');
    await reader.read(server.session());
    server.files.set('log/p.log', Buffer.from('new\n'));
    expect(text(await reader.read(server.session()))).toEqual([['p.log', 'new\n']]);
  });

  it('returns nothing while the server has no log file', async () => {
    const reader = new SqlLogReader('auto');
    expect(await reader.read(new FakeServer().session())).toEqual([]);
  });
});

describe('formatOfFile', () => {
  it('tells the format from PostgreSQL file names', () => {
    expect(formatOfFile('postgresql-2026-11-23.json')).toBe('jsonlog');
    expect(formatOfFile('postgresql-2026-11-23.csv')).toBe('csvlog');
    expect(formatOfFile('postgresql-2026-11-23.log')).toBe('stderr');
  });
});
