// Shared by the inclusion- and consistency-proof tests: where the published vectors live, the RFC 6962
// §2.1.3 seven-leaf example, and node sources for trees far larger than memory.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { leafHash, nodeHash, type NodeSource } from '../../src/ledger/index.js';

export { vectorsDir } from '../helpers/project-root.js';

/** Every *.json file under `dir`, recursively, as [path relative to dir, parsed JSON], sorted by path. */
export function jsonFilesUnder(dir: string): [string, unknown][] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.json')) out.push(p);
    }
  };
  walk(dir);
  return out.sort().map((p) => [relative(dir, p), JSON.parse(readFileSync(p, 'utf8')) as unknown]);
}

/** Strict standard base64 (RFC 4648 §4) as Go's encoding/json writes []byte; Node's decoder alone skips junk. */
export function b64(s: unknown): Buffer {
  if (typeof s !== 'string' || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) {
    throw new Error(`not base64: ${String(s)}`);
  }
  return Buffer.from(s, 'base64');
}

/** A JSON null proof is Go's nil slice: no elements. */
export function b64List(v: unknown): Buffer[] {
  if (v === null) return [];
  if (!Array.isArray(v)) throw new Error('proof is neither an array nor null');
  return v.map(b64);
}

/** A copy of `h` with bit `bit` (0..8·len−1) flipped. */
export function flipBit(h: Uint8Array, bit: number): Buffer {
  const out = Buffer.from(h);
  const i = Math.floor(bit / 8);
  out[i] = (out[i] as number) ^ (1 << (bit % 8));
  return out;
}

/**
 * RFC 6962 §2.1.3's seven-leaf tree d0…d6, nodes named as in its figure:
 *            root                    a…f = leaves d0…d5, j = leaf d6,
 *          k       l                 g = H(a,b), h = H(c,d), i = H(e,f),
 *        g   h   i   j               k = H(g,h), l = H(i,j)
 *       a b c d e f  d6
 */
export function rfc6962Example(): { leaves: Buffer[]; n: Record<'a' | 'b' | 'c' | 'd' | 'e' | 'f' | 'g' | 'h' | 'i' | 'j' | 'k' | 'l', Buffer> } {
  const leaves = [0, 1, 2, 3, 4, 5, 6].map((i) => leafHash(Buffer.from(`d${i}`)));
  const [a, b, c, d, e, f, j] = leaves as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];
  const g = nodeHash(a, b);
  const h = nodeHash(c, d);
  const i = nodeHash(e, f);
  const k = nodeHash(g, h);
  const l = nodeHash(i, j);
  return { leaves, n: { a, b, c, d, e, f, g, h, i, j, k, l } };
}

/**
 * An unbounded, consistent tree in O(1) memory: every leaf is `leafHash("same")` except leaf `marked`,
 * which is `leafHash("marked")`. hash(level, index) is the true MTH of that subtree, so proofs and roots
 * for sizes up to 2^53 − 1 are real ones. Counts lookups.
 */
export class SparseTree implements NodeSource {
  lookups = 0;
  readonly #plain: Buffer[] = [leafHash(Buffer.from('same'))];
  readonly #marked: Buffer[];
  readonly markedIndex: number;

  constructor(markedIndex: number) {
    this.markedIndex = markedIndex;
    this.#marked = [leafHash(Buffer.from('marked'))];
    let at = markedIndex;
    for (let level = 1; level <= 53; level += 1) {
      const below = this.#plain[level - 1] as Buffer;
      const markedBelow = this.#marked[level - 1] as Buffer;
      this.#plain.push(nodeHash(below, below));
      this.#marked.push(at % 2 === 1 ? nodeHash(below, markedBelow) : nodeHash(markedBelow, below));
      at = Math.floor(at / 2);
    }
  }

  get markedLeaf(): Buffer {
    return this.#marked[0] as Buffer;
  }

  hash(level: number, index: number): Buffer {
    this.lookups += 1;
    const mine = Math.floor(this.markedIndex / 2 ** level) === index;
    return Buffer.from((mine ? this.#marked[level] : this.#plain[level]) as Buffer);
  }
}
