import { decodeHashTile, FULL_TILE_BYTES, partialTileWidth, tileLevelHashCount } from './hash-tile.js';
import { HASH_BYTES } from './rfc6962.js';
import { TileError } from './tile-error.js';
import { reduceInPlace, rootOfTileEdge } from './tile-hasher.js';
import { MAX_TILE_LEVEL, MAX_TREE_SIZE, TILE_WIDTH } from './tile-path.js';
import type { HashTileCoords } from './tile-path.js';

/** A hash tile with its bytes (tlog-tiles §Merkle Tree: `width` concatenated 32-byte hashes). */
export interface HashTileBytes extends HashTileCoords {
  readonly bytes: Buffer;
}

/** What appending leaves to a tiled log produced: every tile that changed (full or partial), and the new root. */
export interface TileGrowth {
  readonly size: number;
  readonly root: Buffer;
  readonly tiles: readonly HashTileBytes[];
}

/**
 * The partial tiles of a tree of `size` leaves, lowest level first: its right edge. They are all a
 * log needs to grow by appending (every full tile is final) and to compute its root, since each set
 * bit of the size at positions 8·L … 8·L + 7 names a subtree inside the partial tile of level L.
 */
export function rightEdgeTiles(size: number): HashTileCoords[] {
  const out: HashTileCoords[] = [];
  for (let level = 0; level <= MAX_TILE_LEVEL; level++) {
    const count = tileLevelHashCount(level, size);
    if (count === 0) break;
    const width = partialTileWidth(level, size);
    if (width > 0) out.push(Object.freeze({ level, index: Math.floor(count / TILE_WIDTH), width }));
  }
  return out;
}

interface EdgeTile {
  index: number;
  /** The tile's hashes so far, packed: `count` × 32 bytes used of a full tile's 8,192. */
  readonly hashes: Buffer;
  count: number;
  dirty: boolean;
}

/**
 * Appends leaf hashes to a tiled log of `oldSize` leaves whose right edge (rightEdgeTiles(oldSize),
 * with their bytes) is `edge`. Returns the tiles to store — each tile touched, at its new width,
 * full tiles included — and the RFC 6962 root of the grown tree, computed from those tiles alone:
 * nothing to the left of the right edge is read or recomputed. The edge is hostile input (it comes
 * from storage): every expected tile must be given, at exactly its expected width.
 */
export function appendToTiles(oldSize: number, edge: readonly HashTileBytes[], leafHashes: readonly Uint8Array[]): TileGrowth {
  const packed = Buffer.allocUnsafe(leafHashes.length * HASH_BYTES);
  leafHashes.forEach((leaf, i) => {
    if (!(leaf instanceof Uint8Array) || leaf.length !== HASH_BYTES) throw new TileError('hash_length_invalid');
    packed.set(leaf, i * HASH_BYTES);
  });
  return appendPackedToTiles(oldSize, edge, packed);
}

/** appendToTiles with the leaf hashes packed in one buffer (hash i at bytes 32·i … 32·i + 31). */
export function appendPackedToTiles(oldSize: number, edge: readonly HashTileBytes[], packedLeaves: Uint8Array): TileGrowth {
  if (packedLeaves.length % HASH_BYTES !== 0) throw new TileError('hash_length_invalid');
  const added = packedLeaves.length / HASH_BYTES;
  if (!Number.isSafeInteger(oldSize) || oldSize < 0 || oldSize + added > MAX_TREE_SIZE) throw new TileError('tree_size_out_of_range');
  const levels: EdgeTile[] = [];
  const expected = rightEdgeTiles(oldSize);
  if (edge.length !== expected.length) throw new TileError('tile_not_in_tree');
  for (const want of expected) {
    const have = edge.find((t) => t.level === want.level && t.index === want.index);
    if (have === undefined) throw new TileError('tile_not_in_tree');
    const hashes = Buffer.alloc(FULL_TILE_BYTES);
    const count = decodeHashTile(have.bytes, want.width).length; // checks the length and width
    hashes.set(have.bytes.subarray(0, count * HASH_BYTES));
    levels[want.level] = { index: want.index, hashes, count, dirty: false };
  }
  const levelOf = (level: number): EdgeTile => {
    let t = levels[level];
    if (t === undefined) {
      if (level > MAX_TILE_LEVEL) throw new TileError('level_out_of_range');
      t = { index: Math.floor(tileLevelHashCount(level, oldSize) / TILE_WIDTH), hashes: Buffer.alloc(FULL_TILE_BYTES), count: 0, dirty: false };
      levels[level] = t;
    }
    return t;
  };
  const out: HashTileBytes[] = [];
  /** A full tile: final from now on; its subtree root is the next hash one tile level up. */
  const complete = (level: number, t: EdgeTile): void => {
    out.push(Object.freeze({ level, index: t.index, width: TILE_WIDTH, bytes: Buffer.from(t.hashes) }));
    const parent = reduceInPlace(t.hashes, TILE_WIDTH);
    t.index += 1;
    t.count = 0;
    t.dirty = false;
    push(level + 1, parent);
  };
  const push = (level: number, h: Uint8Array): void => {
    const t = levelOf(level);
    t.hashes.set(h, t.count * HASH_BYTES);
    t.count += 1;
    t.dirty = true;
    if (t.count === TILE_WIDTH) complete(level, t);
  };
  // Level 0: copy runs of leaves straight into the tile, up to its end.
  for (let i = 0; i < added; ) {
    const t = levelOf(0);
    const take = Math.min(added - i, TILE_WIDTH - t.count);
    t.hashes.set(packedLeaves.subarray(i * HASH_BYTES, (i + take) * HASH_BYTES), t.count * HASH_BYTES);
    t.count += take;
    t.dirty = true;
    i += take;
    if (t.count === TILE_WIDTH) complete(0, t);
  }
  levels.forEach((t, level) => {
    if (t.dirty && t.count > 0) out.push(Object.freeze({ level, index: t.index, width: t.count, bytes: Buffer.from(t.hashes.subarray(0, t.count * HASH_BYTES)) }));
  });
  out.sort((a, b) => a.level - b.level || a.index - b.index);
  const size = oldSize + added;
  // Every level now holds fewer than 256 hashes: together they are the right edge, and the root is theirs.
  const root = rootOfTileEdge(
    levels.map((t) => t.hashes),
    Array.from({ length: levels.length }, (_v, level) => levels[level]?.count ?? 0),
  );
  return Object.freeze({ size, root, tiles: Object.freeze(out) });
}
