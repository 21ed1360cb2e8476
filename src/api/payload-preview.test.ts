import { describe, expect, it } from 'vitest';
import { PREVIEW_MAX_CHARS, PREVIEW_MAX_HEX_BYTES, payloadPreview } from './payload-preview.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('payloadPreview', () => {
  it('shows a JSON record as its text', () => {
    const body = utf8('{"fingerprint":"","query":"select 1"}');
    expect(payloadPreview(body, body.length)).toEqual({
      encoding: 'text',
      value: '{"fingerprint":"","query":"select 1"}',
      truncated: false,
    });
  });

  it('shows a protobuf as the hex of its first bytes', () => {
    const body = new Uint8Array([0x0a, 0x12, 0xff, 0x00, 0x07]);
    expect(payloadPreview(body, 900)).toEqual({ encoding: 'hex', value: '0a 12 ff 00 07', truncated: true });
  });

  it('cuts long text and long binary and says so', () => {
    const text = utf8('x'.repeat(PREVIEW_MAX_CHARS + 5));
    const shown = payloadPreview(text, text.length);
    expect(shown.value).toHaveLength(PREVIEW_MAX_CHARS);
    expect(shown.truncated).toBe(true);
    const binary = new Uint8Array(200).fill(1);
    const hex = payloadPreview(binary, 200);
    expect(hex.value.split(' ')).toHaveLength(PREVIEW_MAX_HEX_BYTES);
    expect(hex.truncated).toBe(true);
  });

  it('reads text whose last character the head cut in two', () => {
    const full = utf8('zażółć gęślą');
    const head = full.subarray(0, full.length - 1);
    const shown = payloadPreview(head, full.length);
    expect(shown).toEqual({ encoding: 'text', value: 'zażółć gęśl', truncated: true });
  });

  it('treats control characters as binary and escapes bidirectional overrides', () => {
    expect(payloadPreview(utf8('ok\u0000then'), 7).encoding).toBe('hex');
    expect(payloadPreview(utf8('ok\u001b[31mred'), 10).encoding).toBe('hex');
    expect(payloadPreview(utf8('a\u202eb\ttab\nline'), 14).value).toBe('a\\u202eb\ttab\nline');
  });
});
