import { HASH_BYTES, nodeHash } from './rfc6962.js';
import { TileError } from './tile-error.js';
import { MAX_TILE_LEVEL, MAX_TREE_SIZE, TILE_HEIGHT, TILE_WIDTH } from './tile-path.js';
import type { HashTileCoords } from './tile-path.js';

/** tlog-tiles §Merkle Tree: a full tile is 256 hashes × 32 bytes = 8,192 bytes. */
export const FULL_TILE_BYTES = TILE_WIDTH * HASH_BYTES;

/**
 * How many hashes a tree of `size` leaves has at tile level `level`: floor(size / 256^level). Each is the
 * root of a full subtree of 256^level leaves (tlog-tiles §Merkle Tree, MTH(D[k·256^l : (k+1)·256^l])).
 */
export function tileLevelHashCount(level: number, size: number): number {
  checkLevel(level);
  checkSize(size);
  // 256^level is a power of two, so the division is exact in binary floating point.
  return Math.floor(size / 2 ** (TILE_HEIGHT * level));
}

/** tlog-tiles §Partial Tiles: the partial tile at level l of a tree of size s has floor(s/256^l) mod 256 hashes (0 = none). */
export function partialTileWidth(level: number, size: number): number {
  return tileLevelHashCount(level, size) % TILE_WIDTH;
}

/** Every tile of a tree of `size` leaves, level by level: its full tiles, then its partial tile if any. */
export function* tilesOfTree(size: number): Generator<HashTileCoords> {
  for (let level = 0; level <= MAX_TILE_LEVEL; level++) {
    const count = tileLevelHashCount(level, size);
    if (count === 0) return;
    const full = Math.floor(count / TILE_WIDTH);
    for (let index = 0; index < full; index++) yield Object.freeze({ level, index, width: TILE_WIDTH });
    const width = count % TILE_WIDTH;
    if (width > 0) yield Object.freeze({ level, index: full, width });
  }
}

/**
 * The tiles a log must write when it grows from `oldSize` to `newSize`: at each level, every tile whose
 * hash count changed, with its new width (full or partial). Tiles of `oldSize` that did not change are
 * left out; so are levels that gained no hash.
 */
export function tilesChangedByGrowth(oldSize: number, newSize: number): HashTileCoords[] {
  checkSize(oldSize);
  checkSize(newSize);
  if (newSize < oldSize) throw new TileError('tree_size_out_of_range');
  const out: HashTileCoords[] = [];
  for (let level = 0; level <= MAX_TILE_LEVEL; level++) {
    const before = tileLevelHashCount(level, oldSize);
    const after = tileLevelHashCount(level, newSize);
    if (after === before) break; // a level that gained nothing means no level above gains either
    for (let index = Math.floor(before / TILE_WIDTH); index * TILE_WIDTH < after; index++) {
      out.push(Object.freeze({ level, index, width: Math.min(TILE_WIDTH, after - index * TILE_WIDTH) }));
    }
  }
  return out;
}

/**
 * The hashes at tile level `level` for the given leaf hashes: roots of the consecutive full subtrees of
 * 256^level leaves, computed by pairing 8·level times. A trailing incomplete subtree contributes nothing.
 */
export function tileLevelHashes(leafHashes: readonly Uint8Array[], level: number): Buffer[] {
  checkLevel(level);
  checkSize(leafHashes.length);
  let current: Buffer[] = leafHashes.map((h) => {
    checkHash(h);
    return Buffer.from(h);
  });
  for (let round = 0; round < TILE_HEIGHT * level && current.length > 0; round++) {
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < current.length; i += 2) next.push(nodeHash(current[i] as Buffer, current[i + 1] as Buffer));
    current = next;
  }
  return current;
}

/**
 * The bytes of tile `tile` of any tree containing `leafHashes` (tlog-tiles §Merkle Tree): the concatenated
 * 32-byte hashes `index·256 … index·256 + width − 1` of its level. The whole range must exist.
 */
export function computeHashTile(leafHashes: readonly Uint8Array[], tile: HashTileCoords): Buffer {
  checkCoords(tile);
  const hashes = tileLevelHashes(leafHashes, tile.level);
  const start = tile.index * TILE_WIDTH;
  if (start + tile.width > hashes.length) throw new TileError('tile_not_in_tree');
  return encodeHashTile(hashes.slice(start, start + tile.width));
}

/** Concatenates 1…256 hashes of 32 bytes each. */
export function encodeHashTile(hashes: readonly Uint8Array[]): Buffer {
  if (hashes.length === 0 || hashes.length > TILE_WIDTH) throw new TileError('tile_length_invalid');
  for (const h of hashes) checkHash(h);
  return Buffer.concat(hashes);
}

/**
 * Splits a hash tile into its hashes. The length must be a positive multiple of 32 up to 8,192; when
 * `expectedWidth` is given (from the path or the tree size) the tile must have exactly that many hashes.
 */
export function decodeHashTile(bytes: Uint8Array, expectedWidth?: number): Buffer[] {
  if (bytes.length === 0 || bytes.length > FULL_TILE_BYTES || bytes.length % HASH_BYTES !== 0) {
    throw new TileError('tile_length_invalid');
  }
  const width = bytes.length / HASH_BYTES;
  if (expectedWidth !== undefined && width !== expectedWidth) throw new TileError('tile_width_mismatch');
  const out: Buffer[] = [];
  for (let i = 0; i < width; i++) out.push(Buffer.from(bytes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)));
  return out;
}

function checkCoords(tile: HashTileCoords): void {
  checkLevel(tile.level);
  if (!Number.isSafeInteger(tile.index) || tile.index < 0) throw new TileError('index_out_of_range');
  if (!Number.isInteger(tile.width) || tile.width < 1 || tile.width > TILE_WIDTH) throw new TileError('width_out_of_range');
}

function checkLevel(level: number): void {
  if (!Number.isInteger(level) || level < 0 || level > MAX_TILE_LEVEL) throw new TileError('level_out_of_range');
}

function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_TREE_SIZE) throw new TileError('tree_size_out_of_range');
}

function checkHash(h: Uint8Array): void {
  if (h.length !== HASH_BYTES) throw new TileError('hash_length_invalid');
}
