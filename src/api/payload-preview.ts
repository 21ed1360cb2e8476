/** How much of a payload a preview shows. */
export const PREVIEW_MAX_CHARS = 300;
export const PREVIEW_MAX_HEX_BYTES = 64;

export interface PayloadPreview {
  /** `text` for UTF-8 without control characters, `hex` for anything else (protobuf, binary). */
  encoding: 'text' | 'hex';
  value: string;
  /** The payload goes on beyond what `value` shows. */
  truncated: boolean;
}

/** C0 controls but tab, newline and carriage return; DEL; C1 controls: the marks of binary data. */
function isBinaryChar(code: number): boolean {
  if (code === 0x09 || code === 0x0a || code === 0x0d) return false;
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

/** Bidirectional overrides and isolates: shown escaped, so a preview cannot reorder the text around it. */
const BIDI_CHARS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/**
 * A short preview of a dead letter's payload from its first bytes (`head`) and full size: the
 * text when it reads as UTF-8 text (a JSON record of a raw-* topic), else a hex dump of its
 * first bytes (an OTLP protobuf the processor could not decode). Never the whole record: the
 * payload never went through the redact stage.
 */
export function payloadPreview(head: Uint8Array, size: number): PayloadPreview {
  const text = utf8Text(head, head.length < size);
  const chars = text === undefined ? undefined : [...text];
  if (chars !== undefined && !chars.some((c) => isBinaryChar(c.codePointAt(0) ?? 0))) {
    const shown = chars.slice(0, PREVIEW_MAX_CHARS).join('');
    return {
      encoding: 'text',
      value: shown.replace(BIDI_CHARS, (c) => `\\u${c.codePointAt(0)?.toString(16).padStart(4, '0')}`),
      truncated: chars.length > PREVIEW_MAX_CHARS || head.length < size,
    };
  }
  const bytes = head.subarray(0, PREVIEW_MAX_HEX_BYTES);
  return {
    encoding: 'hex',
    value: [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' '),
    truncated: bytes.length < size,
  };
}

/**
 * The bytes as UTF-8, or undefined when they are not. When the head was cut from a longer
 * payload its last character may be cut too: up to three trailing bytes are let go.
 */
function utf8Text(head: Uint8Array, cut: boolean): string | undefined {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (let drop = 0; drop <= Math.min(cut ? 3 : 0, head.length); drop++) {
    try {
      return decoder.decode(head.subarray(0, head.length - drop));
    } catch {
      // Not UTF-8 at this length; a shorter one may be.
    }
  }
  return undefined;
}
