import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  EMPTY_ROOT,
  MemoryTree,
  PROOF_ERROR_REASONS,
  ProofError,
  inclusionProof,
  inclusionProofPlan,
  leafHash,
  nodeHash,
  rootAt,
  rootFromInclusionProof,
  rootOfLeafHashes,
  verifyInclusion,
  type ProofErrorReason,
} from '../../src/ledger/index.js';
import { b64, b64List, flipBit, jsonFilesUnder, rfc6962Example, SparseTree, vectorsDir } from './merkle-fixtures.js';

/** Runs `fn` and returns the reason of the ProofError it throws; fails on anything else. */
function reasonOf(fn: () => unknown): ProofErrorReason {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ProofError, `expected a ProofError, got ${String(e)}`);
    assert.ok(PROOF_ERROR_REASONS.includes(e.reason));
    return e.reason;
  }
  return assert.fail('expected a ProofError, but verification succeeded');
}

/** RFC 6962 §2.1.1 PATH(m, D[n]), transcribed recursively over leaf hashes: the test's reference. */
function referencePath(m: number, leaves: readonly Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return m < k
    ? [...referencePath(m, leaves.slice(0, k)), rootOfLeafHashes(leaves.slice(k))]
    : [...referencePath(m - k, leaves.slice(k)), rootOfLeafHashes(leaves.slice(0, k))];
}

/** The shape of PATH(m, D[n]) from the same recursion, leaf to root: true = that sibling is on the left. */
function pathShape(m: number, n: number): boolean[] {
  if (n <= 1) return [];
  let k = 1;
  while (k * 2 < n) k *= 2;
  return m < k ? [...pathShape(m, k), false] : [...pathShape(m - k, n - k), true];
}

const LEAVES = Array.from({ length: 4096 }, (_, i) => leafHash(Buffer.from(`entry ${i}`)));
const TREE = new MemoryTree();
for (const leaf of LEAVES) TREE.append(leaf);

/** (treeSize, leafIndex) with 1 ≤ treeSize ≤ 3000 and leafIndex < treeSize. */
const sizeAndIndex = fc.integer({ min: 1, max: 3000 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 })));

describe('inclusion proofs: transparency-dev/merkle published vectors', () => {
  test('every inclusion/**.json case: happy paths verify, every wantErr case throws a ProofError', async (t) => {
    const files = jsonFilesUnder(join(vectorsDir(), 'merkle', 'inclusion'));
    let ran = 0;
    for (const [name, v] of files) {
      await t.test(name, () => {
        const c = v as { leafIdx: unknown; treeSize: unknown; root: unknown; leafHash: unknown; proof: unknown; wantErr: unknown };
        assert.equal(typeof c.leafIdx, 'number');
        assert.equal(typeof c.treeSize, 'number');
        assert.equal(typeof c.wantErr, 'boolean');
        const run = (): void => verifyInclusion(c.leafIdx as number, c.treeSize as number, b64(c.leafHash), b64List(c.proof), b64(c.root));
        if (c.wantErr === true) reasonOf(run);
        else assert.doesNotThrow(run);
        ran += 1;
      });
    }
    t.diagnostic(`inclusion vectors run: ${ran} of ${files.length} files`);
    assert.ok(files.length > 0, 'no inclusion vectors found');
    assert.equal(ran, files.length);
  });
});

describe('inclusion proofs: RFC 6962 §2.1.3 example (7 leaves)', () => {
  const { leaves, n } = rfc6962Example();
  const tree = new MemoryTree();
  for (const l of leaves) tree.append(l);
  const root = rootOfLeafHashes(leaves);

  test('audit paths for d0, d3, d4 and d6 are [b,h,l], [c,g,l], [f,j,k] and [i,k], and verify', () => {
    const want: [number, Buffer[]][] = [
      [0, [n.b, n.h, n.l]],
      [3, [n.c, n.g, n.l]],
      [4, [n.f, n.j, n.k]],
      [6, [n.i, n.k]],
    ];
    for (const [m, path] of want) {
      assert.deepEqual(inclusionProof(m, 7, tree), path, `PATH(${m}, D7)`);
      verifyInclusion(m, 7, leaves[m] as Buffer, path, root);
    }
    assert.deepEqual(root, nodeHash(n.k, n.l));
    assert.deepEqual(tree.rootAt(), root);
  });
});

describe('inclusion proofs: generation', () => {
  test('matches the RFC 6962 §2.1.1 recursion for every leaf of every tree up to 64 leaves', () => {
    for (let size = 1; size <= 64; size += 1) {
      const leaves = LEAVES.slice(0, size);
      for (let m = 0; m < size; m += 1) assert.deepEqual(inclusionProof(m, size, TREE), referencePath(m, leaves), `PATH(${m}, D${size})`);
    }
  });

  test('property: for random sizes up to 3000, the proof verifies against rootOfLeafHashes', () => {
    fc.assert(
      fc.property(sizeAndIndex, ([size, m]) => {
        const root = rootOfLeafHashes(LEAVES.slice(0, size));
        assert.deepEqual(TREE.rootAt(size), root);
        const proof = inclusionProof(m, size, TREE);
        assert.ok(proof.length <= Math.ceil(Math.log2(size)));
        verifyInclusion(m, size, LEAVES[m] as Buffer, proof, root);
        assert.deepEqual(rootFromInclusionProof(m, size, LEAVES[m] as Buffer, proof), root);
      }),
    );
  });

  test('refuses out-of-range requests with a RangeError (a caller error, not a bad proof)', () => {
    assert.throws(() => inclusionProofPlan(0, 0), RangeError);
    assert.throws(() => inclusionProofPlan(5, 5), RangeError);
    assert.throws(() => inclusionProofPlan(-1, 5), RangeError);
    assert.throws(() => inclusionProofPlan(0.5, 5), RangeError);
    assert.throws(() => inclusionProofPlan(0, 2 ** 53), RangeError);
    assert.throws(() => inclusionProof(0, TREE.size + 1, TREE), RangeError, 'the node source lacks the right edge');
  });

  test('at 10,000,000 and 2^53 − 1 leaves a proof costs O(log n) node lookups and verifies', () => {
    for (const [size, m] of [
      [10_000_000, 9_999_999],
      [10_000_000, 4_321_987],
      [Number.MAX_SAFE_INTEGER, 2 ** 52 + 12_345],
      [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 1],
    ] as const) {
      const tree = new SparseTree(m);
      const proof = inclusionProof(m, size, tree);
      assert.ok(tree.lookups <= 2 * Math.ceil(Math.log2(size)), `${tree.lookups} lookups for ${size} leaves`);
      const root = rootAt(size, tree);
      verifyInclusion(m, size, tree.markedLeaf, proof, root);
      reasonOf(() => verifyInclusion(m - 1, size, tree.markedLeaf, proof, root));
      assert.equal(reasonOf(() => verifyInclusion(m, size, tree.markedLeaf, proof.slice(1), root)), 'PROOF_LENGTH');
      assert.equal(reasonOf(() => verifyInclusion(m, size, tree.markedLeaf, proof, flipBit(root, 255))), 'ROOT_MISMATCH');
    }
  });
});

describe('inclusion proofs: tampering and hostile input', () => {
  test('property: flipping any bit of any proof element, the leaf hash or the root fails', () => {
    fc.assert(
      fc.property(sizeAndIndex, fc.nat(), fc.integer({ min: 0, max: 255 }), ([size, m], which, bit) => {
        const root = rootOfLeafHashes(LEAVES.slice(0, size));
        const proof = inclusionProof(m, size, TREE);
        const leaf = LEAVES[m] as Buffer;
        const target = which % (proof.length + 2);
        if (target < proof.length) {
          const bad = proof.slice();
          bad[target] = flipBit(proof[target] as Buffer, bit);
          assert.equal(reasonOf(() => verifyInclusion(m, size, leaf, bad, root)), 'ROOT_MISMATCH');
        } else if (target === proof.length) {
          assert.equal(reasonOf(() => verifyInclusion(m, size, flipBit(leaf, bit), proof, root)), 'ROOT_MISMATCH');
        } else {
          assert.equal(reasonOf(() => verifyInclusion(m, size, leaf, proof, flipBit(root, bit))), 'ROOT_MISMATCH');
        }
      }),
    );
  });

  test('property: another index at the same size always fails', () => {
    fc.assert(
      fc.property(sizeAndIndex, fc.integer({ min: 1, max: 4000 }), ([size, m], delta) => {
        fc.pre(size > 1);
        const other = (m + delta) % size === m ? (m + 1) % size : (m + delta) % size;
        const proof = inclusionProof(m, size, TREE);
        reasonOf(() => verifyInclusion(other, size, LEAVES[m] as Buffer, proof, rootOfLeafHashes(LEAVES.slice(0, size))));
      }),
    );
  });

  test('property: another (index, size) fails exactly when the RFC 6962 path shape differs', () => {
    // RFC 9162 §2.1.3.2 recomputes the root from the path's shape alone, so a proof for (0, 5) also
    // "verifies" as (0, 6) against the size-5 root: the size is bound by the signed checkpoint the
    // root comes from, not by the proof. Every other change must fail.
    fc.assert(
      fc.property(sizeAndIndex, sizeAndIndex, ([size, m], [size2, m2]) => {
        fc.pre(size !== size2 || m !== m2);
        const root = rootOfLeafHashes(LEAVES.slice(0, size));
        const proof = inclusionProof(m, size, TREE);
        const sameShape = JSON.stringify(pathShape(m2, size2)) === JSON.stringify(pathShape(m, size));
        if (sameShape) verifyInclusion(m2, size2, LEAVES[m] as Buffer, proof, root);
        else reasonOf(() => verifyInclusion(m2, size2, LEAVES[m] as Buffer, proof, root));
      }),
    );
    const root5 = rootOfLeafHashes(LEAVES.slice(0, 5));
    verifyInclusion(0, 6, LEAVES[0] as Buffer, inclusionProof(0, 5, TREE), root5);
  });

  test('indexes and sizes must be safe non-negative integers', () => {
    const leaf = LEAVES[0] as Buffer;
    const root = TREE.rootAt(1);
    for (const bad of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '0' as unknown as number, 0n as unknown as number]) {
      assert.equal(reasonOf(() => verifyInclusion(bad, 1, leaf, [], root)), 'INVALID_INTEGER', String(bad));
      assert.equal(reasonOf(() => verifyInclusion(0, bad, leaf, [], root)), 'INVALID_INTEGER', String(bad));
    }
    assert.equal(reasonOf(() => verifyInclusion(0, 0, leaf, [], EMPTY_ROOT)), 'OUT_OF_RANGE');
    assert.equal(reasonOf(() => verifyInclusion(1, 1, leaf, [], root)), 'OUT_OF_RANGE');
    verifyInclusion(0, 1, leaf, [], root);
  });

  test('every hash must be exactly 32 bytes; every proof element must be consumed', () => {
    const size = 1000;
    const m = 377;
    const root = TREE.rootAt(size);
    const leaf = LEAVES[m] as Buffer;
    const proof = inclusionProof(m, size, TREE);
    verifyInclusion(m, size, leaf, proof, root);
    assert.equal(reasonOf(() => verifyInclusion(m, size, leaf.subarray(0, 31), proof, root)), 'HASH_LENGTH');
    assert.equal(reasonOf(() => verifyInclusion(m, size, Buffer.concat([leaf, Buffer.of(0)]), proof, root)), 'HASH_LENGTH');
    assert.equal(reasonOf(() => verifyInclusion(m, size, leaf, proof, Buffer.concat([root, Buffer.of(0)]))), 'HASH_LENGTH');
    assert.equal(reasonOf(() => verifyInclusion(m, size, leaf, proof, 'root' as unknown as Buffer)), 'HASH_LENGTH');
    const short = proof.slice();
    short[1] = (proof[1] as Buffer).subarray(1);
    assert.equal(reasonOf(() => verifyInclusion(m, size, leaf, short, root)), 'HASH_LENGTH');
    const notBytes = [...proof] as unknown[];
    notBytes[0] = Array.from(proof[0] as Buffer);
    assert.equal(reasonOf(() => verifyInclusion(m, size, leaf, notBytes as Buffer[], root)), 'HASH_LENGTH');
    assert.equal(reasonOf(() => verifyInclusion(m, size, leaf, [...proof, root], root)), 'PROOF_LENGTH');
    assert.equal(reasonOf(() => verifyInclusion(m, size, leaf, [root, ...proof], root)), 'PROOF_LENGTH');
    assert.equal(reasonOf(() => verifyInclusion(m, size, leaf, proof.slice(0, -1), root)), 'PROOF_LENGTH');
    assert.equal(reasonOf(() => verifyInclusion(m, size, leaf, null as unknown as Buffer[], root)), 'PROOF_LENGTH');
    // A million-element proof is refused by its length, before any element is read or hashed.
    const huge = new Proxy(new Array<Buffer>(1_000_000), {
      get: (target, key, receiver) => (typeof key === 'string' && /^\d+$/.test(key) ? assert.fail('element read') : Reflect.get(target, key, receiver)),
    });
    assert.equal(reasonOf(() => verifyInclusion(m, size, leaf, huge, root)), 'PROOF_LENGTH');
  });

  test('ProofError: one class, a stable message per reason, nothing from the input', () => {
    const e = new ProofError('ROOT_MISMATCH');
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'ProofError');
    assert.equal(e.reason, 'ROOT_MISMATCH');
    assert.ok(Object.isFrozen(PROOF_ERROR_REASONS));
    const messages = new Set(PROOF_ERROR_REASONS.map((r) => new ProofError(r).message));
    assert.equal(messages.size, PROOF_ERROR_REASONS.length);
  });
});

describe('MemoryTree (the in-memory node source)', () => {
  test('stores every level: hash(l, i) is the root of leaves [i·2^l, (i+1)·2^l)', () => {
    for (let level = 0; level <= 5; level += 1) {
      const width = 2 ** level;
      for (let i = 0; (i + 1) * width <= 200; i += 1) {
        assert.deepEqual(TREE.hash(level, i), rootOfLeafHashes(LEAVES.slice(i * width, (i + 1) * width)), `${level}/${i}`);
      }
    }
    assert.equal(TREE.size, 4096);
    assert.deepEqual(TREE.hash(12, 0), rootOfLeafHashes(LEAVES));
  });

  test('roots at every size match rootOfLeafHashes; the empty tree is SHA-256()', () => {
    const tree = new MemoryTree();
    assert.deepEqual(tree.rootAt(), EMPTY_ROOT);
    for (let size = 1; size <= 300; size += 1) {
      assert.equal(tree.append(LEAVES[size - 1] as Buffer), size - 1);
      assert.deepEqual(tree.rootAt(), rootOfLeafHashes(LEAVES.slice(0, size)), `root at ${size}`);
    }
    for (let size = 0; size <= 300; size += 7) assert.deepEqual(tree.rootAt(size), rootOfLeafHashes(LEAVES.slice(0, size)));
    assert.throws(() => tree.rootAt(301), RangeError);
  });

  test('refuses incomplete or absent nodes, bad leaf hashes, and hands out copies', () => {
    const tree = new MemoryTree();
    for (const l of LEAVES.slice(0, 5)) tree.append(l);
    assert.throws(() => tree.hash(0, 5), RangeError);
    assert.throws(() => tree.hash(1, 2), RangeError, 'leaves 4..5 are not both present');
    assert.throws(() => tree.hash(3, 0), RangeError);
    assert.throws(() => tree.hash(-1, 0), RangeError);
    assert.throws(() => tree.hash(0, 0.5), RangeError);
    assert.throws(() => tree.append(Buffer.alloc(31)), RangeError);
    const h = tree.hash(2, 0);
    h.fill(0);
    assert.deepEqual(tree.hash(2, 0), rootOfLeafHashes(LEAVES.slice(0, 4)));
  });

  test('a node source that returns something other than 32 bytes cannot produce a proof', () => {
    assert.throws(() => inclusionProof(0, 2, { hash: () => Buffer.alloc(31) }), RangeError);
  });
});
