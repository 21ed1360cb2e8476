import { describe, expect, it } from 'vitest';
import { severityFromText, severityOf } from './severity.js';

describe('severityOf', () => {
  it('maps OTLP severity numbers to their bands of four', () => {
    const bands = [1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24].map((n) => severityOf(n, '').severity);
    expect(bands).toEqual([
      'TRACE',
      'TRACE',
      'DEBUG',
      'DEBUG',
      'INFO',
      'INFO',
      'WARN',
      'WARN',
      'ERROR',
      'ERROR',
      'FATAL',
      'FATAL',
    ]);
  });

  it('keeps the number it was given when it is in range', () => {
    expect(severityOf(18, '')).toEqual({ severity: 'ERROR', number: 18 });
    expect(severityOf(9, 'error')).toEqual({ severity: 'INFO', number: 9 });
  });

  it('falls back to the text and fills in the first number of its band', () => {
    expect(severityOf(0, 'warning')).toEqual({ severity: 'WARN', number: 13 });
    expect(severityOf(0, 'ERR')).toEqual({ severity: 'ERROR', number: 17 });
    expect(severityOf(0, ' Info ')).toEqual({ severity: 'INFO', number: 9 });
    expect(severityOf(0, 'crit')).toEqual({ severity: 'FATAL', number: 21 });
    expect(severityOf(0, 'trace')).toEqual({ severity: 'TRACE', number: 1 });
  });

  it('uses the text for numbers outside 1–24', () => {
    expect(severityOf(25, 'debug')).toEqual({ severity: 'DEBUG', number: 5 });
    expect(severityOf(-1, 'notice')).toEqual({ severity: 'INFO', number: 9 });
  });

  it('is UNSPECIFIED with number 0 when neither number nor text says anything', () => {
    expect(severityOf(0, '')).toEqual({ severity: 'UNSPECIFIED', number: 0 });
    expect(severityOf(0, 'verbose-ish')).toEqual({ severity: 'UNSPECIFIED', number: 0 });
    expect(severityOf(0, 'unspecified')).toEqual({ severity: 'UNSPECIFIED', number: 0 });
  });
});

describe('severityFromText', () => {
  it('understands the names log libraries use, in any case', () => {
    expect(severityFromText('WARNING')).toBe('WARN');
    expect(severityFromText('information')).toBe('INFO');
    expect(severityFromText('panic')).toBe('FATAL');
    expect(severityFromText('emerg')).toBe('FATAL');
    expect(severityFromText('loud')).toBeUndefined();
  });
});
