import { decodeHashTile, encodeHashTile, partialTileWidth, tileLevelHashCount } from './hash-tile.js';
import { rootAt } from './node-source.js';
import type { NodeSource } from './node-source.js';
import { HASH_BYTES, nodeHash } from './rfc6962.js';
import { TileError } from './tile-error.js';
import { MAX_TILE_LEVEL, MAX_TREE_SIZE, TILE_HEIGHT, TILE_WIDTH } from './tile-path.js';
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
  hashes: Buffer[];
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
  if (!Number.isSafeInteger(oldSize) || oldSize < 0 || oldSize + leafHashes.length > MAX_TREE_SIZE) throw new TileError('tree_size_out_of_range');
  const levels: EdgeTile[] = [];
  const expected = rightEdgeTiles(oldSize);
  if (edge.length !== expected.length) throw new TileError('tile_not_in_tree');
  for (const want of expected) {
    const have = edge.find((t) => t.level === want.level && t.index === want.index);
    if (have === undefined) throw new TileError('tile_not_in_tree');
    levels[want.level] = { index: want.index, hashes: decodeHashTile(have.bytes, want.width), dirty: false };
  }
  const levelOf = (level: number): EdgeTile => {
    let t = levels[level];
    if (t === undefined) {
      if (level > MAX_TILE_LEVEL) throw new TileError('level_out_of_range');
      t = { index: Math.floor(tileLevelHashCount(level, oldSize) / TILE_WIDTH), hashes: [], dirty: false };
      levels[level] = t;
    }
    return t;
  };
  const out: HashTileBytes[] = [];
  const push = (level: number, h: Buffer): void => {
    const t = levelOf(level);
    t.hashes.push(h);
    t.dirty = true;
    if (t.hashes.length < TILE_WIDTH) return;
    // A full tile: final from now on; its subtree root is the next hash one tile level up.
    out.push(Object.freeze({ level, index: t.index, width: TILE_WIDTH, bytes: encodeHashTile(t.hashes) }));
    const parent = subtreeRoot(t.hashes, 0, TILE_WIDTH);
    t.index += 1;
    t.hashes = [];
    t.dirty = false;
    push(level + 1, parent);
  };
  for (const leaf of leafHashes) {
    if (!(leaf instanceof Uint8Array) || leaf.length !== HASH_BYTES) throw new TileError('hash_length_invalid');
    push(0, Buffer.from(leaf));
  }
  levels.forEach((t, level) => {
    if (t.dirty && t.hashes.length > 0) out.push(Object.freeze({ level, index: t.index, width: t.hashes.length, bytes: encodeHashTile(t.hashes) }));
  });
  out.sort((a, b) => a.level - b.level || a.index - b.index);
  const size = oldSize + leafHashes.length;
  const nodes: NodeSource = {
    hash(level: number, index: number): Uint8Array {
      // Node (level, index) spans 2^(level − 8·L) consecutive hashes of tile level L = floor(level / 8).
      const tileLevel = Math.floor(level / TILE_HEIGHT);
      const span = 2 ** (level - TILE_HEIGHT * tileLevel);
      const first = index * span;
      const t = levels[tileLevel];
      if (t === undefined || Math.floor(first / TILE_WIDTH) !== t.index || (first % TILE_WIDTH) + span > t.hashes.length) {
        throw new TileError('tile_not_in_tree');
      }
      return subtreeRoot(t.hashes, first % TILE_WIDTH, span);
    },
  };
  return Object.freeze({ size, root: rootAt(size, nodes), tiles: Object.freeze(out) });
}

/** MTH of `span` (a power of two) consecutive complete-subtree hashes starting at `from`: pairing log2(span) times. */
function subtreeRoot(hashes: readonly Buffer[], from: number, span: number): Buffer {
  let current = hashes.slice(from, from + span);
  while (current.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < current.length; i += 2) next.push(nodeHash(current[i] as Buffer, current[i + 1] as Buffer));
    current = next;
  }
  return Buffer.from(current[0] as Buffer);
}
