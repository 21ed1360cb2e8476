/** Chart ticks and table cells: short, with k/M/G for large values. */
export function formatNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${(value / 1e9).toFixed(1)}G`;
  if (abs >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  if (abs === 0) return '0';
  if (abs < 0.01) return value.toExponential(1);
  return String(Number(value.toPrecision(4)));
}

/** Sizes and byte rates, in powers of 1024: `1.5 MiB`. */
export function formatBytes(value: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = value;
  let unit = 0;
  while (Math.abs(v) >= 1024 && unit < units.length - 1) {
    v /= 1024;
    unit++;
  }
  return `${formatNumber(v)} ${units[unit] ?? 'B'}`;
}
