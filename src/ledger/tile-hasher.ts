import { ENTRY_LENGTH_PREFIX_BYTES } from './entry-bundle.js';
import { EMPTY_ROOT, HASH_BYTES, leafHashInPlace, nodeHash, nodeHashInto } from './rfc6962.js';

/**
 * Hashing whole tiles at a time, for the verifier (and anything else that rebuilds a tree from entry
 * bundles): hashes live packed in one buffer per tile (hash i at bytes 32·i … 32·i + 31, exactly the
 * tlog-tiles tile layout), levels are paired in place, and no Buffer is made per entry or per node.
 */

/** What parsing a bundle found: its leaf hashes, or how far the bundle was intact. */
export type BundleLeaves =
  | { readonly ok: true; readonly leaves: Buffer }
  /** `complete`: whole entries before the damage; `trailing`: all `width` entries were whole but bytes follow. */
  | { readonly ok: false; readonly complete: number; readonly trailing: boolean };

/**
 * Splits an entry bundle (tlog-tiles §Log entries: entries as big-endian uint16 length ‖ bytes) that must
 * hold exactly `width` entries, and returns the RFC 6962 leaf hashes of its first `hashed` entries (≤ width),
 * packed. `bundle` is consumed: each entry's length prefix is overwritten by the 0x00 leaf prefix, so the
 * caller passes bytes it owns and does not read them afterwards.
 */
export function hashBundleLeaves(bundle: Buffer, width: number, hashed: number = width): BundleLeaves {
  const leaves = Buffer.allocUnsafe(hashed * HASH_BYTES);
  const end = bundle.length;
  let at = 0;
  let count = 0;
  while (at < end && count < width) {
    if (at + ENTRY_LENGTH_PREFIX_BYTES > end) break;
    const length = (bundle[at] as number) * 256 + (bundle[at + 1] as number);
    const from = at + ENTRY_LENGTH_PREFIX_BYTES;
    if (from + length > end) break;
    if (count < hashed) leafHashInPlace(bundle, from, from + length, leaves, count * HASH_BYTES);
    at = from + length;
    count++;
  }
  if (count < width) return { ok: false, complete: count, trailing: false };
  if (at !== end) return { ok: false, complete: count, trailing: true };
  return { ok: true, leaves };
}

/**
 * The MTH of `count` (a power of two) packed hashes starting at hashes[0]: pairs them level by level in
 * place (RFC 6962 §2.1: a complete subtree), overwriting the buffer. Returns a copy of the root.
 */
export function reduceInPlace(hashes: Buffer, count: number): Buffer {
  for (let n = count; n > 1; n >>>= 1) {
    for (let i = 0; i < n; i += 2) nodeHashInto(hashes, i * HASH_BYTES, hashes, (i >>> 1) * HASH_BYTES);
  }
  return Buffer.from(hashes.subarray(0, HASH_BYTES));
}

/**
 * The RFC 6962 root of a tree given by its right edge in tiles: `levels[L]` holds the `counts[L]` (< 256)
 * hashes of tile level L not yet gathered into a full tile — the roots of complete subtrees of 256^L leaves
 * each. The tree size is Σ counts[L]·256^L, and each set bit of counts[L] names one complete subtree of
 * the size's binary decomposition; the root is their right fold, largest first (RFC 6962 §2.1). The
 * buffers are not changed.
 */
export function rootOfTileEdge(levels: readonly Buffer[], counts: readonly number[]): Buffer {
  const subtrees: Buffer[] = [];
  for (let level = counts.length - 1; level >= 0; level--) {
    const count = counts[level] ?? 0;
    const hashes = levels[level];
    if (!Number.isInteger(count) || count < 0 || count >= 256) throw new RangeError('an edge tile holds 0…255 hashes');
    if (count === 0) continue;
    if (hashes === undefined || hashes.length < count * HASH_BYTES) throw new RangeError('edge tile shorter than its count');
    let at = 0;
    for (let span = 128; span >= 1; span >>>= 1) {
      if ((count & span) === 0) continue;
      const part = Buffer.from(hashes.subarray(at * HASH_BYTES, (at + span) * HASH_BYTES));
      subtrees.push(reduceInPlace(part, span));
      at += span;
    }
  }
  let acc = subtrees.pop();
  if (acc === undefined) return Buffer.from(EMPTY_ROOT);
  for (let s = subtrees.pop(); s !== undefined; s = subtrees.pop()) acc = nodeHash(s, acc);
  return acc;
}
