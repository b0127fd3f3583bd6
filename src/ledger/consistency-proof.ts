// Merkle consistency proofs: generation per RFC 6962 §2.1.2, verification per RFC 9162 §2.1.4.2,
// with the edge rules the transparency-dev/merkle vectors require (size1 = 0 always fails; equal sizes
// need an empty proof and equal roots). Inputs are hostile; every failure is one ProofError.
import { nodeHash } from './rfc6962.js';
import { proofFromPlan, requireTreeSize, splitPoint, subtreeNodes, type NodeId, type NodeSource, type ProofPlan } from './node-source.js';
import { half, isOdd, ProofError, requireHash, requireInteger, requireProof, sameBytes } from './inclusion-proof.js';

// ---- verification: RFC 9162 §2.1.4.2 ----

/** What one path element after the first does to the two running hashes. */
type Step = 'both' /* fr = H(0x01 ‖ c ‖ fr), sr = H(0x01 ‖ c ‖ sr) */ | 'second' /* sr = H(0x01 ‖ sr ‖ c) */;

/** size is an exact power of two (arithmetic, so sizes above 2^32 work). */
function isPowerOfTwo(size: number): boolean {
  let x = size;
  while (x > 1 && !isOdd(x)) x = half(x);
  return x === 1;
}

/**
 * RFC 9162 §2.1.4.2 steps 2–6 without the hashing, for 0 < size1 < size2: whether first_hash is
 * prepended to the path (step 2), then the effect of each later element. The walk stops when sn
 * reaches 0, so 1 + steps.length is the only path length the RFC accepts (6a fails a longer path,
 * step 7 a shorter one).
 */
function consistencySteps(size1: number, size2: number): { prependRoot1: boolean; steps: Step[] } {
  const prependRoot1 = isPowerOfTwo(size1); // step 2: first is an exact power of 2
  let fn = size1 - 1; // step 3
  let sn = size2 - 1;
  while (isOdd(fn)) {
    // step 4: skip the levels where the old tree's right edge is a left child
    fn = half(fn);
    sn = half(sn);
  }
  const steps: Step[] = [];
  while (sn > 0) {
    // step 6b: LSB(fn) set, or fn = sn
    if (isOdd(fn) || fn === sn) {
      steps.push('both');
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      steps.push('second');
    }
    fn = half(fn); // step 6c
    sn = half(sn);
  }
  return { prependRoot1, steps };
}

/**
 * Verifies that the tree of `size2` leaves with root `root2` extends the tree of `size1` leaves with
 * root `root1` (RFC 9162 §2.1.4.2). Returns nothing; throws ProofError.
 *
 * Equal sizes: RFC 9162 leaves this case to the caller; like transparency-dev/merkle (whose published
 * vectors we pass) the proof must be empty and the two roots byte-for-byte equal — nothing is hashed,
 * so their length is not checked (vector consistency/additional/sizes-are-equal-one-and-proof-is-empty
 * passes 12-byte roots and expects success). Checkpoint parsing guarantees 32-byte roots upstream.
 */
export function verifyConsistency(size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): void {
  requireInteger(size1);
  requireInteger(size2);
  if (size1 === 0) throw new ProofError('EMPTY_TREE'); // even 0 → 0: the empty tree is consistent with anything
  if (size1 > size2) throw new ProofError('OUT_OF_RANGE');
  if (size1 === size2) {
    requireProof(proof, 0);
    if (!(root1 instanceof Uint8Array) || !(root2 instanceof Uint8Array)) throw new ProofError('HASH_LENGTH');
    if (!sameBytes(root1, root2)) throw new ProofError('ROOT_MISMATCH');
    return;
  }
  const first = requireHash(root1);
  const second = requireHash(root2);
  if (!Array.isArray(proof) || proof.length === 0) throw new ProofError('PROOF_LENGTH'); // step 1: empty path fails
  const { prependRoot1, steps } = consistencySteps(size1, size2);
  const given = requireProof(proof, steps.length + (prependRoot1 ? 0 : 1)); // every element consumed, none missing
  const path = prependRoot1 ? [first, ...given] : given; // step 2
  let fr: Buffer = Buffer.from(path[0] as Uint8Array); // step 5: fr = sr = path[0]
  let sr: Buffer = fr;
  steps.forEach((step, i) => {
    const c = path[i + 1] as Uint8Array; // step 6: each subsequent c
    if (step === 'both') {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
    } else {
      sr = nodeHash(sr, c);
    }
  });
  // step 7: fr = first_hash and sr = second_hash (sn = 0 holds by the length check)
  if (!sameBytes(fr, first) || !sameBytes(sr, second)) throw new ProofError('ROOT_MISMATCH');
}

// ---- generation: RFC 6962 §2.1.2 ----

/**
 * The complete subtrees a consistency proof from `size1` to `size2` is made of, in proof order.
 * RFC 6962 §2.1.2: PROOF(m, D[n]) = SUBPROOF(m, D[n], true); SUBPROOF(m, D[m], true) = {},
 * SUBPROOF(m, D[m], false) = {MTH(D[m])}; for m < n, SUBPROOF(m, D[0:k], b) : MTH(D[k:n]) if m ≤ k,
 * else SUBPROOF(m − k, D[k:n], false) : MTH(D[0:k]). Walked top-down without recursion: O(log n).
 * size1 = size2 gives the empty proof; size1 = 0 is refused (no verifier accepts a proof from 0).
 */
export function consistencyProofPlan(size1: number, size2: number): ProofPlan {
  requireTreeSize(size1, 'size1');
  requireTreeSize(size2, 'size2');
  if (size1 === 0) throw new RangeError('a consistency proof from the empty tree proves nothing; send none');
  if (size1 > size2) throw new RangeError(`size1 ${size1} exceeds size2 ${size2}`);
  const rootToLeaf: NodeId[][] = [];
  let start = 0; // the subtree D[start:end] the recursion is in; size1 − start of its leaves are old
  let end = size2;
  let whole = true; // b in SUBPROOF: still on the left edge, where MTH(D[m]) is the old root itself
  for (;;) {
    const m = size1 - start;
    if (m === end - start) {
      if (!whole) rootToLeaf.push(subtreeNodes(start, end)); // SUBPROOF(m, D[m], false) = {MTH(D[m])}
      break;
    }
    const k = start + splitPoint(end - start);
    if (size1 <= k) {
      rootToLeaf.push(subtreeNodes(k, end)); // MTH(D[k:n]), possibly an incomplete right edge
      end = k;
    } else {
      rootToLeaf.push(subtreeNodes(start, k)); // MTH(D[0:k]), complete
      start = k;
      whole = false;
    }
  }
  return Object.freeze(rootToLeaf.reverse().map((element) => Object.freeze(element)));
}

/** The RFC 6962 §2.1.2 consistency proof from the tree of `size1` leaves to that of `size2`, read from `nodes`. */
export function consistencyProof(size1: number, size2: number, nodes: NodeSource): Buffer[] {
  return proofFromPlan(consistencyProofPlan(size1, size2), nodes);
}
