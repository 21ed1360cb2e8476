import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LogFormat } from './logs/log-parser.js';
import type { PostgresSession } from './session.js';

/** New bytes of one log file, in the order they were written. */
export interface LogChunk {
  file: string;
  format: LogFormat;
  bytes: Buffer;
}

/** Reads what the server appended to its log since the last call. */
export interface LogReader {
  read(session: PostgresSession): Promise<LogChunk[]>;
}

/** The most bytes read per cycle, so a burst of logging cannot blow up memory; the rest waits. */
export const MAX_BYTES_PER_READ = 4 * 1024 * 1024;

export function formatOfFile(file: string): LogFormat {
  if (file.endsWith('.json')) return 'jsonlog';
  if (file.endsWith('.csv')) return 'csvlog';
  return 'stderr';
}

interface Position {
  file: string;
  offset: number;
}

const EXTENSIONS: Record<LogFormat, string> = { jsonlog: '.json', csvlog: '.csv', stderr: '.log' };

/** Which format 'auto' follows when the server writes several at once: the most structured. */
const PREFERENCE: readonly LogFormat[] = ['jsonlog', 'csvlog', 'stderr'];

interface LogFile {
  file: string;
  size: number;
  mtime: number;
}

/**
 * Follows a log on this host: a file, or the files of one format in a directory (which is how
 * logging_collector rotates). The first files seen are read from their end — history before
 * the collector started is not replayed; files that appear later are read from the start.
 *
 * In a directory, every file keeps its own position and all files with unread bytes are read
 * oldest first (by modification time, then name), so several rotations between two calls lose
 * nothing and coming back to a file never reads it twice. With `auto`, the format is chosen
 * once, when files are first seen (jsonlog, then csvlog, then stderr): the server may write
 * several formats at once (and logging_collector always keeps a `.log` file), and following
 * more than one would return every entry twice.
 */
export class LocalLogReader implements LogReader {
  /** Where reading resumes, per file; files not in it have not been seen yet. */
  private readonly positions = new Map<string, number>();
  private started = false;
  private chosen: LogFormat | undefined;

  constructor(
    private readonly path: string,
    private readonly format: LogFormat | 'auto',
  ) {
    if (format !== 'auto') this.chosen = format;
  }

  async read(): Promise<LogChunk[]> {
    const files = await this.files();
    if (files.length === 0) return [];
    if (!this.started) {
      for (const { file, size } of files) this.positions.set(file, size);
      this.started = true;
      return [];
    }
    // Forget files that are gone (rotated away by age), so the map does not grow forever.
    const present = new Set(files.map((f) => f.file));
    for (const file of this.positions.keys()) if (!present.has(file)) this.positions.delete(file);

    const chunks: LogChunk[] = [];
    let budget = MAX_BYTES_PER_READ;
    for (const { file, size } of files) {
      if (budget <= 0) break;
      let offset = this.positions.get(file) ?? 0;
      // A file that shrank was truncated or replaced: start again from its beginning.
      if (size < offset) offset = 0;
      this.positions.set(file, offset);
      if (size === offset) continue;
      const bytes = await readFrom(file, offset, budget).catch((error: unknown) => {
        // Deleted since it was listed: nothing more to read from it.
        if (isMissing(error)) return Buffer.alloc(0);
        throw error;
      });
      if (bytes.length === 0) continue;
      this.positions.set(file, offset + bytes.length);
      budget -= bytes.length;
      chunks.push({ file, format: this.formatOf(file), bytes });
    }
    return chunks;
  }

  private formatOf(file: string): LogFormat {
    return this.format === 'auto' ? formatOfFile(file) : this.format;
  }

  /** The files to follow, oldest first. */
  private async files(): Promise<LogFile[]> {
    const info = await stat(this.path);
    if (!info.isDirectory()) return [{ file: this.path, size: info.size, mtime: info.mtimeMs }];
    const found: LogFile[] = [];
    for (const name of await readdir(this.path)) {
      if (!PREFERENCE.some((format) => name.endsWith(EXTENSIONS[format]))) continue;
      if (this.chosen !== undefined && !name.endsWith(EXTENSIONS[this.chosen])) continue;
      const file = join(this.path, name);
      const fileInfo = await stat(file).catch((error: unknown) => {
        if (isMissing(error)) return undefined;
        throw error;
      });
      if (fileInfo?.isFile() === true) found.push({ file, size: fileInfo.size, mtime: fileInfo.mtimeMs });
    }
    if (this.chosen === undefined) {
      const chosen = PREFERENCE.find((format) => found.some((f) => formatOfFile(f.file) === format));
      if (chosen === undefined) return [];
      this.chosen = chosen;
    }
    const chosen = this.chosen;
    return found
      .filter((f) => formatOfFile(f.file) === chosen)
      .sort((a, b) => a.mtime - b.mtime || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  }
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

async function readFrom(file: string, offset: number, maxBytes: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const length = Math.min(Math.max(0, size - offset), maxBytes);
    if (length === 0) return Buffer.alloc(0);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, offset);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Reads the server's current log file through SQL, for a collector that does not run on the
 * database host: pg_current_logfile finds it, pg_read_binary_file reads from an offset (bytes,
 * not text: an offset inside a UTF-8 character would make pg_read_file fail). Needs the grants
 * of `sightline setup-sql postgres`.
 */
export class SqlLogReader implements LogReader {
  private position: (Position & { format: LogFormat }) | undefined;

  constructor(private readonly format: LogFormat | 'auto') {}

  async read(session: PostgresSession): Promise<LogChunk[]> {
    const current = await this.currentFile(session);
    if (current === undefined) return [];
    if (this.position === undefined) {
      this.position = { ...current, offset: await fileSize(session, current.file) };
      return [];
    }
    const chunks: LogChunk[] = [];
    let budget = MAX_BYTES_PER_READ;
    if (this.position.file !== current.file) {
      // Rotated: finish the old file first, over as many calls as it takes, then move on.
      const old = this.position;
      const size = await fileSize(session, old.file).catch(orGone);
      if (size !== undefined && size > old.offset) {
        const rest = await readOverSql(
          session,
          old.file,
          old.offset,
          Math.min(budget, size - old.offset),
        ).catch(orGone);
        if (rest !== undefined && rest.length > 0) {
          chunks.push({ file: old.file, format: old.format, bytes: rest });
          old.offset += rest.length;
          budget -= rest.length;
          if (old.offset < size) return chunks;
        }
      }
      this.position = { ...current, offset: 0 };
    }
    if (budget <= 0) return chunks;
    const position = this.position;
    const size = await fileSize(session, position.file);
    // A file that shrank was truncated or replaced: start again from its beginning.
    if (size < position.offset) position.offset = 0;
    const bytes = await readOverSql(
      session,
      position.file,
      position.offset,
      Math.min(budget, size - position.offset),
    );
    position.offset += bytes.length;
    if (bytes.length > 0) chunks.push({ file: position.file, format: position.format, bytes });
    return chunks;
  }

  private async currentFile(
    session: PostgresSession,
  ): Promise<{ file: string; format: LogFormat } | undefined> {
    const formats: LogFormat[] = this.format === 'auto' ? ['jsonlog', 'csvlog', 'stderr'] : [this.format];
    for (const format of formats) {
      const [row] = await session.query(`SELECT pg_current_logfile($1) AS file`, [format]);
      if (typeof row?.file === 'string' && row.file !== '') return { file: row.file, format };
    }
    return undefined;
  }
}

/** undefined when the server says the file is gone (SQLSTATE 58P01, undefined_file); other errors are thrown. */
function orGone(error: unknown): undefined {
  if ((error as { code?: unknown } | undefined)?.code === '58P01') return undefined;
  throw error;
}

async function fileSize(session: PostgresSession, file: string): Promise<number> {
  const [row] = await session.query(`SELECT size FROM pg_stat_file($1)`, [file]);
  return Number(row?.size ?? 0);
}

async function readOverSql(
  session: PostgresSession,
  file: string,
  offset: number,
  length: number,
): Promise<Buffer> {
  if (length <= 0) return Buffer.alloc(0);
  const [row] = await session.query(`SELECT pg_read_binary_file($1, $2::bigint, $3::bigint) AS bytes`, [
    file,
    offset,
    length,
  ]);
  return row?.bytes instanceof Buffer ? row.bytes : Buffer.alloc(0);
}
