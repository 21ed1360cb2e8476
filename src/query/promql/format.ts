/**
 * Number formatting exactly as Prometheus 2.42 writes it. The HTTP API (web/api/v1 marshalValue)
 * uses strconv.AppendFloat(v, fmt, -1, 64) with fmt 'e' when |v| < 1e-6 or |v| >= 1e21 and 'f'
 * otherwise; Go's shortest digits equal JavaScript's, only the spelling differs.
 */

/** Go 'e' exponent has at least two digits: 1e-07, 1.5e+21. */
function goExponent(v: number): string {
  const s = v.toExponential();
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

/** Go strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, never an exponent. */
export function formatGoFloatF(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  const s = String(v);
  const e = s.indexOf('e');
  if (e < 0) return s;
  const negative = s.startsWith('-');
  const mantissa = s.slice(negative ? 1 : 0, e);
  const exponent = Number(s.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = mantissa.replace('.', '');
  // Position of the decimal point relative to the start of `digits`.
  const point = (dot < 0 ? mantissa.length : dot) + exponent;
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${out}` : out;
}

/** A sample value as the Prometheus HTTP API spells it ("NaN", "+Inf", "1e-07", "0.5"). */
export function formatSampleValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) return goExponent(v);
  return formatGoFloatF(v);
}

/** Go strconv.ParseFloat(s, 64) for the spellings bucket labels use; undefined when Go would fail. */
export function parseGoFloat(s: string): number | undefined {
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return Number(s);
  const lower = s.toLowerCase();
  if (/^[+]?inf(inity)?$/.test(lower)) return Infinity;
  if (/^-inf(inity)?$/.test(lower)) return -Infinity;
  if (lower === 'nan') return NaN;
  if (/^[+-]?0x[0-9a-f]+$/.test(lower)) return undefined; // Go requires a p exponent for hex floats.
  return undefined;
}
