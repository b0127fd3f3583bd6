// Merkle inclusion proofs: generation per RFC 6962 §2.1.1, verification per RFC 9162 §2.1.3.2.
// Verification treats every input as hostile (sigstore-js style): lengths and ranges are checked
// before anything is hashed, and every failure is one ProofError with a stable reason.
import { HASH_BYTES, nodeHash } from './rfc6962.js';
import { proofFromPlan, requireTreeSize, splitPoint, subtreeNodes, type NodeId, type NodeSource, type ProofPlan } from './node-source.js';

/** Why a proof was rejected. Closed: callers (HTTP, CLI, witness) may switch on it. */
export type ProofErrorReason =
  /** An index or size is not a safe non-negative integer. */
  | 'INVALID_INTEGER'
  /** leaf index ≥ tree size (RFC 9162 §2.1.3.2 step 1), or size1 > size2. */
  | 'OUT_OF_RANGE'
  /** size1 = 0: a consistency proof from the empty tree proves nothing (transparency-dev/merkle). */
  | 'EMPTY_TREE'
  /** A leaf hash, root or proof element is not exactly HASH_BYTES bytes. */
  | 'HASH_LENGTH'
  /** The proof is not an array, or has more or fewer elements than the sizes call for. */
  | 'PROOF_LENGTH'
  /** The recomputed root (or roots) differ from the ones given. */
  | 'ROOT_MISMATCH';

export const PROOF_ERROR_REASONS: readonly ProofErrorReason[] = Object.freeze([
  'INVALID_INTEGER',
  'OUT_OF_RANGE',
  'EMPTY_TREE',
  'HASH_LENGTH',
  'PROOF_LENGTH',
  'ROOT_MISMATCH',
] as const);

const MESSAGES: Readonly<Record<ProofErrorReason, string>> = Object.freeze({
  INVALID_INTEGER: 'an index or tree size is not a safe non-negative integer',
  OUT_OF_RANGE: 'index or size out of range',
  EMPTY_TREE: 'a consistency proof from the empty tree proves nothing',
  HASH_LENGTH: `a hash is not ${HASH_BYTES} bytes`,
  PROOF_LENGTH: 'the proof has the wrong number of hashes',
  ROOT_MISMATCH: 'the proof does not lead to the given root',
});

/** The one error Merkle proof verification throws. Its message depends only on `reason`. */
export class ProofError extends Error {
  readonly reason: ProofErrorReason;
  constructor(reason: ProofErrorReason) {
    super(`merkle proof rejected: ${MESSAGES[reason]}`);
    this.name = 'ProofError';
    this.reason = reason;
  }
}

// ---- input checks shared by the two verifiers (not part of the ledger's public surface) ----

export function requireInteger(n: unknown): asserts n is number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new ProofError('INVALID_INTEGER');
}

export function requireHash(h: unknown): Uint8Array {
  if (!(h instanceof Uint8Array) || h.length !== HASH_BYTES) throw new ProofError('HASH_LENGTH');
  return h;
}

/** The proof's elements, copied into a plain array once its length is known to be exactly `expected`. */
export function requireProof(proof: unknown, expected: number): Uint8Array[] {
  if (!Array.isArray(proof) || proof.length !== expected) throw new ProofError('PROOF_LENGTH');
  const out: Uint8Array[] = [];
  for (let i = 0; i < expected; i += 1) out.push(requireHash(proof[i]));
  return out;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** LSB(x) for any safe integer (bitwise operators would truncate to 32 bits). */
export function isOdd(x: number): boolean {
  return x % 2 === 1;
}

/** x >> 1 for any safe integer. */
export function half(x: number): number {
  return Math.floor(x / 2);
}

// ---- verification: RFC 9162 §2.1.3.2 ----

/** Where a path element goes when it is combined with the running hash r. */
type Side = 'left' /* r = H(0x01 ‖ p ‖ r) */ | 'right' /* r = H(0x01 ‖ r ‖ p) */;

/**
 * RFC 9162 §2.1.3.2 steps 2–4 without the hashing: walks fn and sn exactly as the RFC does and
 * records, per path element, its side. The walk stops when sn reaches 0, so the number of sides is
 * the only proof length the RFC accepts (step 3a fails a longer path, step 4 a shorter one).
 */
function inclusionSides(leafIndex: number, treeSize: number): Side[] {
  const sides: Side[] = [];
  let fn = leafIndex; // step 2: fn = leaf_index
  let sn = treeSize - 1; // step 2: sn = tree_size − 1
  while (sn > 0) {
    // step 3b: LSB(fn) set, or fn = sn (a right-edge node with no right sibling at this level)
    if (isOdd(fn) || fn === sn) {
      sides.push('left');
      // step 3b: skip the levels where the right edge has no sibling
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sides.push('right');
    }
    fn = half(fn); // step 3c
    sn = half(sn);
  }
  return sides;
}

/** RFC 9162 §2.1.3.2 step 3: fold the path into the leaf hash, side by side. */
function chain(seed: Uint8Array, path: readonly Uint8Array[], sides: readonly Side[]): Buffer {
  let r: Buffer = Buffer.from(seed);
  sides.forEach((side, i) => {
    const p = path[i] as Uint8Array;
    r = side === 'left' ? nodeHash(p, r) : nodeHash(r, p);
  });
  return r;
}

/**
 * The root an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1–3), after checking every input.
 * Throws ProofError; never returns a root for a malformed proof.
 */
export function rootFromInclusionProof(leafIndex: number, treeSize: number, leafHash: Uint8Array, proof: readonly Uint8Array[]): Buffer {
  requireInteger(leafIndex);
  requireInteger(treeSize);
  if (leafIndex >= treeSize) throw new ProofError('OUT_OF_RANGE'); // step 1
  const seed = requireHash(leafHash);
  const sides = inclusionSides(leafIndex, treeSize);
  const path = requireProof(proof, sides.length); // steps 3a and 4: every element consumed, none missing
  return chain(seed, path, sides);
}

/**
 * Verifies that `leafHash` is leaf `leafIndex` of the tree of `treeSize` leaves whose root is `root`
 * (RFC 9162 §2.1.3.2). Returns nothing; throws ProofError.
 */
export function verifyInclusion(leafIndex: number, treeSize: number, leafHash: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): void {
  const expected = requireHash(root);
  const computed = rootFromInclusionProof(leafIndex, treeSize, leafHash, proof);
  if (!sameBytes(computed, expected)) throw new ProofError('ROOT_MISMATCH'); // step 4: r = root_hash
}

// ---- generation: RFC 6962 §2.1.1 ----

/**
 * The complete subtrees an inclusion proof for leaf `leafIndex` of a tree of `treeSize` leaves is made
 * of, leaf to root. RFC 6962 §2.1.1: PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) if m < k, else
 * PATH(m − k, D[k:n]) : MTH(D[0:k]); PATH(0, {d}) = {}. Walked top-down without recursion: O(log n).
 */
export function inclusionProofPlan(leafIndex: number, treeSize: number): ProofPlan {
  requireTreeSize(leafIndex, 'leaf index');
  requireTreeSize(treeSize, 'tree size');
  if (leafIndex >= treeSize) throw new RangeError(`leaf index ${leafIndex} is not below tree size ${treeSize}`);
  const rootToLeaf: NodeId[][] = [];
  let start = 0; // the subtree D[start:end] that holds the leaf
  let end = treeSize;
  while (end - start > 1) {
    const k = start + splitPoint(end - start);
    if (leafIndex < k) {
      rootToLeaf.push(subtreeNodes(k, end)); // sibling MTH(D[k:n]), possibly an incomplete right edge
      end = k;
    } else {
      rootToLeaf.push(subtreeNodes(start, k)); // sibling MTH(D[0:k]), always complete
      start = k;
    }
  }
  return Object.freeze(rootToLeaf.reverse().map((element) => Object.freeze(element)));
}

/** The RFC 6962 §2.1.1 audit path for leaf `leafIndex` in the tree of `treeSize` leaves, read from `nodes`. */
export function inclusionProof(leafIndex: number, treeSize: number, nodes: NodeSource): Buffer[] {
  return proofFromPlan(inclusionProofPlan(leafIndex, treeSize), nodes);
}
