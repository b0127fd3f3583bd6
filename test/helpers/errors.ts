import assert from 'node:assert/strict';
import { KurabanError, type ErrorCode, type ErrorDetail } from '../../src/errors/index.js';

/** Runs `fn` and returns the KurabanError it throws; fails if it returns or throws anything else. */
export async function kurabanErrorOf(fn: () => unknown): Promise<KurabanError> {
  let thrown: unknown;
  try {
    await fn();
  } catch (e) {
    thrown = e;
  }
  if (thrown === undefined) assert.fail('expected a KurabanError, but nothing was thrown');
  assert.ok(thrown instanceof KurabanError, `expected a KurabanError, got ${String(thrown)}`);
  return thrown;
}

/** Asserts that `fn` fails with `code` and returns the error for further checks. */
export async function rejectsWithCode(fn: () => unknown, code: ErrorCode): Promise<KurabanError> {
  const e = await kurabanErrorOf(fn);
  assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
  return e;
}

/** The one indistinguishable crypto failure, as an outsider sees it. */
export function decryptionFailureShape(e: KurabanError): string {
  return JSON.stringify({ name: e.name, code: e.code, message: e.message, details: e.details });
}

export const DECRYPTION_FAILURE_SHAPE = JSON.stringify({ name: 'KurabanError', code: 'DECRYPTION_FAILED', message: 'decryption operation failed', details: [] });

/** Asserts that `fn` fails with exactly the indistinguishable DECRYPTION_FAILED error. */
export async function rejectsWithDecryptionFailure(fn: () => unknown): Promise<void> {
  const e = await kurabanErrorOf(fn);
  assert.equal(decryptionFailureShape(e), DECRYPTION_FAILURE_SHAPE);
}

/** The (field, reason) pairs of an error's details, sorted, for order-independent comparison. */
export function reasons(details: readonly ErrorDetail[]): string[] {
  return details.map((d) => `${d.index ?? ''}|${d.field ?? ''}|${d.reason}`).sort();
}
