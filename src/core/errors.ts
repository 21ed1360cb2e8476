/**
 * The one catalogue of Sightline's errors. Every error a user or a client can see has a
 * code, an HTTP status and a message that says what happened and what to do next; the HTTP
 * error handlers map these to responses and count them by code.
 */

export const ERROR_STATUS = {
  SL_ERR_CONFIG_INVALID: 500,
  SL_ERR_DATA_DIR_UNUSABLE: 500,
  SL_ERR_DATA_DIR_LOCKED: 500,
  SL_ERR_LISTEN_FAILED: 500,
  SL_ERR_UNAUTHENTICATED: 401,
  /** Authenticated, but the role (or a missing CSRF header) does not allow this; the message says what is needed. */
  SL_ERR_FORBIDDEN: 403,
  SL_ERR_BAD_REQUEST: 400,
  SL_ERR_MALFORMED_BODY: 400,
  SL_ERR_BODY_TOO_LARGE: 413,
  SL_ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  SL_ERR_NOT_FOUND: 404,
  /** The request contradicts what is stored (an email in use, the last owner). */
  SL_ERR_CONFLICT: 409,
  SL_ERR_TOO_MANY_REQUESTS: 429,
  /** A query that would read or return more than the configured limits (api.query). */
  SL_ERR_QUERY_LIMIT: 422,
  /** A query that ran longer than api.query.timeoutSeconds and was stopped. */
  SL_ERR_QUERY_TIMEOUT: 503,
  SL_ERR_BUS_FULL: 503,
  /** The bus did not acknowledge in time (Kafka unreachable, no leader): nothing was made durable. */
  SL_ERR_BUS_UNAVAILABLE: 503,
  SL_ERR_SHUTTING_DOWN: 503,
  SL_ERR_STORE_UNAVAILABLE: 503,
  SL_ERR_INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface SightlineErrorOptions {
  /** For 429/503: when the client should try again. */
  retryAfterSeconds?: number;
  cause?: unknown;
}

export class SightlineError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: SightlineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SightlineError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** True for errors a client should retry later (the only ones answered with 429/503). */
  get retryable(): boolean {
    return this.status === 429 || this.status === 503;
  }
}

export function isSightlineError(error: unknown): error is SightlineError {
  return error instanceof SightlineError;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
