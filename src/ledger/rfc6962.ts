import { createHash, hash } from 'node:crypto';

/** RFC 6962 §2.1 (= RFC 9162 §2.1.1): domain separation of leaves and interior nodes. */
export const RFC6962_LEAF_PREFIX = 0x00;
export const RFC6962_NODE_PREFIX = 0x01;
/** SHA-256 output length; every hash in a proof, tile or checkpoint must be exactly this long. */
export const HASH_BYTES = 32;

/** MTH({}) = SHA-256() — the root of the empty tree (RFC 6962 §2.1). */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

/*
 * Speed (the verifier hashes every entry of a log): node:crypto's one-shot `hash` costs about three times
 * as much with output 'buffer' as with a string output, because Node builds a new ArrayBuffer for each
 * digest. So digests are taken as 'binary' (latin1) strings (one char per byte, lossless) and written into the
 * caller's buffer, and inputs are assembled in reused scratch buffers instead of new ones per call.
 */

/** Input scratch for leaves: grown on demand (an entry is at most 65,535 bytes in a log, any size here). */
let leafScratch = Buffer.allocUnsafeSlow(1 + 4096);
/** Input scratch for interior nodes: 0x01 ‖ left ‖ right. */
const nodeScratch = Buffer.allocUnsafeSlow(1 + 2 * HASH_BYTES);
nodeScratch[0] = RFC6962_NODE_PREFIX;

/** MTH({d}) = SHA-256(0x00 ‖ d) — RFC 6962 §2.1. */
export function leafHash(entry: Uint8Array): Buffer {
  const n = 1 + entry.length;
  if (n > leafScratch.length) leafScratch = Buffer.allocUnsafeSlow(Math.max(n, 2 * leafScratch.length));
  leafScratch[0] = RFC6962_LEAF_PREFIX;
  leafScratch.set(entry, 1);
  return Buffer.from(hash('sha256', leafScratch.subarray(0, n), 'binary'), 'binary');
}

/** Writes MTH({d}) = SHA-256(0x00 ‖ d) to out[at : at + 32] — leafHash without a Buffer per leaf. */
export function leafHashInto(entry: Uint8Array, out: Buffer, at: number): void {
  const n = 1 + entry.length;
  if (n > leafScratch.length) leafScratch = Buffer.allocUnsafeSlow(Math.max(n, 2 * leafScratch.length));
  leafScratch[0] = RFC6962_LEAF_PREFIX;
  leafScratch.set(entry, 1);
  out.write(hash('sha256', leafScratch.subarray(0, n), 'binary'), at, HASH_BYTES, 'binary');
}

/** SHA-256(0x01 ‖ left ‖ right) — RFC 6962 §2.1. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== HASH_BYTES || right.length !== HASH_BYTES) {
    // Not a tree's node (only tests hash other lengths): the plain way.
    const input = Buffer.allocUnsafe(1 + left.length + right.length);
    input[0] = RFC6962_NODE_PREFIX;
    input.set(left, 1);
    input.set(right, 1 + left.length);
    return hash('sha256', input, 'buffer');
  }
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_BYTES);
  return Buffer.from(hash('sha256', nodeScratch, 'binary'), 'binary');
}

/**
 * Writes SHA-256(0x01 ‖ hashes[from : from + 64]) — the parent of the two adjacent 32-byte hashes at
 * `from` — to out[at : at + 32]. `out` may be `hashes` itself with at ≤ from (pairing a level in place).
 */
export function nodeHashInto(hashes: Buffer, from: number, out: Buffer, at: number): void {
  hashes.copy(nodeScratch, 1, from, from + 2 * HASH_BYTES);
  out.write(hash('sha256', nodeScratch, 'binary'), at, HASH_BYTES, 'binary');
}

/**
 * SHA-256(input) as a 32-char 'binary' (latin1) string, one char per byte: the form tile-hasher.ts keeps
 * hashes in while it hashes whole bundles and tiles, from views on inputs it laid out itself (a leaf's
 * 0x00 prefix or a node's 0x01 prefix written in place), so nothing is copied into a scratch buffer
 * first and no Buffer is made per digest.
 */
export function sha256Digest(input: Uint8Array): string {
  return hash('sha256', input, 'binary');
}

/**
 * MTH of leaf hashes (RFC 6962 §2.1): k = the largest power of two smaller than n; the right edge
 * is a smaller subtree, never padded. For tests and small trees; the log computes roots from tiles.
 */
export function rootOfLeafHashes(leaves: readonly Uint8Array[]): Buffer {
  if (leaves.length === 0) return Buffer.from(EMPTY_ROOT);
  if (leaves.length === 1) return Buffer.from(leaves[0] as Uint8Array);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(rootOfLeafHashes(leaves.slice(0, k)), rootOfLeafHashes(leaves.slice(k)));
}
