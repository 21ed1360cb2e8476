import { open } from 'node:fs/promises';

/** What one `FileTail.read()` got. */
export interface TailRead {
  /** The bytes appended since the last read; empty when the file did not grow. */
  bytes: Buffer;
  /**
   * Goes up each time the file starts over (replaced by rotation, or truncated): bytes of a new
   * generation do not continue the previous ones, so a parser for the old ones must be flushed.
   */
  generation: number;
}

/** The most bytes one read returns, so a burst of logging cannot blow up memory; the rest waits. */
export const MAX_TAIL_BYTES_PER_READ = 8 * 1024 * 1024;

type Position =
  | { state: 'unseen' }
  /** The file was absent when first looked for: when it appears, everything in it is new. */
  | { state: 'missing' }
  | { state: 'reading'; dev: number; ino: number; birth: number; offset: number };

/**
 * Follows one log file that a server appends to, by path, on this host. Engine-neutral: it
 * knows nothing of the file's format.
 *
 * - A file that exists when first seen is read from its end: history from before the collector
 *   started is not replayed. A file that was absent at first and appears later is read from its
 *   start.
 * - A file replaced at the same path (a different inode: logrotate's rename + create, or
 *   delete + create) or truncated (smaller than what was read: `copytruncate`, `> file`) is read
 *   again from its start, as a new generation. Bytes the server wrote to the old file after the
 *   last read and before the rename are not read.
 * - Each read returns at most `maxBytesPerRead` bytes; the rest comes with the next reads.
 * - The file is opened and closed on every read: nothing is held open between reads, so a
 *   rotated file's space is freed at once and there is nothing to shut down.
 *
 * Errors of the file system (ENOENT, EACCES, EISDIR, …) are thrown as they come; the caller
 * knows what the file is and what to tell the user.
 */
export class FileTail {
  private position: Position = { state: 'unseen' };
  private generationCount = 0;

  constructor(
    readonly path: string,
    private readonly maxBytesPerRead: number = MAX_TAIL_BYTES_PER_READ,
  ) {
    if (!Number.isInteger(maxBytesPerRead) || maxBytesPerRead < 1) {
      throw new RangeError(`maxBytesPerRead must be a positive integer, got ${maxBytesPerRead}`);
    }
  }

  /** The offset the next read starts from, or undefined before the file was first seen. */
  get offset(): number | undefined {
    return this.position.state === 'reading' ? this.position.offset : undefined;
  }

  async read(): Promise<TailRead> {
    let handle;
    try {
      handle = await open(this.path, 'r');
    } catch (error) {
      if (this.position.state === 'unseen' && errorCode(error) === 'ENOENT') {
        this.position = { state: 'missing' };
      }
      throw error;
    }
    try {
      // fstat of the open handle: size and inode of the very file read below, even if the path
      // is replaced in between.
      const info = await handle.stat();
      if (!info.isFile()) {
        throw Object.assign(new Error(`${this.path} is not a regular file`), { code: 'EISDIR' });
      }
      const previous = this.position;
      if (previous.state === 'unseen') {
        this.position = { ...identity(info), state: 'reading', offset: info.size };
        return this.empty();
      }
      let offset = 0;
      if (previous.state === 'reading') {
        const now = identity(info);
        // A deleted file's inode number can be reused at once; the birth time tells them apart
        // where the file system keeps one (0 where it does not).
        const sameFile = previous.dev === now.dev && previous.ino === now.ino && previous.birth === now.birth;
        if (sameFile && info.size >= previous.offset) offset = previous.offset;
        else this.generationCount++;
      }
      this.position = { ...identity(info), state: 'reading', offset };
      const length = Math.min(info.size - offset, this.maxBytesPerRead);
      if (length <= 0) return this.empty();
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      this.position.offset = offset + bytesRead;
      return { bytes: buffer.subarray(0, bytesRead), generation: this.generationCount };
    } finally {
      await handle.close();
    }
  }

  private empty(): TailRead {
    return { bytes: Buffer.alloc(0), generation: this.generationCount };
  }
}

function identity(info: { dev: number; ino: number; birthtimeMs: number }) {
  return { dev: info.dev, ino: info.ino, birth: info.birthtimeMs };
}

/** The `code` of a Node.js system error (ENOENT, EACCES, …), or undefined. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
