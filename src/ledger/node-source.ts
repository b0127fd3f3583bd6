import { EMPTY_ROOT, HASH_BYTES, nodeHash } from './rfc6962.js';

/**
 * A complete subtree of the log: the leaves [index·2^level, (index+1)·2^level). Once the log holds
 * (index+1)·2^level entries its hash never changes, whatever the tree size — so one source of these
 * hashes serves proofs and roots for every size up to the newest. C2SP tlog-tiles stores exactly these:
 * hash i of tile N at tile level L is the node (8·L, 256·N + i).
 */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/**
 * Where proof generation reads hashes of complete subtrees: MTH(D[index·2^level : (index+1)·2^level])
 * (RFC 6962 §2.1). It is never asked for an incomplete subtree; it must throw if it does not (yet) hold
 * the node, and return exactly HASH_BYTES bytes. Synchronous on purpose: an asynchronous store (tiles
 * in PostgreSQL or on disk) first fetches the nodes a ProofPlan (or rootNodes) names, in one batch —
 * they fall in at most a few tiles — and then answers from what it fetched.
 */
export interface NodeSource {
  hash(level: number, index: number): Uint8Array;
}

/**
 * The hashes a proof is made of, in proof order. Each element is the right fold of the complete
 * subtrees listed, largest first (RFC 6962 §2.1: an incomplete right-edge subtree D[a:b] splits at the
 * largest power of two below its width, so its hash is c0 ⊕ (c1 ⊕ (… ⊕ ck))); a complete subtree is a
 * list of one.
 */
export type ProofPlan = readonly (readonly NodeId[])[];

/** 2^53 − 1 leaves is the most a JavaScript number can count exactly; levels stop below 53. */
const MAX_LEVEL = 53;

/** The largest power of two ≤ n (n ≥ 1), and its exponent. Arithmetic, not bitwise: n may exceed 2^32. */
function largestPowerOfTwoAtMost(n: number): { width: number; level: number } {
  let width = 1;
  let level = 0;
  while (width * 2 <= n) {
    width *= 2;
    level += 1;
  }
  return { width, level };
}

/** k in RFC 6962 §2.1: the largest power of two strictly smaller than n (n ≥ 2). */
export function splitPoint(n: number): number {
  return largestPowerOfTwoAtMost(n - 1).width;
}

/**
 * The complete subtrees that make up the RFC 6962 subtree D[start:end], largest first. `start` must be
 * aligned as RFC 6962's recursion aligns it (a multiple of the power of two at or above end − start);
 * every range a proof or root needs is. Empty for an empty range.
 */
export function subtreeNodes(start: number, end: number): NodeId[] {
  const out: NodeId[] = [];
  let at = start;
  while (at < end) {
    const { width, level } = largestPowerOfTwoAtMost(end - at);
    if (at % width !== 0) throw new RangeError('subtree range is not aligned as RFC 6962 §2.1 splits the tree');
    out.push(Object.freeze({ level, index: at / width }));
    at += width;
  }
  return out;
}

/** The complete subtrees whose fold is MTH(D[0:size]): one per set bit of size. */
export function rootNodes(size: number): NodeId[] {
  requireTreeSize(size, 'tree size');
  return subtreeNodes(0, size);
}

/** Right fold with the RFC 6962 §2.1 interior-node hash: h0 ⊕ (h1 ⊕ (… ⊕ hk)). */
export function foldSubtrees(hashes: readonly Uint8Array[]): Buffer {
  const last = hashes[hashes.length - 1];
  if (last === undefined) throw new RangeError('nothing to fold');
  let acc: Buffer = Buffer.from(last);
  for (let i = hashes.length - 2; i >= 0; i -= 1) acc = nodeHash(hashes[i] as Uint8Array, acc);
  return acc;
}

/** Reads one node and refuses anything that is not a hash: a corrupt store must not yield a proof. */
function readNode(nodes: NodeSource, id: NodeId): Uint8Array {
  const h = nodes.hash(id.level, id.index);
  if (!(h instanceof Uint8Array) || h.length !== HASH_BYTES) {
    throw new RangeError(`node source returned ${h instanceof Uint8Array ? h.length : typeof h} bytes for node ${id.level}/${id.index}`);
  }
  return h;
}

/** The proof a plan describes, read from `nodes`: one lookup per NodeId, one fold per element. */
export function proofFromPlan(plan: ProofPlan, nodes: NodeSource): Buffer[] {
  return plan.map((element) => foldSubtrees(element.map((id) => readNode(nodes, id))));
}

/** MTH(D[0:size]) from complete-subtree hashes (RFC 6962 §2.1); SHA-256() for the empty tree. */
export function rootAt(size: number, nodes: NodeSource): Buffer {
  const ids = rootNodes(size);
  if (ids.length === 0) return Buffer.from(EMPTY_ROOT);
  return foldSubtrees(ids.map((id) => readNode(nodes, id)));
}

/** Generation-side argument check: a caller bug or an out-of-range request, not a hostile proof. */
export function requireTreeSize(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a safe non-negative integer`);
}

/** Hashes per storage chunk of a MemoryTree level: 4096 × 32 B = 128 KiB, so growth never copies. */
const CHUNK_HASHES = 4096;

interface Level {
  readonly chunks: Buffer[];
  count: number;
}

/**
 * An append-only in-memory node source: every level of complete subtrees, stored as packed 32-byte
 * hashes (about 64 bytes per leaf in total). For tests, benchmarks and small logs; the log proper reads
 * the same nodes from its hash tiles.
 */
export class MemoryTree implements NodeSource {
  readonly #levels: Level[] = [];
  #size = 0;

  /** Number of leaves appended. */
  get size(): number {
    return this.#size;
  }

  /** Appends one leaf hash (RFC 6962 §2.1 MTH({d}) = leafHash(d)) and completes every parent it closes. Returns its index. */
  append(leaf: Uint8Array): number {
    if (!(leaf instanceof Uint8Array) || leaf.length !== HASH_BYTES) throw new RangeError(`a leaf hash is ${HASH_BYTES} bytes`);
    if (this.#size >= Number.MAX_SAFE_INTEGER) throw new RangeError('tree is full');
    let index = this.#push(0, leaf);
    for (let level = 0; index % 2 === 1; level += 1) {
      // The node just stored closes the pair (index − 1, index): their parent is now complete.
      const parent = nodeHash(this.#at(level, index - 1), this.#at(level, index));
      index = this.#push(level + 1, parent);
    }
    const at = this.#size;
    this.#size += 1;
    return at;
  }

  hash(level: number, index: number): Buffer {
    if (!Number.isSafeInteger(level) || level < 0 || level >= MAX_LEVEL) throw new RangeError('node level out of range');
    const stored = this.#levels[level]?.count ?? 0;
    if (!Number.isSafeInteger(index) || index < 0 || index >= stored) {
      throw new RangeError(`node ${level}/${index} is not a complete subtree of a tree of ${this.#size} leaves`);
    }
    return Buffer.from(this.#at(level, index));
  }

  /** MTH(D[0:size]) for any size up to the current one (default: the current one). */
  rootAt(size: number = this.#size): Buffer {
    if (size > this.#size) throw new RangeError(`tree has only ${this.#size} leaves`);
    return rootAt(size, this);
  }

  #push(level: number, h: Uint8Array): number {
    let l = this.#levels[level];
    if (l === undefined) {
      l = { chunks: [], count: 0 };
      this.#levels[level] = l;
    }
    const chunk = Math.floor(l.count / CHUNK_HASHES);
    if (chunk === l.chunks.length) l.chunks.push(Buffer.alloc(CHUNK_HASHES * HASH_BYTES));
    (l.chunks[chunk] as Buffer).set(h, (l.count % CHUNK_HASHES) * HASH_BYTES);
    l.count += 1;
    return l.count - 1;
  }

  /** A view into storage; callers outside the class get copies. */
  #at(level: number, index: number): Buffer {
    const chunk = this.#levels[level]?.chunks[Math.floor(index / CHUNK_HASHES)];
    if (chunk === undefined) throw new RangeError(`node ${level}/${index} is not stored`);
    const offset = (index % CHUNK_HASHES) * HASH_BYTES;
    return chunk.subarray(offset, offset + HASH_BYTES);
  }
}
