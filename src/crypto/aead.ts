import { createCipheriv, createDecipheriv, type KeyObject } from 'node:crypto';
import { decryptionFailed } from '../errors/index.js';
import { randomFillPooled } from './random.js';

/** AES-256-GCM with a 96-bit random nonce: NIST SP 800-38D §5.2.1.1 (IV length 96 bits recommended), §8.2.2 (RBG-based IV). */
export const AES_256_GCM = 'aes-256-gcm';
export const AES_256_KEY_BYTES = 32; // FIPS 197 §5: AES-256 key length
export const GCM_NONCE_BYTES = 12; // NIST SP 800-38D §5.2.1.1
export const GCM_TAG_BYTES = 16; // NIST SP 800-38D §5.2.1.2: full 128-bit tag

/**
 * Kuraban ciphertext format, version 1:
 *   [0]        format version (0x01)
 *   [1..12]    nonce (96 bits, random)
 *   [13..n-16] AES-256-GCM ciphertext
 *   [n-16..n]  authentication tag (128 bits)
 * Everything that gives the bytes their meaning (tenant, collection, record, versions, key version)
 * is bound as additional authenticated data, not stored in the blob.
 */
export const CIPHERTEXT_FORMAT_V1 = 0x01;
const HEADER_BYTES = 1 + GCM_NONCE_BYTES;
export const CIPHERTEXT_OVERHEAD = HEADER_BYTES + GCM_TAG_BYTES;

export type AeadKey = KeyObject | Buffer;

export function seal(key: AeadKey, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(CIPHERTEXT_OVERHEAD + plaintext.length);
  sealInto(key, plaintext, aad, out, 0);
  return out;
}

/**
 * seal(), writing the v1 blob (CIPHERTEXT_OVERHEAD + plaintext.length bytes) into `out` at `at`
 * instead of allocating it: batch sealing puts a batch's ciphertexts side by side in one buffer.
 * Returns the number of bytes written. The nonce is fresh from the CSPRNG for every call.
 */
export function sealInto(key: AeadKey, plaintext: Uint8Array, aad: Uint8Array, out: Uint8Array, at: number): number {
  const total = CIPHERTEXT_OVERHEAD + plaintext.length;
  if (at < 0 || at + total > out.length) throw new RangeError('sealInto: output too small');
  out[at] = CIPHERTEXT_FORMAT_V1;
  randomFillPooled(out, at + 1, GCM_NONCE_BYTES);
  const cipher = createCipheriv(AES_256_GCM, key, out.subarray(at + 1, at + HEADER_BYTES), { authTagLength: GCM_TAG_BYTES });
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  if (body.length !== plaintext.length) throw new Error('unexpected GCM output length');
  out.set(body, at + HEADER_BYTES);
  const fin = cipher.final();
  // GCM is a stream mode: final() yields no bytes.
  if (fin.length > 0) throw new Error('unexpected GCM final block');
  out.set(cipher.getAuthTag(), at + HEADER_BYTES + plaintext.length);
  return total;
}

/** Opens a v1 blob. Every failure (format, length, tag, key) is the same indistinguishable error. */
export function open(key: AeadKey, blob: Uint8Array, aad: Uint8Array): Buffer {
  if (blob.length < CIPHERTEXT_OVERHEAD || blob[0] !== CIPHERTEXT_FORMAT_V1) throw decryptionFailed();
  const buf = Buffer.isBuffer(blob) ? blob : Buffer.from(blob.buffer, blob.byteOffset, blob.length);
  try {
    const nonce = buf.subarray(1, HEADER_BYTES);
    const tag = buf.subarray(buf.length - GCM_TAG_BYTES);
    const decipher = createDecipheriv(AES_256_GCM, key, nonce, { authTagLength: GCM_TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const body = decipher.update(buf.subarray(HEADER_BYTES, buf.length - GCM_TAG_BYTES));
    const fin = decipher.final();
    return fin.length === 0 ? body : Buffer.concat([body, fin]);
  } catch (e) {
    throw decryptionFailed(e);
  }
}
