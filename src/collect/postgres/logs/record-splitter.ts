/** One record cut out of the byte stream, decoded. */
export interface SplitRecord {
  text: string;
  /** Bytes the record took in the stream, its terminator included: for resume offsets. */
  bytes: number;
  /** The record was longer than the limit: `text` is its first `maxRecordBytes` bytes. */
  truncated: boolean;
}

/**
 * Finds where records end. Called on successive chunks; it may keep state between calls (a CSV
 * scanner must remember whether it is inside quotes). Returns the index of the terminating byte
 * at or after `from`, or -1 when the chunk ends inside a record.
 */
export type RecordEndScanner = (chunk: Buffer, from: number) => number;

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export const newlineScanner: RecordEndScanner = (chunk, from) => chunk.indexOf(NEWLINE, from);

/**
 * Cuts a byte stream into records without ever holding more than `maxRecordBytes` of one record.
 * It works on bytes, not strings, so a chunk may end anywhere, inside a UTF-8 character too:
 * a record is decoded only once it is complete. A record over the limit keeps its first
 * `maxRecordBytes` (cut at a character boundary), the rest is skipped up to its terminator, and
 * the record comes out flagged `truncated`.
 */
export class RecordSplitter {
  private parts: Buffer[] = [];
  /** Bytes kept in `parts`. */
  private kept = 0;
  /** Bytes of the current record seen so far, kept or skipped. */
  private seen = 0;
  private overflowed = false;

  constructor(
    private readonly maxRecordBytes: number,
    private readonly scan: RecordEndScanner = newlineScanner,
  ) {
    if (!Number.isInteger(maxRecordBytes) || maxRecordBytes < 1) {
      throw new RangeError(`maxRecordBytes must be a positive integer, got ${maxRecordBytes}`);
    }
  }

  /** Bytes of an unfinished record held back (or skipped) until its end arrives. */
  get pendingBytes(): number {
    return this.seen;
  }

  /** Bytes actually held in memory: never more than maxRecordBytes. */
  get bufferedBytes(): number {
    return this.kept;
  }

  push(chunk: Buffer): SplitRecord[] {
    const records: SplitRecord[] = [];
    let start = 0;
    while (start < chunk.length) {
      const end = this.scan(chunk, start);
      if (end === -1) {
        this.keep(chunk, start, chunk.length);
        break;
      }
      this.keep(chunk, start, end);
      this.seen += 1;
      records.push(this.take(true));
      start = end + 1;
    }
    return records;
  }

  /** The unfinished last record, if any: at the end of a file a record may lack its newline. */
  flush(): SplitRecord[] {
    return this.seen === 0 ? [] : [this.take(false)];
  }

  private keep(chunk: Buffer, from: number, to: number): void {
    if (to <= from) return;
    this.seen += to - from;
    const room = this.maxRecordBytes - this.kept;
    if (to - from > room) this.overflowed = true;
    const keepTo = from + Math.min(room, to - from);
    if (keepTo > from) {
      // Copy: the caller may reuse its buffer after push() returns.
      this.parts.push(Buffer.from(chunk.subarray(from, keepTo)));
      this.kept += keepTo - from;
    }
  }

  private take(terminated: boolean): SplitRecord {
    let bytes = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.kept);
    let length = bytes.length;
    if (this.overflowed) {
      length = completeUtf8Length(bytes);
    } else if (terminated && length > 0 && bytes[length - 1] === CARRIAGE_RETURN) {
      length--;
    }
    bytes = bytes.subarray(0, length);
    const record: SplitRecord = {
      text: bytes.toString('utf8'),
      bytes: this.seen,
      truncated: this.overflowed,
    };
    this.parts = [];
    this.kept = 0;
    this.seen = 0;
    this.overflowed = false;
    return record;
  }
}

/** The length of `bytes` without a trailing, incomplete UTF-8 sequence (left by a cut). */
export function completeUtf8Length(bytes: Buffer): number {
  const length = bytes.length;
  // Step back over continuation bytes (10xxxxxx) to the lead byte of the last character.
  let lead = length - 1;
  while (lead >= 0 && length - lead <= 4 && ((bytes[lead] ?? 0) & 0xc0) === 0x80) lead--;
  if (lead < 0) return length;
  const first = bytes[lead] ?? 0;
  const expected = first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : first >= 0xc0 ? 2 : 1;
  return length - lead >= expected ? length : lead;
}

/** Cuts a string to at most `maxBytes` of UTF-8 without splitting a character. */
export function cutToBytes(text: string, maxBytes: number): { text: string; cut: boolean } {
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes) return { text, cut: false };
  const bytes = Buffer.from(text).subarray(0, maxBytes);
  return { text: bytes.subarray(0, completeUtf8Length(bytes)).toString('utf8'), cut: true };
}
