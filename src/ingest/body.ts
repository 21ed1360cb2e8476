import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate, type ZlibOptions } from 'node:zlib';
import { SightlineError } from '../core/errors.js';

const DECODERS: Record<string, (buffer: Buffer, options: ZlibOptions) => Promise<Buffer>> = {
  gzip: promisify<Buffer, ZlibOptions, Buffer>(gunzip),
  'x-gzip': promisify<Buffer, ZlibOptions, Buffer>(gunzip),
  deflate: promisify<Buffer, ZlibOptions, Buffer>(inflate),
  br: promisify<Buffer, ZlibOptions, Buffer>(brotliDecompress),
};

export const SUPPORTED_ENCODINGS = ['identity', ...Object.keys(DECODERS)];

/**
 * Reads a request body, decompressing it, and refuses it as soon as it is larger than
 * `maxBytes`, counted before and after decompression: a small gzip that inflates to
 * gigabytes (a gzip bomb) stops at the limit and never takes more memory than that.
 */
export async function readBody(
  stream: Readable,
  contentEncoding: string | undefined,
  maxBytes: number,
): Promise<Buffer> {
  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase() || 'identity';
  const decode = encoding === 'identity' ? undefined : DECODERS[encoding];
  if (encoding !== 'identity' && decode === undefined) {
    discardRest(stream, maxBytes);
    throw new SightlineError(
      'SL_ERR_UNSUPPORTED_MEDIA_TYPE',
      `Content-Encoding "${contentEncoding ?? ''}" is not supported: send ${SUPPORTED_ENCODINGS.join(', ')}`,
    );
  }
  const raw = await collect(stream, maxBytes);
  if (decode === undefined) return raw;
  try {
    // Large output chunks: the default 16 KiB means a callback into JavaScript every 16 KiB inflated.
    return await decode(raw, { maxOutputLength: maxBytes, chunkSize: 256 * 1024 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw tooLarge(maxBytes, 'after decompression');
    throw new SightlineError(
      'SL_ERR_MALFORMED_BODY',
      `the body is not valid ${encoding} data (${(error as Error).message}); compress it as Content-Encoding says or drop that header`,
    );
  }
}

function collect(stream: Readable, maxBytes: number): Promise<Buffer> {
  // Events, not `for await`: leaving an async iterator early destroys the stream, and with it
  // the socket the error response has to go out on.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      stream.off('data', onData).off('end', onEnd).off('error', reject);
      chunks.length = 0;
      discardRest(stream, maxBytes);
      reject(tooLarge(maxBytes, 'as sent'));
    };
    const onEnd = (): void => resolve(Buffer.concat(chunks, size));
    stream.on('data', onData).once('end', onEnd).once('error', reject);
  });
}

/**
 * Reads and drops what the client is still sending, so it gets to read the error response:
 * closing a socket with unread data makes the client see a reset instead. A client that
 * keeps sending more than `limit` further bytes is cut off.
 */
function discardRest(stream: Readable, limit: number): void {
  let dropped = 0;
  stream.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > limit) stream.destroy();
  });
  stream.resume();
}

export function tooLarge(maxBytes: number, when: string): SightlineError {
  return new SightlineError(
    'SL_ERR_BODY_TOO_LARGE',
    `the request body is larger than ${maxBytes} bytes ${when} (ingest.maxBodyBytes); send smaller batches`,
  );
}
