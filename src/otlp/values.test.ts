import Long from 'long';
import { describe, expect, it } from 'vitest';
import type { AnyValue, KeyValue } from './types.js';
import {
  anyValueToJson,
  attributesDepth,
  attributesToObject,
  bytesToHex,
  stringAttribute,
  toBigInt,
  toNumber,
  valueDepth,
} from './values.js';

/** A value nested `levels` arrays deep around a string, built without recursion. */
function nestedArrays(levels: number): AnyValue {
  let value: AnyValue = { stringValue: 'leaf' };
  for (let i = 0; i < levels; i++) value = { arrayValue: { values: [value] } };
  return value;
}

describe('toBigInt', () => {
  it('reads an unsigned Long exactly, up to the largest uint64', () => {
    expect(toBigInt(Long.fromString('1700000000123456789', true))).toBe(1_700_000_000_123_456_789n);
    expect(toBigInt(Long.MAX_UNSIGNED_VALUE)).toBe(18_446_744_073_709_551_615n);
  });

  it('reads a negative int64 when asked for a signed value', () => {
    expect(toBigInt(Long.fromString('-5'), true)).toBe(-5n);
    expect(toBigInt(Long.MIN_VALUE, true)).toBe(-9_223_372_036_854_775_808n);
  });

  it('reads the same bits as unsigned when the field is unsigned', () => {
    expect(toBigInt(Long.fromInt(-1), false)).toBe(18_446_744_073_709_551_615n);
  });

  it('accepts plain numbers, decimal strings and missing values', () => {
    expect(toBigInt(42)).toBe(42n);
    expect(toBigInt(42.9)).toBe(42n);
    expect(toBigInt('9007199254740993')).toBe(9_007_199_254_740_993n);
    expect(toBigInt(null)).toBe(0n);
    expect(toBigInt(undefined)).toBe(0n);
  });

  it('converts to a number through toNumber', () => {
    expect(toNumber(Long.fromString('-7'), true)).toBe(-7);
    expect(toNumber(Long.fromNumber(123_456, true))).toBe(123_456);
  });
});

describe('bytesToHex', () => {
  it('gives lowercase hex, and an empty string for missing or empty bytes', () => {
    expect(bytesToHex(new Uint8Array([0x5b, 0x8e, 0xff, 0x00]))).toBe('5b8eff00');
    expect(bytesToHex(new Uint8Array(0))).toBe('');
    expect(bytesToHex(null)).toBe('');
    expect(bytesToHex(undefined)).toBe('');
  });

  it('reads only the view, not the whole underlying buffer', () => {
    const buffer = new Uint8Array([1, 2, 3, 4, 5]);
    expect(bytesToHex(buffer.subarray(1, 3))).toBe('0203');
  });
});

describe('anyValueToJson', () => {
  it('maps strings, booleans and doubles to themselves', () => {
    expect(anyValueToJson({ stringValue: 'hello' })).toBe('hello');
    expect(anyValueToJson({ stringValue: '' })).toBe('');
    expect(anyValueToJson({ boolValue: false })).toBe(false);
    expect(anyValueToJson({ doubleValue: 1.5 })).toBe(1.5);
    expect(anyValueToJson({ doubleValue: 0 })).toBe(0);
  });

  it('keeps safe integers as numbers, negative ones included', () => {
    expect(anyValueToJson({ intValue: Long.fromString('-5') })).toBe(-5);
    expect(anyValueToJson({ intValue: Long.fromNumber(Number.MAX_SAFE_INTEGER) })).toBe(
      Number.MAX_SAFE_INTEGER,
    );
  });

  it('turns integers beyond 2^53 into decimal strings that keep every digit', () => {
    expect(anyValueToJson({ intValue: Long.fromString('9007199254740993') })).toBe('9007199254740993');
    expect(anyValueToJson({ intValue: Long.fromString('-9223372036854775808') })).toBe(
      '-9223372036854775808',
    );
  });

  it('turns NaN and infinities into strings', () => {
    expect(anyValueToJson({ doubleValue: NaN })).toBe('NaN');
    expect(anyValueToJson({ doubleValue: Infinity })).toBe('Infinity');
    expect(anyValueToJson({ doubleValue: -Infinity })).toBe('-Infinity');
  });

  it('turns bytes into base64', () => {
    expect(anyValueToJson({ bytesValue: new Uint8Array([0xde, 0xad, 0xbe, 0xef]) })).toBe('3q2+7w==');
  });

  it('maps arrays and key/value lists recursively', () => {
    const value: AnyValue = {
      kvlistValue: {
        values: [
          { key: 'name', value: { stringValue: 'db' } },
          {
            key: 'ports',
            value: { arrayValue: { values: [{ intValue: Long.fromInt(5432) }, { doubleValue: NaN }] } },
          },
          { key: 'inner', value: { kvlistValue: { values: [{ key: 'ok', value: { boolValue: true } }] } } },
        ],
      },
    };
    expect(anyValueToJson(value)).toEqual({ name: 'db', ports: [5432, 'NaN'], inner: { ok: true } });
  });

  it('maps missing and empty values to null', () => {
    expect(anyValueToJson(null)).toBeNull();
    expect(anyValueToJson(undefined)).toBeNull();
    expect(anyValueToJson({})).toBeNull();
  });
});

describe('attributesToObject and stringAttribute', () => {
  const attributes: KeyValue[] = [
    { key: 'service.name', value: { stringValue: 'api' } },
    { key: 'retries', value: { intValue: Long.fromInt(3) } },
    { key: 'service.name', value: { stringValue: 'api-2' } },
  ];

  it('keeps the last value of a repeated key', () => {
    expect(attributesToObject(attributes)).toEqual({ 'service.name': 'api-2', retries: 3 });
  });

  it('reads a string attribute, and gives "" for absent or non-string ones', () => {
    expect(stringAttribute(attributes, 'service.name')).toBe('api');
    expect(stringAttribute(attributes, 'retries')).toBe('');
    expect(stringAttribute(attributes, 'host.name')).toBe('');
    expect(stringAttribute(null, 'host.name')).toBe('');
  });
});

describe('valueDepth and attributesDepth', () => {
  it('counts a scalar as 1 and an array of scalars as 2', () => {
    expect(valueDepth({ stringValue: 'x' }, 16)).toBe(1);
    expect(valueDepth({ arrayValue: { values: [{ intValue: Long.ONE }] } }, 16)).toBe(2);
    expect(valueDepth(null, 16)).toBe(0);
  });

  it('counts the deepest branch of a key/value list', () => {
    const value: AnyValue = {
      kvlistValue: {
        values: [
          { key: 'flat', value: { stringValue: 'x' } },
          { key: 'deep', value: nestedArrays(3) },
        ],
      },
    };
    expect(valueDepth(value, 16)).toBe(5);
  });

  it('reports a depth exactly at the limit as the limit', () => {
    expect(valueDepth(nestedArrays(15), 16)).toBe(16);
  });

  it('stops counting just past the limit for a 10,000-level value without throwing', () => {
    const deep = nestedArrays(10_000);
    const depth = valueDepth(deep, 16);
    expect(depth).toBeGreaterThan(16);
    expect(depth).toBe(17);
  });

  it('gives the deepest attribute value, and stops past the limit', () => {
    const attributes: KeyValue[] = [
      { key: 'a', value: { stringValue: 'x' } },
      { key: 'b', value: nestedArrays(2) },
    ];
    expect(attributesDepth(attributes, 16)).toBe(3);
    expect(attributesDepth([{ key: 'deep', value: nestedArrays(10_000) }], 16)).toBeGreaterThan(16);
    expect(attributesDepth([], 16)).toBe(0);
    expect(attributesDepth(undefined, 16)).toBe(0);
  });
});
