/** A streaming parser: bytes in as they arrive, whole entries out; flush ends the input. */
export interface StreamingParser<E> {
  push(chunk: Buffer): E[];
  flush(): E[];
}

/** Feeds `bytes` to a streaming parser in chunks of the given sizes (cycled), then flushes. */
export function feed<E>(
  parser: StreamingParser<E>,
  bytes: Buffer,
  sizes: readonly number[] = [bytes.length],
): E[] {
  const entries: E[] = [];
  let offset = 0;
  let turn = 0;
  while (offset < bytes.length) {
    const size = Math.max(1, sizes[turn % sizes.length] ?? 1);
    entries.push(...parser.push(bytes.subarray(offset, offset + size)));
    offset += size;
    turn++;
  }
  entries.push(...parser.flush());
  return entries;
}

/** Chunk sizes from a seeded generator, so a failure replays. */
export function randomSizes(seed: number, count = 500, max = 4096): number[] {
  let state = seed >>> 0;
  const sizes: number[] = [];
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    sizes.push(1 + (state % max));
  }
  return sizes;
}
