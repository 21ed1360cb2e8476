import type Long from 'long';
import type { AnyValue, KeyValue } from './types.js';

/** A 64-bit protobuf field as decoded: a Long, or a plain number when small or from a test. */
export type Int64 = Long | number | string | null | undefined;

export function toBigInt(value: Int64, signed = false): bigint {
  if (value === null || value === undefined) return 0n;
  if (typeof value === 'number') return BigInt(Math.trunc(value));
  if (typeof value === 'string') return BigInt(value);
  const bits = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
  return signed ? BigInt.asIntN(64, bits) : bits;
}

export function toNumber(value: Int64, signed = false): number {
  return Number(toBigInt(value, signed));
}

export function bytesToHex(bytes: Uint8Array | null | undefined): string {
  if (bytes === null || bytes === undefined || bytes.length === 0) return '';
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * How deeply a value nests: a scalar is 1, an array or map of scalars 2. Stops counting
 * past `limit`, so a hostile value costs no more than the limit to measure.
 */
export function valueDepth(value: AnyValue | null | undefined, limit: number): number {
  if (value === null || value === undefined) return 0;
  const children = value.arrayValue
    ? (value.arrayValue.values ?? [])
    : value.kvlistValue
      ? (value.kvlistValue.values ?? []).map((kv: KeyValue) => kv.value)
      : null;
  if (children === null) return 1;
  if (limit <= 1) return 2;
  let deepest = 0;
  for (const child of children) {
    deepest = Math.max(deepest, valueDepth(child, limit - 1));
    if (deepest >= limit) break;
  }
  return 1 + deepest;
}

export function attributesDepth(attributes: readonly KeyValue[] | null | undefined, limit: number): number {
  let deepest = 0;
  for (const kv of attributes ?? []) {
    deepest = Math.max(deepest, valueDepth(kv.value, limit));
    if (deepest > limit) break;
  }
  return deepest;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * An attribute value as JSON: integers beyond 2^53 become decimal strings so they keep every
 * digit; NaN and infinities become strings, which JSON cannot hold otherwise; bytes become base64.
 */
export function anyValueToJson(value: AnyValue | null | undefined): JsonValue {
  if (value === null || value === undefined) return null;
  if (value.stringValue !== null && value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== null && value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== null && value.intValue !== undefined) {
    const n = toBigInt(value.intValue, true);
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(n)
      : n.toString();
  }
  if (value.doubleValue !== null && value.doubleValue !== undefined) {
    return Number.isFinite(value.doubleValue) ? value.doubleValue : String(value.doubleValue);
  }
  if (value.bytesValue !== null && value.bytesValue !== undefined) {
    return Buffer.from(value.bytesValue).toString('base64');
  }
  if (value.arrayValue !== null && value.arrayValue !== undefined) {
    return (value.arrayValue.values ?? []).map(anyValueToJson);
  }
  if (value.kvlistValue !== null && value.kvlistValue !== undefined) {
    return attributesToObject(value.kvlistValue.values);
  }
  return null;
}

/** Key/value pairs as a JSON object; a repeated key keeps its last value. */
export function attributesToObject(attributes: readonly KeyValue[] | null | undefined): {
  [key: string]: JsonValue;
} {
  const out: { [key: string]: JsonValue } = {};
  for (const kv of attributes ?? []) {
    if (kv.key === null || kv.key === undefined) continue;
    out[kv.key] = anyValueToJson(kv.value);
  }
  return out;
}

/** A string attribute, or '' when absent or not a string. */
export function stringAttribute(attributes: readonly KeyValue[] | null | undefined, key: string): string {
  for (const kv of attributes ?? []) {
    if (kv.key === key) return kv.value?.stringValue ?? '';
  }
  return '';
}

/** JSON with object keys sorted at every level: attribute maps are unordered, so equal maps get equal text. */
export function canonicalJson(value: JsonValue): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const sorted: { [key: string]: JsonValue } = {};
  for (const key of Object.keys(value).sort()) sorted[key] = sortKeys(value[key] ?? null);
  return sorted;
}
