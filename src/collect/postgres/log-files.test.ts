import { appendFileSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalLogReader, MAX_BYTES_PER_READ, formatOfFile, type LogChunk } from './log-files.js';

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

  it('says which file is missing', async () => {
    await expect(new LocalLogReader(join(dir, 'nope'), 'auto').read()).rejects.toThrow(/ENOENT.*nope/);
  });
});

describe('formatOfFile', () => {
  it('tells the format from PostgreSQL file names', () => {
    expect(formatOfFile('postgresql-2026-11-23.json')).toBe('jsonlog');
    expect(formatOfFile('postgresql-2026-11-23.csv')).toBe('csvlog');
    expect(formatOfFile('postgresql-2026-11-23.log')).toBe('stderr');
  });
});
