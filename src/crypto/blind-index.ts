import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { HmacSha256 } from './hmac.js';

/**
 * Blind index: HMAC-SHA-256 (RFC 2104, FIPS 198-1) of a normalised value under a per-field key,
 * truncated to 128 bits (NIST SP 800-107r1 §5.3.4: truncation to λ ≥ 64 bits; we keep 128 so that
 * collisions between distinct values stay negligible across billions of records).
 */
export const BLIND_INDEX_BYTES = 16;

export function blindIndex(fieldKey: KeyObject | Buffer, normalised: string): Buffer {
  return createHmac('sha256', fieldKey).update(normalised, 'utf8').digest().subarray(0, BLIND_INDEX_BYTES);
}

/**
 * blindIndex, written into `out` at `at` (BLIND_INDEX_BYTES bytes) instead of returned, under a field
 * key whose HMAC pads are computed once (the ingest path: three digests per record).
 */
export function blindIndexInto(fieldKey: HmacSha256, normalised: string, out: Buffer, at: number): void {
  if (at < 0 || at + BLIND_INDEX_BYTES > out.length) throw new RangeError('blindIndexInto: out of range');
  fieldKey.macInto(normalised, out, at, BLIND_INDEX_BYTES);
}

/** Constant-time equality for secrets and MACs; unequal lengths compare false without early exit on content. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}
