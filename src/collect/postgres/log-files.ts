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

/**
 * Follows a log on this host: a file, or the newest matching file of a directory (which is
 * how logging_collector rotates). The first file seen is read from its end — history before
 * the collector started is not replayed; files that appear later are read from the start.
 */
export class LocalLogReader implements LogReader {
  private position: Position | undefined;

  constructor(
    private readonly path: string,
    private readonly format: LogFormat | 'auto',
  ) {}

  async read(): Promise<LogChunk[]> {
    const newest = await this.newestFile();
    if (newest === undefined) return [];
    const chunks: LogChunk[] = [];
    let budget = MAX_BYTES_PER_READ;
    if (this.position === undefined) {
      this.position = { file: newest, offset: (await stat(newest)).size };
      return [];
    }
    if (this.position.file !== newest) {
      // Finish the rotated-away file first, then move on.
      const rest = await readFrom(this.position.file, this.position.offset, budget).catch(() =>
        Buffer.alloc(0),
      );
      if (rest.length > 0)
        chunks.push({ file: this.position.file, format: this.formatOf(this.position.file), bytes: rest });
      budget -= rest.length;
      if (budget <= 0) {
        this.position.offset += rest.length;
        return chunks;
      }
      this.position = { file: newest, offset: 0 };
    }
    const size = (await stat(newest)).size;
    // A file that shrank was truncated or replaced: start again from its beginning.
    if (size < this.position.offset) this.position.offset = 0;
    const bytes = await readFrom(newest, this.position.offset, budget);
    this.position.offset += bytes.length;
    if (bytes.length > 0) chunks.push({ file: newest, format: this.formatOf(newest), bytes });
    return chunks;
  }

  private formatOf(file: string): LogFormat {
    return this.format === 'auto' ? formatOfFile(file) : this.format;
  }

  private async newestFile(): Promise<string | undefined> {
    const info = await stat(this.path);
    if (!info.isDirectory()) return this.path;
    const wanted = (name: string) =>
      this.format === 'auto'
        ? /\.(json|csv|log)$/.test(name)
        : name.endsWith({ jsonlog: '.json', csvlog: '.csv', stderr: '.log' }[this.format]);
    let best: { file: string; mtime: number } | undefined;
    for (const name of await readdir(this.path)) {
      if (!wanted(name)) continue;
      const file = join(this.path, name);
      const mtime = (await stat(file)).mtimeMs;
      // Prefer the structured formats when the server writes several at once.
      if (best === undefined || mtime > best.mtime || (mtime === best.mtime && rank(file) > rank(best.file)))
        best = { file, mtime };
    }
    return best?.file;
  }
}

function rank(file: string): number {
  return { jsonlog: 2, csvlog: 1, stderr: 0 }[formatOfFile(file)];
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
  private position: Position | undefined;

  constructor(private readonly format: LogFormat | 'auto') {}

  async read(session: PostgresSession): Promise<LogChunk[]> {
    const current = await this.currentFile(session);
    if (current === undefined) return [];
    if (this.position === undefined) {
      this.position = { file: current.file, offset: await fileSize(session, current.file) };
      return [];
    }
    const chunks: LogChunk[] = [];
    if (this.position.file !== current.file) {
      const rest = await readOverSql(
        session,
        this.position.file,
        this.position.offset,
        MAX_BYTES_PER_READ,
      ).catch(() => Buffer.alloc(0));
      if (rest.length > 0) chunks.push({ file: this.position.file, format: current.format, bytes: rest });
      this.position = { file: current.file, offset: 0 };
    }
    const size = await fileSize(session, current.file);
    if (size < this.position.offset) this.position.offset = 0;
    const bytes = await readOverSql(
      session,
      current.file,
      this.position.offset,
      Math.min(MAX_BYTES_PER_READ, size - this.position.offset),
    );
    this.position.offset += bytes.length;
    if (bytes.length > 0) chunks.push({ file: current.file, format: current.format, bytes });
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
