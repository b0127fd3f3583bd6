import { ENTRY_LENGTH_PREFIX_BYTES } from './entry-bundle.js';
import { EMPTY_ROOT, HASH_BYTES, leafDigestInPlace, nodeDigest, nodeHash, nodeHashInto } from './rfc6962.js';
import { TILE_WIDTH } from './tile-path.js';

/**
 * Hashing whole tiles at a time, for the verifier (and anything else that rebuilds a tree from entry
 * bundles): hashes live packed in one buffer per tile (hash i at bytes 32·i … 32·i + 31, exactly the
 * tlog-tiles tile layout), levels are paired in place, and no Buffer is made per entry or per node.
 */

/** What checking an entry bundle against its level-0 tile found. */
export type BundleCheck =
  /** Every hashed entry's leaf hash is the tile's; `root`: for a full bundle, its MTH (the level-1 hash), as a latin1 string. */
  | { readonly kind: 'ok'; readonly root?: string }
  /** `complete`: whole entries before the damage; `trailing`: all `width` entries were whole but bytes follow. */
  | { readonly kind: 'malformed'; readonly complete: number; readonly trailing: boolean }
  /** The first entry whose leaf hash differs from the tile's hash at the same position. */
  | { readonly kind: 'mismatch'; readonly index: number };

/**
 * Splits an entry bundle (tlog-tiles §Log entries: entries as big-endian uint16 length ‖ bytes) that must
 * hold exactly `width` entries, hashes its first `hashed` entries (≤ width) as RFC 6962 leaves and compares
 * them with `tile`, the served level-0 tile (`hashed` × 32 bytes); for a full bundle (hashed = 256) it also
 * pairs the leaves up to the bundle's root. `bundle` is consumed: each entry's length prefix is overwritten
 * by the 0x00 leaf prefix, so the caller passes bytes it owns and does not read them afterwards. Hashes stay
 * latin1 strings throughout (rfc6962.ts): no Buffer per entry or node, one buffer write per node.
 */
export function checkBundle(bundle: Uint8Array, tile: Uint8Array, width: number, hashed: number = width): BundleCheck {
  if (tile.length !== hashed * HASH_BYTES) throw new RangeError('the tile must hold one hash per hashed entry');
  const digests = new Array<string>(hashed);
  const end = bundle.length;
  let at = 0;
  let count = 0;
  while (at < end && count < width) {
    if (at + ENTRY_LENGTH_PREFIX_BYTES > end) break;
    const length = (bundle[at] as number) * 256 + (bundle[at + 1] as number);
    const from = at + ENTRY_LENGTH_PREFIX_BYTES;
    if (from + length > end) break;
    if (count < hashed) digests[count] = leafDigestInPlace(bundle, from, from + length);
    at = from + length;
    count++;
  }
  if (count < width) return { kind: 'malformed', complete: count, trailing: false };
  if (at !== end) return { kind: 'malformed', complete: count, trailing: true };
  const served = Buffer.from(tile.buffer, tile.byteOffset, tile.byteLength).toString('latin1');
  if (digests.join('') !== served) {
    let i = 0;
    while (i < hashed - 1 && served.startsWith(digests[i] as string, i * HASH_BYTES)) i++;
    return { kind: 'mismatch', index: i };
  }
  if (hashed !== TILE_WIDTH) return { kind: 'ok' };
  for (let n = TILE_WIDTH; n > 1; n >>>= 1) {
    for (let i = 0; i < n; i += 2) digests[i >>> 1] = nodeDigest(digests[i] as string, digests[i + 1] as string);
  }
  return { kind: 'ok', root: digests[0] as string };
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
