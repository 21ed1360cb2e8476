import { describe, expect, it } from 'vitest';
import { RecordSplitter, completeUtf8Length, cutToBytes } from './record-splitter.js';

describe('RecordSplitter', () => {
  it('joins a record split across chunks, inside a UTF-8 character too', () => {
    const splitter = new RecordSplitter(1024);
    const bytes = Buffer.from('Zoë 日本\nnext\r\n');
    const records = [];
    for (let i = 0; i < bytes.length; i++) records.push(...splitter.push(bytes.subarray(i, i + 1)));
    expect(records.map((r) => r.text)).toEqual(['Zoë 日本', 'next']);
    expect(records.map((r) => r.bytes)).toEqual([Buffer.byteLength('Zoë 日本\n'), 6]);
    expect(splitter.flush()).toEqual([]);
  });

  it('holds at most maxRecordBytes of an endless record and flags it when it ends', () => {
    const splitter = new RecordSplitter(1000);
    const chunk = Buffer.alloc(64 * 1024, '日本語'); // 3-byte characters: the cut falls inside one
    for (let i = 0; i < 80; i++) {
      expect(splitter.push(chunk)).toEqual([]);
      expect(splitter.bufferedBytes).toBeLessThanOrEqual(1000);
    }
    expect(splitter.pendingBytes).toBe(80 * chunk.length);
    const [record, after] = splitter.push(Buffer.from('\nfine\n'));
    expect(record?.truncated).toBe(true);
    expect(Buffer.byteLength(record?.text ?? '')).toBeLessThanOrEqual(1000);
    expect(record?.text).not.toContain('\uFFFD');
    expect(record?.bytes).toBe(80 * chunk.length + 1);
    expect(after).toEqual({ text: 'fine', bytes: 5, truncated: false });
    expect(splitter.pendingBytes).toBe(0);
  });

  it('returns an unterminated last record on flush', () => {
    const splitter = new RecordSplitter(100);
    expect(splitter.push(Buffer.from('a\nb'))).toHaveLength(1);
    expect(splitter.pendingBytes).toBe(1);
    expect(splitter.flush()).toEqual([{ text: 'b', bytes: 1, truncated: false }]);
  });

  it('rejects a limit that is not a positive integer', () => {
    expect(() => new RecordSplitter(0)).toThrow(RangeError);
  });
});

describe('UTF-8 cuts', () => {
  it('drops an incomplete trailing character', () => {
    const bytes = Buffer.from('a日');
    expect(completeUtf8Length(bytes.subarray(0, 3))).toBe(1);
    expect(completeUtf8Length(bytes)).toBe(4);
    expect(cutToBytes('ab日本', 4)).toEqual({ text: 'ab', cut: true });
    expect(cutToBytes('ab', 4)).toEqual({ text: 'ab', cut: false });
  });
});
