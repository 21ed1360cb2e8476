export type Severity = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'FATAL' | 'UNSPECIFIED';

/** In OTLP order: severity numbers 1–4 are TRACE, 5–8 DEBUG, … 21–24 FATAL. */
export const SEVERITY_BANDS: readonly Severity[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

const BY_TEXT: Record<string, Severity> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  information: 'INFO',
  notice: 'INFO',
  warn: 'WARN',
  warning: 'WARN',
  error: 'ERROR',
  err: 'ERROR',
  fatal: 'FATAL',
  critical: 'FATAL',
  crit: 'FATAL',
  alert: 'FATAL',
  emerg: 'FATAL',
  emergency: 'FATAL',
  panic: 'FATAL',
  unspecified: 'UNSPECIFIED',
};

/** A level name as people and log libraries write it (`warning`, `ERR`, `crit`), or undefined. */
export function severityFromText(text: string): Severity | undefined {
  return BY_TEXT[text.trim().toLowerCase()];
}

/** OTLP's number when it has one (1–24), else the text; the number is filled in from the text. */
export function severityOf(
  severityNumber: number,
  severityText: string,
): { severity: Severity; number: number } {
  if (severityNumber >= 1 && severityNumber <= 24) {
    return {
      severity: SEVERITY_BANDS[Math.floor((severityNumber - 1) / 4)] ?? 'UNSPECIFIED',
      number: severityNumber,
    };
  }
  const fromText = severityFromText(severityText);
  if (fromText === undefined || fromText === 'UNSPECIFIED') return { severity: 'UNSPECIFIED', number: 0 };
  return { severity: fromText, number: SEVERITY_BANDS.indexOf(fromText) * 4 + 1 };
}
