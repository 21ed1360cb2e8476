import { appendFile, mkdtemp, rename, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileTail } from './log-tail.js';

describe('FileTail', () => {
  let dir: string;
  let file: string;
  const text = async (tail: FileTail) => {
    const read = await tail.read();
    return { text: read.bytes.toString('utf8'), generation: read.generation };
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sightline-tail-'));
    file = join(dir, 'server.log');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('starts at the end of a file it finds, then reads what is appended', async () => {
    await writeFile(file, 'history\n');
    const tail = new FileTail(file);
    expect(await text(tail)).toEqual({ text: '', generation: 0 });
    expect(tail.offset).toBe(8);
    await appendFile(file, 'one\n');
    await appendFile(file, 'two\n');
    expect(await text(tail)).toEqual({ text: 'one\ntwo\n', generation: 0 });
    expect(await text(tail)).toEqual({ text: '', generation: 0 });
  });

  it('reads a file that was missing at first from its start, once it appears', async () => {
    const tail = new FileTail(file);
    await expect(tail.read()).rejects.toMatchObject({ code: 'ENOENT' });
    await writeFile(file, 'first\n');
    expect(await text(tail)).toEqual({ text: 'first\n', generation: 0 });
  });

  it('reads at most maxBytesPerRead a time and the rest later', async () => {
    await writeFile(file, '');
    const tail = new FileTail(file, 4);
    await tail.read();
    await appendFile(file, 'abcdefghij');
    expect((await text(tail)).text).toBe('abcd');
    expect((await text(tail)).text).toBe('efgh');
    expect((await text(tail)).text).toBe('ij');
  });

  it('starts again from the beginning, as a new generation, after truncation', async () => {
    await writeFile(file, 'history\n');
    const tail = new FileTail(file);
    await tail.read();
    await truncate(file, 0);
    await appendFile(file, 'new\n');
    expect(await text(tail)).toEqual({ text: 'new\n', generation: 1 });
  });

  it('starts again from the beginning of a file that replaced the one it read (rotation)', async () => {
    await writeFile(file, 'history\n');
    const tail = new FileTail(file);
    await tail.read();
    await rename(file, `${file}.1`);
    // Longer than what was read: only the inode tells that it is another file.
    await writeFile(file, 'after rotation, longer\n');
    expect(await text(tail)).toEqual({ text: 'after rotation, longer\n', generation: 1 });
    await appendFile(file, 'more\n');
    expect(await text(tail)).toEqual({ text: 'more\n', generation: 1 });
  });

  it('throws while the file is gone and reads its successor from the start', async () => {
    await writeFile(file, 'history\n');
    const tail = new FileTail(file);
    await tail.read();
    await unlink(file);
    await expect(tail.read()).rejects.toMatchObject({ code: 'ENOENT' });
    // Shorter than what was read: a reused inode number cannot hide the change.
    await writeFile(file, 'new\n');
    expect(await text(tail)).toEqual({ text: 'new\n', generation: 1 });
  });

  it('refuses a directory', async () => {
    await expect(new FileTail(dir).read()).rejects.toMatchObject({ code: 'EISDIR' });
  });
});
