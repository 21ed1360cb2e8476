/** Small helpers every benchmark uses to wait, summarise and report. */

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** One decimal, for progress lines. */
export function fmt(value: number): string {
  return value.toFixed(1);
}

/** Progress and diagnostics go to stderr; stdout carries only the JSON figures. */
export function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}
