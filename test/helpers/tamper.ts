import { CIPHERTEXT_OVERHEAD, GCM_NONCE_BYTES, GCM_TAG_BYTES } from '../../src/crypto/index.js';

/** The parts of a v1 ciphertext blob: [0] format, [1..12] nonce, body, 16-byte tag. */
export const BLOB_REGIONS = ['format', 'nonce', 'body', 'tag'] as const;
export type BlobRegion = (typeof BLOB_REGIONS)[number];

export function regionOf(blob: Uint8Array, r: BlobRegion): { start: number; length: number } {
  switch (r) {
    case 'format':
      return { start: 0, length: 1 };
    case 'nonce':
      return { start: 1, length: GCM_NONCE_BYTES };
    case 'body':
      return { start: 1 + GCM_NONCE_BYTES, length: blob.length - CIPHERTEXT_OVERHEAD };
    case 'tag':
      return { start: blob.length - GCM_TAG_BYTES, length: GCM_TAG_BYTES };
  }
}

/** A copy of `blob` with one byte of `region` XORed with `mask` (1..255); undefined if the region is empty. */
export function flipByte(blob: Uint8Array, region: BlobRegion, at: number, mask: number): Buffer | undefined {
  const { start, length } = regionOf(blob, region);
  if (length <= 0) return undefined;
  const out = Buffer.from(blob);
  const i = start + (at % length);
  out[i] = (out[i] as number) ^ (mask & 0xff || 1);
  return out;
}
