import { ENTRY_LENGTH_PREFIX_BYTES } from './entry-bundle.js';
import { EMPTY_ROOT, HASH_BYTES, nodeHash, nodeHashInto, RFC6962_LEAF_PREFIX, RFC6962_NODE_PREFIX, sha256Digest } from './rfc6962.js';
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
 * Checks an entry bundle (tlog-tiles §Log entries: entries as big-endian uint16 length ‖ bytes), which
 * must hold exactly `entries` entries, against its served level-0 tile (`hashed` × 32 bytes): hashes its
 * first `hashed` entries (≤ entries) as RFC 6962 leaves and compares them with the tile; for a full
 * bundle (hashed = 256) also computes the bundle's root.
 *
 * `bundle` is consumed, so the caller passes bytes it owns and does not read them afterwards: each
 * entry's length prefix is overwritten by the 0x00 leaf prefix and the entry hashed where it lies. The
 * leaf digests (latin1 strings, rfc6962.ts) are compared with the tile as one string. Then, the tile
 * being known to equal the leaves, the nodes are hashed from reused buffers laid out as node inputs
 * (0x01 ‖ left ‖ right), with a view on each made once: level 1 from a copy of the tile (the byte before
 * each pair set to 0x01 as the pairs are hashed in order: it belongs to the pair just hashed), levels 2
 * and up from the digests written into place. No Buffer or view per node, one buffer write per node.
 */
export function checkBundle(bundle: Uint8Array, tile: Uint8Array, entries: number, hashed: number = entries): BundleCheck {
  if (!(hashed <= entries && tile.length === hashed * HASH_BYTES)) throw new RangeError('the tile must hold one hash per hashed entry');
  const digests = new Array<string>(hashed);
  const { buffer, byteOffset } = bundle; // read once: the getters cost more than the loop around them
  const end = bundle.length;
  let at = 0;
  let count = 0;
  while (at < end && count < entries) {
    if (at + ENTRY_LENGTH_PREFIX_BYTES > end) break;
    const length = (bundle[at] as number) * 256 + (bundle[at + 1] as number);
    const from = at + ENTRY_LENGTH_PREFIX_BYTES;
    if (from + length > end) break;
    if (count < hashed) {
      bundle[from - 1] = RFC6962_LEAF_PREFIX; // the low byte of the length, read above
      digests[count] = sha256Digest(new Uint8Array(buffer, byteOffset + from - 1, 1 + length));
    }
    at = from + length;
    count++;
  }
  if (count < entries) return { kind: 'malformed', complete: count, trailing: false };
  if (at !== end) return { kind: 'malformed', complete: count, trailing: true };
  const served = Buffer.from(tile.buffer, tile.byteOffset, tile.byteLength).toString('latin1');
  if (digests.join('') !== served) {
    let i = 0;
    while (i < hashed - 1 && served.startsWith(digests[i] as string, i * HASH_BYTES)) i++;
    return { kind: 'mismatch', index: i };
  }
  if (hashed !== TILE_WIDTH) return { kind: 'ok' };
  const { leafPairs, levels } = nodeInputs();
  leafPairs.bytes.set(tile, 1);
  const first = (levels[0] as NodeInputs).bytes;
  for (let j = 0; j < leafPairs.views.length; j++) {
    leafPairs.bytes[j * 2 * HASH_BYTES] = RFC6962_NODE_PREFIX;
    first.write(sha256Digest(leafPairs.views[j] as Uint8Array), inputSlot(j), HASH_BYTES, 'latin1');
  }
  for (let l = 0; ; l++) {
    const { views } = levels[l] as NodeInputs;
    if (views.length === 1) return { kind: 'ok', root: sha256Digest(views[0] as Uint8Array) };
    const next = (levels[l + 1] as NodeInputs).bytes;
    for (let j = 0; j < views.length; j++) next.write(sha256Digest(views[j] as Uint8Array), inputSlot(j), HASH_BYTES, 'latin1');
  }
}

/** Node inputs in one buffer, and a view on each input (65 bytes: 0x01 ‖ left ‖ right). */
interface NodeInputs {
  readonly bytes: Buffer;
  readonly views: readonly Uint8Array[];
}
const NODE_INPUT_BYTES = 1 + 2 * HASH_BYTES;
/** Where hash j of a level goes in the next level's inputs: node j / 2, left or right. */
function inputSlot(j: number): number {
  return (j >>> 1) * NODE_INPUT_BYTES + 1 + (j & 1) * HASH_BYTES;
}
let scratch: { readonly leafPairs: NodeInputs; readonly levels: readonly NodeInputs[] } | undefined;
/**
 * Made once per thread and reused: `leafPairs`, one byte then a full tile, each pair j of tile hashes
 * viewed from its byte 64·j (the prefix, set as it is hashed); `levels`, the inputs of levels 2…8 of a
 * full tile (64, 32, … 1 nodes), prefixes set once.
 */
function nodeInputs(): NonNullable<typeof scratch> {
  if (scratch !== undefined) return scratch;
  const tileBytes = Buffer.allocUnsafeSlow(1 + TILE_WIDTH * HASH_BYTES);
  const leafPairs = { bytes: tileBytes, views: Array.from({ length: TILE_WIDTH / 2 }, (_v, j) => new Uint8Array(tileBytes.buffer, tileBytes.byteOffset + j * 2 * HASH_BYTES, NODE_INPUT_BYTES)) };
  const levels: NodeInputs[] = [];
  for (let nodes = TILE_WIDTH / 4; nodes >= 1; nodes >>>= 1) {
    const bytes = Buffer.allocUnsafeSlow(nodes * NODE_INPUT_BYTES);
    const views: Uint8Array[] = [];
    for (let j = 0; j < nodes; j++) {
      bytes[j * NODE_INPUT_BYTES] = RFC6962_NODE_PREFIX;
      views.push(new Uint8Array(bytes.buffer, bytes.byteOffset + j * NODE_INPUT_BYTES, NODE_INPUT_BYTES));
    }
    levels.push({ bytes, views });
  }
  return (scratch = { leafPairs, levels });
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
