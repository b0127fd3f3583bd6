import { createCipheriv, createDecipheriv, hash, type Cipher, type Decipher } from 'node:crypto';
import { decryptionFailed, isKurabanError } from '../errors/index.js';
import { CIPHERTEXT_FORMAT_V1, open, type AeadKey } from './aead.js';
import { constantTimeEqual } from './blind-index.js';

/**
 * Wrapped-key format 2: AES Key Wrap (NIST SP 800-38F §6.2 "KW"; RFC 3394 §2.2) of the key followed
 * by a 128-bit digest of its context:
 *
 *   [0]      format (0x02)
 *   [1..57]  KW(KEK, key ‖ SHA-256(AAD)[0..16])          (8 bytes longer than its 48-byte input)
 *
 * KW is a deterministic authenticated encryption of its whole input (any change to the 56 bytes
 * unwraps to noise that fails its 64-bit integrity check, RFC 3394 §2.2.3), so the context digest
 * carried inside binds the key to its row (tenant, kind, scope, version) as format 1's GCM AAD does:
 * a wrapped key moved to another row, or another version, is refused. Deterministic is harmless
 * here: what is wrapped is a fresh random key.
 *
 * Why a second format: it can be computed for a whole batch of keys with one AES-ECB cipher object
 * (each of KW's 6n steps is one ECB call over every key's block), where format 1 costs one GCM
 * cipher object per key — as much as encrypting the record itself. New subject keys (one per new
 * person in an import) are wrapped this way; format 1 keys keep opening (openWrappedKey).
 */
export const KEY_WRAP_FORMAT_KW = 0x02;
const KW_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex'); // RFC 3394 §2.2.3.1 default initial value
const SEMIBLOCK = 8; // RFC 3394 §2: 64-bit blocks
const CONTEXT_BYTES = 16;
const KEY_BYTES = 32; // AES-256 data keys (FIPS 197 §5)
const PLAIN_SEMIBLOCKS = (KEY_BYTES + CONTEXT_BYTES) / SEMIBLOCK; // n = 6
const WRAP_STEPS = 6; // RFC 3394 §2.2.1: j = 0..5
/**
 * t (< 256) XORed into A's last byte, as a shift within A's second 32-bit word (the state is moved as
 * words in the machine's byte order: the last byte is the word's high byte on little-endian machines).
 */
const LAST_BYTE_SHIFT = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 24 : 0;
/** Bytes of one format-2 wrapped AES-256 key. */
export const WRAPPED_KEY_KW_BYTES = 1 + (PLAIN_SEMIBLOCKS + 1) * SEMIBLOCK;

/** The context digest format 2 carries after the key: SHA-256(AAD)[0..16], as a latin1 string. */
function contextOf(aad: Uint8Array): string {
  return hash('sha256', aad, 'binary').slice(0, CONTEXT_BYTES);
}

/**
 * Wraps `count` AES-256 keys (32 bytes each, side by side in `keys`) under `kek`, each with its own
 * AAD from `aadOf(i)`, into `out` from `at` (WRAPPED_KEY_KW_BYTES each, side by side).
 */
export function wrapKeysInto(kek: AeadKey, keys: Uint8Array, count: number, aadOf: (i: number) => Uint8Array, out: Buffer, at: number): void {
  if (count === 0) return;
  if (keys.length < count * KEY_BYTES || at < 0 || at + count * WRAPPED_KEY_KW_BYTES > out.length) throw new RangeError('wrapKeysInto: out of range');
  const n = PLAIN_SEMIBLOCKS;
  const source = Buffer.from(keys.buffer, keys.byteOffset, keys.byteLength);
  kwWrap(
    kek,
    n,
    count,
    (r8) => {
      // Each input straight into the working state: key ‖ context digest.
      for (let k = 0; k < count; k++) {
        source.copy(r8, k * n * SEMIBLOCK, k * KEY_BYTES, (k + 1) * KEY_BYTES);
        r8.write(contextOf(aadOf(k)), k * n * SEMIBLOCK + KEY_BYTES, CONTEXT_BYTES, 'latin1');
      }
    },
    (a8, r8) => {
      // Each output straight into `out`, after its format byte.
      for (let k = 0; k < count; k++) {
        const o = at + k * WRAPPED_KEY_KW_BYTES;
        out[o] = KEY_WRAP_FORMAT_KW;
        a8.copy(out, o + 1, k * 16, k * 16 + SEMIBLOCK);
        r8.copy(out, o + 1 + SEMIBLOCK, k * n * SEMIBLOCK, (k + 1) * n * SEMIBLOCK);
      }
    },
  );
}

/**
 * The working state of a batched KW pass (kwWrapMany, kwUnwrapMany), moved as 32-bit words (two per
 * semiblock: a native copy per semiblock would cost more than the AES): `r`, every input's n
 * semiblocks R[1..n]; `blocks`, every input's A ‖ R[i] as the next ECB step takes it. A lives only in
 * `blocks`. Each has a byte view. `step(after)` runs one ECB call over every input and hands `after` a
 * word view of the output B, in which it stores A and R[i] and loads the next step's R beside A (one
 * pass over the inputs per step); the output is wiped after. `zero` wipes the rest.
 */
function kwState(ecb: Cipher | Decipher, count: number, n: number) {
  const r = new Uint32Array(count * n * 2);
  const blocks = new Uint32Array(count * 4);
  const blocks8 = Buffer.from(blocks.buffer);
  ecb.setAutoPadding(false); // no block held back for padding: update() returns every block
  return {
    r,
    blocks,
    r8: Buffer.from(r.buffer),
    blocks8,
    step(after: (b: Uint32Array) => void): void {
      const out = ecb.update(blocks8);
      try {
        if (out.length !== blocks8.length || out.byteOffset % 4 !== 0) throw new Error('unexpected ECB output');
        after(new Uint32Array(out.buffer, out.byteOffset, out.length / 4));
      } finally {
        out.fill(0);
      }
    },
    zero(): void {
      ecb.final();
      r.fill(0);
      blocks.fill(0);
    },
  };
}

/**
 * RFC 3394 §2.2.1 (SP 800-38F Algorithm 6, W) for `count` inputs of `n` semiblocks each (side by side
 * in `plain`), returning their `count` outputs of n + 1 semiblocks side by side. Step 2 runs for all
 * inputs at once: each of its 6n steps is one AES-ECB call over every input's A ‖ R[i].
 */
export function kwWrapMany(kek: AeadKey, plain: Uint8Array, n: number, count: number): Buffer {
  if (n < 2 || n > 40 || plain.length !== count * n * SEMIBLOCK) throw new RangeError('kwWrapMany: bad length'); // n ≥ 2: RFC 3394 §2; t = 6n must fit one byte
  const out = Buffer.alloc(count * (n + 1) * SEMIBLOCK);
  kwWrap(
    kek,
    n,
    count,
    (r8) => r8.set(plain),
    (a8, r8) => {
      // Step 3: C[0] = A, C[i] = R[i].
      for (let k = 0; k < count; k++) {
        a8.copy(out, k * (n + 1) * SEMIBLOCK, k * 16, k * 16 + SEMIBLOCK);
        r8.copy(out, (k * (n + 1) + 1) * SEMIBLOCK, k * n * SEMIBLOCK, (k + 1) * n * SEMIBLOCK);
      }
    },
  );
  return out;
}

/**
 * kwWrapMany's steps 1 and 2 in the working state: `fill` writes every input's P[1..n] into R (n
 * semiblocks per input, side by side), and `emit` reads every output from it — A at 16-byte strides
 * of its first argument, R[1..n] in the second — before it is wiped.
 */
function kwWrap(kek: AeadKey, n: number, count: number, fill: (r8: Buffer) => void, emit: (a8: Buffer, r8: Buffer) => void): void {
  const { r, blocks, r8, blocks8, step, zero } = kwState(createCipheriv('aes-256-ecb', kek, null), count, n);
  try {
    fill(r8); // step 1: R[i] = P[i]
    for (let k = 0; k < count; k++) {
      KW_IV.copy(blocks8, k * 16); // step 1: A = IV
      blocks[k * 4 + 2] = r[k * n * 2] as number; // beside it, R[1] for the first step
      blocks[k * 4 + 3] = r[k * n * 2 + 1] as number;
    }
    for (let j = 0; j < WRAP_STEPS; j++) {
      for (let i = 0; i < n; i++) {
        const t = n * j + i + 1; // RFC 3394 §2.2.1: t = (n*j)+i with i from 1; t ≤ 6n < 256 is A's last byte
        const next = i + 1 < n ? i + 1 : 0; // the R the next step takes (R[1] again after R[n])
        const tWord = t << LAST_BYTE_SHIFT;
        step((b) => {
          // B = AES(K, A | R[i]) for every input
          for (let k = 0; k < count; k++) {
            const k4 = k * 4;
            const base = k * n * 2;
            blocks[k4] = b[k4] as number; // A = MSB(64, B) ^ t
            blocks[k4 + 1] = (b[k4 + 1] as number) ^ tWord;
            r[base + i * 2] = b[k4 + 2] as number; // R[i] = LSB(64, B)
            r[base + i * 2 + 1] = b[k4 + 3] as number;
            blocks[k4 + 2] = r[base + next * 2] as number;
            blocks[k4 + 3] = r[base + next * 2 + 1] as number;
          }
        });
      }
    }
    emit(blocks8, r8);
  } finally {
    zero();
  }
}

/**
 * RFC 3394 §2.2.2 (SP 800-38F Algorithm 7, W⁻¹) for `count` format-2 blobs at once, the inverse of
 * kwWrapMany: each of the 6n steps is one AES-ECB decryption over every input's (A ⊕ t) ‖ R[i].
 * Returns each input's n plaintext semiblocks side by side, and whether its A came back as the initial
 * value (RFC 3394 §2.2.3.1). Checking it is the caller's.
 *
 * Why: node:crypto's `id-aes256-wrap` costs ~6–7 µs per key here (a cipher object per key and 36 AES
 * block calls through the EVP layer); a batch of a thousand keys of people who already have one (an
 * ingest of new records about known residents) spent more on unwrapping than on sealing the records.
 */
export function kwUnwrapMany(kek: AeadKey, blobs: readonly Uint8Array[], n: number): { plain: Buffer; ivOk: Uint8Array } {
  const count = blobs.length;
  // n ≥ 2: RFC 3394 §2; t = 6n must fit one byte. Each blob: a format byte, then n + 1 semiblocks.
  if (n < 2 || n > 40 || blobs.some((blob) => blob.length !== 1 + (n + 1) * SEMIBLOCK)) throw new RangeError('kwUnwrapMany: bad length');
  const { r, blocks, r8, blocks8, step, zero } = kwState(createDecipheriv('aes-256-ecb', kek, null), count, n);
  const last = n * WRAP_STEPS; // t of the first step (j = 5, i = n)
  try {
    // Step 1: A = C[0], R[i] = C[i] (the blob's byte 0 is the format); the first step's input beside A.
    for (let k = 0; k < count; k++) {
      const blob = blobs[k] as Uint8Array;
      blocks8.set(blob.subarray(1, 1 + SEMIBLOCK), k * 16);
      r8.set(blob.subarray(1 + SEMIBLOCK, 1 + (n + 1) * SEMIBLOCK), k * n * SEMIBLOCK);
      blocks8[k * 16 + SEMIBLOCK - 1] = (blocks8[k * 16 + SEMIBLOCK - 1] as number) ^ last; // A ⊕ t
      blocks[k * 4 + 2] = r[(k * n + n - 1) * 2] as number; // R[n]
      blocks[k * 4 + 3] = r[(k * n + n - 1) * 2 + 1] as number;
    }
    for (let j = WRAP_STEPS - 1; j >= 0; j--) {
      for (let i = n - 1; i >= 0; i--) {
        // RFC 3394 §2.2.2: t = n*j+i with i from n down to 1; the next step's t is this one's − 1
        // (0 after the last step: A is left as it came out).
        const nextT = n * j + i;
        const next = i > 0 ? i - 1 : n - 1;
        const nextWord = nextT << LAST_BYTE_SHIFT;
        step((b) => {
          // B = AES⁻¹(K, (A ⊕ t) | R[i]) for every input
          for (let k = 0; k < count; k++) {
            const k4 = k * 4;
            const base = k * n * 2;
            blocks[k4] = b[k4] as number; // A = MSB(64, B), ⊕ the next step's t
            blocks[k4 + 1] = (b[k4 + 1] as number) ^ nextWord;
            r[base + i * 2] = b[k4 + 2] as number; // R[i] = LSB(64, B)
            r[base + i * 2 + 1] = b[k4 + 3] as number;
            blocks[k4 + 2] = r[base + next * 2] as number;
            blocks[k4 + 3] = r[base + next * 2 + 1] as number;
          }
        });
      }
    }
    const ivOk = new Uint8Array(count);
    for (let k = 0; k < count; k++) ivOk[k] = constantTimeEqual(blocks8.subarray(k * 16, k * 16 + SEMIBLOCK), KW_IV) ? 1 : 0;
    return { plain: Buffer.from(r8), ivOk };
  } finally {
    zero();
  }
}

/**
 * Opens many wrapped keys under one KEK, `aadOf(i)` the context of blob i: format-2 blobs together
 * (kwUnwrapMany), any format-1 blob on its own (openWrappedKey). All or nothing: if any blob fails —
 * format, length, integrity, context — the same indistinguishable error is thrown and no key is
 * returned (those already opened are zeroed). Each key is a Buffer of its own.
 */
export function openWrappedKeys(kek: AeadKey, blobs: readonly Uint8Array[], aadOf: (i: number) => Uint8Array): Buffer[] {
  const keys: Buffer[] = new Array(blobs.length);
  const kw: number[] = [];
  try {
    for (let i = 0; i < blobs.length; i++) {
      const blob = blobs[i] as Uint8Array;
      if (blob[0] === KEY_WRAP_FORMAT_KW && blob.length === WRAPPED_KEY_KW_BYTES) kw.push(i);
      else keys[i] = openWrappedKey(kek, blob, aadOf(i));
    }
    if (kw.length > 0) {
      const { plain, ivOk } = kwUnwrapMany(
        kek,
        kw.map((i) => blobs[i] as Uint8Array),
        PLAIN_SEMIBLOCKS,
      );
      try {
        let bad = false;
        for (let k = 0; k < kw.length; k++) {
          const at = k * PLAIN_SEMIBLOCKS * SEMIBLOCK;
          const contextOk = constantTimeEqual(plain.subarray(at + KEY_BYTES, at + KEY_BYTES + CONTEXT_BYTES), Buffer.from(contextOf(aadOf(kw[k] as number)), 'latin1'));
          bad ||= ivOk[k] !== 1 || !contextOk;
          const key = Buffer.alloc(KEY_BYTES);
          plain.copy(key, 0, at, at + KEY_BYTES);
          keys[kw[k] as number] = key;
        }
        if (bad) throw decryptionFailed();
      } finally {
        plain.fill(0);
      }
    }
    return keys;
  } catch (e) {
    for (const key of keys) key?.fill(0);
    throw isKurabanError(e) ? e : decryptionFailed(e);
  }
}

/**
 * Opens a wrapped key of either format: 1 (AES-256-GCM, AAD bound) or 2 (KW with the AAD's digest
 * inside). Every failure — format, length, integrity, context — is the same indistinguishable error.
 */
export function openWrappedKey(kek: AeadKey, blob: Uint8Array, aad: Uint8Array): Buffer {
  if (blob[0] === CIPHERTEXT_FORMAT_V1) return open(kek, blob, aad);
  if (blob.length !== WRAPPED_KEY_KW_BYTES || blob[0] !== KEY_WRAP_FORMAT_KW) throw decryptionFailed();
  let plain: Buffer | undefined;
  try {
    // node:crypto's own KW (OpenSSL's RFC 3394 unwrap, which checks the initial value).
    const d = createDecipheriv('id-aes256-wrap', kek, KW_IV);
    plain = Buffer.concat([d.update(blob.subarray(1)), d.final()]);
  } catch (e) {
    throw decryptionFailed(e);
  }
  const ok = plain.length === KEY_BYTES + CONTEXT_BYTES && constantTimeEqual(plain.subarray(KEY_BYTES), Buffer.from(contextOf(aad), 'latin1'));
  if (!ok) {
    plain.fill(0);
    throw decryptionFailed();
  }
  const key = Buffer.from(plain.subarray(0, KEY_BYTES));
  plain.fill(0);
  return key;
}
