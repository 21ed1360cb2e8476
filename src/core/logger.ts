import { pino, type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Logs are JSON lines on stderr, so stdout carries only what a person reads at start-up
 * (addresses, the first API key) and a supervisor can collect the two separately.
 */
export function createLogger(level: LogLevel, destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino({ level, base: { service: 'sightline' } }, destination);
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
