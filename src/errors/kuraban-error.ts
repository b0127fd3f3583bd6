import { ERROR_CODES, type ErrorCode } from './codes.js';

/** One problem detail item: which field or row, and a stable reason. Never a value. */
export interface ErrorDetail {
  readonly field?: string;
  readonly index?: number;
  readonly line?: number;
  readonly reason: string;
}

export interface KurabanErrorOptions {
  readonly cause?: unknown;
  readonly details?: readonly ErrorDetail[];
}

/**
 * The one error type of Kuraban. `message` is written by us and never holds a personal value;
 * `details` name fields and reasons, never values.
 */
export class KurabanError extends Error {
  readonly code: ErrorCode;
  readonly details: readonly ErrorDetail[];

  constructor(code: ErrorCode, message?: string, options: KurabanErrorOptions = {}) {
    super(message ?? ERROR_CODES[code].title, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KurabanError';
    this.code = code;
    this.details = Object.freeze([...(options.details ?? [])]);
  }
}

export function isKurabanError(e: unknown): e is KurabanError {
  return e instanceof KurabanError;
}

/** The single indistinguishable crypto failure (jose-style): same code, same message, whatever failed. */
export const DECRYPTION_FAILED_MESSAGE = 'decryption operation failed';

export function decryptionFailed(cause?: unknown): KurabanError {
  return new KurabanError('DECRYPTION_FAILED', DECRYPTION_FAILED_MESSAGE, cause === undefined ? {} : { cause });
}
