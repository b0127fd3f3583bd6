export { ERROR_CODES, statusOf } from './codes.js';
export type { ErrorCode } from './codes.js';
export { KurabanError, isKurabanError, decryptionFailed, DECRYPTION_FAILED_MESSAGE } from './kuraban-error.js';
export type { ErrorDetail, KurabanErrorOptions } from './kuraban-error.js';
