import { createHash, hash } from 'node:crypto';

/** RFC 6962 §2.1 (= RFC 9162 §2.1.1): domain separation of leaves and interior nodes. */
export const RFC6962_LEAF_PREFIX = 0x00;
export const RFC6962_NODE_PREFIX = 0x01;
/** SHA-256 output length; every hash in a proof, tile or checkpoint must be exactly this long. */
export const HASH_BYTES = 32;

/** MTH({}) = SHA-256() — the root of the empty tree (RFC 6962 §2.1). */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

/** MTH({d}) = SHA-256(0x00 ‖ d) — RFC 6962 §2.1. */
export function leafHash(entry: Uint8Array): Buffer {
  // One-shot crypto.hash (Node ≥ 20.12) over prefix ‖ entry: half the cost of a Hash object per leaf.
  const input = Buffer.allocUnsafe(1 + entry.length);
  input[0] = RFC6962_LEAF_PREFIX;
  input.set(entry, 1);
  return hash('sha256', input, 'buffer');
}

/** SHA-256(0x01 ‖ left ‖ right) — RFC 6962 §2.1. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  const input = Buffer.allocUnsafe(1 + left.length + right.length);
  input[0] = RFC6962_NODE_PREFIX;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return hash('sha256', input, 'buffer');
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
